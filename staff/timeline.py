"""The day sheet's timeline: the venue's tables by 15-minute steps, from
reservations.selectors.day_sheet, as the cells of an HTML table. No queries.

A booking is a cell spanning its steps (colspan: no inline style, which the page's Content Security
Policy would refuse), followed by a lighter cell for the table's buffer. A booking of combined
tables has a bar on each of its tables. Where bars of one table would overlap (a no-show's table
given again), the table gets another lane, a row of its own, rather than one bar hiding another.
The bookings of one session of a space sold by the seat share one bar (the others listed on it),
and the space's row says the seats they take.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reservations.models import Reservation
from reservations.selectors import SHEET_STEP, DaySheet, SessionSeats, SheetStep
from spaces.models import Space

Status = Reservation.Status


@dataclass
class SheetEntry:
    """One reservation as the day sheet shows it: the move targets are the free spaces that fit."""

    reservation: Reservation
    move_to: list[Space] = field(default_factory=list)
    arrivals_open: bool = False  # arrivals are marked on the day of the booking

    @property
    def spaces(self) -> list[Space]:
        return self.reservation.all_spaces

    @property
    def combined(self) -> bool:
        return len(self.spaces) > 1

    @property
    def state(self) -> str:
        """The status as the host follows it: seated, arrived, or the booking's status."""
        reservation = self.reservation
        if reservation.status == Status.CONFIRMED and reservation.seated_at:
            return "seated"
        if reservation.status == Status.CONFIRMED and reservation.arrived_at:
            return "arrived"
        return reservation.status

    @property
    def who(self) -> str:
        """The name the booking is under (its own, else the guest's account's): "(no name)" only when
        neither has one, "(removed)" when the account is gone and the booking has no name of its own."""
        if name := self.reservation.who:
            return name
        return _("(no name)") if self.reservation.guest_id else _("(removed)")

    @property
    def booked_by(self) -> str:
        """The account's name when the booking is under another's ("booking for someone else"), else ""."""
        reservation = self.reservation
        account = reservation.guest.name if reservation.guest_id else ""
        return account if reservation.contact_name and account and account != reservation.contact_name else ""

    @property
    def state_words(self) -> str:
        if self.state == "seated":
            return _("Seated")
        if self.state == "arrived":
            return _("Arrived")
        return self.reservation.get_status_display()


@dataclass
class Column:
    step: SheetStep
    label: str  # '19:00' on the hour and in the first column, else empty

    @property
    def starts_at(self) -> datetime:
        return self.step.starts_at

    @property
    def time(self) -> str:
        return f"{self.step.starts_at:%H:%M}"


@dataclass
class Bar:
    """A booking on one of its tables: [first, last) its own steps, [last, until) the table's buffer."""

    entry: SheetEntry
    space: Space
    first: int
    last: int
    until: int
    from_before: bool  # began before the grid (the previous service)
    goes_on: bool  # lasts beyond the grid
    reset_until: datetime  # the end of the table's buffer after it
    others: list[SheetEntry] = field(default_factory=list)  # the session's other bookings (sold by the seat)

    @property
    def reservation(self) -> Reservation:
        return self.entry.reservation

    @property
    def has_body(self) -> bool:
        return self.last > self.first

    @property
    def has_buffer(self) -> bool:
        return self.until > max(self.last, self.first)


@dataclass
class Cell:
    """One cell of a lane: a free step, a booking's steps, or the steps of the table's buffer."""

    span: int
    column: Column  # the first it covers
    bar: Bar | None = None
    buffer: bool = False


@dataclass
class TableRow:
    space: Space
    lanes: list[list[Bar]]
    cells: list[list[Cell]]  # per lane, across every step
    sessions: list[SessionSeats] = field(default_factory=list)  # sold by the seat: its sessions in the service

    @property
    def span(self) -> int:
        return len(self.cells)

    @property
    def bars(self) -> list[Bar]:
        return [bar for lane in self.lanes for bar in lane]


@dataclass
class Area:
    name: str  # the spaces' category; empty where the venue has none
    tables: list[TableRow]


@dataclass
class Timeline:
    columns: list[Column]
    areas: list[Area]

    @property
    def width(self) -> int:
        """Columns of the HTML table: the tables' names and the steps."""
        return len(self.columns) + 1

    @property
    def tables(self) -> list[TableRow]:
        return [table for area in self.areas for table in area.tables]

    @property
    def bars(self) -> list[Bar]:
        return [bar for table in self.tables for bar in table.bars]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _columns(sheet: DaySheet) -> list[Column]:
    columns = []
    for index, step in enumerate(sheet.steps):
        on_the_hour = step.starts_at.minute == 0
        columns.append(Column(step, f"{step.starts_at:%H:%M}" if on_the_hour or index == 0 else ""))
    return columns


def _bars_by_space(sheet: DaySheet, entries: list[SheetEntry]) -> dict[int, list[Bar]]:
    """Each booking on each table it claims, in steps of the grid (cut at its edges)."""
    start, count = _utc(sheet.starts_at), len(sheet.steps)

    def step_of(moment: datetime, *, up: bool) -> int:
        offset = _utc(moment) - start
        index = -(-offset // SHEET_STEP) if up else offset // SHEET_STEP
        return min(max(index, 0), count)

    found = defaultdict(list)
    sessions = {}  # (space, start): the bar of a session of a space sold by the seat
    for entry in entries:
        reservation = entry.reservation
        if reservation.status == Status.CANCELLED:
            continue  # its tables are free: listed under the grid, not drawn
        claims = list(reservation.claims.all())
        held = [(claim.space, claim.ends_at) for claim in claims] or [(reservation.space, reservation.ends_at)]
        for space, until in held:
            bar = Bar(
                entry,
                space,
                first=step_of(reservation.starts_at, up=False),
                last=step_of(reservation.ends_at, up=True),
                until=step_of(until, up=True),
                from_before=_utc(reservation.starts_at) < start,
                goes_on=_utc(until) > start + count * SHEET_STEP,
                reset_until=until,
            )
            if bar.until <= bar.first:
                continue
            if space.sold_by_seat:
                shared = sessions.setdefault((space.pk, _utc(reservation.starts_at), bar.until), bar)
                if shared is not bar:
                    shared.others.append(entry)
                    continue
            found[space.pk].append(bar)
    return found


def _lanes(bars: list[Bar]) -> list[list[Bar]]:
    """Bars of one table in as few lanes as keep them apart (one lane unless some overlap)."""
    lanes: list[list[Bar]] = []
    for bar in sorted(bars, key=lambda bar: (bar.first, bar.until, bar.reservation.pk)):
        lane = next((lane for lane in lanes if lane[-1].until <= bar.first), None)
        if lane is None:
            lanes.append([bar])
        else:
            lane.append(bar)
    return lanes


def _cells(lane: list[Bar], columns: list[Column]) -> list[Cell]:
    """A lane's cells from the first step to the last: free steps one by one, each bar as one cell
    over its steps, its buffer as another."""
    cells, index = [], 0
    for bar in lane:  # in order, apart
        cells += [Cell(1, columns[free]) for free in range(index, bar.first)]
        index = max(index, bar.first)
        if bar.has_body:
            cells.append(Cell(bar.last - bar.first, columns[bar.first], bar=bar))
            index = bar.last
        if bar.has_buffer:
            cells.append(Cell(bar.until - index, columns[index], bar=bar, buffer=True))
            index = bar.until
    return cells + [Cell(1, columns[free]) for free in range(index, len(columns))]


def timeline(sheet: DaySheet, entries: list[SheetEntry]) -> Timeline:
    """The sheet's timeline: per area (the spaces' category) a row per table, more where its bars
    would overlap; every row has a cell per step or a bar's cell spanning its steps."""
    by_space = _bars_by_space(sheet, entries)
    columns = _columns(sheet)
    sessions = defaultdict(list)
    for seats in sheet.sessions:
        sessions[seats.space.pk].append(seats)
    areas: list[Area] = []
    for space in sheet.spaces:
        if not areas or areas[-1].name != space.category:
            areas.append(Area(space.category, []))
        lanes = _lanes(by_space.get(space.pk, []))
        cells = [_cells(lane, columns) for lane in lanes or [[]]]
        areas[-1].tables.append(TableRow(space, lanes, cells, sessions.get(space.pk, [])))
    return Timeline(columns, areas)


def step_words(step: SheetStep) -> str:
    """'10 / 12 covers, 2 parties': what starts in the 15 minutes, against the pacing limit of the
    same interval; the limits of other intervals or areas it falls in follow ('Terrace 19:00–19:30:
    6 / 8 covers'), then whether the pacing is full."""
    own = next(
        (
            count
            for count in step.pacing
            if not count.rule.area
            and _utc(count.window.starts_at) == _utc(step.starts_at)
            and _utc(count.window.ends_at) == _utc(step.ends_at)
        ),
        None,
    )
    rule = own.rule if own else None
    covers = (
        _covers_of_limit(step.covers, rule.max_covers)
        if rule and rule.max_covers is not None
        else ngettext("%(count)s cover", "%(count)s covers", step.covers) % {"count": step.covers}
    )
    parties = (
        _parties_of_limit(step.parties, rule.max_parties)
        if rule and rule.max_parties is not None
        else ngettext("%(count)s party", "%(count)s parties", step.parties) % {"count": step.parties}
    )
    # Translators: the covers, then the parties, starting in 15 minutes ("10 covers, 2 parties").
    words = [_("%(covers)s, %(parties)s") % {"covers": covers, "parties": parties}]
    zone = step.starts_at.tzinfo
    for count in step.pacing:
        if count is own:
            continue
        limits = []
        if count.rule.max_covers is not None:
            limits.append(_covers_of_limit(count.covers, count.rule.max_covers))
        if count.rule.max_parties is not None:
            limits.append(_parties_of_limit(count.parties, count.rule.max_parties))
        since, until = count.window.starts_at.astimezone(zone), count.window.ends_at.astimezone(zone)
        window = {
            "area": count.rule.area,
            "since": f"{since:%H:%M}",
            "until": f"{until:%H:%M}",
            "limits": ", ".join(limits),
        }
        if count.rule.area:
            # Translators: a pacing limit of one area of the venue: "Terrace 19:00–19:30: 6 / 8 covers".
            words.append(_("%(area)s %(since)s–%(until)s: %(limits)s") % window)
        else:
            words.append(_("%(since)s–%(until)s: %(limits)s") % window)
    text = "; ".join(words)
    if step.over:
        return _("%(pacing)s (over the limit)") % {"pacing": text}
    if step.full:
        return _("%(pacing)s (full)") % {"pacing": text}
    return text


def _covers_of_limit(covers: int, limit: int) -> str:
    """'10 / 12 covers': the covers against a pacing limit."""
    return _("%(count)s / %(limit)s covers") % {"count": covers, "limit": limit}


def _parties_of_limit(parties: int, limit: int) -> str:
    """'2 / 3 parties': the parties against a pacing limit."""
    return _("%(count)s / %(limit)s parties") % {"count": parties, "limit": limit}
