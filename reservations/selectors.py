"""Reads with business meaning: availability, a guest's reservations, a venue's day sheet.

Availability runs a fixed number of queries (spaces, opening hours, closures, bookings) whatever
the number of spaces or reservations, and computes the free times in Python, in the venue's zone.
"""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.replica import lag_tolerant
from reservations import capacity
from reservations.capacity import Seating
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation, SpaceClaim, WaitlistEntry
from reservations.periods import local_datetime, opening_periods, stay_period
from reservations.pricing import breakdown_words, night_prices, nights_of, price_for
from reservations.services import allocation, rules
from reservations.services.rules import MAX_NIGHTS, MAX_PARTY_SIZE
from spaces.models import Session, Space, Venue


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    seats_left: int | None = None  # a session of a space sold by the seat: the seats still free

    @property
    def minutes(self) -> int:
        return int((_instant(self.ends_at) - _instant(self.starts_at)) / timedelta(minutes=1))


@dataclass
class SpaceAvailability:
    space: Space
    slots: list[Slot]
    price: object = None
    sold_out: list[Slot] = field(default_factory=list)  # sessions without seats for the party (waitlist)
    breakdown: str = ""  # a stay: its nights by rate, "3 nights × €120, 2 nights × €150 (Summer)"
    unavailable_reason: str = ""  # why it is not offered although it may be free (a stay limit)


@dataclass(frozen=True)
class Option:
    """For venues that assign: how many fitting spaces of a category are free at a time."""

    category: str
    starts_at: datetime
    ends_at: datetime
    free: int
    unavailable_reason: str = ""  # why the category is not offered (a stay limit), whatever is free


@dataclass
class Availability:
    venue: Venue
    day: date
    party_size: int
    duration: int | None = None
    nights: int | None = None
    spaces: list[SpaceAvailability] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    # A stay: category -> why no room of it is offered for these nights (rules.stay_refusal).
    refusals: dict[str, str] = field(default_factory=dict)

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


def in_array(column: str, ids: list[int]) -> RawSQL:
    """`<claims>.column = ANY(%s)` with the ids as one array parameter: `column__in` of a thousand ids
    makes a thousand parameters, each resolved by Django and spliced into the statement by psycopg,
    which costs more than the query itself for a venue of 1,000 tables."""
    # The column is ours, never a request's; the ids go as a parameter.
    sql = f'"{SpaceClaim._meta.db_table}"."{column}" = ANY(%s)'
    return RawSQL(sql, (ids,), output_field=BooleanField())  # noqa: S611


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
    staff: bool = False,
    setup: capacity.Setup | None = None,
    bookable: list[Space] | None = None,
) -> Availability:
    """What can be booked at `venue` on `day` (its local date) for `party_size` guests: the start
    times whose turn time fits the opening hours, with a table or combination free for the whole of
    it and its buffer, in an area that is open, within the pacing of the interval it starts in.

    A fixed number of queries (the venue's rules, its spaces, closures, claims, bookings starting in
    the pacing intervals) whatever the number of spaces or reservations. `exclude` leaves out one
    booking, so a guest changing it sees the times it could move to. A party over the venue's online
    maximum is told how to reach it, unless `staff` ask. `setup`: the venue's rules, when the
    caller has read them already (rules.setup); `bookable`: the venue's bookable spaces, likewise.

    A stay (night mode) is priced night by night at the venue's rates (`price`, `breakdown`), and a
    room type its stay limits refuse for these nights is not offered: its rooms have no slot and say
    why (`unavailable_reason`, `refusals`), in the words hold would refuse it with. The rates and
    limits come with the venue's rules: no query per room or night.
    """
    now = now or timezone.now()
    if not 1 <= party_size <= MAX_PARTY_SIZE:
        raise PolicyViolation(
            _("Party size must be between 1 and %(most)s.") % {"most": MAX_PARTY_SIZE}, field="party_size"
        )
    rules.check_online_limit(venue, party_size, staff=staff)
    result = Availability(venue=venue, day=day, party_size=party_size)
    setup = setup or rules.setup(venue)
    bookable = list(venue.spaces.filter(is_active=True)) if bookable is None else bookable
    seatings = capacity.seatings(
        setup, bookable, party_size=party_size, category=category, combine=venue.assigns_spaces
    )
    singles = [seating.space for seating in seatings if seating.combination is None]

    sold_by_seat = [space for space in bookable if space.sold_by_seat and (not category or space.category == category)]
    if sold_by_seat and not venue.uses_nights:
        result.spaces = _sessions(venue, day, sold_by_seat, party_size, now=now, exclude=exclude)
    if venue.uses_nights:
        nights = 1 if nights is None else nights
        if not 1 <= nights <= MAX_NIGHTS:
            raise PolicyViolation(_("A stay lasts 1 to %(most)s nights.") % {"most": MAX_NIGHTS}, field="nights")
        result.nights = nights
        candidates = [Slot(*stay_period(venue, day, nights))]
    else:
        turns = {turn.minutes for turn in setup.turn_times if turn.covers(party_size)}
        if duration is not None and duration not in {*venue.durations(), *turns}:
            allowed = ", ".join(str(minutes) for minutes in sorted({*venue.durations(), *turns}))
            raise PolicyViolation(
                _("Choose a duration of %(allowed)s minutes.") % {"allowed": allowed}, field="duration"
            )
        candidates = _slot_candidates(setup, day, party_size, duration)
        # Where turn times set the length it follows the party (and shift): each slot has its own end.
        result.duration = duration if duration is not None or turns else venue.default_duration_minutes

    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    latest = now + timedelta(days=venue.max_advance_days)
    candidates = [slot for slot in candidates if earliest <= _instant(slot.starts_at) <= latest]
    if venue.uses_nights and candidates:
        # The stay limits of its nights, per room type: what hold would refuse is not offered, and says why.
        stay = candidates[0]
        for area in sorted({seating.area for seating in seatings}):
            refusal = rules.stay_refusal(setup, area, stay.starts_at, stay.ends_at)
            if refusal:
                result.refusals[area] = refusal
    if not candidates or not seatings:
        result.spaces += [SpaceAvailability(space, []) for space in singles]
        return result

    spaces = {space.pk: space for seating in seatings for space in seating.spaces}
    buffers = {pk: space.buffer(venue).total_seconds() for pk, space in spaces.items()}
    window_start = min(_instant(slot.starts_at) for slot in candidates)
    window_end = max(_instant(slot.ends_at) for slot in candidates)
    spans = rules.closures_meeting(venue, window_start, window_end)
    claims = (
        SpaceClaim.objects.blocking(now)
        .filter(in_array("space_id", list(spaces)))
        .overlapping(window_start, window_end + timedelta(seconds=max(buffers.values(), default=0)))
    )
    if exclude is not None:
        claims = claims.exclude(reservation=exclude)
    busy = defaultdict(list)  # space id -> [(start, end)] of claims and of the closures that close it
    for space_id, starts_at, ends_at in claims.values_list("space_id", "starts_at", "ends_at"):
        busy[space_id].append((starts_at.timestamp(), ends_at.timestamp()))
    venue_closed = []
    for span in spans:
        interval = (span.starts_at.timestamp(), span.ends_at.timestamp())
        if span.whole_venue:
            venue_closed.append(interval)
        for space in spaces.values():
            if span.closes(space):
                busy[space.pk].append((interval[0], interval[1] + buffers[space.pk]))  # a closure needs no buffer

    # From here on in plain numbers (seconds since the epoch): comparing aware datetimes of two
    # zones asks each for its offset, and this loop runs spaces x start times.
    bounds = [
        (slot, slot.starts_at.timestamp(), slot.ends_at.timestamp())
        for slot in candidates
        if not any(start < slot.ends_at.timestamp() and slot.starts_at.timestamp() < end for start, end in venue_closed)
    ]
    candidates = [slot for slot, _, _ in bounds]
    if not candidates:  # the venue is closed for every start (or the whole stay)
        result.spaces += [SpaceAvailability(space, []) for space in singles]
        return result
    free_at = free_starts(spaces, busy, buffers, bounds)
    paced = _paced_starts(setup, candidates, party_size, {seating.area for seating in seatings}, now, exclude)

    return _tally(result, setup, seatings, candidates, free_at, paced)


def free_starts(spaces, busy: dict, buffers: dict, bounds: list) -> dict[int, frozenset[int]]:
    """Space id -> the indexes of the starts (`bounds`: (slot, start, end) in seconds) at which it is
    free of its `busy` intervals, its buffer included. A space with nothing in the way shares one set
    of every start (nobody changes it). Shared with the search across venues."""
    every_start = frozenset(range(len(bounds)))
    found = {}
    for pk in spaces:
        blocked = busy.get(pk)
        if not blocked:
            found[pk] = every_start
            continue
        buffer = buffers[pk]
        found[pk] = every_start - {
            index
            for start, end in blocked
            for index, (_, slot_start, slot_end) in enumerate(bounds)
            if start < slot_end + buffer and slot_start < end
        }
    return found


def _tally(result: Availability, setup, seatings, candidates: list[Slot], free_at: dict, paced: dict) -> Availability:
    """Each seating's free starts (free of claims and closures, `free_at`, and of pacing, `paced`) into
    `result`: a space's entry with its price for the nights or the duration shown, and, where the venue
    assigns, how many seatings of each category are free at each start. Shared by venue_availability
    and the search across venues (reservations/search.py), so both answer alike."""
    venue = setup.venue
    # A stay's nights, each at its rate (from the venue's rules: no query per room or night).
    nights_list = (
        nights_of(venue, candidates[0].starts_at, candidates[0].ends_at) if venue.uses_nights and candidates else []
    )
    free_count = defaultdict(lambda: [0] * len(candidates))  # category -> free seatings at each start
    # For the duration shown (a space priced by the hour), the first start's where turns set it.
    minutes = result.duration or (candidates[0].minutes if candidates else None)
    for seating in seatings:
        area = seating.area
        members = seating.spaces
        free = free_at[members[0].pk].intersection(*(free_at[s.pk] for s in members[1:]))
        if area in paced:
            free = free - paced[area]
        refusal = result.refusals.get(area, "")
        if refusal:
            free = set()  # a stay the venue's stay limits refuse for this room type
        if seating.combination is None:
            entry = SpaceAvailability(seating.space, [candidates[i] for i in sorted(free)], unavailable_reason=refusal)
            if venue.uses_nights:
                prices = night_prices(seating.spaces, nights_list, setup.rates)
                entry.price = sum((night.price for night in prices), Decimal("0"))
                entry.breakdown = breakdown_words(prices, venue.currency)
            else:
                entry.price = price_for(venue, seating.space, minutes=minutes)
            result.spaces.append(entry)
        counts = free_count[area]
        for index in free:
            counts[index] += 1

    if venue.assigns_spaces:
        categories = sorted({seating.area for seating in seatings})
        result.options = [
            Option(
                category,
                slot.starts_at,
                slot.ends_at,
                free_count[category][index],
                unavailable_reason=result.refusals.get(category, ""),
            )
            for index, slot in enumerate(candidates)
            for category in categories
        ]
    return result


def _sessions(
    venue: Venue, day: date, spaces: list[Space], party_size: int, *, now, exclude
) -> list[SpaceAvailability]:
    """Each space sold by the seat with its sessions on `day` that have seats for the party, each
    slot with its seats left; within the lead time and window, not closed. Three queries."""
    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    latest = now + timedelta(days=venue.max_advance_days)
    sessions = Session.objects.filter(space__in=spaces).filter(
        Q(date=day) | Q(date__isnull=True, weekday=day.weekday())
    )
    found = []  # (session, start, end)
    for session in sessions.order_by("starts_at", "pk"):
        start = local_datetime(venue, day, session.starts_at)
        if earliest <= _instant(start) <= latest:
            found.append(
                (session, start, (_instant(start) + timedelta(minutes=session.minutes)).astimezone(venue.zone))
            )
    taken = defaultdict(int)
    spans = []
    if found:
        spans = rules.closures_meeting(
            venue, min(_instant(s) for _, s, _ in found), max(_instant(e) for _, _, e in found)
        )
        booked = Reservation.objects.blocking(now).filter(
            space__in=spaces, starts_at__in=[_instant(start) for _, start, _ in found]
        )
        if exclude is not None:
            booked = booked.exclude(pk=exclude.pk)
        for space_id, starts_at, seats in booked.values_list("space_id", "starts_at").annotate(seats=Sum("party_size")):
            taken[(space_id, starts_at)] = seats
    result = []
    for space in spaces:
        slots, sold_out = [], []
        for session, start, end in found:
            closed = any(
                (span.whole_venue or span.closes(space)) and span.starts_at < end and start < span.ends_at
                for span in spans
            )
            left = session.seats - taken[(space.pk, _instant(start))]
            if session.space_id != space.pk or closed:
                continue
            (slots if left >= party_size else sold_out).append(Slot(start, end, seats_left=max(left, 0)))
        result.append(SpaceAvailability(space, slots, space.price * party_size, sold_out=sold_out))
    return result


def _slot_candidates(setup: capacity.Setup, day: date, party_size: int, duration: int | None) -> list[Slot]:
    """The starts on the venue's grid from each opening period of `day`, each with the length the
    party would book there (its turn time, else `duration` or the default), ending by closing time."""
    venue = setup.venue
    step = timedelta(minutes=venue.slot_interval_minutes)
    found = []
    for period in opening_periods(venue, day, setup.hours):
        # Step in UTC: arithmetic on venue-zone datetimes is wall-clock arithmetic, so a slot across
        # a clock change would last an hour more or less than booked.
        start, end = _instant(period.starts_at), _instant(period.ends_at)
        while start < end:
            allowed = capacity.durations_for(setup, party_size, start)
            minutes = duration if duration is not None else allowed[0]
            if minutes in allowed and start + timedelta(minutes=minutes) <= end:
                found.append(
                    Slot(start.astimezone(venue.zone), (start + timedelta(minutes=minutes)).astimezone(venue.zone))
                )
            start += step
    return found


def _paced_starts(setup, candidates: list[Slot], party_size: int, areas: set[str], now, exclude) -> dict[str, set[int]]:
    """area -> the indexes of the starts whose pacing a booking of `party_size` there would overfill;
    one query for the bookings starting in all the intervals."""
    if not setup.pacing or not candidates:
        return {}
    windows = [capacity.pacing_windows(setup, slot.starts_at) for slot in candidates]
    edges = [window for found in windows for window in found]
    if not edges:
        return {}
    starting = Reservation.objects.blocking(now).filter(
        space__venue=setup.venue,
        starts_at__gte=min(window.starts_at for window in edges),
        starts_at__lt=max(window.ends_at for window in edges),
    )
    if exclude is not None:
        starting = starting.exclude(pk=exclude.pk)
    starts = list(starting.values_list("starts_at", "party_size", "space__category"))
    return {
        area: {index for index, found in enumerate(windows) if capacity.pacing_refusal(found, area, party_size, starts)}
        for area in areas
    }


def category_entries(availability: Availability) -> dict[str, SpaceAvailability]:
    """Per category, the space the venue would assign (the first free one in the services' order,
    smallest first), with its price as charged: not the cheapest one."""
    entries = {}
    for entry in availability.spaces:  # in the services' order (capacity.seatings)
        if entry.slots and entry.space.category not in entries:
            entries[entry.space.category] = entry
    return entries


def category_prices(availability: Availability) -> dict[str, object]:
    """The price of a stay per category, as charged (category_entries)."""
    return {category: entry.price for category, entry in category_entries(availability).items()}


def space_to_assign(
    *,
    venue: Venue,
    party_size: int,
    category: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
    setup: capacity.Setup | None = None,
) -> Seating | None:
    """The table (or combination) a booking for this would get now, where the venue assigns (what the
    choice page prices): the services' own order and rules (a stay's limits among them), without
    taking it. None when nothing fits or is free. `setup`: the venue's rules, when read already."""
    now = now or timezone.now()
    setup = setup or rules.setup(venue)
    try:
        candidates = rules.candidates(venue, space=None, category=category, party_size=party_size, rules=setup)
        candidates = rules.check_stay_limits(setup, candidates, starts_at, ends_at)
        candidates = rules.check_closures(venue, candidates, starts_at, ends_at)
    except PolicyViolation:
        return None
    spaces = {space.pk: space for seating in candidates for space in seating.spaces}
    taken = allocation.busy_spaces(venue, spaces.values(), starts_at, ends_at, now=now)
    pacing = capacity.pacing_windows(setup, starts_at)
    starts = []
    if pacing:
        starts = list(
            Reservation.objects.blocking(now)
            .filter(
                space__venue=venue,
                starts_at__gte=min(window.starts_at for window in pacing),
                starts_at__lt=max(window.ends_at for window in pacing),
            )
            .values_list("starts_at", "party_size", "space__category")
        )
    return next(
        (
            seating
            for seating in candidates
            if not any(space.pk in taken for space in seating.spaces)
            and capacity.pacing_refusal(pacing, seating.area, party_size, starts) is None
        ),
        None,
    )


def guest_reservations(*, guest, when: str = "upcoming", now: datetime | None = None) -> QuerySet[Reservation]:
    """A guest's reservations: upcoming (not yet ended and still active) or past (all the rest). Read
    from the replica when there is one, unless the guest has just changed a booking (core/replica.py)."""
    now = now or timezone.now()
    database = lag_tolerant(guest_id=guest.pk)
    reservations = (
        Reservation.objects.using(database)
        .filter(guest=guest)
        .select_related("space__venue")
        .prefetch_related("claims__space")  # every table a booking takes (all_spaces)
    )
    upcoming = Q(ends_at__gt=now, status__in=Reservation.ACTIVE_STATUSES)
    if when == "upcoming":
        return reservations.filter(upcoming).order_by("starts_at", "pk")
    return reservations.exclude(upcoming).order_by("-starts_at", "-pk")


# ---------------------------------------------------------------------------------------------
# The staff day sheet: one service at a time, every table in 15-minute steps

WHOLE_DAY = "day"  # the service key of the whole day
SHEET_STEP = timedelta(minutes=15)
# How far past a service's end the sheet follows the bookings that started in it (their last
# minutes, the tables' buffers). A slot booking lasts a day at most; a service's last ones far less.
SHEET_REACH = timedelta(hours=6)
# Bookings whose guests count as covers: those that hold their tables, and those that held them.
COVER_STATUSES = (Reservation.Status.HELD, Reservation.Status.CONFIRMED, Reservation.Status.COMPLETED)


@dataclass(frozen=True)
class Service:
    """What the day sheet shows at once: a shift as it runs on the day (one past midnight until its
    end on the next day), an opening period where no shift runs that day, or the whole day."""

    key: str
    name: str
    starts_at: datetime  # in the venue's zone
    ends_at: datetime
    shift_id: int | None = None

    @property
    def is_whole_day(self) -> bool:
        return self.key == WHOLE_DAY

    @property
    def times(self) -> str:
        """'18:00–01:00 (next day)' in the venue's zone."""
        times = {"start": f"{self.starts_at:%H:%M}", "end": f"{self.ends_at:%H:%M}"}
        if self.ends_at.date() != self.starts_at.date():
            return _("%(start)s–%(end)s (next day)") % times
        return f"{times['start']}–{times['end']}"

    @property
    def label(self) -> str:
        """'Dinner 18:00–01:00 (next day)', '12:00–15:00' (an opening period), 'Whole day'."""
        if self.is_whole_day:
            return self.name
        return f"{self.name} {self.times}" if self.name else self.times

    def holds(self, moment: datetime) -> bool:
        return _instant(self.starts_at) <= _instant(moment) < _instant(self.ends_at)


def sheet_services(setup: capacity.Setup, day: date) -> list[Service]:
    """The services the day sheet offers for the venue's local `day`, in order, the whole day last:
    the shifts that run on that weekday, else the day's opening periods. The whole day spans them
    and the opening periods (local midnight to midnight when there are none). No queries."""
    venue = setup.venue
    services = []
    for shift in setup.shifts:
        if shift.runs_on(day.weekday()):
            window = capacity.shift_window(venue, shift, day)
            services.append(
                Service(
                    f"shift-{shift.pk}",
                    shift.name,
                    window.starts_at.astimezone(venue.zone),
                    window.ends_at.astimezone(venue.zone),
                    shift.pk,
                )
            )
    periods = opening_periods(venue, day, setup.hours)
    if not services:
        services = [
            Service(f"open-{period.starts_at:%H%M}", "", period.starts_at, period.ends_at) for period in periods
        ]
    services.sort(key=lambda service: (_instant(service.starts_at), _instant(service.ends_at)))
    spans = [(service.starts_at, service.ends_at) for service in services]
    spans += [(period.starts_at, period.ends_at) for period in periods]
    if spans:
        start = min((start for start, _ in spans), key=_instant)
        end = max((end for _, end in spans), key=_instant)
    else:
        start = local_datetime(venue, day, datetime.min.time())
        end = local_datetime(venue, day + timedelta(days=1), datetime.min.time())
    return [*services, Service(WHOLE_DAY, _("Whole day"), start, end)]


def default_service(services: list[Service], *, day: date, today: date, now: datetime) -> Service:
    """The service a host means without choosing one: today the one running now, else the next one,
    else the day's last; on any other day (and where there is no service), the whole day."""
    timed = [service for service in services if not service.is_whole_day]
    if day != today or not timed:
        return services[-1]
    running = next((service for service in timed if service.holds(now)), None)
    coming = next((service for service in timed if _instant(service.starts_at) > _instant(now)), None)
    return running or coming or timed[-1]


@dataclass
class PacingCount:
    """One pacing rule's interval as the sheet counts it: the guests and parties starting in it."""

    window: capacity.PacingWindow
    covers: int
    parties: int

    @property
    def rule(self):
        return self.window.rule

    @property
    def full(self) -> bool:
        """At or over one of the rule's limits: nothing more may start in the interval."""
        rule = self.window.rule
        return (rule.max_covers is not None and self.covers >= rule.max_covers) or (
            rule.max_parties is not None and self.parties >= rule.max_parties
        )

    @property
    def over(self) -> bool:
        rule = self.window.rule
        return (rule.max_covers is not None and self.covers > rule.max_covers) or (
            rule.max_parties is not None and self.parties > rule.max_parties
        )


@dataclass
class SheetStep:
    """One 15-minute column of the day sheet: the guests and parties starting in it, and the pacing
    intervals it falls in with what starts in each."""

    starts_at: datetime  # in the venue's zone
    ends_at: datetime
    covers: int = 0
    parties: int = 0
    pacing: list[PacingCount] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return any(count.full for count in self.pacing)

    @property
    def over(self) -> bool:
        return any(count.over for count in self.pacing)


@dataclass
class DaySheet:
    venue: Venue
    day: date
    service: Service
    starts_at: datetime  # the grid, in the venue's zone: the service, and as long as its bookings last
    ends_at: datetime
    spaces: list[Space]
    reservations: list[Reservation]  # meeting the grid, by start; with guest, space and claims__space
    steps: list[SheetStep]
    covers: int = 0  # guests of the bookings starting in the service
    parties: int = 0
    sessions: list["SessionSeats"] = field(default_factory=list)  # of its spaces sold by the seat


@dataclass
class SessionSeats:
    """A session of a space sold by the seat starting in the sheet's service: the seats its held and
    confirmed bookings take, of the seats it offers."""

    session: Session
    starts_at: datetime  # in the venue's zone
    ends_at: datetime
    reservations: list[Reservation]  # starting then, by start: those listed, cancelled ones too

    @property
    def space(self) -> Space:
        return self.session.space

    @property
    def seats(self) -> int:
        return self.session.seats

    @property
    def taken(self) -> int:
        holding = (Reservation.Status.HELD, Reservation.Status.CONFIRMED)
        return sum(reservation.party_size for reservation in self.reservations if reservation.status in holding)

    @property
    def words(self) -> str:
        """'Pasta class 10:00–13:00 — 7 of 12 seats taken'."""
        when = f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        return ngettext(
            "%(space)s %(when)s — %(taken)s of %(seats)s seat taken",
            "%(space)s %(when)s — %(taken)s of %(seats)s seats taken",
            self.seats,
        ) % {"space": self.space.name, "when": when, "taken": self.taken, "seats": self.seats}


def _session_seats(venue: Venue, day: date, start: datetime, end: datetime, found: list[Reservation]):
    """The sessions of the venue's spaces sold by the seat that start in [start, end) of its local
    `day`, with the bookings of `found` starting then. One query."""
    sessions = (
        Session.objects.filter(space__venue=venue, space__sold_by_seat=True)
        .filter(Q(date=day) | Q(date__isnull=True, weekday=day.weekday()))
        .select_related("space")
    )
    result = []
    for session in sessions:
        begins = _instant(local_datetime(venue, day, session.starts_at))
        if start <= begins < end:
            booked = [r for r in found if r.space_id == session.space_id and _instant(r.starts_at) == begins]
            result.append(
                SessionSeats(
                    session,
                    begins.astimezone(venue.zone),
                    (begins + timedelta(minutes=session.minutes)).astimezone(venue.zone),
                    booked,
                )
            )
    return sorted(result, key=lambda seats: (seats.starts_at, seats.space.sort_key, seats.session.pk))


def held_until(reservation: Reservation) -> datetime:
    """When the booking's tables are free again: its end plus the longest of their buffers (from its
    prefetched claims; a booking without claims holds its space until its end)."""
    return max((claim.ends_at for claim in reservation.claims.all()), default=reservation.ends_at)


def day_sheet(
    *,
    venue: Venue,
    day: date,
    service: Service | None = None,
    setup: capacity.Setup | None = None,
    now: datetime | None = None,
) -> DaySheet:
    """The venue's tables during one `service` of its local `day` (by default the whole day): the
    bookings that meet it, also those that began in the previous service and reach into it, and those
    that start in it until they end (buffer included); the covers starting per 15 minutes against the
    pacing rules. Expired bookings and holds that ran out are left out; cancelled ones are listed.
    The sessions of its spaces sold by the seat that start in the service come with their seats taken.

    Steps are laid from the service's start in absolute time and shown in the venue's zone, so a
    service across a clock change has its real number of columns. Two queries after the venue's
    rules (the spaces; the bookings with their guests, spaces and claims; the day's sessions),
    whatever their number.
    """
    now = now or timezone.now()
    setup = setup or rules.setup(venue)
    service = service or sheet_services(setup, day)[-1]
    start, end = _instant(service.starts_at), _instant(service.ends_at)
    reach = end if venue.uses_nights else end + SHEET_REACH  # a stay is shown cut at the day's edges
    moments = []
    while start + len(moments) * SHEET_STEP < reach:
        moments.append(start + len(moments) * SHEET_STEP)
    windows = {moment: capacity.pacing_windows(setup, moment) for moment in moments}
    edges = [window for found in windows.values() for window in found]

    claims_meet = SpaceClaim.objects.filter(reservation=OuterRef("pk")).overlapping(start, reach)
    meets = Q(starts_at__lt=reach, ends_at__gt=start) | Exists(claims_meet)
    if edges:  # what starts in the pacing intervals counts, even outside the grid
        meets |= Q(
            starts_at__gte=min(window.starts_at for window in edges),
            starts_at__lt=max(window.ends_at for window in edges),
        )
    found = list(
        Reservation.objects.filter(meets, space__venue=venue)
        .exclude(status=Reservation.Status.EXPIRED)
        .exclude(status=Reservation.Status.HELD, hold_expires_at__lte=now)
        .select_related("guest", "space__venue")
        .prefetch_related(Prefetch("claims", queryset=SpaceClaim.objects.select_related("space")))
        .order_by("starts_at", "pk")
    )
    drawn = [reservation for reservation in found if reservation.status != Reservation.Status.CANCELLED]

    grid_end = end
    if not venue.uses_nights:
        for reservation in drawn:
            if start <= reservation.starts_at < end:
                grid_end = max(grid_end, min(held_until(reservation), reach))
    count = max(1, -((start - grid_end) // SHEET_STEP))  # whole steps, rounded up
    grid_end = start + count * SHEET_STEP

    counted = [reservation for reservation in found if reservation.status in COVER_STATUSES]

    def starting(since: datetime, until: datetime, window: capacity.PacingWindow | None = None) -> list[Reservation]:
        """The counted bookings starting in [since, until) (in the window's area, given one)."""
        return [
            reservation
            for reservation in counted
            if since <= reservation.starts_at < until
            and (window is None or window.applies_to(reservation.space.category))
        ]

    steps = []
    for moment in moments[:count]:
        here = starting(moment, moment + SHEET_STEP)
        pacing = []
        for window in windows[moment]:
            paced = starting(window.starts_at, window.ends_at, window)
            pacing.append(PacingCount(window, sum(reservation.party_size for reservation in paced), len(paced)))
        steps.append(
            SheetStep(
                moment.astimezone(venue.zone),
                (moment + SHEET_STEP).astimezone(venue.zone),
                covers=sum(reservation.party_size for reservation in here),
                parties=len(here),
                pacing=pacing,
            )
        )
    in_service = starting(start, end)
    return DaySheet(
        venue=venue,
        day=day,
        service=service,
        starts_at=start.astimezone(venue.zone),
        ends_at=grid_end.astimezone(venue.zone),
        spaces=list(venue.spaces.order_by("category", "sort_key", "name")),
        reservations=[
            reservation for reservation in found if reservation.starts_at < grid_end and held_until(reservation) > start
        ],
        steps=steps,
        covers=sum(reservation.party_size for reservation in in_service),
        parties=len(in_service),
        sessions=_session_seats(venue, day, start, end, found),
    )


@dataclass
class WaitlistLine:
    """An open wish of the day sheet's date: its place in line while waiting, else what it was offered."""

    entry: WaitlistEntry
    place: int | None  # 1 for the first waiting (as place_in_line counts); None once offered
    offer_passed: bool = False  # the offer's hold ran out (and goes to the next guest shortly)

    @property
    def offer(self) -> Reservation | None:
        return self.entry.offer


def day_waitlist(*, venue: Venue, day: date, now: datetime | None = None) -> list[WaitlistLine]:
    """The venue's open waitlist for its local `day`: those waiting, in line order with their place,
    then those offered a place, with the offer (its reference and deadline). One query."""
    now = now or timezone.now()
    entries = list(
        WaitlistEntry.objects.filter(venue=venue, day=day, status__in=WaitlistEntry.OPEN_STATUSES)
        .select_related("guest", "space", "offer")
        .order_by("created_at", "pk")
    )
    waiting = [entry.created_at for entry in entries if entry.status == WaitlistEntry.Status.WAITING]
    lines, offered = [], []
    for entry in entries:
        entry.venue = venue  # the sheet's: no query for it
        if entry.status == WaitlistEntry.Status.WAITING:
            lines.append(WaitlistLine(entry, place=bisect_left(waiting, entry.created_at) + 1))
        else:
            deadline = entry.offer.hold_expires_at if entry.offer else None
            offered.append(WaitlistLine(entry, place=None, offer_passed=bool(deadline and deadline <= now)))
    offered.sort(key=lambda line: (line.entry.offered_at or line.entry.created_at, line.entry.pk))
    return lines + offered
