from django.contrib import admin
from django.db.models import Count

from spaces.models import Closure, OpeningHours, Space, Venue


class SpaceInline(admin.TabularInline):
    model = Space
    extra = 0
    fields = ["name", "category", "capacity", "min_party_size", "price", "is_active"]
    show_change_link = True


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0
    fields = ["weekday", "opens_at", "closes_at", "closes_next_day"]


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0
    fields = ["space", "starts_at", "ends_at", "reason"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Offer only this venue's spaces; a venue being added has none yet.
        if db_field.name == "space":
            venue_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Space.objects.filter(venue_id=venue_id) if venue_id else Space.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "time_zone", "booking_mode", "assignment", "space_count", "is_active"]
    list_filter = ["kind", "booking_mode", "assignment", "is_active", "time_zone"]
    search_fields = ["name", "slug", "address"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SpaceInline, OpeningHoursInline, ClosureInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "time_zone", "address", "description", "is_active", "currency"]}),
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(space_count=Count("spaces"))

    @admin.display(description="spaces", ordering="space_count")
    def space_count(self, venue):
        return venue.space_count


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ["name", "venue", "category", "capacity", "min_party_size", "price", "is_active"]
    list_filter = ["venue", "is_active", "category"]
    list_select_related = ["venue"]
    search_fields = ["name", "category", "venue__name"]
    autocomplete_fields = ["venue"]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["venue", "space", "starts_at", "ends_at", "reason"]
    list_filter = ["venue"]
    list_select_related = ["venue", "space"]
    search_fields = ["reason", "venue__name", "space__name"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["venue", "space"]
