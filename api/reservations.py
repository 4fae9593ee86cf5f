"""Availability and reservations over JSON. Thin: every rule is in services and selectors."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as InvalidInput
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import AfterValidator, AwareDatetime, ValidationInfo, WithJsonSchema, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from accounts import phones
from accounts.two_factor import TwoFactorRequired, has_two_factor
from api.schemas import ContactName, ContactPhone, Text, error_responses
from core import ratelimit
from core.replica import lag_tolerant
from payments.services import checkout_start, takes_payment
from reservations.exceptions import BookingError
from reservations.models import Reservation
from reservations.selectors import category_prices, guest_reservations, venue_availability
from reservations.services import (
    MAX_NIGHTS,
    MAX_PARTY_SIZE,
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
    reservation_modify,
)
from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power

router = Router(tags=["reservations"])

# Far enough from the years 1 and 9999 that moving a time to UTC or to a venue's zone, or adding a stay
# to it, cannot overflow Python's datetime (that was a 500). Not a booking rule: the services have those.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# The longest booking the API takes: a stay of MAX_NIGHTS nights, the longest availability offers.
# The services set no limit, and a stay of centuries overflowed the price column (a 500).
LONGEST = timedelta(days=MAX_NIGHTS + 1)


def _moment_in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(_("Give a time between the years 1900 and 9000"))
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError(_("Give a date between the years 1900 and 9000"))
    return value


def _not_too_long(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at - starts_at > LONGEST:
        raise ValueError(
            ngettext("A booking lasts at most %(count)s night", "A booking lasts at most %(count)s nights", MAX_NIGHTS)
            % {"count": MAX_NIGHTS}
        )


Moment = Annotated[AwareDatetime, AfterValidator(_moment_in_range)]
Day = Annotated[date, AfterValidator(_day_in_range)]
# Documented with its shape, so that a client (or a fuzzer) does not take "me" or a user id for one:
# those paths are the lists. Anything else that is not a reservation's is simply 404.
Reference = Annotated[
    Text,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$",
            "description": "A reservation's reference, such as K7QM-2XPA-9RTD.",
        }
    ),
]


# --- Availability --------------------------------------------------------------------------------------


class SlotOut(Schema):
    starts_at: datetime
    ends_at: datetime
    seats_left: int | None = Field(None, description="A session of a space sold by the seat: the seats still free.")


class SpaceSlotsOut(Schema):
    id: int
    name: str
    category: str
    capacity: int
    slots: list[SlotOut]
    price: Decimal | None = Field(
        None,
        description="What it costs: a stay in this room, the sum of its nights at their rates; a slot of the "
        "duration asked, a space priced by the hour its price an hour times the hours; a session, the party's seats.",
    )
    unavailable_reason: str | None = Field(
        None,
        description="Why it is not offered although it may be free, in the guest's words (a stay limit, such as "
        "“Stays that include a Saturday night from 1 Jul to 31 Aug last at least 2 nights.”); null when none.",
    )


class OptionOut(Schema):
    category: str = Field(description="The area (a category of spaces, such as Terrace); empty for none.")
    starts_at: datetime
    ends_at: datetime
    free: int = Field(description="How many tables or combinations of the area could take the party then.")
    price: Decimal | None = Field(
        None, description="A stay: what it costs in the room the venue would assign (its nights at their rates)."
    )
    unavailable_reason: str | None = Field(
        None,
        description="Why the category is not offered (a stay limit of these nights), in the guest's words; "
        "null when none. `free` is 0 then.",
    )


class AvailabilityOut(Schema):
    venue: str
    date: date
    time_zone: str
    party_size: int
    duration: int | None = None
    nights: int | None = None
    spaces: list[SpaceSlotsOut] | None = Field(
        description="Each fitting space with its free slots: where the guest picks a space; where the venue "
        "assigns, only for the venue's staff or with `detail=spaces` (null otherwise)."
    )
    options: list[OptionOut] | None = Field(
        None, description="Where the venue assigns: each start time and area, with how many could take the party."
    )


class AvailabilityQuery(Schema):
    venue: Text = Field(max_length=80, description="The venue's slug.")
    party_size: int = Field(ge=1, le=MAX_PARTY_SIZE)
    duration: int | None = Field(
        None, ge=1, le=1440, description="Minutes (slot mode); the default duration if left out."
    )
    nights: int | None = Field(None, ge=1, le=MAX_NIGHTS, description="Nights (night mode); 1 if left out.")
    category: Text = Field("", max_length=100, description="Only this area (a category of spaces).")
    detail: Literal["", "spaces"] = Field(
        "", description="`spaces`: also every fitting space's free slots, where the venue assigns."
    )


@router.get(
    "/availability/{date}",
    response={200: AvailabilityOut, **error_responses(404, 422)},
    auth=None,
    summary="What can be booked on a date",
)
def availability(request, date: Day, query: Query[AvailabilityQuery]):
    """`date` is YYYY-MM-DD in the venue's time zone. Times come back with the venue's UTC offset,
    ready to post back to `POST /api/reservations`."""
    venue = get_object_or_404(Venue, slug=query.venue, is_active=True)
    staff = powers.has_power(request.user, Power.VIEW_BOOKINGS, venue)
    found = venue_availability(
        venue=venue,
        day=date,
        party_size=query.party_size,
        duration=query.duration,
        nights=query.nights,
        category=query.category,
        staff=staff,
    )
    # A guest of a venue that assigns asks "which times can we get?": the times and areas answer it.
    # Every table's slot list is for staff, or for a client that asks for it.
    per_space = not venue.assigns_spaces or staff or query.detail == "spaces"
    # Built as plain JSON, each time written once: a venue of 1,000 tables answers with tens of
    # thousands of slots, and validating them one by one costs more than finding them.
    zone = venue.zone
    written = {}

    def iso(moment):
        key = moment.timestamp()  # not the datetime: the two 02:30s of an autumn night compare equal
        if key not in written:
            written[key] = moment.astimezone(zone).isoformat()
        return written[key]

    slots = {}

    def slot(entry):
        key = id(entry)
        if key not in slots:
            slots[key] = {"starts_at": iso(entry.starts_at), "ends_at": iso(entry.ends_at)}
            if entry.seats_left is not None:
                slots[key]["seats_left"] = entry.seats_left
        return slots[key]

    def space_entry(entry):
        body = {
            "id": entry.space.pk,
            "name": entry.space.name,
            "category": entry.space.category,
            "capacity": entry.space.capacity,
            "slots": [slot(each) for each in entry.slots],
        }
        if entry.price is not None:
            body["price"] = str(entry.price)
        if entry.unavailable_reason:
            body["unavailable_reason"] = entry.unavailable_reason
        return body

    stay_prices = category_prices(found) if venue.uses_nights else {}

    def option(o):
        body = {
            "category": o.category,
            "starts_at": iso(o.starts_at),
            "ends_at": iso(o.ends_at),
            "free": o.free,
        }
        if o.category in stay_prices:
            body["price"] = str(stay_prices[o.category])
        if o.unavailable_reason:
            body["unavailable_reason"] = o.unavailable_reason
        return body

    payload = {
        "venue": venue.slug,
        "date": date.isoformat(),
        "time_zone": venue.time_zone,
        "party_size": query.party_size,
        "duration": found.duration,
        "nights": found.nights,
        "spaces": [
            space_entry(entry)
            for entry in found.spaces
            if per_space or entry.space.sold_by_seat  # a class's sessions are picked, even where tables are not
        ]
        if per_space or any(entry.space.sold_by_seat for entry in found.spaces)
        else None,
        "options": [option(o) for o in found.options] if venue.assigns_spaces else None,
    }
    return JsonResponse(payload)


# --- Reservations ---------------------------------------------------------------------------------------


class SpaceRefOut(Schema):
    id: int
    name: str


class ReservationOut(Schema):
    reference: str
    space: int = Field(validation_alias="space_id", description="The (first) space it takes; see `spaces`.")
    space_name: str
    spaces: list[SpaceRefOut] = Field(description="Every space it takes: one, or the tables of a combination.")
    venue: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    party_size: int
    status: str
    notes: str
    contact_name: str = Field(
        description="The name the booking is under: its own (booking for someone else), else the account's; "
        "empty when neither has one."
    )
    contact_phone: str = Field(
        description="The phone the venue calls about the booking, in E.164 (+49301234567): its own, else the "
        "account's; empty when neither has one."
    )
    by_sms: bool = Field(
        description="The guest asked for text messages about this booking (its reminder, where the venue sends "
        "them), to `contact_phone`."
    )
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
    def resolve_spaces(reservation: Reservation) -> list[dict]:
        return [{"id": space.pk, "name": space.name} for space in reservation.all_spaces]

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
    def resolve_contact_name(reservation: Reservation) -> str:
        return reservation.who

    @staticmethod
    def resolve_contact_phone(reservation: Reservation) -> str:
        return reservation.phone

    @staticmethod
    def resolve_payment_url(reservation: Reservation) -> str | None:
        return getattr(reservation, "payment_url", None)


class ReservationIn(Schema):
    space: int | None = Field(None, description="A space's id, where the guest picks; or give `venue` instead.")
    venue: Text | None = Field(None, max_length=80, description="A venue's slug: the venue assigns the space.")
    category: Text = Field("", max_length=100, description="With `venue`: the room type or area asked for.")
    starts_at: Moment
    ends_at: Moment | None = Field(None, description="Optional in slot mode: the default duration.")
    party_size: int = Field(ge=1, le=MAX_PARTY_SIZE)
    notes: Text = Field("", max_length=1000)
    contact_name: ContactName = ""
    contact_phone: ContactPhone = ""
    by_sms: bool = Field(
        False,
        description="Text messages about the booking too (its reminder, where the venue sends them), to "
        "`contact_phone` or the account's phone: one of them is needed (422 with `field` by_sms otherwise).",
    )

    @field_validator("ends_at")
    @classmethod
    def not_too_long(cls, ends_at, info: ValidationInfo):
        _not_too_long(info.data.get("starts_at"), ends_at)
        return ends_at

    @model_validator(mode="after")
    def one_place(self):
        if (self.space is None) == (self.venue is None):
            raise ValueError(_("Give either `space` (a space id) or `venue` (a venue slug)."))
        return self


class ReservationUpdate(Schema):
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    party_size: int | None = Field(None, ge=1, le=MAX_PARTY_SIZE)
    space: int | None = None
    category: Text | None = Field(
        None,
        max_length=100,
        description="Where the venue assigns: another room type (or area) to move to; the price follows. "
        "Left out: the one booked.",
    )
    notes: Text | None = Field(None, max_length=1000)
    contact_name: ContactName | None = None
    contact_phone: ContactPhone | None = None

    @field_validator("ends_at")
    @classmethod
    def not_too_long(cls, ends_at, info: ValidationInfo):
        _not_too_long(info.data.get("starts_at"), ends_at)
        return ends_at


def _user(request):
    return request.auth


def _contact_phone(text: str) -> str:
    """A phone as the client sent it, in E.164 (accounts/phones.py); one that is none answers 422
    {"detail", "field": "contact_phone"}, like a broken rule."""
    try:
        return phones.normalise(text)
    except ValidationError as error:
        raise BookingError(" ".join(error.messages), field="contact_phone") from None


def _space(space_id: int) -> Space:
    space = Space.objects.select_related("venue").filter(pk=space_id, is_active=True, venue__is_active=True).first()
    if space is None:
        raise HttpError(422, _("%(field)s: no bookable space has that id.") % {"field": "space"})
    return space


@router.post(
    "/reservations",
    response={201: ReservationOut, **error_responses(400, 401, 403, 404, 409, 413, 422, 503)},
    summary="Book",
)
def create_reservation(
    request,
    response: HttpResponse,
    payload: ReservationIn,
    idempotency_key: str = Header(  # noqa: B008
        "",
        alias="Idempotency-Key",
        max_length=100,
        description=(
            "Any unique string (a UUID): a retry of this request with the same key, after an answer that "
            "never arrived, gets the booking the first one made (header Idempotent-Replayed: true) "
            "instead of a second booking or a 409."
        ),
    ),
):
    """A free booking is confirmed at once. One that needs payment comes back `held`, with
    `hold_expires_at` and a `payment_url` (Stripe Checkout) to send the guest to.
    Too many attempts in a short time (per user and per IP address) answer 429 with Retry-After."""
    user = _user(request)
    ratelimit.check(request, "hold", user=user)  # holds block slots for others: no hoarding
    place = (
        {"space": _space(payload.space)}
        if payload.space is not None
        else {"venue": get_object_or_404(Venue, slug=payload.venue, is_active=True), "category": payload.category}
    )
    request_ = {
        "guest": user,
        "starts_at": payload.starts_at,
        "ends_at": payload.ends_at,
        "party_size": payload.party_size,
        "notes": payload.notes,
        "contact_name": " ".join(payload.contact_name.split()),
        "contact_phone": _contact_phone(payload.contact_phone),
        "by_sms": payload.by_sms,
        "idempotency_key": idempotency_key.strip(),
        **place,
    }
    venue = place["space"].venue if "space" in place else place["venue"]
    if not takes_payment(venue):
        return Status(201, _replayed(response, reservation_book(**request_)))  # hold and confirm in one transaction
    reservation = reservation_hold(**request_)
    if getattr(reservation, "replayed", False):
        return Status(201, _replayed(response, reservation))  # its payment, if any: POST .../checkout
    if reservation.amount_due > 0:
        # A failed start answers 503 with the reference: the hold stands, and
        # POST /api/reservations/{reference}/checkout tries again.
        return Status(201, _with_checkout(reservation))
    return Status(201, reservation_confirm(reservation=reservation, actor=user))


def _replayed(response: HttpResponse, reservation: Reservation) -> Reservation:
    if getattr(reservation, "replayed", False):
        response["Idempotent-Replayed"] = "true"
    return reservation


def _with_checkout(reservation: Reservation) -> Reservation:
    payment = checkout_start(reservation=reservation)
    reservation = Reservation.objects.select_related("space__venue").get(pk=reservation.pk)
    reservation.payment_url = payment.checkout_url
    return reservation


@router.post(
    "/reservations/{reference}/checkout",
    response={200: ReservationOut, **error_responses(401, 404, 409, 422, 503)},
    summary="Pay for a held booking",
)
def start_checkout(request, reference: Reference):
    """(Re)open Stripe Checkout for the caller's own held booking: the `payment_url` to send the guest
    to. A session still open is reused; 409 once the hold has run out; 503 (with the `reference`) when
    Stripe cannot be reached, nothing charged."""
    user = _user(request)
    reservation = Reservation.objects.select_related("space__venue").filter(reference=reference).first()
    if reservation is None or reservation.guest_id != user.pk:
        raise HttpError(404, _("Reservation not found."))
    return _with_checkout(reservation)


class ConfirmIn(Schema):
    by_sms: bool | None = Field(
        None,
        description="Text messages about the booking too (its reminder, where the venue sends them); left out: "
        "as the hold has it. Needs a phone (the booking's or the account's): 422 with `field` by_sms otherwise.",
    )


def _confirm_body(request) -> ConfirmIn:
    """The optional JSON body of a confirmation. Read here, not by the framework: a POST without one (or
    with an empty form, as many clients send) confirms as before."""
    if request.content_type != "application/json" or not request.body.strip():
        return ConfirmIn()
    try:
        return ConfirmIn.model_validate_json(request.body)
    except PydanticValidationError as error:
        raise InvalidInput([{**item, "loc": ("body", *item["loc"])} for item in error.errors()]) from None


@router.post(
    "/reservations/{reference}/confirm",
    response={200: ReservationOut, **error_responses(401, 404, 409, 422)},
    summary="Confirm a held booking",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ConfirmIn.model_json_schema()}},
        }
    },
)
def confirm_reservation(request, reference: Reference):
    """Confirm the caller's held booking (a hold made with a staff tool, or an offer). Confirming a
    confirmed booking changes nothing. 409 once the hold has run out; 422 while it is to be paid
    first (`POST /api/reservations/{reference}/checkout`) or when it was cancelled. The body is optional:
    `{"by_sms": true}` asks for text messages about the booking too."""
    user = _user(request)
    payload = _confirm_body(request)
    reservation = Reservation.objects.select_related("space__venue").filter(reference=reference).first()
    if reservation is None:
        raise HttpError(404, _("Reservation not found."))
    return reservation_confirm(reservation=reservation, actor=user, by_sms=payload.by_sms)


class Pages(LimitOffsetPagination):
    """?limit=&offset=, bounded: PostgreSQL's LIMIT and OFFSET are bigints, and a larger number was a 500."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=1_000_000_000)


class ListQuery(Schema):
    when: Literal["upcoming", "past"] | None = Field(None, description="Only upcoming, or only past, reservations.")


def _list_for(request, user, query: ListQuery, *, venue_ids: set[int] | None = None):
    """The user's reservations; with `venue_ids`, only those at these venues (what staff may see)."""
    if query.when:
        found = guest_reservations(guest=user, when=query.when)
    else:
        found = (
            Reservation.objects.using(lag_tolerant(guest_id=user.pk))  # the guest's history: see core/replica.py
            .filter(guest=user)
            .select_related("space__venue")
            .prefetch_related("claims__space")
            .order_by("-starts_at", "-pk")
        )
    found = found.select_related("guest")  # the name and phone a booking is under fall back to the account's
    return found if venue_ids is None else found.filter(space__venue_id__in=venue_ids)


@router.get(
    "/reservations/me", response={200: list[ReservationOut], **error_responses(401, 422)}, summary="My reservations"
)
@paginate(Pages)
def my_reservations(request, query: Query[ListQuery]):
    return _list_for(request, _user(request), query)


@router.get(
    "/reservations/{int:user_id}",
    response={200: list[ReservationOut], **error_responses(401, 403, 404, 422)},
    summary="A user's reservations",
)
@paginate(Pages)
def user_reservations(request, user_id: int, query: Query[ListQuery]):
    """`user_id` is a user's id (or use `/api/reservations/me`). Another user's list is for the staff of
    a venue, and holds only that venue's bookings (every venue's for a superuser)."""
    me = _user(request)
    if user_id == me.pk:
        return _list_for(request, me, query)
    if powers.is_venue_staff(me) and not has_two_factor(me):
        raise TwoFactorRequired
    venue_ids = powers.venue_ids(me, Power.VIEW_BOOKINGS)
    if venue_ids is not None and not venue_ids:
        raise HttpError(403, _("You can only list your own reservations."))
    owner = get_object_or_404(get_user_model(), pk=user_id)
    return _list_for(request, owner, query, venue_ids=venue_ids)


def _visible(request, reference: str) -> Reservation:
    user = _user(request)
    reservation = Reservation.objects.select_related("space__venue", "guest").filter(reference=reference).first()
    own = reservation is not None and reservation.guest_id == user.pk
    if not own and (reservation is None or not powers.may(user, Power.VIEW_BOOKINGS, reservation.space.venue)):
        raise HttpError(404, _("Reservation not found."))  # never reveal that someone else's exists
    return reservation


@router.get(
    "/reservations/{reference}",
    response={200: ReservationOut, **error_responses(401, 403, 404)},
    summary="One reservation, by reference",
)
def get_reservation(request, reference: Reference):
    return _visible(request, reference)


@router.put(
    "/reservations/{reference}",
    response={200: ReservationOut, **error_responses(400, 401, 403, 404, 409, 413, 422)},
    summary="Change a reservation",
)
def update_reservation(request, reference: Reference, payload: ReservationUpdate):
    reservation = _visible(request, reference)
    if payload.starts_at is None:  # a new end for the booked start
        try:
            _not_too_long(reservation.starts_at, payload.ends_at)
        except ValueError as error:
            raise HttpError(422, f"ends_at: {error}.") from None
    return reservation_modify(
        reservation=reservation,
        actor=_user(request),
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        party_size=payload.party_size,
        space=_space(payload.space) if payload.space is not None else None,
        category=payload.category,
        notes=payload.notes,
        contact_name=payload.contact_name,
        contact_phone=_contact_phone(payload.contact_phone) if payload.contact_phone is not None else None,
    )


@router.delete(
    "/reservations/{reference}",
    response={200: ReservationOut, **error_responses(401, 403, 404, 422)},
    summary="Cancel a reservation",
)
def cancel_reservation(request, reference: Reference, reason: Text = Query("", max_length=500)):  # noqa: B008
    """Cancelling a cancelled reservation answers the same again. Staff give a `reason`."""
    reservation = _visible(request, reference)
    return reservation_cancel(reservation=reservation, actor=_user(request), reason=reason)
