"""The calendars we export: a room's (for the booking channels) and a venue's (for its staff), found
by the secret token in their URL. A channel imports a room's calendar to stop selling the nights we
have sold; so it holds what blocks the room — our bookings, the other channels' blocks, closures —
and nothing personal: no guest's name, no notes, no reference.

Nights are all-day events (DTSTART/DTEND as dates: arrival and departure), as the channels expect;
a room booked by the hour (a meeting room) has timed events in UTC. UIDs are stable, so a channel
sees a booking that moved as that booking moved. A fixed number of queries per calendar.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reservations.ics import ExportEvent, export_calendar
from reservations.models import Block, SpaceClaim
from reservations.periods import stay_period
from reservations.services import rules
from spaces.models import CalendarFeed, Space, Venue

PAST_DAYS = 30  # how far back a calendar reaches: recent stays, for a channel checking its history


@dataclass(frozen=True)
class Exported:
    name: str
    body: bytes

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def calendar_for_token(token: str, *, now: datetime | None = None) -> Exported | None:
    """The calendar whose URL holds `token`: a room's, or a venue's for its staff; None when none has it."""
    now = now or timezone.now()
    space = Space.objects.select_related("venue").filter(calendar_token=token).first()
    if space is not None:
        return Exported(f"{space.venue.name} – {space.name}", _room_calendar(space, now=now))
    venue = Venue.objects.filter(calendar_token=token).first()
    if venue is not None:
        return Exported(venue.name, _venue_calendar(venue, now=now))
    return None


def _window(venue: Venue, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=PAST_DAYS), now + timedelta(days=settings.HOLDFAST_CALENDAR_HORIZON_DAYS)


def _claims(spaces: list[Space], start: datetime, end: datetime, now: datetime):
    return (
        SpaceClaim.objects.blocking(now)
        .filter(space__in=spaces)
        .overlapping(start, end)
        .select_related("reservation", "block__feed", "space")
        .order_by("starts_at", "pk")
    )


def _uid(kind: str, value: str) -> str:
    """A stable UID that gives nothing away (a reference would let a channel look the booking up)."""
    return f"{kind}-{hashlib.sha256(f'{kind}:{value}'.encode()).hexdigest()[:24]}@holdfast"


def _span(venue: Venue, starts_at: datetime, ends_at: datetime) -> tuple[date | datetime, date | datetime]:
    """A booking's or block's period as the calendar shows it: dates (arrival, departure) for nights."""
    if venue.uses_nights:
        return starts_at.astimezone(venue.zone).date(), ends_at.astimezone(venue.zone).date()
    return starts_at, ends_at


def _nights_of(venue: Venue, starts_at: datetime, ends_at: datetime) -> tuple[date, date] | None:
    """The nights a closure takes: those whose stay (check-in to check-out) it meets."""
    day = starts_at.astimezone(venue.zone).date() - timedelta(days=1)
    last = ends_at.astimezone(venue.zone).date()
    nights = []
    while day <= last:
        night_start, night_end = stay_period(venue, day, 1)
        if night_start < ends_at and starts_at < night_end:
            nights.append(day)
        day += timedelta(days=1)
    return (nights[0], nights[-1] + timedelta(days=1)) if nights else None


def _events(venue: Venue, spaces: list[Space], *, now: datetime, for_staff: bool) -> list[ExportEvent]:
    start, end = _window(venue, now)
    events = []
    seen_blocks = set()
    for claim in _claims(spaces, start, end, now):
        room = claim.space.name
        if claim.reservation_id:
            reservation = claim.reservation
            first, last = _span(venue, reservation.starts_at, reservation.ends_at)
            what = (
                ngettext(
                    "%(room)s: booked, %(reference)s, %(guests)s guest",
                    "%(room)s: booked, %(reference)s, %(guests)s guests",
                    reservation.party_size,
                )
                % {"room": room, "reference": reservation.reference, "guests": reservation.party_size}
                if for_staff
                else _("Not available")
            )
            uid = _uid("booking", f"{reservation.pk}:{claim.space_id}")
            events.append(ExportEvent(uid, what, first, last, reservation.updated_at))
        elif claim.block_id not in seen_blocks:  # a block in conflict may have several runs: one event
            seen_blocks.add(claim.block_id)
            block = claim.block
            first, last = (
                (block.starts_on, block.ends_on)
                if venue.uses_nights
                else (claim.starts_at, claim.ends_at - claim.space.buffer(venue))
            )
            what = (
                _("%(room)s: blocked by %(feed)s") % {"room": room, "feed": block.feed.name}
                if for_staff
                else _("Not available")
            )
            events.append(ExportEvent(_uid("block", str(block.pk)), what, first, last, block.updated_at))
    for span in rules.closures_meeting(venue, start, end):
        closed = [space for space in spaces if span.whole_venue or span.closes(space)]
        if not closed:
            continue
        if venue.uses_nights:
            nights = _nights_of(venue, span.starts_at, span.ends_at)
            if nights is None:
                continue
            first, last = nights
        else:
            first, last = span.starts_at, span.ends_at
        rooms = ", ".join(space.name for space in closed) if for_staff and not span.whole_venue else ""
        what = (
            (_("Closed: %(rooms)s") % {"rooms": rooms} if rooms else _("Closed")) if for_staff else _("Not available")
        )
        uid = _uid("closure", f"{span.closure.pk}:{span.starts_at.isoformat()}")
        events.append(ExportEvent(uid, what, first, last, span.starts_at))
    return events


def _room_calendar(space: Space, *, now: datetime) -> bytes:
    venue = space.venue
    return export_calendar(f"{venue.name} – {space.name}", _events(venue, [space], now=now, for_staff=False))


def _venue_calendar(venue: Venue, *, now: datetime) -> bytes:
    spaces = list(venue.spaces.all())
    return export_calendar(venue.name, _events(venue, spaces, now=now, for_staff=True))


def open_conflicts(venue: Venue | None = None):
    """Blocks whose nights our confirmed bookings have, not yet marked resolved (the admin, the day sheet)."""
    blocks = Block.objects.filter(resolved_at__isnull=True).exclude(conflicts=[])
    if venue is not None:
        blocks = blocks.filter(space__venue=venue)
    return blocks.filter(Q(conflict_since__isnull=False)).select_related("feed", "space")


@dataclass
class ChannelState:
    """What the day sheet says about a venue's channels: feeds gone stale, open conflicts, and the
    rooms the channels have on the day."""

    stale: list
    conflicts: list
    blocked: list  # blocks with a night on the day

    @property
    def any(self) -> bool:
        return bool(self.stale or self.conflicts or self.blocked)


def channel_state(venue: Venue, day: date, *, now: datetime | None = None) -> ChannelState:
    """Three queries, whatever the number of feeds and blocks."""
    now = now or timezone.now()
    feeds = CalendarFeed.objects.filter(space__venue=venue, is_active=True).select_related("space")
    blocked = Block.objects.filter(space__venue=venue, starts_on__lte=day, ends_on__gt=day).select_related(
        "space", "feed"
    )
    return ChannelState(
        stale=[feed for feed in feeds.order_by("space__sort_key", "name") if feed.is_stale(now)],
        conflicts=list(open_conflicts(venue).order_by("starts_on", "pk")),
        blocked=list(blocked.order_by("space__sort_key", "pk")),
    )
