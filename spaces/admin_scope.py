"""The admin shows each member of staff only their venues' data, and only what their role allows.

Every ModelAdmin and inline of a venue's data mixes in `VenueScoped` and names the path from its
model to the venue (`venue_path`) and the powers that see, change, add and delete it. Lists,
change pages, filters (use `admin.RelatedOnlyFieldListFilter` for the venue), autocomplete (it reads
get_queryset) and exports follow from get_queryset; the permission methods refuse the rest. Django's
own model permissions play no part: powers come from venue roles (spaces/powers.py).

The admin also shows and takes times in the venue's zone: `VenueTimeZoneAdmin` activates the zone of
the object being changed, and the forms below read what staff typed as the venue's wall time.
"""

from datetime import UTC, datetime

from django.utils import timezone

from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power


class VenueScoped:
    venue_path: str = "venue"  # from the model to its venue; "" for Venue itself
    view_power: Power = Power.VIEW_BOOKINGS
    change_power: Power | None = Power.CHANGE_BOOKINGS
    add_power: Power | None = None  # None: like change_power
    delete_power: Power | None = None  # None: nobody but a superuser deletes

    def _venue_of(self, obj):
        if obj is None:
            return None
        for name in filter(None, self.venue_path.split("__")):
            obj = getattr(obj, name)
        return obj

    def _allowed(self, request, power: Power | None, obj=None) -> bool:
        if power is None:
            return False
        venue = self._venue_of(obj)
        if venue is not None:
            return powers.can(request.user, power, venue)
        ids = powers.venue_ids(request.user, power)
        return ids is None or bool(ids)

    def _venue_filter(self, ids: set[int]) -> dict:
        return {f"{self.venue_path}__in" if self.venue_path else "pk__in": ids}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = powers.venue_ids(request.user, self.view_power)
        return queryset if ids is None else queryset.filter(**self._venue_filter(ids))

    def has_module_permission(self, request):
        return self._allowed(request, self.view_power)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, self.view_power, obj) or self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, self.change_power, obj)

    def has_add_permission(self, request, *args):
        return self._allowed(request, self.add_power or self.change_power)

    def has_delete_permission(self, request, obj=None):
        if self.delete_power is None:
            return powers.venue_ids(request.user, Power.MANAGE_VENUE) is None  # a superuser (with two-factor)
        return self._allowed(request, self.delete_power, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Offer only the venues (and their spaces) where the member of staff may add or change things.
        power = self.add_power or self.change_power or self.view_power
        ids = powers.venue_ids(request.user, power)
        if ids is not None and db_field.related_model is Venue:
            kwargs["queryset"] = Venue.objects.filter(pk__in=ids)
        elif ids is not None and db_field.related_model is Space:
            kwargs["queryset"] = Space.objects.filter(venue_id__in=ids).select_related("venue")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class VenueScopedInline(VenueScoped):
    """An inline on a venue's (or a reservation's) page: allowed by the power at the parent's venue."""

    parent_venue_path: str = ""  # from the parent object to its venue; "" when the parent is the venue

    def _parent_venue(self, obj):
        for name in filter(None, self.parent_venue_path.split("__")):
            obj = getattr(obj, name)
        return obj

    def _allowed(self, request, power, obj=None):
        if power is None:
            return False
        if obj is None:  # the page of a new parent
            return super()._allowed(request, power)
        return powers.can(request.user, power, self._parent_venue(obj))

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, self.add_power or self.change_power, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, self.delete_power, obj)


def local_wall_time(moment: datetime | None, venue: Venue) -> datetime | None:
    """What staff typed, read as the wall time at `venue`: the admin's fields parse in the active zone,
    which is UTC unless VenueTimeZoneAdmin made it the venue's."""
    if moment is None:
        return None
    naive = timezone.make_naive(moment, timezone.get_current_timezone())
    # Through UTC: a wall time inside the spring-forward gap becomes a real instant.
    return naive.replace(tzinfo=venue.zone).astimezone(UTC).astimezone(venue.zone)


class VenueTimeZoneAdmin:
    """Change pages show and take the times of their object in its venue's zone, and say which."""

    def object_venue(self, obj) -> Venue | None:
        return self._venue_of(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        venue = self.object_venue(obj) if obj is not None else None
        extra_context = {**(extra_context or {}), "venue_time_zone": venue.time_zone if venue else ""}
        if venue is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with timezone.override(venue.zone):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # inside the zone: the fields are drawn in it
        return response
