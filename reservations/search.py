"""The search across venues: "where can four of us eat on Friday at 20:00?" — each bookable venue's
free start times nearest the asked time (a hotel: its free room types for the nights, with the
stay's price), in a constant number of queries however many venues there are.

What is free is computed the way `selectors.venue_availability` computes it for one venue, with the
same pure functions (reservations/capacity.py, periods.py, pricing.py) and rules (services/rules.py),
from data loaded for every venue at once:

1. the venues with what `rules.setup(venue)` reads — opening hours, shifts, turn times, pacing,
   combinations with their tables, nightly rates and stay limits — and their bookable spaces
   (`venues_with_rules`: eleven queries, prefetched);
2. the day's sessions of spaces sold by the seat and the seats their bookings take, the closures,
   the claims meeting each venue's window and the bookings starting in its pacing intervals
   (`search`: at most five queries, one of each, for all venues).

So a venue's times in the search are those its page offers for the same request (a test holds us to
it), and no query runs per venue, space or booking.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Prefetch, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from reservations import capacity
from reservations.capacity import Setup
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation, SpaceClaim, period
from reservations.periods import local_datetime, stay_period
from reservations.selectors import (
    Availability,
    Slot,
    SpaceAvailability,
    _instant,
    _slot_candidates,
    _tally,
    category_entries,
    free_starts,
)
from reservations.services import rules
from reservations.services.rules import MAX_NIGHTS, MAX_PARTY_SIZE
from spaces.models import Closure, Combination, Session, Space, Venue

# How many free starts the search offers per venue on each side of the asked time.
TIMES_BEFORE = 3
TIMES_AFTER = 3
# How many free room types a hotel shows in the search (its page has them all).
ROOM_TYPES = 3
# The kinds a guest may narrow the search to (any other kind shows under "any").
KINDS = (Venue.Kind.RESTAURANT, Venue.Kind.HOTEL, Venue.Kind.MEETING_ROOMS)


@dataclass
class VenueRules:
    """A venue with its rules (what rules.setup reads) and its bookable spaces, read for the search."""

    venue: Venue
    setup: Setup
    spaces: list[Space]

    @property
    def largest_party(self) -> int:
        """The most guests it takes online: its largest table or combination, within its online limit."""
        largest = capacity.largest_party(self.setup, self.spaces) or max(
            (space.capacity for space in self.spaces), default=0
        )
        limit = self.venue.max_online_party_size
        return min(largest, limit) if limit and largest else largest


def venues_with_rules(kind: str = "", *, venues=None) -> list[VenueRules]:
    """The bookable venues (of `kind`, when given) with their rules and bookable spaces, in name
    order. Eleven queries whatever the number of venues: the venues, and one per kind of rule."""
    queryset = Venue.objects.filter(is_active=True) if venues is None else venues
    if kind:
        queryset = queryset.filter(kind=kind)
    combinations = Combination.objects.filter(is_active=True).prefetch_related(
        # The members in the order rules.setup reads them: a combination's first table is the booking's.
        Prefetch("spaces", queryset=Space.objects.order_by("sort_key", "pk"), to_attr="members")
    )
    queryset = queryset.prefetch_related(
        "opening_hours",
        "shifts",
        "turn_times",
        "pacing_rules",
        Prefetch("combinations", queryset=combinations, to_attr="active_combinations"),
        "rates",
        "stay_limits",
        Prefetch("spaces", queryset=Space.objects.filter(is_active=True), to_attr="bookable_spaces"),
    )
    found = []
    for venue in queryset:
        nights = venue.uses_nights
        setup = Setup(
            venue=venue,
            hours=list(venue.opening_hours.all()),
            shifts=list(venue.shifts.all()),
            turn_times=list(venue.turn_times.all()),
            pacing=list(venue.pacing_rules.all()),
            combinations=list(venue.active_combinations),
            rates=list(venue.rates.all()) if nights else [],
            stay_limits=list(venue.stay_limits.all()) if nights else [],
        )
        for space in venue.bookable_spaces:
            space.venue = venue  # spares a query wherever space.venue is read
        found.append(VenueRules(venue, setup, list(venue.bookable_spaces)))
    return found


def first_bookable_day(setup: Setup, *, party_size: int = 2, now: datetime | None = None) -> date:
    """The date a search defaults to at this venue: today (its local date) while some start of today
    is still ahead of the lead time — a table's start on its grid, a hotel's check-in — else
    tomorrow. No queries (the venue's rules are read already)."""
    now = now or timezone.now()
    venue = setup.venue
    today = now.astimezone(venue.zone).date()
    if venue.uses_nights:
        starts = [stay_period(venue, today, 1)[0]]
    else:
        starts = [slot.starts_at for slot in _slot_candidates(setup, today, party_size, None)]
    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    latest = now + timedelta(days=venue.max_advance_days)
    return today if any(earliest <= _instant(start) <= latest for start in starts) else today + timedelta(days=1)


def last_party_size(guest) -> int | None:
    """The party size of the guest's most recent booking (what they will likely ask for again), or
    None for a guest who never booked. One query; none for a visitor who is not logged in."""
    if guest is None or not guest.is_authenticated:
        return None
    return (
        Reservation.objects.filter(guest=guest)
        .order_by("-created_at", "-pk")
        .values_list("party_size", flat=True)
        .first()
    )


# ---------------------------------------------------------------------------------------------
# The answer


@dataclass
class VenueAnswer:
    """One venue in the search's answer: the free starts nearest the asked time (slot venues), or
    the free room types with the stay's price (hotels); `reason` says why there is nothing."""

    venue: Venue
    availability: Availability | None  # every free start of the day, as the venue page has them
    asked_at: datetime | None = None  # the asked time at the venue (its zone); None for stays
    times: list[Slot] = field(default_factory=list)  # the nearest free starts, in time order
    rooms: list[dict] = field(default_factory=list)  # a hotel: {"category", "price", "free", "starts_at"}
    reason: str = ""  # why nothing is offered (closed that day, party too big, beyond the window)

    @property
    def found(self) -> bool:
        return bool(self.times or self.rooms)

    @property
    def nearest(self) -> Slot | None:
        """The free start closest to the asked time (the earlier of two as close)."""
        if not self.times or self.asked_at is None:
            return None
        return min(
            self.times, key=lambda slot: (abs(_instant(slot.starts_at) - _instant(self.asked_at)), slot.starts_at)
        )


@dataclass
class _Plan:
    """A venue's request before the data is loaded: its candidates and the windows to load."""

    rules: VenueRules
    seatings: list[capacity.Seating]
    candidates: list[Slot]
    duration: int | None = None
    nights: int | None = None
    refusals: dict[str, str] = field(default_factory=dict)
    sessions: list = field(default_factory=list)  # (session, start, end) of its spaces sold by the seat
    reason: str = ""

    @property
    def venue(self) -> Venue:
        return self.rules.venue

    @property
    def claim_spaces(self) -> dict[int, Space]:
        return {space.pk: space for seating in self.seatings for space in seating.spaces}

    @property
    def computes(self) -> bool:
        return bool(self.candidates and self.seatings)

    def window(self) -> tuple[datetime, datetime]:
        """From the first candidate's start to the last one's end (as venue_availability's claims)."""
        start = min(_instant(slot.starts_at) for slot in self.candidates)
        end = max(_instant(slot.ends_at) for slot in self.candidates)
        return start, end

    def claim_window(self) -> tuple[datetime, datetime]:
        spaces = self.claim_spaces
        start, end = self.window()
        buffer = max((space.buffer(self.venue).total_seconds() for space in spaces.values()), default=0)
        return start, end + timedelta(seconds=buffer)


def search(
    venues: list[VenueRules],
    *,
    day: date,
    at: time | None,
    party_size: int,
    nights: int = 1,
    now: datetime | None = None,
) -> list[VenueAnswer]:
    """Each venue's answer for `party_size` guests on `day` (each venue's local date): the free starts
    nearest `at` (a wall-clock time at each venue; up to TIMES_BEFORE before and TIMES_AFTER from
    it), or for a hotel its free room types for `nights` nights. Venues with something free come
    first (in the order given), then those without, each saying why. At most five queries, whatever
    the number of venues, spaces or bookings."""
    now = now or timezone.now()
    if not 1 <= party_size <= MAX_PARTY_SIZE:
        raise PolicyViolation(
            _("Party size must be between 1 and %(most)s.") % {"most": MAX_PARTY_SIZE}, field="party_size"
        )
    if not 1 <= nights <= MAX_NIGHTS:
        raise PolicyViolation(_("A stay lasts 1 to %(most)s nights.") % {"most": MAX_NIGHTS}, field="nights")
    plans = [_plan(venue_rules, day, party_size, nights, now) for venue_rules in venues]
    loaded = _load(plans, day, now)
    answers = []
    for plan in plans:
        if plan.reason:
            answers.append(VenueAnswer(plan.venue, None, reason=plan.reason))
            continue
        availability = _compute(plan, day, party_size, now, loaded)
        answers.append(_answer(plan, availability, at))
    return [answer for answer in answers if answer.found] + [answer for answer in answers if not answer.found]


def _plan(venue_rules: VenueRules, day: date, party_size: int, nights: int, now: datetime) -> _Plan:
    """What venue_availability decides before its queries: the seatings that fit, the candidates
    within the lead time and window, the stay limits' refusals. No queries."""
    venue, setup, bookable = venue_rules.venue, venue_rules.setup, venue_rules.spaces
    try:
        rules.check_online_limit(venue, party_size, staff=False)
    except PolicyViolation as error:
        return _Plan(venue_rules, [], [], reason=error.message)
    seatings = capacity.seatings(setup, bookable, party_size=party_size, combine=venue.assigns_spaces)
    plan = _Plan(venue_rules, seatings, [])
    if venue.uses_nights:
        plan.nights = nights
        candidates = [Slot(*stay_period(venue, day, nights))]
    else:
        turns = {turn.minutes for turn in setup.turn_times if turn.covers(party_size)}
        candidates = _slot_candidates(setup, day, party_size, None)
        plan.duration = None if turns else venue.default_duration_minutes
    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    latest = now + timedelta(days=venue.max_advance_days)
    plan.candidates = [slot for slot in candidates if earliest <= _instant(slot.starts_at) <= latest]
    if venue.uses_nights and plan.candidates:
        stay = plan.candidates[0]
        for area in sorted({seating.area for seating in seatings}):
            refusal = rules.stay_refusal(setup, area, stay.starts_at, stay.ends_at)
            if refusal:
                plan.refusals[area] = refusal
    sold_by_seat = [space for space in bookable if space.sold_by_seat]
    if not seatings and not sold_by_seat:
        largest = venue_rules.largest_party
        plan.reason = (
            _("%(venue)s takes parties of up to %(most)s online.") % {"venue": venue.name, "most": largest}
            if largest and party_size > largest
            else ""
        )
    if not plan.candidates and not sold_by_seat:
        plan.reason = plan.reason or _no_start_reason(venue_rules, day, now)
    return plan


def closed_on_words(weekday: int) -> str:
    """'%(venue)s is closed on Mondays.' for weekday 0 (Monday) to 6: one whole sentence a day."""
    return (
        _("%(venue)s is closed on Mondays."),
        _("%(venue)s is closed on Tuesdays."),
        _("%(venue)s is closed on Wednesdays."),
        _("%(venue)s is closed on Thursdays."),
        _("%(venue)s is closed on Fridays."),
        _("%(venue)s is closed on Saturdays."),
        _("%(venue)s is closed on Sundays."),
    )[weekday]


def _no_start_reason(venue_rules: VenueRules, day: date, now: datetime) -> str:
    """Why a venue has no start at all on `day`: closed that weekday, beyond its booking window."""
    venue = venue_rules.venue
    hours = venue_rules.setup.hours
    if not venue.uses_nights and hours and not any(entry.weekday == day.weekday() for entry in hours):
        return closed_on_words(day.weekday()) % {"venue": venue.name}
    last_day = (now + timedelta(days=venue.max_advance_days)).astimezone(venue.zone).date()
    if day > last_day:
        return _("%(venue)s takes bookings up to %(days)s days ahead.") % {
            "venue": venue.name,
            "days": venue.max_advance_days,
        }
    return ""


@dataclass
class _Loaded:
    closures: dict[int, list[Closure]] = field(default_factory=lambda: defaultdict(list))  # venue id ->
    busy: dict[int, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))  # space id ->
    starting: dict[int, list[tuple]] = field(default_factory=lambda: defaultdict(list))  # venue id -> pacing
    seats_taken: dict[tuple[int, datetime], int] = field(default_factory=lambda: defaultdict(int))


def _load(plans: list[_Plan], day: date, now: datetime) -> _Loaded:
    """What the venues' requests read, one query of each kind for all of them: the sessions of the
    spaces sold by the seat and the seats booked in them, the closures, the claims meeting each
    venue's window, the bookings starting in each venue's pacing intervals."""
    loaded = _Loaded()
    sold_by_seat = {
        space.pk: (plan, space)
        for plan in plans
        if not plan.reason and not plan.venue.uses_nights
        for space in plan.rules.spaces
        if space.sold_by_seat
    }
    if sold_by_seat:
        sessions = Session.objects.filter(space_id__in=list(sold_by_seat)).filter(
            Q(date=day) | Q(date__isnull=True, weekday=day.weekday())
        )
        for session in sessions.order_by("starts_at", "pk"):
            plan, _space = sold_by_seat[session.space_id]
            venue = plan.venue
            start = local_datetime(venue, day, session.starts_at)
            earliest = now + timedelta(minutes=venue.min_lead_minutes)
            latest = now + timedelta(days=venue.max_advance_days)
            if earliest <= _instant(start) <= latest:
                end = (_instant(start) + timedelta(minutes=session.minutes)).astimezone(venue.zone)
                plan.sessions.append((session, start, end))

    # Each venue's window: its candidates (and their buffers), its sessions.
    windows = {}
    for plan in plans:
        spans = []
        if plan.computes:
            spans.append(plan.claim_window())
        if plan.sessions:
            spans.append((min(_instant(s) for _, s, _ in plan.sessions), max(_instant(e) for _, _, e in plan.sessions)))
        if spans:
            windows[plan.venue.pk] = (min(start for start, _ in spans), max(end for _, end in spans))
    if not windows:
        return loaded

    closures = Closure.objects.filter(venue_id__in=list(windows)).filter(
        reduce(
            or_,
            [Q(venue_id=pk, starts_at__lt=end, ends_at__gt=start) for pk, (start, end) in windows.items()],
            Q(repeats_yearly=True),
        )
    )
    for closure in closures.select_related("space"):
        loaded.closures[closure.venue_id].append(closure)

    computed = [plan for plan in plans if plan.computes]
    if computed:
        meets = [
            Q(space_id__in=list(plan.claim_spaces), claimed__overlap=DateTimeTZRange(*plan.claim_window(), "[)"))
            for plan in computed
        ]
        claims = SpaceClaim.objects.blocking(now).alias(claimed=period()).filter(reduce(or_, meets))
        for space_id, starts_at, ends_at in claims.values_list("space_id", "starts_at", "ends_at"):
            loaded.busy[space_id].append((starts_at.timestamp(), ends_at.timestamp()))

    paced = []
    for plan in computed:
        setup = plan.rules.setup
        if not setup.pacing:
            continue
        edges = [window for slot in plan.candidates for window in capacity.pacing_windows(setup, slot.starts_at)]
        if edges:
            paced.append(
                Q(
                    space__venue_id=plan.venue.pk,
                    starts_at__gte=min(window.starts_at for window in edges),
                    starts_at__lt=max(window.ends_at for window in edges),
                )
            )
    if paced:
        starting = Reservation.objects.blocking(now).filter(reduce(or_, paced))
        for venue_id, starts_at, size, area in starting.values_list(
            "space__venue_id", "starts_at", "party_size", "space__category"
        ):
            loaded.starting[venue_id].append((starts_at, size, area))

    session_starts = {_instant(start) for plan in plans for _, start, _ in plan.sessions}
    if session_starts:
        booked = Reservation.objects.blocking(now).filter(
            space_id__in=list(sold_by_seat), starts_at__in=list(session_starts)
        )
        for space_id, starts_at, seats in booked.values_list("space_id", "starts_at").annotate(seats=Sum("party_size")):
            loaded.seats_taken[(space_id, starts_at)] = seats
    return loaded


def _compute(plan: _Plan, day: date, party_size: int, now: datetime, loaded: _Loaded) -> Availability:
    """What venue_availability returns for the plan's request, from the loaded data (no queries):
    the same steps in the same order, so the same answer."""
    venue, setup = plan.venue, plan.rules.setup
    result = Availability(venue=venue, day=day, party_size=party_size, duration=plan.duration, nights=plan.nights)
    result.refusals = dict(plan.refusals)
    seatings = plan.seatings
    singles = [seating.space for seating in seatings if seating.combination is None]
    sold_by_seat = [space for space in plan.rules.spaces if space.sold_by_seat]
    closures = loaded.closures.get(venue.pk, [])
    if sold_by_seat and not venue.uses_nights:
        result.spaces = _sessions(plan, sold_by_seat, party_size, closures, loaded)
    candidates = plan.candidates
    if not candidates or not seatings:
        result.spaces += [SpaceAvailability(space, []) for space in singles]
        return result

    spaces = plan.claim_spaces
    buffers = {pk: space.buffer(venue).total_seconds() for pk, space in spaces.items()}
    window_start, window_end = plan.window()
    spans = capacity.closure_spans(venue, closures, window_start, window_end)
    busy = defaultdict(list)
    for pk in spaces:
        busy[pk] = list(loaded.busy.get(pk, []))
    venue_closed = []
    for span in spans:
        interval = (span.starts_at.timestamp(), span.ends_at.timestamp())
        if span.whole_venue:
            venue_closed.append(interval)
        for space in spaces.values():
            if span.closes(space):
                busy[space.pk].append((interval[0], interval[1] + buffers[space.pk]))

    bounds = [
        (slot, slot.starts_at.timestamp(), slot.ends_at.timestamp())
        for slot in candidates
        if not any(start < slot.ends_at.timestamp() and slot.starts_at.timestamp() < end for start, end in venue_closed)
    ]
    candidates = [slot for slot, _, _ in bounds]
    free_at = free_starts(spaces, busy, buffers, bounds)
    paced = _paced(setup, candidates, party_size, {seating.area for seating in seatings}, loaded)

    return _tally(result, setup, seatings, candidates, free_at, paced)


def _paced(setup: Setup, candidates: list[Slot], party_size: int, areas: set[str], loaded: _Loaded):
    """area -> the indexes of the starts whose pacing a booking of `party_size` there would overfill."""
    if not setup.pacing or not candidates:
        return {}
    windows = [capacity.pacing_windows(setup, slot.starts_at) for slot in candidates]
    if not any(windows):
        return {}
    starts = loaded.starting.get(setup.venue.pk, [])
    return {
        area: {index for index, found in enumerate(windows) if capacity.pacing_refusal(found, area, party_size, starts)}
        for area in areas
    }


def _sessions(plan: _Plan, spaces: list[Space], party_size: int, closures: list[Closure], loaded: _Loaded):
    """Each space sold by the seat with its sessions that have seats for the party (selectors._sessions)."""
    venue = plan.venue
    found = plan.sessions
    spans = []
    if found:
        spans = capacity.closure_spans(
            venue, closures, min(_instant(s) for _, s, _ in found), max(_instant(e) for _, _, e in found)
        )
    result = []
    for space in spaces:
        slots, sold_out = [], []
        for session, start, end in found:
            closed = any(
                (span.whole_venue or span.closes(space)) and span.starts_at < end and start < span.ends_at
                for span in spans
            )
            left = session.seats - loaded.seats_taken.get((space.pk, _instant(start)), 0)
            if session.space_id != space.pk or closed:
                continue
            (slots if left >= party_size else sold_out).append(Slot(start, end, seats_left=max(left, 0)))
        result.append(SpaceAvailability(space, slots, space.price * party_size, sold_out=sold_out))
    return result


def _answer(plan: _Plan, availability: Availability, at: time | None) -> VenueAnswer:
    venue = plan.venue
    if venue.uses_nights:
        answer = VenueAnswer(venue, availability)
        if venue.assigns_spaces:
            entries = category_entries(availability)
            for option in availability.categories:
                if option.unavailable_reason:
                    continue
                entry = entries.get(option.category)
                answer.rooms.append(
                    {
                        "category": option.category,
                        "price": entry.price if entry else None,
                        "free": option.free,
                        "starts_at": option.starts_at,
                    }
                )
        else:
            for entry in availability.spaces:
                if entry.slots:
                    answer.rooms.append(
                        {
                            "category": entry.space.category or entry.space.name,
                            "price": entry.price,
                            "free": 1,
                            "starts_at": entry.slots[0].starts_at,
                            "space": entry.space,
                        }
                    )
        answer.rooms = answer.rooms[:ROOM_TYPES]
        if not answer.rooms:
            answer.reason = next(iter(dict.fromkeys(availability.refusals.values())), "") or plan.reason
        return answer
    asked = local_datetime(venue, availability.day, at or time(19))
    starts = availability.start_times
    before = [slot for slot in starts if _instant(slot.starts_at) < _instant(asked)][-TIMES_BEFORE:]
    after = [slot for slot in starts if _instant(slot.starts_at) >= _instant(asked)][:TIMES_AFTER]
    return VenueAnswer(venue, availability, asked_at=asked, times=before + after, reason=plan.reason)
