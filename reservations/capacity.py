"""A restaurant's capacity rules as computation, no queries: shifts, turn times by party size, pacing
intervals, combined tables and closures (of the venue, an area or a space, once or every year).

The booking services check a request with these functions and the availability selector lists what
can be booked with the same ones, from one `Setup` read per request (reservations/services/rules.py
reads it). Like reservations/periods.py, everything is computed in absolute time (UTC) and only
shown in the venue's zone, so a DST day and a service past midnight come out right.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from reservations.periods import Period, local_datetime
from spaces.models import (
    Closure,
    Combination,
    OpeningHours,
    PacingRule,
    Rate,
    Shift,
    Space,
    StayLimit,
    TurnTime,
    Venue,
)


@dataclass
class Setup:
    """A venue's rules for one request: read once, used by every check and the availability."""

    venue: Venue
    hours: list[OpeningHours] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    turn_times: list[TurnTime] = field(default_factory=list)
    pacing: list[PacingRule] = field(default_factory=list)
    combinations: list[Combination] = field(default_factory=list)  # active, with `members` (by name)
    # A venue booked by the night: its nightly rates (pricing.py) and stay limits (rules.py).
    rates: list[Rate] = field(default_factory=list)
    stay_limits: list[StayLimit] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Seating:
    """What a booking takes: one table, or the tables of a combination. The first is the booking's
    `space` (the reservation row's); every one gets a claim."""

    spaces: tuple[Space, ...]
    combination: Combination | None = None

    @property
    def space(self) -> Space:
        return self.spaces[0]

    @property
    def area(self) -> str:
        return self.space.category

    @property
    def name(self) -> str:
        return " + ".join(space.name for space in self.spaces)

    def fits(self, party_size: int) -> bool:
        return (self.combination or self.space).fits(party_size)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _within(period: Period, moment: datetime) -> bool:
    return _utc(period.starts_at) <= _utc(moment) < _utc(period.ends_at)


# ---------------------------------------------------------------------------------------------
# Shifts and turn times


def shift_window(venue: Venue, shift: Shift, day: date) -> Period:
    """The shift as it runs on `day` (it may end after midnight, on the next day)."""
    end_day = day + timedelta(days=1) if shift.ends_next_day else day
    return Period(local_datetime(venue, day, shift.starts_at), local_datetime(venue, end_day, shift.ends_at))


def shift_at(setup: Setup, moment: datetime) -> tuple[Shift, Period] | None:
    """The shift a booking starting at `moment` belongs to, with that day's window; None outside any.
    A start at 00:30 belongs to the previous evening's service when that one runs past midnight."""
    venue = setup.venue
    local_day = moment.astimezone(venue.zone).date()
    for day in (local_day, local_day - timedelta(days=1)):
        for shift in setup.shifts:
            if shift.runs_on(day.weekday()):
                window = shift_window(venue, shift, day)
                if _within(window, moment):
                    return shift, window
    return None


def turn_minutes(setup: Setup, party_size: int, starts_at: datetime) -> int | None:
    """How long a party of `party_size` starting at `starts_at` keeps its table, by the venue's turn
    times: the shift's own first, then the venue's; the narrowest range of party sizes wins. None
    when no turn time covers the party (the venue's durations apply)."""
    found = shift_at(setup, starts_at) if setup.shifts else None
    shift_id = found[0].pk if found else None
    matching = [
        turn
        for turn in setup.turn_times
        if turn.covers(party_size) and (turn.shift_id is None or turn.shift_id == shift_id)
    ]
    if not matching:
        return None
    best = min(
        matching,
        key=lambda turn: (turn.shift_id is None, turn.max_party_size - turn.min_party_size, turn.min_party_size),
    )
    return best.minutes


def durations_for(setup: Setup, party_size: int, starts_at: datetime) -> list[int]:
    """The lengths a booking may have, the usual one first: the turn time where one covers the
    party, else the venue's default and allowed durations."""
    turn = turn_minutes(setup, party_size, starts_at)
    return [turn] if turn is not None else setup.venue.durations()


# ---------------------------------------------------------------------------------------------
# Pacing


@dataclass(frozen=True)
class PacingWindow:
    """One pacing rule's interval around a start: bookings starting in [starts_at, ends_at) count."""

    rule: PacingRule
    shift: Shift | None
    starts_at: datetime
    ends_at: datetime

    def applies_to(self, area: str) -> bool:
        return not self.rule.area or self.rule.area == area


def pacing_windows(setup: Setup, starts_at: datetime) -> list[PacingWindow]:
    """The pacing intervals a booking starting at `starts_at` falls in, whatever its area. Intervals
    are laid from the shift's start (from local midnight for an all-day rule), in absolute time."""
    if not setup.pacing:
        return []
    venue = setup.venue
    found = shift_at(setup, starts_at) if setup.shifts else None
    windows = []
    for rule in setup.pacing:
        if rule.shift_id is not None:
            if found is None or found[0].pk != rule.shift_id:
                continue
            shift, origin = found[0], found[1].starts_at
        else:
            shift = None
            origin = local_datetime(venue, starts_at.astimezone(venue.zone).date(), time(0))
        step = timedelta(minutes=rule.interval_minutes)
        index = (_utc(starts_at) - _utc(origin)) // step
        start = _utc(origin) + index * step
        windows.append(PacingWindow(rule, shift, start, start + step))
    return windows


def pacing_refusal(
    windows: list[PacingWindow], area: str, party_size: int, starts: list[tuple[datetime, int, str]]
) -> PacingWindow | None:
    """The first pacing window a new booking of `party_size` in `area` would overfill, given the
    bookings `starts` = [(start, party size, area)] already there; None when it fits them all."""
    for window in windows:
        if not window.applies_to(area):
            continue
        counted = [
            size
            for start, size, their_area in starts
            if window.starts_at <= _utc(start) < window.ends_at and window.applies_to(their_area)
        ]
        rule = window.rule
        if rule.max_covers is not None and sum(counted) + party_size > rule.max_covers:
            return window
        if rule.max_parties is not None and len(counted) + 1 > rule.max_parties:
            return window
    return None


# ---------------------------------------------------------------------------------------------
# Tables and combinations


def seatings(
    setup: Setup, spaces: list[Space], *, party_size: int, category: str = "", combine: bool = True
) -> list[Seating]:
    """What a party may be given, best fit first: single tables, smallest first and, of one size,
    those no combination needs before those that are part of one; then combinations, the smallest
    first (fewest guests, then fewest tables). `spaces` are the venue's bookable spaces."""
    in_combination = {space.pk for combination in setup.combinations for space in combination.members}
    singles = [
        space
        for space in spaces
        if space.is_active
        and not space.sold_by_seat  # booked by its sessions' seats, never given as a table
        and space.fits(party_size)
        and (not category or space.category == category)
    ]
    # Of one size, in the names' natural order (Space.sort_key: Table 9 before Table 10).
    singles.sort(key=lambda space: (space.capacity, space.pk in in_combination, space.sort_key, space.name, space.pk))
    found = [Seating((space,)) for space in singles]
    if combine:
        bookable = {space.pk for space in spaces if space.is_active and not space.sold_by_seat}
        combos = [
            combination
            for combination in setup.combinations
            if combination.fits(party_size)
            and len(combination.members) >= 2
            and all(space.pk in bookable for space in combination.members)
            and (not category or combination.members[0].category == category)
        ]
        combos.sort(key=lambda combo: (combo.max_party_size, len(combo.members), combo.name, combo.pk))
        found += [Seating(tuple(combo.members), combo) for combo in combos]
    return found


def largest_party(setup: Setup, spaces: list[Space]) -> int:
    """The most guests any bookable table or combination seats."""
    sizes = [space.capacity for space in spaces if space.is_active]
    sizes += [combination.max_party_size for combination in setup.combinations if len(combination.members) >= 2]
    return max(sizes, default=0)


# ---------------------------------------------------------------------------------------------
# Closures


@dataclass(frozen=True)
class ClosureSpan:
    """One closure as it falls in time (a yearly one, in the year asked about)."""

    closure: Closure
    starts_at: datetime
    ends_at: datetime

    def closes(self, space: Space) -> bool:
        closure = self.closure
        if closure.space_id is not None:
            return closure.space_id == space.pk
        if closure.area:
            return closure.area == space.category
        return False

    @property
    def whole_venue(self) -> bool:
        return self.closure.space_id is None and not self.closure.area


def _same_date_in(venue: Venue, moment: datetime, years: int) -> datetime:
    local = moment.astimezone(venue.zone)
    day = local.date()
    try:
        day = day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        day = day.replace(year=day.year + years, day=28)
    return local_datetime(venue, day, local.time().replace(tzinfo=None))


def closure_spans(venue: Venue, closures: list[Closure], starts_at: datetime, ends_at: datetime) -> list[ClosureSpan]:
    """The closures that meet [starts_at, ends_at), yearly ones moved to each year they recur in."""
    spans = []
    for closure in closures:
        if not closure.repeats_yearly:
            occurrences = [(closure.starts_at, closure.ends_at)]
        else:
            first = closure.starts_at.astimezone(venue.zone).year
            years = range(
                max(first, starts_at.astimezone(venue.zone).year - 1), ends_at.astimezone(venue.zone).year + 1
            )
            occurrences = [
                (
                    _same_date_in(venue, closure.starts_at, year - first),
                    _same_date_in(venue, closure.ends_at, year - first),
                )
                for year in years
            ]
        spans += [
            ClosureSpan(closure, start, end)
            for start, end in occurrences
            if _utc(start) < _utc(ends_at) and _utc(starts_at) < _utc(end)
        ]
    return spans
