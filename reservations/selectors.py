"""Reads with business meaning: availability, a guest's reservations, a venue's day sheet.

Availability runs a fixed number of queries (spaces, opening hours, closures, bookings) whatever
the number of spaces or reservations, and computes the free times in Python, in the venue's zone.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.replica import lag_tolerant
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.periods import opening_periods, slot_starts, stay_period
from reservations.pricing import price_for
from reservations.services import rules
from reservations.services.rules import MAX_NIGHTS, MAX_PARTY_SIZE, fitting_spaces
from spaces.models import Closure, Space, Venue


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime


@dataclass
class SpaceAvailability:
    space: Space
    slots: list[Slot]
    price: object = None


@dataclass(frozen=True)
class Option:
    """For venues that assign: how many fitting spaces of a category are free at a time."""

    category: str
    starts_at: datetime
    ends_at: datetime
    free: int


@dataclass
class Availability:
    venue: Venue
    day: date
    party_size: int
    duration: int | None = None
    nights: int | None = None
    spaces: list[SpaceAvailability] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    @property
    def start_times(self) -> list[Slot]:
        """Every start with at least one free fitting space: the buttons a restaurant guest sees."""
        starts = {}
        for option in self.options or []:
            if option.free:
                starts[_instant(option.starts_at)] = Slot(option.starts_at, option.ends_at)
        if not self.options:
            for entry in self.spaces:
                for slot in entry.slots:
                    starts[_instant(slot.starts_at)] = slot
        return [starts[key] for key in sorted(starts)]

    @property
    def categories(self) -> list[Option]:
        """Night mode where the venue assigns: one option per category (the stay), with what is left."""
        return [option for option in self.options if option.free]

    @property
    def is_empty(self) -> bool:
        return not any(entry.slots for entry in self.spaces)


def _instant(moment: datetime) -> datetime:
    """The moment in UTC. Two venue-zone datetimes in the repeated autumn hour differ only by `fold`,
    which == and hash() ignore: as dictionary keys they would be one start, not two."""
    return moment.astimezone(UTC)


def venue_availability(
    *,
    venue: Venue,
    day: date,
    party_size: int,
    duration: int | None = None,
    nights: int | None = None,
    category: str = "",
    now: datetime | None = None,
    exclude: Reservation | None = None,
) -> Availability:
    """What can be booked at `venue` on `day` (its local date) for `party_size` guests.

    `exclude` leaves out one booking, so a guest changing it sees the times it could move to.
    """
    now = now or timezone.now()
    if not 1 <= party_size <= MAX_PARTY_SIZE:
        raise PolicyViolation(f"Party size must be between 1 and {MAX_PARTY_SIZE}.", field="party_size")
    result = Availability(venue=venue, day=day, party_size=party_size)

    spaces = list(fitting_spaces(venue, party_size=party_size, category=category))
    space_ids = [space.pk for space in spaces]  # plain ids: cheaper to send than model instances

    if venue.uses_nights:
        nights = 1 if nights is None else nights
        if not 1 <= nights <= MAX_NIGHTS:
            raise PolicyViolation(f"A stay lasts 1 to {MAX_NIGHTS} nights.", field="nights")
        result.nights = nights
        candidates = [Slot(*stay_period(venue, day, nights))]
    else:
        duration = venue.default_duration_minutes if duration is None else duration
        if duration not in venue.durations():
            allowed = ", ".join(str(minutes) for minutes in venue.durations())
            raise PolicyViolation(f"Choose a duration of {allowed} minutes.", field="duration")
        result.duration = duration
        hours = list(venue.opening_hours.all())
        length = timedelta(minutes=duration)
        # Add the length in UTC: arithmetic on venue-zone datetimes is wall-clock arithmetic, so a
        # slot across a clock change would last an hour more or less than booked.
        candidates = [
            Slot(start, (_instant(start) + length).astimezone(venue.zone))
            for period in opening_periods(venue, day, hours)
            for start in slot_starts(period, venue.slot_interval_minutes, duration)
        ]

    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    latest = now + timedelta(days=venue.max_advance_days)
    candidates = [slot for slot in candidates if earliest <= _instant(slot.starts_at) <= latest]
    if not candidates or not spaces:
        result.spaces = [SpaceAvailability(space, []) for space in spaces]
        return result

    window_start = min(_instant(slot.starts_at) for slot in candidates)
    window_end = max(_instant(slot.ends_at) for slot in candidates)
    busy = defaultdict(list)  # space id -> [(start, end)]; None -> closures of the whole venue
    for closure in Closure.objects.filter(venue=venue, starts_at__lt=window_end, ends_at__gt=window_start).filter(
        Q(space__isnull=True) | Q(space_id__in=space_ids)
    ):
        busy[closure.space_id].append((closure.starts_at, closure.ends_at))
    taken = Reservation.objects.blocking(now).filter(space_id__in=space_ids).overlapping(window_start, window_end)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    for space_id, starts_at, ends_at in taken.values_list("space_id", "starts_at", "ends_at"):
        busy[space_id].append((starts_at, ends_at))

    # From here on in plain numbers (seconds since the epoch): comparing aware datetimes of two
    # zones asks each for its offset, and this loop runs spaces x start times.
    def seconds(intervals):
        return [(start.timestamp(), end.timestamp()) for start, end in intervals]

    venue_closed = seconds(busy.get(None, []))
    bounds = [
        (slot, slot.starts_at.timestamp(), slot.ends_at.timestamp())
        for slot in candidates
        if not any(start < slot.ends_at.timestamp() and slot.starts_at.timestamp() < end for start, end in venue_closed)
    ]
    candidates = [slot for slot, _, _ in bounds]
    nights_booked = result.nights or 1
    free_count = defaultdict(int)  # (category, index of the start) -> free spaces
    for space in spaces:
        blocked = seconds(busy.get(space.pk, []))
        free = [
            index
            for index, (_, slot_start, slot_end) in enumerate(bounds)
            if not any(start < slot_end and slot_start < end for start, end in blocked)
        ]
        price = price_for(venue, space, nights_booked)
        result.spaces.append(SpaceAvailability(space, [candidates[index] for index in free], price))
        for index in free:
            free_count[(space.category, index)] += 1

    if venue.assigns_spaces:
        categories = sorted({space.category for space in spaces})
        result.options = [
            Option(category, slot.starts_at, slot.ends_at, free_count[(category, index)])
            for index, slot in enumerate(candidates)
            for category in categories
        ]
    return result


def category_prices(availability: Availability) -> dict[str, object]:
    """The price of a stay per category, as charged: that of the space the venue would assign (the
    first free one in the services' order, smallest first), not the cheapest one."""
    prices = {}
    for entry in availability.spaces:  # in fitting_spaces' order
        if entry.slots and entry.space.category not in prices:
            prices[entry.space.category] = entry.price
    return prices


def space_to_assign(
    *, venue: Venue, party_size: int, category: str, starts_at: datetime, ends_at: datetime, now: datetime | None = None
) -> Space | None:
    """The space a booking for this would get now, where the venue assigns (what the choice page prices):
    the services' own order and rules, without taking it. None when nothing fits or is free."""
    now = now or timezone.now()
    try:
        candidates = rules.candidates(venue, space=None, category=category, party_size=party_size)
        candidates = rules.check_closures(venue, candidates, starts_at, ends_at)
    except PolicyViolation:
        return None
    blocking = Reservation.objects.blocking(now).filter(space=OuterRef("pk")).overlapping(starts_at, ends_at)
    free = Space.objects.filter(pk__in=[space.pk for space in candidates]).exclude(Exists(blocking))
    free_ids = set(free.values_list("pk", flat=True))
    return next((space for space in candidates if space.pk in free_ids), None)


def guest_reservations(*, guest, when: str = "upcoming", now: datetime | None = None) -> QuerySet[Reservation]:
    """A guest's reservations: upcoming (not yet ended and still active) or past (all the rest). Read
    from the replica when there is one, unless the guest has just changed a booking (core/replica.py)."""
    now = now or timezone.now()
    database = lag_tolerant(guest_id=guest.pk)
    reservations = Reservation.objects.using(database).filter(guest=guest).select_related("space__venue")
    upcoming = Q(ends_at__gt=now, status__in=Reservation.ACTIVE_STATUSES)
    if when == "upcoming":
        return reservations.filter(upcoming).order_by("starts_at", "pk")
    return reservations.exclude(upcoming).order_by("-starts_at", "-pk")


def day_sheet(*, venue: Venue, day: date) -> list[tuple[Space, list[Reservation]]]:
    """Every space of the venue with its reservations that touch the local `day` (two queries)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=venue.zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=venue.zone)
    spaces = list(venue.spaces.order_by("category", "name"))
    by_space = defaultdict(list)
    for reservation in (
        Reservation.objects.filter(space__venue=venue, starts_at__lt=end, ends_at__gt=start)
        .exclude(status__in=[Reservation.Status.EXPIRED])
        .select_related("guest", "space")
        .order_by("starts_at")
    ):
        by_space[reservation.space_id].append(reservation)
    return [(space, by_space.get(space.pk, [])) for space in spaces]
