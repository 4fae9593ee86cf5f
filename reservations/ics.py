"""Reading the channels' availability calendars (Airbnb, Booking.com, Vrbo...) and writing our own.

The channels tell each other which nights a room is taken as iCalendar feeds: mostly all-day events
(arrival to departure), sometimes timed ones (a Google calendar kept by hand). `parse_feed` turns a
feed into stays of nights; `export_calendar` writes our bookings as a feed the channels can import.

Pure computation: bytes in, dates out. No database, no network, nothing from the project, so it can
be tested on files alone. A feed we cannot read raises FeedError and nothing else: the caller then
keeps every block it had, because releasing nights on a misread feed would sell them twice.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr  # installed with icalendar, which needs it; used only by _check_repetitions
from django.utils.translation import gettext, ngettext

ONE_DAY = timedelta(days=1)
SUMMARY_LENGTH = 200
# Steps through repeat rules, before and within the window, that one feed may take (about a second):
# a rule repeating every second since 1970 would otherwise keep a worker busy for hours.
REPETITION_BUDGET = 500_000
_NEGATIVE_COUNT = re.compile(r";?COUNT=-\d+", re.IGNORECASE)  # some exporters write it; it means no count


class FeedError(ValueError):
    """The file is not a calendar we can read (HTML, garbage, too many events): str() says why in
    words a hotel manager understands. Nothing may be released or blocked on it."""


@dataclass(frozen=True)
class Stay:
    key: str  # how blocks follow the event from one sync to the next: UID, "UID/<original start>"...
    uid: str  # "" when the event had none
    summary: str
    starts_on: date  # the first night
    ends_on: date  # the departure day (exclusive), > starts_on


@dataclass
class Parsed:
    stays: list[Stay]  # sorted by (starts_on, key), keys unique
    notes: list[str]  # what was skipped or guessed, one sentence each


@dataclass(frozen=True)
class ExportEvent:
    uid: str
    summary: str
    starts: date | datetime  # a date: all-day (nights); an aware datetime: a timed event
    ends: date | datetime
    stamp: datetime  # aware; DTSTAMP


# ---------------------------------------------------------------------------------------------
# Reading


def parse_feed(
    data: bytes,
    *,
    zone: ZoneInfo,
    check_in: time,
    check_out: time,
    today: date,
    horizon: date,
    max_events: int = 5000,
) -> Parsed:
    """The stays of nights in a channel's feed, from tonight until `horizon`, and notes on what was
    skipped or guessed. Raises FeedError, and only FeedError, when the file cannot be trusted whole."""
    try:
        reader = _Reader(zone, check_in, check_out, today, horizon, max_events)
        return reader.read(_calendar(data))
    except FeedError:
        raise
    except Exception as error:  # a stranger's file: whatever breaks, nothing may be released on it
        raise FeedError(_damaged(error)) from error


def _calendar(data: bytes) -> icalendar.Calendar:
    text = data.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip().decode("utf-8", errors="replace")
    if text[:15].upper() != "BEGIN:VCALENDAR":
        if text.startswith("<"):
            raise FeedError(gettext("This is not an iCalendar file: it looks like a web page."))
        raise FeedError(gettext("This is not an iCalendar file."))
    try:
        return icalendar.Calendar.from_ical(text)
    except Exception as error:
        raise FeedError(_damaged(error)) from error


def _damaged(error: Exception) -> str:
    # icalendar's message, cut before the quoted content: the file may hold guests' names.
    detail = " ".join(str(error).split(":")[0].split())[:120] or type(error).__name__
    return gettext("The calendar file is damaged or incomplete and could not be read (%(detail)s).") % {
        "detail": detail
    }


# Why events were skipped or guessed at, in the order the notes list them.
CANCELLED, FREE, PAST, BROKEN, NO_START, NO_LENGTH, NO_NIGHT, REPEATED, NO_UID, ONE_NIGHT = range(10)


def _note(reason: int, count: int) -> str:
    words = {
        CANCELLED: ngettext(
            "%(count)d cancelled event was ignored.", "%(count)d cancelled events were ignored.", count
        ),
        FREE: ngettext(
            "%(count)d event marked as free time was ignored.",
            "%(count)d events marked as free time were ignored.",
            count,
        ),
        PAST: ngettext("%(count)d past event was ignored.", "%(count)d past events were ignored.", count),
        BROKEN: ngettext(
            "%(count)d event ends before it starts and was ignored.",
            "%(count)d events end before they start and were ignored.",
            count,
        ),
        NO_START: ngettext(
            "%(count)d event without a start date was ignored.",
            "%(count)d events without a start date were ignored.",
            count,
        ),
        NO_LENGTH: ngettext(
            "%(count)d event ends as it starts and was ignored.",
            "%(count)d events end as they start and were ignored.",
            count,
        ),
        NO_NIGHT: ngettext(
            "%(count)d event falls between check-out and check-in and takes no night.",
            "%(count)d events fall between check-out and check-in and take no night.",
            count,
        ),
        REPEATED: ngettext(
            "%(count)d event repeated a UID and was ignored.",
            "%(count)d events repeated a UID and were ignored.",
            count,
        ),
        NO_UID: ngettext(
            "%(count)d event without a UID was matched by its dates.",
            "%(count)d events without a UID were matched by their dates.",
            count,
        ),
        ONE_NIGHT: ngettext(
            "%(count)d all-day event without an end was taken as one night.",
            "%(count)d all-day events without an end were taken as one night each.",
            count,
        ),
    }[reason]
    return words % {"count": count}


class _Reader:
    """One reading of one feed: the venue's clock, the window, and the counts behind the notes."""

    def __init__(self, zone, check_in, check_out, today, horizon, max_events):
        self.zone, self.check_in, self.check_out = zone, check_in, check_out
        self.today, self.horizon, self.max_events = today, horizon, max_events
        self.counts: dict[int, int] = {}
        self.in_window = 0

    def read(self, calendar: icalendar.Calendar) -> Parsed:
        singles, series = self._sort_out([c for c in calendar.subcomponents if c.name == "VEVENT"])
        stays = [stay for event in singles if (stay := self._single(event))]
        stays += self._occurrences(series)
        unique: dict[str, Stay] = {}
        for stay in stays:
            if stay.key in unique:
                self._count(REPEATED)
            else:
                unique[stay.key] = stay
        self._count(NO_UID, sum(1 for stay in unique.values() if not stay.uid))
        notes = [_note(reason, count) for reason, count in sorted(self.counts.items()) if count]
        return Parsed(sorted(unique.values(), key=lambda stay: (stay.starts_on, stay.key)), notes)

    def _count(self, reason: int, count: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + count

    def _too_many(self) -> FeedError:
        return FeedError(
            gettext(
                "The calendar has more than %(limit)d events before %(horizon)s; "
                "it was not read, so no night was blocked or released."
            )
            % {"limit": self.max_events, "horizon": self.horizon.isoformat()}
        )

    def _sort_out(self, events: list[icalendar.Event]) -> tuple[list, dict[str, list]]:
        """Single events, and the repeating ones grouped by UID (with the occurrences they move).
        Of two events with the same UID and no RECURRENCE-ID the first is kept, as channels list
        the stay they mean first; recurring_ical_events would keep the higher SEQUENCE instead."""
        groups: dict[str, list[icalendar.Event]] = {}
        for event in events:
            uid = _text(event, "UID")
            if not uid or isinstance(event["UID"], list):
                event = event.copy()  # one UID, made up from its dates if it had none
                if not uid:
                    uid = _no_uid_key(event)
                    event["X-HOLDFAST-NO-UID"] = icalendar.vText("1")
                event["UID"] = icalendar.vText(uid)
            group = groups.setdefault(uid, [])
            if "RECURRENCE-ID" not in event and any("RECURRENCE-ID" not in other for other in group):
                self._count(REPEATED)
            else:
                group.append(event)
        singles, series = [], {}
        for uid, group in groups.items():
            repeats = len(group) > 1 or "RECURRENCE-ID" in group[0]
            if repeats or any(name in group[0] for name in ("RRULE", "RDATE")):
                series[uid] = group
            else:
                singles.append(group[0])
        return singles, series

    def _single(self, event: icalendar.Event) -> Stay | None:
        try:
            nights = self._nights(event)
        except OverflowError:  # a date near year 1 or 9999: long past, or far beyond the horizon
            return None
        if nights is None:
            return None
        first, end = nights
        if end <= self.today:
            self._count(PAST)
            return None
        if first >= self.horizon:
            return None
        self.in_window += 1
        if self.in_window > self.max_events:
            raise self._too_many()
        return self._stay(event, _text(event, "UID"), first, end)

    def _occurrences(self, series: dict[str, list]) -> list[Stay]:
        """Every occurrence of the repeating events in the window, each keyed "UID/<original start>"
        so that a moved occurrence (RECURRENCE-ID) keeps the key of the one it replaces."""
        calendar = icalendar.Calendar()
        for event in (event for group in series.values() for event in group):
            if self._readable_span(event):
                calendar.add_component(event)
        if not calendar.subcomponents:
            return []
        self._check_repetitions(calendar.subcomponents)
        occurrences = recurring_ical_events.of(calendar).between(self.today - ONE_DAY, self.horizon)
        self.in_window += len(occurrences)
        if self.in_window > self.max_events:
            raise self._too_many()
        stays = []
        for occurrence in occurrences:
            nights = self._nights(occurrence)
            # Occurrences before tonight are only the window's margin: not worth a note.
            if nights is None or nights[1] <= self.today or nights[0] >= self.horizon:
                continue
            key = f"{_text(occurrence, 'UID')}/{self._original_start(occurrence['RECURRENCE-ID'])}"
            stays.append(self._stay(occurrence, key, *nights))
        return stays

    def _readable_span(self, event: icalendar.Event) -> bool:
        """Whether a repeating event's own dates make sense, checked before expanding it:
        recurring_ical_events swaps an end before the start instead of refusing it."""
        if "DTSTART" not in event:
            self._count(NO_START)
            return False
        start, end, _ = self._span(event)
        if _utc(end, self.zone) < _utc(start, self.zone):
            self._count(BROKEN)
            return False
        return True

    def _check_repetitions(self, events: list[icalendar.Event]) -> None:
        """Refuse, before expanding anything, a feed whose repeat rules make more events than we may
        read (counting lazily, which recurring_ical_events does not). The limit is loose, twice
        max_events plus the dates excluded, as the exact count comes after."""
        window_start = datetime.combine(self.today - 2 * ONE_DAY, time())
        window_end = datetime.combine(self.horizon + ONE_DAY, time())
        excluded = [day for event in events for exdates in _values(event, "EXDATE") for day in exdates.dts]
        allowed = 2 * self.max_events + len(excluded)
        steps = in_window = 0
        for event in events:
            start = _first(event, "DTSTART").dt
            first = start.replace(tzinfo=None) if isinstance(start, datetime) else datetime.combine(start, time())
            for rule in _values(event, "RRULE"):
                text = _NEGATIVE_COUNT.sub("", rule.to_ical().decode())
                for moment in rrulestr(text, dtstart=first, ignoretz=True, cache=False):
                    steps += 1
                    if moment > window_end:
                        break
                    in_window += moment >= window_start
                    if in_window > allowed:
                        raise self._too_many()
                    if steps > REPETITION_BUDGET:
                        raise FeedError(gettext("An event in the calendar repeats too often to be read."))

    def _stay(self, event, key: str, first: date, end: date) -> Stay:
        uid = "" if "X-HOLDFAST-NO-UID" in event else _text(event, "UID")
        summary = _text(event, "SUMMARY")[:SUMMARY_LENGTH]
        return Stay(key=str(key), uid=uid, summary=summary, starts_on=first, ends_on=min(end, self.horizon))

    def _nights(self, event: icalendar.Event) -> tuple[date, date] | None:
        """The first night and the departure day the event takes, or None (counted) if it takes none."""
        if _text(event, "STATUS").upper() == "CANCELLED":
            self._count(CANCELLED)
            return None
        if _text(event, "TRANSP").upper() == "TRANSPARENT":
            self._count(FREE)
            return None
        if "DTSTART" not in event:
            self._count(NO_START)
            return None
        start, end, guessed = self._span(event)
        if isinstance(start, datetime):
            nights = self._timed_nights(start, end if isinstance(end, datetime) else self._local(end, time()))
        else:  # nights from the arrival date to the departure date
            last = end.astimezone(self.zone).date() if isinstance(end, datetime) else end
            nights = (start, last) if last > start else None
            if last <= start:
                self._count(BROKEN if last < start else NO_LENGTH)
        if nights is not None and guessed:
            self._count(ONE_NIGHT)
        return nights

    def _span(self, event: icalendar.Event) -> tuple[date | datetime, date | datetime, bool]:
        """DTSTART, and DTEND or DTSTART + DURATION (one night for an all-day event with neither;
        nothing for a timed one), with zones resolved; and whether the end was guessed."""
        start = self._moment(_first(event, "DTSTART"))
        if "DTEND" in event:
            return start, self._moment(_first(event, "DTEND")), False
        if "DURATION" in event:
            duration = _first(event, "DURATION").dt
            if isinstance(start, datetime):  # by the wall clock, as recurring_ical_events adds it too
                return start, start + duration, False
            return start, start + timedelta(days=duration.days + (1 if duration.seconds else 0)), False
        if isinstance(start, datetime):
            return start, start, False
        return start, start + ONE_DAY, True

    def _moment(self, prop) -> date | datetime:
        """A date, or an aware datetime: a time without zone (floating, or a TZID icalendar does not
        know) is read in the zone named by its TZID if zoneinfo has it, else in the venue's."""
        try:
            value = prop.dt
        except Exception as error:  # icalendar keeps a property it could not read, and raises here
            raise FeedError(
                gettext("An event in the calendar has a date that cannot be read: %(value)s.")
                % {"value": prop.to_ical().decode(errors="replace")[:40]}
            ) from error
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=_zone(prop.params.get("TZID"), self.zone))
            return value
        if isinstance(value, date):
            return value
        raise ValueError(f"not a date: {prop.to_ical()!r}")

    def _timed_nights(self, start: datetime, end: datetime) -> tuple[date, date] | None:
        """The nights d whose stay, check-in on d to check-out on d+1 in the venue's zone, overlaps
        [start, end). Compared in UTC: datetimes sharing a zone compare by wall time, blind to DST."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end < start:
            self._count(BROKEN)
            return None
        if end == start:
            self._count(NO_LENGTH)
            return None
        first = start.astimezone(self.zone).date() - ONE_DAY
        if self._local(first + ONE_DAY, self.check_out) <= start:
            first += ONE_DAY  # its stay was over before the event began
        last = end.astimezone(self.zone).date()
        if self._local(last, self.check_in) >= end:
            last -= ONE_DAY  # the event was over before that night's check-in
        if last < first:
            self._count(NO_NIGHT)
            return None
        return first, last + ONE_DAY

    def _local(self, day: date, at: time) -> datetime:
        """`day` at wall-clock `at` in the venue's zone, in UTC (a time skipped by DST moves on)."""
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    def _original_start(self, prop) -> str:
        """An occurrence's RECURRENCE-ID as YYYYMMDD or YYYYMMDDTHHMMSSZ."""
        value = self._moment(prop)
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%d")


def _text(component, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):  # a property given twice: the first counts
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


def _first(component, name: str):
    """A property that should be there once; icalendar gives a list when a feed repeats it."""
    value = component[name]
    return value[0] if isinstance(value, list) else value


def _values(component, name: str) -> list:
    value = component.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def _no_uid_key(event: icalendar.Event) -> str:
    """The key of an event without UID, the same from sync to sync while its dates and summary are:
    "nouid-" and the first 16 hex digits of the SHA-1 of "DTSTART|DTEND|SUMMARY" as the file has them."""
    parts = []
    for name in ("DTSTART", "DTEND", "SUMMARY"):
        value = event.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        parts.append("" if value is None else value.to_ical().decode(errors="replace"))
    return "nouid-" + hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()[:16]


def _zone(tzid: str | None, fallback: ZoneInfo) -> ZoneInfo:
    if tzid:
        try:
            return ZoneInfo(str(tzid))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return fallback


def _utc(moment: date | datetime, zone: ZoneInfo) -> datetime:
    """Any DTSTART or DTEND as a comparable instant (a date as its midnight in the venue's zone)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), tzinfo=zone)
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Writing

PRODID = "-//Holdfast//Holdfast calendar//EN"


def export_calendar(name: str, events: list[ExportEvent]) -> bytes:
    """A feed of `events` for the channels to import: all-day events for nights, UTC times for the
    rest, always opaque (busy). The same events in any order give the same bytes, so an unchanged
    calendar keeps its ETag and the channels need not re-read it."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for event in sorted(events, key=_export_order):
        vevent = icalendar.Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", _as_utc(event.stamp))
        vevent.add("dtstart", _exported(event.starts))
        vevent.add("dtend", _exported(event.ends))
        vevent.add("summary", event.summary)
        vevent.add("transp", "OPAQUE")
        calendar.add_component(vevent)
    return calendar.to_ical()


def _exported(moment: date | datetime) -> date | datetime:
    return _as_utc(moment) if isinstance(moment, datetime) else moment


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("export_calendar needs aware datetimes")
    return moment.astimezone(UTC).replace(microsecond=0)


def _sortable(moment: date | datetime) -> str:
    # A date and a datetime do not compare; their ISO forms do, and a date sorts before its times.
    return _as_utc(moment).isoformat() if isinstance(moment, datetime) else moment.isoformat()


def _export_order(event: ExportEvent) -> tuple:
    return (_sortable(event.starts), event.uid, _sortable(event.ends), event.summary, _sortable(event.stamp))
