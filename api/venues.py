"""GET /api/venues and /api/venues/{slug}: venues with their booking rules and spaces."""

from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from ninja import Field, Router, Schema

from api.schemas import LocalTime, Text, error_responses
from spaces.models import Space, Venue

router = Router(tags=["venues"])


class SpaceOut(Schema):
    id: int
    name: str
    category: str
    capacity: int
    min_party_size: int
    price: Decimal
    description: str


class VenueOut(Schema):
    slug: str
    name: str
    kind: str
    time_zone: str
    address: str
    phone: str = Field(description="The venue's phone number for guests; empty when not published.")
    email: str = Field(description="The venue's e-mail address for guests; empty when not published.")
    description: str = Field(
        description="In the language asked for (Accept-Language) where the venue gives one, else its own."
    )
    language: str = Field(description="The venue's own language.")
    booking_mode: str
    assignment: str
    slot_interval_minutes: int
    durations: list[int]
    check_in_time: LocalTime
    check_out_time: LocalTime
    min_lead_minutes: int
    max_advance_days: int
    cancellation_cutoff_hours: int
    modification_cutoff_hours: int
    hold_minutes: int
    currency: str
    payment_mode: str
    refund_policy: list[dict]
    spaces: list[SpaceOut]

    @staticmethod
    def resolve_description(venue: Venue) -> str:
        return venue.description_in(get_language() or "")

    @staticmethod
    def resolve_durations(venue: Venue) -> list[int]:
        return venue.durations()

    @staticmethod
    def resolve_spaces(venue: Venue) -> list[Space]:
        return venue.active_spaces


def _venues():
    active = Space.objects.filter(is_active=True).order_by("category", "capacity", "sort_key", "name")
    return Venue.objects.filter(is_active=True).prefetch_related(
        Prefetch("spaces", queryset=active, to_attr="active_spaces")
    )


@router.get("/venues", response={200: list[VenueOut], **error_responses()}, auth=None, summary="List the venues")
def list_venues(request):
    return list(_venues())


@router.get("/venues/{slug}", response={200: VenueOut, **error_responses(404)}, auth=None, summary="One venue")
def get_venue(request, slug: Text):
    return get_object_or_404(_venues(), slug=slug)
