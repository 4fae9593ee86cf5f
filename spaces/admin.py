"""Venues, their spaces, opening hours, closures and staff roles, and the capacity rules
(docs/capacity.md): shifts, turn times, pacing and combined tables, on the venue's page. Managers of
a venue change all of it; hosts see none of it (no settings); superusers everything. Closures are
shown and taken in the venue's zone (spaces/admin_scope.py)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from spaces.admin_scope import VenueScoped, VenueScopedInline, VenueTimeZoneAdmin, local_wall_time
from spaces.models import (
    CalendarFeed,
    Closure,
    Combination,
    OpeningHours,
    PacingRule,
    Rate,
    Session,
    Shift,
    Space,
    StayLimit,
    TurnTime,
    Venue,
    VenueRole,
    new_calendar_token,
)
from spaces.powers import Power


def venue_categories(venue_id) -> list[str]:
    """The categories (areas, room types) of a venue's spaces, sorted."""
    names = Space.objects.filter(venue_id=venue_id).exclude(category="").values_list("category", flat=True)
    return sorted(set(names))


def area_error(venue: Venue | None, area: str) -> str | None:
    """Why `area` names no area of `venue`, or None (an empty area is no area)."""
    if not area or venue is None:
        return None
    categories = venue_categories(venue.pk)
    if area in categories:
        return None
    known = ", ".join(f"“{category}”" for category in categories) or _("none yet")
    return _("No space of %(venue)s has the category “%(area)s”; its categories are %(known)s.") % {
        "venue": venue,
        "area": area,
        "known": known,
    }


class AreaFormMixin:
    """A form with an `area`: it must name a category of the venue's spaces. Checked when it (or the
    venue) changes, so a category renamed later does not block unrelated changes on the page."""

    def check_area(self, cleaned: dict, venue: Venue | None):
        if {"area", "venue"} & set(self.changed_data) and "area" in cleaned:
            error = area_error(venue, cleaned["area"])
            if error:
                self.add_error("area", error)


class VenuePageFormSet(forms.BaseInlineFormSet):
    """An inline of the venue's page. A row added or changed there may not name a shift or a table
    that the same page deletes: the deletion takes the row's old version with it, and the row saved
    afterwards would point at nothing (a database error instead of a message)."""

    named = {"shift": "shifts", "space": "spaces", "spaces": "spaces"}  # field: the inline deleting them

    def deleted_on_page(self, prefix: str) -> set[str]:
        try:
            total = min(int(self.data.get(f"{prefix}-TOTAL_FORMS", 0)), 1000)
        except (TypeError, ValueError):
            return set()
        ticked = forms.CheckboxInput().value_from_datadict
        return {
            str(self.data.get(f"{prefix}-{index}-id"))
            for index in range(total)
            if ticked(self.data, None, f"{prefix}-{index}-DELETE")
        }

    def clean(self):
        super().clean()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form) or not hasattr(form, "cleaned_data"):
                continue
            for field, prefix in self.named.items():
                value = form.cleaned_data.get(field)
                chosen = [value] if isinstance(value, Shift | Space) else list(value or [])
                deleted = self.deleted_on_page(prefix) if chosen else set()
                for thing in chosen:
                    if str(thing.pk) in deleted:
                        form.add_error(
                            field,
                            _("“%(name)s” is deleted on this page: delete this row too, or keep it.")
                            % {"name": thing.name},
                        )
                        break


class SettingsInline(VenueScopedInline, admin.TabularInline):
    view_power = change_power = delete_power = Power.MANAGE_VENUE
    formset = VenuePageFormSet
    extra = 0
    empty_area_label = "—"

    @staticmethod
    def page_venue_id(request):
        """The id of the venue whose page this is; None on the page of a new venue."""
        return request.resolver_match.kwargs.get("object_id")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Offer only this venue's spaces and shifts; a venue being added has none yet.
        if db_field.related_model in (Space, Shift):
            venue_id, objects = self.page_venue_id(request), db_field.related_model.objects
            kwargs["queryset"] = objects.filter(venue_id=venue_id) if venue_id else objects.none()
            return admin.TabularInline.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # An area is one of the categories of the venue's spaces (or the one already set).
        if db_field.name == "area":
            venue_id = self.page_venue_id(request)
            areas = set(venue_categories(venue_id)) if venue_id else set()
            if venue_id:
                already = self.model.objects.filter(venue_id=venue_id).exclude(area="")
                areas |= set(already.values_list("area", flat=True))
            return forms.ChoiceField(
                choices=[("", self.empty_area_label), *((area, area) for area in sorted(areas))],
                required=False,
                label=db_field.verbose_name,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class SpaceInline(SettingsInline):
    model = Space
    fields = [
        "name",
        "category",
        "capacity",
        "min_party_size",
        "price",
        "price_per",
        "sold_by_seat",
        "buffer_minutes",
        "is_active",
    ]
    show_change_link = True  # a space sold by the seat has its sessions on its own page


class CombinationForm(forms.ModelForm):
    """Tables pushed together: at least two of the venue's, seating no more than their seats."""

    class Meta:
        model = Combination
        fields = ["name", "spaces", "min_party_size", "max_party_size", "is_active"]

    def clean(self):
        cleaned = super().clean()
        tables = cleaned.get("spaces")
        if tables is None:  # its own error is shown
            return cleaned
        venue_id = self.instance.venue_id
        if len(tables) < 2:
            self.add_error("spaces", _("Choose at least two tables to push together."))
        elif venue_id is not None and any(table.venue_id != venue_id for table in tables):
            self.add_error("spaces", _("Choose tables of this venue only."))
        else:
            seats = sum(table.capacity for table in tables)
            most = cleaned.get("max_party_size")
            if most is not None and most > seats:
                names = " + ".join(table.name for table in sorted(tables, key=lambda table: table.sort_key))
                self.add_error(
                    "max_party_size",
                    _("%(names)s seat %(seats)s guests together; “to guests” can be at most %(seats)s.")
                    % {"names": names, "seats": seats},
                )
        return cleaned


def table_label(table: Space) -> str:
    """'Table 4 (4 seats, Dining room)'."""
    values = {"name": table.name, "seats": table.capacity, "area": table.category}
    if table.category:
        return _("%(name)s (%(seats)s seats, %(area)s)") % values
    return _("%(name)s (%(seats)s seats)") % values


class CombinationInline(SettingsInline):
    model = Combination
    form = CombinationForm
    fields = ["name", "spaces", "min_party_size", "max_party_size", "is_active"]
    verbose_name = _("combination of tables")
    verbose_name_plural = _("combined tables (tables pushed together for a bigger party)")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # This venue's tables as checkboxes (not Django's "+" to add a space anywhere).
        if db_field.name == "spaces":
            venue_id = self.page_venue_id(request)
            tables = Space.objects.filter(venue_id=venue_id) if venue_id else Space.objects.none()
            field = forms.ModelMultipleChoiceField(
                queryset=tables,
                widget=forms.CheckboxSelectMultiple,
                label=pgettext_lazy("furniture", "tables"),
                help_text=db_field.help_text,
            )
            field.label_from_instance = table_label
            return field
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class OpeningHoursInline(SettingsInline):
    model = OpeningHours
    fields = ["weekday", "opens_at", "closes_at", "closes_next_day"]


class ShiftForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=OpeningHours.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The days it runs; none ticked: every day."),
    )

    class Meta:
        model = Shift
        fields = ["name", "starts_at", "ends_at", "weekdays"]

    def clean_weekdays(self):
        return sorted(set(self.cleaned_data["weekdays"]))


class ShiftInline(SettingsInline):
    model = Shift
    form = ShiftForm
    fields = ["name", "starts_at", "ends_at", "weekdays"]
    verbose_name_plural = _("shifts (services such as lunch and dinner)")


class TurnTimeInline(SettingsInline):
    model = TurnTime
    fields = ["shift", "min_party_size", "max_party_size", "minutes"]
    verbose_name_plural = _("turn times (how long a party of a size keeps its table)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shift")


class PacingRuleForm(AreaFormMixin, forms.ModelForm):
    class Meta:
        model = PacingRule
        fields = ["shift", "area", "interval_minutes", "max_covers", "max_parties"]

    def clean(self):
        cleaned = super().clean()
        self.check_area(cleaned, getattr(self.instance, "venue", None))
        return cleaned


class PacingRuleInline(SettingsInline):
    model = PacingRule
    form = PacingRuleForm
    fields = ["shift", "area", "interval_minutes", "max_covers", "max_parties"]
    verbose_name_plural = _("pacing (most guests or parties starting per interval)")
    empty_area_label = _("— the whole venue")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shift")


class ClosureForm(AreaFormMixin, forms.ModelForm):
    """Start and end are the venue's wall times, whatever zone the page was drawn in."""

    class Meta:
        model = Closure
        fields = ["venue", "space", "area", "starts_at", "ends_at", "repeats_yearly", "reason"]

    def clean(self):
        cleaned = super().clean()
        venue = cleaned.get("venue") or getattr(self.instance, "venue", None)
        if venue is not None:
            for name in ("starts_at", "ends_at"):
                cleaned[name] = local_wall_time(cleaned.get(name), venue)
        self.check_area(cleaned, venue)
        return cleaned


class ClosureInline(SettingsInline):
    model = Closure
    form = ClosureForm
    fields = ["space", "area", "starts_at", "ends_at", "repeats_yearly", "reason"]
    verbose_name_plural = _("closures (times in the venue's time zone)")
    empty_area_label = _("— (the space, or the whole venue)")


class NightRuleForm(forms.ModelForm):
    """A nightly rate or stay limit: its nights of the week as boxes to tick, its room type one of the
    venue's categories (checked when it changes, like an area)."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=OpeningHours.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("nights of the week"),
        help_text=_("The nights it applies to (Friday: the night from Friday to Saturday); none ticked: every night."),
    )

    def clean_weekdays(self):
        return sorted(set(self.cleaned_data["weekdays"]))

    def clean(self):
        cleaned = super().clean()
        venue = getattr(self.instance, "venue", None)
        if {"category", "venue"} & set(self.changed_data) and cleaned.get("category"):
            error = area_error(venue, cleaned["category"])
            if error:
                self.add_error("category", error)
        return cleaned


class NightRuleInline(SettingsInline):
    """Shown on a venue booked by the night (a hotel)."""

    form = NightRuleForm
    empty_area_label = _("— every room")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The room type is one of the categories of the venue's rooms (or the one already set).
        if db_field.name == "category":
            venue_id = self.page_venue_id(request)
            categories = set(venue_categories(venue_id)) if venue_id else set()
            if venue_id:
                already = self.model.objects.filter(venue_id=venue_id).exclude(category="")
                categories |= set(already.values_list("category", flat=True))
            return forms.ChoiceField(
                choices=[("", self.empty_area_label), *((name, name) for name in sorted(categories))],
                required=False,
                label=db_field.verbose_name,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class RateForm(NightRuleForm):
    class Meta:
        model = Rate
        fields = ["name", "category", "starts_on", "ends_on", "repeats_yearly", "weekdays", "nightly_price"]


class RateInline(NightRuleInline):
    model = Rate
    form = RateForm
    fields = ["name", "category", "starts_on", "ends_on", "repeats_yearly", "weekdays", "nightly_price"]
    verbose_name_plural = _("nightly rates (the most specific applying to a night wins, else the room's price)")


class StayLimitForm(NightRuleForm):
    class Meta:
        model = StayLimit
        fields = ["name", "category", "starts_on", "ends_on", "repeats_yearly", "weekdays", "min_nights", "max_nights"]


class StayLimitInline(NightRuleInline):
    model = StayLimit
    form = StayLimitForm
    fields = ["name", "category", "starts_on", "ends_on", "repeats_yearly", "weekdays", "min_nights", "max_nights"]
    verbose_name_plural = _("stay limits (stays that include one of these nights; the strictest applies)")


class VenueRoleForm(forms.ModelForm):
    """A role is given by e-mail address: managers add their staff without browsing every account."""

    email = forms.EmailField(
        label=_("E-mail address"), help_text=_("The member of staff's log-in; they need an account.")
    )

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
            raise forms.ValidationError(_("No account has this e-mail address; ask them to sign up first."))
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
    verbose_name_plural = _("staff roles")


def calendar_url(obj) -> str:
    """The full address of a room's or venue's calendar, for pasting into a channel."""
    return settings.SITE_URL.rstrip("/") + reverse("calendar_feed", args=[obj.calendar_token])


class CalendarTokenAdmin:
    """A secret calendar address on the change page, and the action that gives it a new secret (the
    old address stops working: for one that leaked, or a channel no longer used)."""

    @admin.display(description=_("calendar address"))
    def calendar_address(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html('<code class="calendar-url">{}</code>', calendar_url(obj))

    @admin.action(description=_("New calendar address (the old one stops working)"), permissions=["change"])
    def regenerate_calendar_address(self, request, queryset):
        for obj in queryset:
            if not self.has_change_permission(request, obj):
                self.message_user(request, _("%(obj)s: only its managers can do that.") % {"obj": obj}, messages.ERROR)
                continue
            obj.calendar_token = new_calendar_token()
            obj.save(update_fields=["calendar_token"])
            self.message_user(
                request, _("%(obj)s: the calendar is now at %(url)s") % {"obj": obj, "url": calendar_url(obj)}
            )


@admin.register(Venue)
class VenueAdmin(VenueScoped, CalendarTokenAdmin, VenueTimeZoneAdmin, admin.ModelAdmin):
    venue_path = ""
    readonly_fields = ["calendar_address"]
    actions = ["regenerate_calendar_address"]
    view_power = change_power = Power.MANAGE_VENUE
    add_power = delete_power = None
    list_display = ["name", "kind", "time_zone", "booking_mode", "assignment", "space_count", "is_active"]
    list_filter = ["kind", "booking_mode", "assignment", "is_active", "time_zone"]
    search_fields = ["name", "slug", "address"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [
        SpaceInline,
        CombinationInline,
        OpeningHoursInline,
        ShiftInline,
        TurnTimeInline,
        PacingRuleInline,
        ClosureInline,
        RateInline,
        StayLimitInline,
        VenueRoleInline,
    ]
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
        (
            _("Languages"),
            {
                "fields": ["language", "translations"],
                "description": _(
                    "The description above is in the venue's own language; give it in others here. Guests "
                    "read the one in their language, else the venue's."
                ),
            },
        ),
        (pgettext_lazy("noun", "Booking"), {"fields": ["booking_mode", "assignment"]}),
        (
            _("Time slots (restaurants, meeting rooms)"),
            {"fields": ["slot_interval_minutes", "default_duration_minutes", "allowed_durations"]},
        ),
        (
            _("Capacity"),
            {
                "fields": ["buffer_minutes", "max_online_party_size", "waitlist", "waitlist_offer_minutes"],
                "description": _("Shifts, turn times, pacing and combined tables are set further down the page."),
            },
        ),
        (_("Nights (hotels)"), {"fields": ["check_in_time", "check_out_time"]}),
        (
            _("Calendar for staff"),
            {
                "fields": ["calendar_address"],
                "description": _(
                    "Every booking and channel block of the venue, for the staff's calendar app (no guest "
                    "names). Each room has its own address for the booking channels, on the room's page."
                ),
            },
        ),
        (
            _("Rules"),
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
        (
            _("Text messages"),
            {
                "fields": ["sms_reminders", "sms_waitlist_offers", "sms_booking_changes"],
                "description": _(
                    "What may go by text message too, to guests who ask for it and give a phone (where the "
                    "site sends texts). Guests always get the e-mails."
                ),
            },
        ),
    ]

    def has_add_permission(self, request):
        return self.has_delete_permission(request)  # new venues: superusers

    def get_inlines(self, request, obj):
        # A venue being added has no zone yet for its closures, nobody to give roles to, and no tables
        # or shifts for its rules to name.
        if obj is None:
            return [SpaceInline, OpeningHoursInline]
        if not obj.uses_nights:  # rates and stay limits are a hotel's
            return [inline for inline in self.inlines if inline not in (RateInline, StayLimitInline)]
        return self.inlines

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(space_count=Count("spaces"))

    @admin.display(description=_("spaces"), ordering="space_count")
    def space_count(self, venue):
        return venue.space_count


class SessionFormSet(forms.BaseInlineFormSet):
    """A session runs every week on a weekday or once on a date (the model's clean says which is
    missing), and only a space sold by the seat has sessions: as the space's form on the same page
    leaves it (the formset's instance; each session's own `space` is read from the database)."""

    def clean(self):
        super().clean()
        if self.instance.sold_by_seat:
            return
        for form in self.forms:
            if self._should_delete_form(form) or (not form.has_changed() and form.instance.pk is None):
                continue
            form.add_error(
                None,
                _(
                    "Only a space sold by the seat has sessions: tick “sold by seat” for %(space)s, "
                    "or delete this session."
                )
                % {"space": self.instance.name},
            )


class SessionInline(VenueScopedInline, admin.TabularInline):
    """A space's sessions, on the space's page: its venue's managers change them."""

    model = Session
    formset = SessionFormSet
    fields = ["weekday", "date", "starts_at", "minutes", "seats"]
    venue_path = "space__venue"
    parent_venue_path = "venue"
    view_power = change_power = delete_power = Power.MANAGE_VENUE
    extra = 0
    verbose_name_plural = _("sessions (when a space sold by the seat runs, and its seats)")


class CalendarFeedInline(VenueScopedInline, admin.TabularInline):
    """A room's calendars on the booking channels, on the room's page (their sync state and blocks
    are under Reservations → Calendar feeds)."""

    model = CalendarFeed
    fields = ["name", "url", "is_active", "last_success_at", "last_error"]
    readonly_fields = ["last_success_at", "last_error"]
    venue_path = "space__venue"
    parent_venue_path = "venue"
    view_power = change_power = delete_power = Power.MANAGE_VENUE
    extra = 0
    verbose_name_plural = _("calendar feeds of the booking channels (their iCal export addresses)")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Space)
class SpaceAdmin(VenueScoped, CalendarTokenAdmin, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_VENUE
    list_display = [
        "name",
        "venue",
        "category",
        "capacity",
        "min_party_size",
        "price",
        "price_per",
        "sold_by_seat",
        "is_active",
    ]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "is_active", "sold_by_seat", "category"]
    list_select_related = ["venue"]
    search_fields = ["name", "category", "venue__name"]
    autocomplete_fields = ["venue"]
    readonly_fields = ["calendar_address"]
    inlines = [SessionInline, CalendarFeedInline]
    actions = ["regenerate_calendar_address"]


@admin.register(Closure)
class ClosureAdmin(VenueScoped, VenueTimeZoneAdmin, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_VENUE
    form = ClosureForm
    list_display = ["venue", "space", "area", "local_start", "local_end", "repeats_yearly", "reason"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "repeats_yearly"]
    list_select_related = ["venue", "space"]
    search_fields = ["reason", "area", "venue__name", "space__name"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["venue", "space"]

    @admin.display(description=_("starts (venue's time)"), ordering="starts_at")
    def local_start(self, closure):
        return f"{closure.starts_at.astimezone(closure.venue.zone):%Y-%m-%d %H:%M} ({closure.venue.time_zone})"

    @admin.display(description=_("ends (venue's time)"), ordering="ends_at")
    def local_end(self, closure):
        return f"{closure.ends_at.astimezone(closure.venue.zone):%Y-%m-%d %H:%M} ({closure.venue.time_zone})"

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for name in ("starts_at", "ends_at"):
            form.base_fields[name].help_text = (
                _("In %(zone)s.") % {"zone": obj.venue.time_zone} if obj else _("In the venue's time zone.")
            )
        if obj is not None:
            known = ", ".join(f"“{category}”" for category in venue_categories(obj.venue_id)) or _("none yet")
            form.base_fields["area"].help_text = _("%(help)s Categories: %(known)s.") % {
                "help": Closure._meta.get_field("area").help_text,
                "known": known,
            }
        return form


@admin.register(VenueRole)
class VenueRoleAdmin(VenueScoped, admin.ModelAdmin):
    view_power = change_power = add_power = delete_power = Power.MANAGE_ROLES
    list_display = ["user", "venue", "role"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "role"]
    list_select_related = ["user", "venue"]
    search_fields = ["user__email", "user__name", "venue__name"]
    form = VenueRoleAdminForm
