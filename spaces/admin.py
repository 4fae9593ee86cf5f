"""Venues, their spaces, opening hours, closures and staff roles. Managers of a venue change all of it;
hosts see none of it (no settings); superusers everything. Closures are shown and taken in the
venue's zone (spaces/admin_scope.py)."""

from django import forms
from django.contrib import admin
from django.db.models import Count

from accounts.models import User
from spaces.admin_scope import VenueScoped, VenueScopedInline, VenueTimeZoneAdmin, local_wall_time
from spaces.models import Closure, OpeningHours, Space, Venue, VenueRole
from spaces.powers import Power


class SettingsInline(VenueScopedInline, admin.TabularInline):
    view_power = change_power = delete_power = Power.MANAGE_VENUE
    extra = 0


class SpaceInline(SettingsInline):
    model = Space
    fields = ["name", "category", "capacity", "min_party_size", "price", "is_active"]
    show_change_link = True


class OpeningHoursInline(SettingsInline):
    model = OpeningHours
    fields = ["weekday", "opens_at", "closes_at", "closes_next_day"]


class ClosureForm(forms.ModelForm):
    """Start and end are the venue's wall times, whatever zone the page was drawn in."""

    class Meta:
        model = Closure
        fields = ["venue", "space", "starts_at", "ends_at", "reason"]

    def clean(self):
        cleaned = super().clean()
        venue = cleaned.get("venue") or getattr(self.instance, "venue", None)
        if venue is not None:
            for name in ("starts_at", "ends_at"):
                cleaned[name] = local_wall_time(cleaned.get(name), venue)
        return cleaned


class ClosureInline(SettingsInline):
    model = Closure
    form = ClosureForm
    fields = ["space", "starts_at", "ends_at", "reason"]
    verbose_name_plural = "closures (times in the venue's time zone)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Offer only this venue's spaces; a venue being added has none yet.
        if db_field.name == "space":
            venue_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Space.objects.filter(venue_id=venue_id) if venue_id else Space.objects.none()
            return admin.TabularInline.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class VenueRoleForm(forms.ModelForm):
    """A role is given by e-mail address: managers add their staff without browsing every account."""

    email = forms.EmailField(label="E-mail address", help_text="The member of staff's log-in; they need an account.")

    class Meta:
        model = VenueRole
        fields = ["email", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No account has this e-mail address; ask them to sign up first.")
        self.instance.user = user
        return email

    def save(self, commit=True):
        role = super().save(commit=commit)
        if not role.user.is_staff:  # the admin opens only for staff; the role says what they see there
            User.objects.filter(pk=role.user_id).update(is_staff=True)
        return role


class VenueRoleAdminForm(VenueRoleForm):
    class Meta(VenueRoleForm.Meta):
        fields = ["venue", "email", "role"]


class VenueRoleInline(VenueScopedInline, admin.TabularInline):
    model = VenueRole
    form = VenueRoleForm
    view_power = change_power = delete_power = Power.MANAGE_ROLES
    extra = 0
    verbose_name_plural = "staff roles"


@admin.register(Venue)
class VenueAdmin(VenueScoped, VenueTimeZoneAdmin, admin.ModelAdmin):
    venue_path = ""
    view_power = change_power = Power.MANAGE_VENUE
    add_power = delete_power = None
    list_display = ["name", "kind", "time_zone", "booking_mode", "assignment", "space_count", "is_active"]
    list_filter = ["kind", "booking_mode", "assignment", "is_active", "time_zone"]
    search_fields = ["name", "slug", "address"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SpaceInline, OpeningHoursInline, ClosureInline, VenueRoleInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "kind",
                    "time_zone",
                    "address",
                    "phone",
                    "email",
                    "description",
                    "is_active",
                    "currency",
                ]
            },
        ),
        ("Booking", {"fields": ["booking_mode", "assignment"]}),
        (
            "Time slots (restaurants, meeting rooms)",
            {"fields": ["slot_interval_minutes", "default_duration_minutes", "allowed_durations"]},
        ),
        ("Nights (hotels)", {"fields": ["check_in_time", "check_out_time"]}),
        (
            "Rules",
            {
                "fields": [
                    "min_lead_minutes",
                    "max_advance_days",
                    "cancellation_cutoff_hours",
                    "modification_cutoff_hours",
                    "hold_minutes",
                    "reminder_lead_hours",
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        return self.has_delete_permission(request)  # new venues: superusers

    def get_inlines(self, request, obj):
        # A venue being added has no zone yet for its closures, and nobody to give roles to.
        return self.inlines if obj is not None else [SpaceInline, OpeningHoursInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(space_count=Count("spaces"))

    @admin.display(description="spaces", ordering="space_count")
    def space_count(self, venue):
        return venue.space_count


@admin.register(Space)
class SpaceAdmin(VenueScoped, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_VENUE
    list_display = ["name", "venue", "category", "capacity", "min_party_size", "price", "is_active"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "is_active", "category"]
    list_select_related = ["venue"]
    search_fields = ["name", "category", "venue__name"]
    autocomplete_fields = ["venue"]


@admin.register(Closure)
class ClosureAdmin(VenueScoped, VenueTimeZoneAdmin, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_VENUE
    form = ClosureForm
    list_display = ["venue", "space", "local_start", "local_end", "reason"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["venue", "space"]
    search_fields = ["reason", "venue__name", "space__name"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["venue", "space"]

    @admin.display(description="starts (venue's time)", ordering="starts_at")
    def local_start(self, closure):
        return f"{closure.starts_at.astimezone(closure.venue.zone):%Y-%m-%d %H:%M} ({closure.venue.time_zone})"

    @admin.display(description="ends (venue's time)", ordering="ends_at")
    def local_end(self, closure):
        return f"{closure.ends_at.astimezone(closure.venue.zone):%Y-%m-%d %H:%M} ({closure.venue.time_zone})"

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        zone = obj.venue.time_zone if obj else "the venue's time zone"
        for name in ("starts_at", "ends_at"):
            form.base_fields[name].help_text = f"In {zone}."
        return form


@admin.register(VenueRole)
class VenueRoleAdmin(VenueScoped, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_ROLES
    list_display = ["user", "venue", "role"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "role"]
    list_select_related = ["user", "venue"]
    search_fields = ["user__email", "user__name", "venue__name"]
    form = VenueRoleAdminForm
