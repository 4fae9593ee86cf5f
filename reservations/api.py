"""Availability and reservations over JSON. Thin: every rule is in services and selectors."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import AwareDatetime, model_validator

from payments.services import checkout_start
from reservations.models import Reservation
from reservations.selectors import guest_reservations, venue_availability
from reservations.services import reservation_cancel, reservation_confirm, reservation_hold, reservation_modify
from spaces.models import Space, Venue

router = Router(tags=["reservations"])


# --- Availability --------------------------------------------------------------------------------------


class SlotOut(Schema):
    starts_at: datetime
    ends_at: datetime


class SpaceSlotsOut(Schema):
    id: int
    name: str
    category: str
    capacity: int
    slots: list[SlotOut]


class OptionOut(Schema):
    category: str
    starts_at: datetime
    ends_at: datetime
    free: int


class AvailabilityOut(Schema):
    venue: str
    date: date
    time_zone: str
    party_size: int
    duration: int | None = None
    nights: int | None = None
    spaces: list[SpaceSlotsOut]
    options: list[OptionOut] | None = None


class AvailabilityQuery(Schema):
    venue: str = Field(max_length=80, description="The venue's slug.")
    party_size: int = Field(ge=1, le=500)
    duration: int | None = Field(
        None, ge=1, le=1440, description="Minutes (slot mode); the default duration if left out."
    )
    nights: int | None = Field(None, ge=1, le=30, description="Nights (night mode); 1 if left out.")
    category: str = Field("", max_length=100)


@router.get("/availability/{date}", response=AvailabilityOut, auth=None, summary="What can be booked on a date")
def availability(request, date: date, query: Query[AvailabilityQuery]):
    """`date` is YYYY-MM-DD in the venue's time zone. Times come back with the venue's UTC offset,
    ready to post back to `POST /api/reservations`."""
    venue = get_object_or_404(Venue, slug=query.venue, is_active=True)
    found = venue_availability(
        venue=venue,
        day=date,
        party_size=query.party_size,
        duration=query.duration,
        nights=query.nights,
        category=query.category,
    )
    zone = venue.zone
    return {
        "venue": venue.slug,
        "date": date,
        "time_zone": venue.time_zone,
        "party_size": query.party_size,
        "duration": found.duration,
        "nights": found.nights,
        "spaces": [
            {
                "id": entry.space.pk,
                "name": entry.space.name,
                "category": entry.space.category,
                "capacity": entry.space.capacity,
                "slots": [
                    {"starts_at": s.starts_at.astimezone(zone), "ends_at": s.ends_at.astimezone(zone)}
                    for s in entry.slots
                ],
            }
            for entry in found.spaces
        ],
        "options": [
            {
                "category": o.category,
                "starts_at": o.starts_at.astimezone(zone),
                "ends_at": o.ends_at.astimezone(zone),
                "free": o.free,
            }
            for o in found.options
        ]
        if venue.assigns_spaces
        else None,
    }


# --- Reservations ---------------------------------------------------------------------------------------


class ReservationOut(Schema):
    reference: str
    space: int = Field(validation_alias="space_id")
    space_name: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    party_size: int
    status: str
    notes: str
    price: Decimal
    currency: str
    amount_due: Decimal
    hold_expires_at: datetime | None
    payment_url: str | None = None
    created_at: datetime

    @staticmethod
    def resolve_space_name(reservation: Reservation) -> str:
        return reservation.space.name

    @staticmethod
    def resolve_venue(reservation: Reservation) -> str:
        return reservation.space.venue.slug

    @staticmethod
    def resolve_time_zone(reservation: Reservation) -> str:
        return reservation.space.venue.time_zone

    @staticmethod
    def resolve_starts_at(reservation: Reservation) -> datetime:
        return reservation.local_starts_at

    @staticmethod
    def resolve_ends_at(reservation: Reservation) -> datetime:
        return reservation.local_ends_at

    @staticmethod
    def resolve_payment_url(reservation: Reservation) -> str | None:
        return getattr(reservation, "payment_url", None)


class ReservationIn(Schema):
    space: int | None = Field(None, description="A space's id, where the guest picks; or give `venue` instead.")
    venue: str | None = Field(None, max_length=80, description="A venue's slug: the venue assigns the space.")
    category: str = Field("", max_length=100, description="With `venue`: the room type or area asked for.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(None, description="Optional in slot mode: the default duration.")
    party_size: int = Field(ge=1, le=500)
    notes: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def one_place(self):
        if (self.space is None) == (self.venue is None):
            raise ValueError("Give either `space` (a space id) or `venue` (a venue slug).")
        return self


class ReservationUpdate(Schema):
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    party_size: int | None = Field(None, ge=1, le=500)
    space: int | None = None
    notes: str | None = Field(None, max_length=1000)


def _user(request):
    return request.auth


def _space(space_id: int) -> Space:
    space = Space.objects.select_related("venue").filter(pk=space_id, is_active=True, venue__is_active=True).first()
    if space is None:
        raise HttpError(422, "space: no bookable space has that id.")
    return space


def _site_url(name: str, reservation: Reservation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[reservation.reference])


@router.post("/reservations", response={201: ReservationOut}, summary="Book")
def create_reservation(request, payload: ReservationIn):
    """A free booking is confirmed at once. One that needs payment comes back `held`, with
    `hold_expires_at` and a `payment_url` (Stripe Checkout) to send the guest to."""
    user = _user(request)
    place = (
        {"space": _space(payload.space)}
        if payload.space is not None
        else {"venue": get_object_or_404(Venue, slug=payload.venue, is_active=True), "category": payload.category}
    )
    reservation = reservation_hold(
        guest=user,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        party_size=payload.party_size,
        notes=payload.notes,
        **place,
    )
    if reservation.amount_due > 0:
        payment = checkout_start(
            reservation=reservation,
            success_url=_site_url("reservations:payment", reservation),
            cancel_url=_site_url("reservations:review", reservation),
        )
        reservation.refresh_from_db()
        reservation.payment_url = payment.checkout_url
    else:
        reservation = reservation_confirm(reservation=reservation, actor=user)
    return Status(201, reservation)


class ListQuery(Schema):
    when: Literal["upcoming", "past"] | None = Field(None, description="Only upcoming, or only past, reservations.")


def _list_for(request, user, query: ListQuery):
    if query.when:
        return guest_reservations(guest=user, when=query.when)
    return Reservation.objects.filter(guest=user).select_related("space__venue").order_by("-starts_at", "-pk")


@router.get("/reservations/me", response=list[ReservationOut], summary="My reservations")
@paginate(LimitOffsetPagination)
def my_reservations(request, query: Query[ListQuery]):
    return _list_for(request, _user(request), query)


@router.get("/reservations/{int:user_id}", response=list[ReservationOut], summary="A user's reservations")
@paginate(LimitOffsetPagination)
def user_reservations(request, user_id: int, query: Query[ListQuery]):
    """`user_id` is a user's id (or use `/api/reservations/me`). Another user's list is for staff only."""
    me = _user(request)
    if user_id != me.pk and not me.is_staff:
        raise HttpError(403, "You can only list your own reservations.")
    owner = get_object_or_404(get_user_model(), pk=user_id)
    return _list_for(request, owner, query)


def _visible(request, reference: str) -> Reservation:
    user = _user(request)
    reservation = Reservation.objects.select_related("space__venue").filter(reference=reference).first()
    if reservation is None or not (user.is_staff or reservation.guest_id == user.pk):
        raise HttpError(404, "Reservation not found.")  # never reveal that someone else's exists
    return reservation


@router.get("/reservations/{reference}", response=ReservationOut, summary="One reservation, by reference")
def get_reservation(request, reference: str):
    return _visible(request, reference)


@router.put("/reservations/{reference}", response=ReservationOut, summary="Change a reservation")
def update_reservation(request, reference: str, payload: ReservationUpdate):
    reservation = _visible(request, reference)
    return reservation_modify(
        reservation=reservation,
        actor=_user(request),
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        party_size=payload.party_size,
        space=_space(payload.space) if payload.space is not None else None,
        notes=payload.notes,
    )


@router.delete("/reservations/{reference}", response=ReservationOut, summary="Cancel a reservation")
def cancel_reservation(request, reference: str, reason: str = Query("", max_length=500)):
    """Cancelling a cancelled reservation answers the same again. Staff give a `reason`."""
    reservation = _visible(request, reference)
    return reservation_cancel(reservation=reservation, actor=_user(request), reason=reason)
