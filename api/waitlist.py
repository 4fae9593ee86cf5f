"""The waitlist over JSON: join for a date and a window of starts (or a session), see your place in
line and any offer, leave. Thin: the rules are in reservations.services.waitlist."""

from datetime import date as Date

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from api.schemas import LocalTime, Text, error_responses
from core import ratelimit
from core.replica import lag_tolerant
from reservations.exceptions import NotAllowed
from reservations.models import WaitlistEntry
from reservations.services.waitlist import place_in_line, waitlist_join, waitlist_leave
from spaces.models import Space, Venue

router = Router(tags=["waitlist"])


class WaitlistIn(Schema):
    venue: Text = Field(max_length=80, description="The venue's slug.")
    date: Date = Field(description="The date, in the venue's time zone.")
    earliest: LocalTime = Field(description="The earliest start you would take (venue's local time).")
    latest: LocalTime = Field(description="The latest start you would take (venue's local time).")
    party_size: int = Field(ge=1, le=500)
    nights: int = Field(1, ge=1, le=30, description="For a stay: the nights from `date`.")
    category: Text = Field("", max_length=100, description="Only this area or room type.")
    space: int | None = Field(None, description="A session's space (a class, a tour), or the space you pick.")
    by_sms: bool = Field(
        False,
        description="Text the offer too (where the venue texts its offers), to the account's phone: it needs one "
        "(422 with `field` by_sms otherwise).",
    )


class WaitlistOut(Schema):
    id: int
    venue: str
    date: Date
    earliest: LocalTime
    latest: LocalTime
    party_size: int
    nights: int
    category: str
    space: int | None = Field(validation_alias="space_id")
    status: str = Field(description="waiting, offered, booked, left or lapsed.")
    place: int | None = Field(description="Your place in line while waiting (1 is next).")
    offer: str | None = Field(description="The reference of the held booking offered to you: confirm it in time.")
    by_sms: bool = Field(description="An offer is texted too (where the venue texts its offers).")
    created_at: str

    @staticmethod
    def resolve_venue(entry: WaitlistEntry) -> str:
        return entry.venue.slug

    @staticmethod
    def resolve_date(entry: WaitlistEntry) -> Date:
        return entry.day

    @staticmethod
    def resolve_place(entry: WaitlistEntry) -> int | None:
        return place_in_line(entry) if entry.status == WaitlistEntry.Status.WAITING else None

    @staticmethod
    def resolve_offer(entry: WaitlistEntry) -> str | None:
        return entry.offer.reference if entry.offer_id else None

    @staticmethod
    def resolve_created_at(entry: WaitlistEntry) -> str:
        return entry.created_at.isoformat()


def _entries(user):
    # The guest's own list reads the replica like their bookings, unless they just changed it (core/replica.py).
    entries = WaitlistEntry.objects.using(lag_tolerant(guest_id=user.pk)).filter(guest=user)
    return entries.select_related("venue", "offer").order_by("-created_at", "-pk")


@router.post("/waitlist", response={201: WaitlistOut, **error_responses(401, 404, 422)}, summary="Join a waitlist")
def join(request, payload: WaitlistIn):
    """Ask to be offered a place when one frees up: the first fitting guest in line gets a hold for
    the venue's offer window, and an e-mail; confirm it with `POST /api/reservations/{reference}/confirm`."""
    ratelimit.check(request, "waitlist", user=request.auth)  # a wish holds a place in line: no flooding it
    venue = get_object_or_404(Venue, slug=payload.venue, is_active=True)
    space = None
    if payload.space is not None:
        space = Space.objects.filter(pk=payload.space, venue=venue, is_active=True).first()
        if space is None:
            raise HttpError(422, _("%(field)s: no bookable space of this venue has that id.") % {"field": "space"})
    entry = waitlist_join(
        guest=request.auth,
        venue=venue,
        day=payload.date,
        earliest=payload.earliest,
        latest=payload.latest,
        party_size=payload.party_size,
        nights=payload.nights,
        category=payload.category,
        space=space,
        by_sms=payload.by_sms,
    )
    return Status(201, _entries(request.auth).get(pk=entry.pk))


@router.get("/waitlist/me", response={200: list[WaitlistOut], **error_responses(401)}, summary="My waitlist")
def mine(request):
    return list(_entries(request.auth)[:100])


@router.delete("/waitlist/{int:entry_id}", response={200: WaitlistOut, **error_responses(401, 404)}, summary="Leave")
def leave(request, entry_id: int):
    """Leave the line; an offer you hold is released to the next guest. Leaving twice changes nothing."""
    entry = WaitlistEntry.objects.select_related("venue").filter(pk=entry_id).first()
    if entry is None:
        raise HttpError(404, _("Waitlist entry not found."))
    try:
        waitlist_leave(entry=entry, actor=request.auth)
    except NotAllowed:
        raise HttpError(404, _("Waitlist entry not found.")) from None
    return _entries(request.auth).get(pk=entry.pk) if entry.guest_id == request.auth.pk else entry
