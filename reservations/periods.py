"""Turning a venue's rules into real periods of time, in the venue's time zone.

Everything here is pure computation (no queries): the booking services use it to check a request,
the availability selector to list what can be booked. Times go in and come out time zone aware.
Slot grids are laid in absolute time from the start of each opening period, so a day with a DST
change has the right number of slots (23 or 25 hourly slots for a venue open around the clock).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils.dateformat import format as date_format

from core.formats import DATETIME_WITH_DAY, TIME
from spaces.models import OpeningHours, Venue


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime

    def contains(self, starts_at: datetime, ends_at: datetime) -> bool:
        # Compared in UTC: datetimes sharing a zone compare by wall time, blind to DST.
        return _utc(self.starts_at) <= _utc(starts_at) and _utc(ends_at) <= _utc(self.ends_at)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def local_datetime(venue: Venue, day: date, at: time) -> datetime:
    """`day` at wall-clock time `at` in the venue's zone (a time skipped by DST moves forward)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=venue.zone)
    # A wall time inside the spring-forward gap does not exist: zoneinfo would give a time that
    # reads back differently. Normalise through UTC so the result is a real instant.
    # (astimezone() to the same zone is a no-op, hence the detour.)
    return aware.astimezone(UTC).astimezone(venue.zone)


def format_local(venue: Venue, moment: datetime, with_date: bool = True) -> str:
    """How we show a moment to a guest: 'Fri 14 Nov 19:00' in the venue's zone (core/formats.py's
    short format with the day, in the active language)."""
    local = moment.astimezone(venue.zone)
    return date_format(local, DATETIME_WITH_DAY if with_date else TIME)


def opening_periods(venue: Venue, day: date, hours: list[OpeningHours]) -> list[Period]:
    """The venue's opening periods that begin on `day` (a period may end after midnight)."""
    periods = []
    for entry in hours:
        if entry.weekday != day.weekday():
            continue
        end_day = day + timedelta(days=1) if entry.closes_next_day else day
        periods.append(
            Period(local_datetime(venue, day, entry.opens_at), local_datetime(venue, end_day, entry.closes_at))
        )
    return sorted(periods, key=lambda period: period.starts_at)


def periods_around(venue: Venue, moment: datetime, hours: list[OpeningHours]) -> list[Period]:
    """Opening periods that could contain `moment`: those of its local day and of the day before."""
    local_day = moment.astimezone(venue.zone).date()
    return opening_periods(venue, local_day - timedelta(days=1), hours) + opening_periods(venue, local_day, hours)


def slot_starts(period: Period, interval_minutes: int, duration_minutes: int) -> list[datetime]:
    """Start times on the period's grid whose booking of `duration_minutes` ends by closing time."""
    step = timedelta(minutes=interval_minutes)
    duration = timedelta(minutes=duration_minutes)
    zone = period.starts_at.tzinfo
    # Step in UTC: adding a timedelta to a venue-zone datetime is wall-clock arithmetic, which would
    # give 24 hourly starts on every day (one of them non-existent in spring, one hour lost in autumn).
    starts = []
    start, end = _utc(period.starts_at), _utc(period.ends_at)
    while start + duration <= end:
        starts.append(start.astimezone(zone))
        start += step
    return starts


def on_grid(period: Period, starts_at: datetime, interval_minutes: int) -> bool:
    offset = _utc(starts_at) - _utc(period.starts_at)
    return offset >= timedelta(0) and offset % timedelta(minutes=interval_minutes) == timedelta(0)


def nights_between(venue: Venue, starts_at: datetime, ends_at: datetime) -> int:
    """Nights of a stay: counted in local dates, so a stay across a clock change is still its nights."""
    return (ends_at.astimezone(venue.zone).date() - starts_at.astimezone(venue.zone).date()).days


def stay_period(venue: Venue, arrival: date, nights: int) -> tuple[datetime, datetime]:
    """A hotel stay: check-in time on the arrival date to check-out time `nights` days later."""
    return (
        local_datetime(venue, arrival, venue.check_in_time),
        local_datetime(venue, arrival + timedelta(days=nights), venue.check_out_time),
    )
