"""GET /api/venues and /api/venues/{slug}: venues with their booking rules and spaces."""

from datetime import time
from decimal import Decimal
from typing import Annotated

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from pydantic import AfterValidator, WithJsonSchema

from spaces.models import Space, Venue

router = Router(tags=["venues"])

# A wall-clock time in the venue's zone, "15:00:00". Not JSON Schema's "time" format: that is RFC
# 3339's full-time, which must carry a UTC offset, and a check-in time has none (it follows DST).
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "Local time at the venue, HH:MM:SS.",
        }
    ),
]


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """Every error answer (config/api.py): `detail` in words; a broken venue rule names its `field`,
    invalid input lists `errors` per field."""

    detail: str
    field: str | None = None
    errors: list[FieldErrorOut] | None = None


def error_responses(*codes: int) -> dict:
    """The error statuses an operation may answer, declared in the schema with their body. Every
    operation may answer 429 (config/api.py throttles the whole API)."""
    return {frozenset({*codes, 429}): ErrorOut}


def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused as invalid input here, not a 500 from the database.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


# Every string the API takes, in a path, a query or a body.
Text = Annotated[str, AfterValidator(_without_nul)]


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


@router.get("/venues", response={200: list[VenueOut], **error_responses()}, auth=None, summary="List the venues")
def list_venues(request):
    return list(_venues())


@router.get("/venues/{slug}", response={200: VenueOut, **error_responses(404)}, auth=None, summary="One venue")
def get_venue(request, slug: Text):
    return get_object_or_404(_venues(), slug=slug)
