"""GET /api/venues and /api/venues/{slug}: venues with their booking rules and spaces."""

from datetime import time
from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

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
    description: str
    booking_mode: str
    assignment: str
    slot_interval_minutes: int
    durations: list[int]
    check_in_time: time
    check_out_time: time
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
    def resolve_durations(venue: Venue) -> list[int]:
        return venue.durations()

    @staticmethod
    def resolve_spaces(venue: Venue) -> list[Space]:
        return venue.active_spaces


def _venues():
    active = Space.objects.filter(is_active=True).order_by("category", "capacity", "name")
    return Venue.objects.filter(is_active=True).prefetch_related(
        Prefetch("spaces", queryset=active, to_attr="active_spaces")
    )


@router.get("/venues", response=list[VenueOut], auth=None, summary="List the venues")
def list_venues(request):
    return list(_venues())


@router.get("/venues/{slug}", response=VenueOut, auth=None, summary="One venue")
def get_venue(request, slug: str):
    return get_object_or_404(_venues(), slug=slug)
