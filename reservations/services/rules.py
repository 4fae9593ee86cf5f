"""The venue's rules, checked before anything is written: periods, closures, which spaces fit a
party, cut-offs, who may act. No writes here; every refusal is a BookingError in a guest's words.

The availability selector and the pages use the same functions, so what a guest is offered and what
the services accept are one rule, not two.
"""

from datetime import UTC, date, datetime, timedelta

from django.db.models import Prefetch, Q
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reservations import capacity, pricing
from reservations.capacity import Seating, Setup
from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import Reservation
from reservations.periods import format_local, nights_between, on_grid, periods_around
from reservations.wording import contact_words, duration_words, space_kind
from spaces import powers
from spaces.models import Closure, Combination, Session, Space, StayLimit, Venue
from spaces.powers import Power

MAX_NIGHTS = 30  # the longest stay booked online; the availability search offers the same
MAX_PARTY_SIZE = 500  # the largest party booked online


def setup(venue: Venue) -> Setup:
    """The venue's rules for one request, read once (five queries): opening hours, shifts, turn times,
    pacing and combinations with their tables; for a venue booked by the night also its nightly
    rates and stay limits (two more: a restaurant reads none of them)."""
    combinations = Combination.objects.filter(venue=venue, is_active=True).prefetch_related(
        Prefetch("spaces", queryset=Space.objects.order_by("sort_key", "pk"), to_attr="members")
    )
    nights = venue.uses_nights
    return Setup(
        venue=venue,
        hours=list(venue.opening_hours.all()),
        shifts=list(venue.shifts.all()),
        turn_times=list(venue.turn_times.all()),
        pacing=list(venue.pacing_rules.all()),
        combinations=list(combinations),
        rates=list(venue.rates.all()) if nights else [],
        stay_limits=list(venue.stay_limits.all()) if nights else [],
    )


def period_for(
    venue: Venue,
    starts_at: datetime,
    ends_at: datetime | None,
    *,
    party_size: int | None = None,
    rules: Setup | None = None,
) -> tuple[datetime, datetime]:
    """Fill in the end of a slot booking (the party's turn time, else the default duration) and refuse
    a period that is empty.

    Both ends come back in UTC: arithmetic on datetimes in the venue's zone is wall-clock
    arithmetic, which would make a 60-minute booking across a DST change last 0 or 2 hours.
    """
    starts_at = starts_at.astimezone(UTC)
    ends_at = ends_at.astimezone(UTC) if ends_at is not None else None
    if ends_at is None:
        if venue.uses_nights:
            raise PolicyViolation(_("Say when the stay ends (the departure date)."), field="ends_at")
        minutes = venue.default_duration_minutes
        if rules is not None and party_size:
            minutes = capacity.durations_for(rules, party_size, starts_at)[0]
        ends_at = starts_at + timedelta(minutes=minutes)
    if ends_at <= starts_at:
        raise PolicyViolation(_("The end must be after the start."), field="ends_at")
    return starts_at, ends_at


def session_at(space: Space, starts_at: datetime) -> Session | None:
    """The session of a space sold by the seat that starts at `starts_at` (its local day and time)."""
    local = starts_at.astimezone(space.venue.zone)
    for session in space.sessions.all():
        if session.runs_on(local.date()) and session.starts_at == local.time().replace(tzinfo=None):
            return session
    return None


def check_session(space: Space, starts_at: datetime, party_size: int, *, now: datetime) -> tuple[Session, datetime]:
    """Refuse a seat booking for a time the space has no session, a party bigger than the session's
    seats, or a start outside the venue's lead time and window; the session and its end."""
    venue = space.venue
    session = session_at(space, starts_at)
    if session is None:
        raise PolicyViolation(
            _("%(space)s has no session at %(when)s.") % {"space": space.name, "when": format_local(venue, starts_at)},
            field="starts_at",
        )
    check_window(venue, starts_at, now=now)
    if party_size > session.seats:
        raise PolicyViolation(
            ngettext(
                "%(space)s has %(count)s seat a session.", "%(space)s has %(count)s seats a session.", session.seats
            )
            % {"space": space.name, "count": session.seats},
            field="party_size",
        )
    return session, starts_at + timedelta(minutes=session.minutes)


def sold_out_message(space: Space, starts_at: datetime, left: int) -> str:
    when = format_local(space.venue, starts_at)
    if left <= 0:
        return _("%(space)s at %(when)s is sold out.") % {"space": space.name, "when": when}
    return ngettext(
        "%(space)s at %(when)s is sold out for your party: %(count)s seat left.",
        "%(space)s at %(when)s is sold out for your party: %(count)s seats left.",
        left,
    ) % {"space": space.name, "when": when, "count": left}


def check_window(venue: Venue, starts_at: datetime, *, now: datetime) -> None:
    """Refuse a start that has passed, is within the venue's lead time or beyond its booking window."""
    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    if starts_at < earliest:
        if starts_at < now:
            if venue.uses_nights:
                raise PolicyViolation(_("That arrival has already passed."), field="starts_at")
            raise PolicyViolation(_("That time has already passed."), field="starts_at")
        raise PolicyViolation(
            _("%(venue)s takes bookings at least %(lead)s ahead; the earliest start is %(earliest)s.")
            % {
                "venue": venue.name,
                "lead": duration_words(venue.min_lead_minutes),
                "earliest": format_local(venue, earliest),
            },
            field="starts_at",
        )
    latest = now + timedelta(days=venue.max_advance_days)
    if starts_at > latest:
        raise PolicyViolation(
            ngettext(
                "%(venue)s takes bookings up to %(count)s day ahead (until %(latest)s).",
                "%(venue)s takes bookings up to %(count)s days ahead (until %(latest)s).",
                venue.max_advance_days,
            )
            % {"venue": venue.name, "count": venue.max_advance_days, "latest": format_local(venue, latest)},
            field="starts_at",
        )


def check_period(
    venue: Venue, starts_at: datetime, ends_at: datetime, *, now: datetime, party_size: int, rules: Setup
) -> None:
    """Raise PolicyViolation unless the period is one this venue takes bookings for, for this party."""
    check_window(venue, starts_at, now=now)
    if venue.uses_nights:
        _check_stay(venue, starts_at, ends_at)
    else:
        _check_slot(rules, starts_at, ends_at, party_size)


def _check_stay(venue: Venue, starts_at: datetime, ends_at: datetime) -> None:
    local_start, local_end = starts_at.astimezone(venue.zone), ends_at.astimezone(venue.zone)
    if local_start.time() != venue.check_in_time:
        raise PolicyViolation(
            _("Stays begin at check-in, %(time)s.") % {"time": f"{venue.check_in_time:%H:%M}"}, field="starts_at"
        )
    if local_end.time() != venue.check_out_time:
        raise PolicyViolation(
            _("Stays end at check-out, %(time)s.") % {"time": f"{venue.check_out_time:%H:%M}"}, field="ends_at"
        )
    nights = nights_between(venue, starts_at, ends_at)
    if nights < 1:
        raise PolicyViolation(_("A stay lasts at least one night."), field="ends_at")
    if nights > MAX_NIGHTS:
        raise PolicyViolation(
            ngettext("A stay lasts at most %(count)s night.", "A stay lasts at most %(count)s nights.", MAX_NIGHTS)
            % {"count": MAX_NIGHTS},
            field="ends_at",
        )


# ---------------------------------------------------------------------------------------------
# Stay limits: the shortest and longest stay that includes some nights


def _nights_words(days: list[int]) -> str:
    """[5] -> 'a Saturday night', [4, 5] -> 'a Friday or Saturday night', [] -> 'a night'."""
    names = [str(WEEKDAYS[day]) for day in sorted(set(days))]
    if not names:
        return _("a night")
    joined = (
        names[0] if len(names) == 1 else _("%(some)s or %(last)s") % {"some": ", ".join(names[:-1]), "last": names[-1]}
    )
    return _("a %(weekdays)s night") % {"weekdays": joined}


def _day_words(day: date, *, with_year: bool) -> str:
    return date_format(day, "j M Y" if with_year else "j M")


def _dates_words(limit: StayLimit) -> str:
    """' from 1 Jul to 31 Aug' (every year), ' from 1 Jul 2026 to 31 Aug 2026' (once), '' (all year)."""
    with_year = not limit.repeats_yearly
    if limit.repeats_yearly and limit.span >= 365:
        return ""
    if limit.starts_on == limit.ends_on or (limit.repeats_yearly and limit.span == 1):
        return _(" on %(day)s") % {"day": _day_words(limit.starts_on, with_year=with_year)}
    return _(" from %(first)s to %(last)s") % {
        "first": _day_words(limit.starts_on, with_year=with_year),
        "last": _day_words(limit.ends_on, with_year=with_year),
    }


def _length_words(limit: StayLimit) -> str:
    """'at least 2 nights', 'at most 7 nights', '2 to 7 nights'."""
    low, high = limit.min_nights, limit.max_nights
    if high is None:
        return ngettext("at least %(n)s night", "at least %(n)s nights", low) % {"n": low}
    if low <= 1:
        return ngettext("at most %(n)s night", "at most %(n)s nights", high) % {"n": high}
    if low == high:
        return ngettext("exactly %(n)s night", "exactly %(n)s nights", low) % {"n": low}
    return _("%(low)s to %(high)s nights") % {"low": low, "high": high}


def stay_limit_words(limit: StayLimit) -> str:
    """A stay limit as a guest reads it: 'Stays that include a Saturday night from 1 Jul to 31 Aug
    (Summer weekends) last at least 2 nights.' (a room type's own: 'Double: stays that ...')."""
    name = _(" (%(name)s)") % {"name": limit.name} if limit.name else ""
    dates = _dates_words(limit)
    single = limit.starts_on == limit.ends_on or (limit.repeats_yearly and limit.span == 1)
    if not limit.weekdays and not dates:  # every night of the year
        words = _("stays%(name)s last %(length)s.") % {"name": name, "length": _length_words(limit)}
    elif not limit.weekdays and single:
        words = _("stays that include the night of %(day)s%(name)s last %(length)s.") % {
            "day": _day_words(limit.starts_on, with_year=not limit.repeats_yearly),
            "name": name,
            "length": _length_words(limit),
        }
    else:
        words = _("stays that include %(nights)s%(dates)s%(name)s last %(length)s.") % {
            "nights": _nights_words(limit.weekdays or []),
            "dates": dates,
            "name": name,
            "length": _length_words(limit),
        }
    if limit.category:
        return _("%(category)s: %(rule)s") % {"category": limit.category, "rule": words}
    return words[0].upper() + words[1:]


def stay_refusal(rules: Setup, category: str, starts_at: datetime, ends_at: datetime) -> str | None:
    """Why a stay from `starts_at` to `ends_at` in a room of `category` is not taken, in the words of
    the stay limit it breaks, or None. A limit counts when it applies to one of the stay's nights (for
    the category); of several the strictest holds: the largest minimum, the smallest maximum. No
    queries (the limits come with the venue's rules)."""
    if not rules.stay_limits:
        return None
    nights = pricing.nights_of(rules.venue, starts_at, ends_at)
    applying = [limit for limit in rules.stay_limits if any(limit.applies(night, category) for night in nights)]
    if not applying:
        return None
    longest = max(applying, key=lambda limit: (limit.min_nights, -(limit.pk or 0)))
    if len(nights) < longest.min_nights:
        return stay_limit_words(longest)
    capped = [limit for limit in applying if limit.max_nights is not None]
    shortest = min(capped, key=lambda limit: (limit.max_nights, limit.pk or 0), default=None)
    if shortest is not None and len(nights) > shortest.max_nights:
        return stay_limit_words(shortest)
    return None


def check_stay_limits(rules: Setup, seatings: list[Seating], starts_at: datetime, ends_at: datetime) -> list[Seating]:
    """Drop the rooms whose category the venue's stay limits refuse for this stay; refuse the stay
    (field `ends_at`) when that leaves none of those asked for. The rule hold, modify, the API and the
    pages apply (the availability says the same per category)."""
    if not rules.venue.uses_nights or not rules.stay_limits or not seatings:
        return seatings
    refusals = {area: stay_refusal(rules, area, starts_at, ends_at) for area in {seating.area for seating in seatings}}
    allowed = [seating for seating in seatings if refusals[seating.area] is None]
    if not allowed:
        raise PolicyViolation(refusals[seatings[0].area], field="ends_at")
    return allowed


def _check_slot(rules: Setup, starts_at: datetime, ends_at: datetime, party_size: int) -> None:
    venue = rules.venue
    minutes = (ends_at - starts_at) / timedelta(minutes=1)
    durations = capacity.durations_for(rules, party_size, starts_at)
    if minutes not in durations:
        if capacity.turn_minutes(rules, party_size, starts_at) is not None:
            raise PolicyViolation(
                ngettext(
                    "At %(venue)s a table for %(party)s is booked for %(length)s.",
                    "At %(venue)s a table for %(party)s is booked for %(length)s.",
                    party_size,
                )
                % {"venue": venue.name, "party": party_size, "length": duration_words(durations[0])},
                field="ends_at",
            )
        allowed = ", ".join(duration_words(m) for m in durations)
        raise PolicyViolation(_("Bookings here last %(lengths)s.") % {"lengths": allowed}, field="ends_at")
    periods = periods_around(venue, starts_at, rules.hours)
    if not any(period.contains(starts_at, ends_at) for period in periods):
        raise PolicyViolation(
            _("%(venue)s is not open for a booking from %(start)s to %(end)s.")
            % {
                "venue": venue.name,
                "start": format_local(venue, starts_at),
                "end": format_local(venue, ends_at, with_date=False),
            },
            field="starts_at",
        )
    if not any(
        on_grid(period, starts_at, venue.slot_interval_minutes)
        for period in periods
        if period.contains(starts_at, ends_at)
    ):
        raise PolicyViolation(
            ngettext(
                "Bookings start every %(count)s minute from opening time.",
                "Bookings start every %(count)s minutes from opening time.",
                venue.slot_interval_minutes,
            )
            % {"count": venue.slot_interval_minutes},
            field="starts_at",
        )


def closures_meeting(venue: Venue, starts_at: datetime, ends_at: datetime) -> list[capacity.ClosureSpan]:
    """The venue's closures (of it, an area or a space) that meet the period; one query."""
    closures = Closure.objects.filter(venue=venue).filter(
        Q(repeats_yearly=True) | Q(starts_at__lt=ends_at, ends_at__gt=starts_at)
    )
    return capacity.closure_spans(venue, list(closures.select_related("space")), starts_at, ends_at)


def closure_words(venue: Venue, span: capacity.ClosureSpan) -> str:
    """'The Terrace is closed from Sun 01 Nov 00:00 to Thu 01 Apr 00:00 (winter).'"""
    closure = span.closure
    words = {
        "what": closure.space.name if closure.space_id else venue.name,
        "area": closure.area,
        "start": format_local(venue, span.starts_at),
        "end": format_local(venue, span.ends_at),
        "reason": closure.reason,
    }
    if closure.area and not closure.space_id:
        if closure.reason:
            return _("The %(area)s is closed from %(start)s to %(end)s (%(reason)s).") % words
        return _("The %(area)s is closed from %(start)s to %(end)s.") % words
    if closure.reason:
        return _("%(what)s is closed from %(start)s to %(end)s (%(reason)s).") % words
    return _("%(what)s is closed from %(start)s to %(end)s.") % words


def check_closures(venue: Venue, seatings: list[Seating], starts_at: datetime, ends_at: datetime) -> list[Seating]:
    """Refuse a period in which the venue is closed, or every seating asked for is (a space, an area
    out of season); drop the closed ones."""
    spans = closures_meeting(venue, starts_at, ends_at)
    whole = next((span for span in spans if span.whole_venue), None)
    if whole is not None:
        raise PolicyViolation(closure_words(venue, whole), field="starts_at")
    open_ = [
        seating for seating in seatings if not any(span.closes(space) for span in spans for space in seating.spaces)
    ]
    if seatings and not open_:
        span = next(span for span in spans for space in seatings[0].spaces if span.closes(space))
        raise PolicyViolation(closure_words(venue, span), field="starts_at")
    return open_


def check_online_limit(venue: Venue, party_size: int, *, staff: bool) -> None:
    """A party over the venue's online maximum is told how to reach it; staff book it anyway."""
    limit = venue.max_online_party_size
    if limit is not None and party_size > limit and not staff:
        raise PolicyViolation(
            ngettext(
                "%(venue)s takes parties of up to %(limit)s online; for %(count)s guest please %(contact)s.",
                "%(venue)s takes parties of up to %(limit)s online; for %(count)s guests please %(contact)s.",
                party_size,
            )
            % {"venue": venue.name, "limit": limit, "count": party_size, "contact": contact_words(venue)},
            field="party_size",
        )


def candidates(
    venue: Venue,
    *,
    space: Space | None,
    category: str,
    party_size: int,
    rules: Setup,
    staff: bool = False,
) -> list[Seating]:
    """What a request may be given, best fit first (capacity.seatings): the one space asked for where
    the guest picks (or staff choose); where the venue assigns, its tables and then its combinations.
    A party over the venue's online maximum, or too big for anything, is told how to reach the venue
    (staff book it anyway when a table or combination seats it)."""
    if party_size < 1:
        raise PolicyViolation(_("The party needs at least one guest."), field="party_size")
    if space is not None:
        if space.venue_id != venue.pk or not space.is_active:
            raise PolicyViolation(_("%(space)s cannot be booked.") % {"space": space.name}, field="space")
        if not space.fits(party_size):
            raise PolicyViolation(
                _("%(space)s takes parties of %(least)s to %(most)s.")
                % {"space": space.name, "least": space.min_party_size, "most": space.capacity},
                field="party_size",
            )
        return [Seating((space,))]
    check_online_limit(venue, party_size, staff=staff)
    spaces = list(venue.spaces.filter(is_active=True))
    found = capacity.seatings(rules, spaces, party_size=party_size, category=category, combine=venue.assigns_spaces)
    if not found:
        words = {"venue": venue.name, "category": category, "party": party_size, "contact": contact_words(venue)}
        if category:
            message = ngettext(
                "%(venue)s has no %(category)s space for a party of %(party)s to book online; please %(contact)s.",
                "%(venue)s has no %(category)s space for a party of %(party)s to book online; please %(contact)s.",
                party_size,
            )
        else:
            message = ngettext(
                "%(venue)s has no space for a party of %(party)s to book online; please %(contact)s.",
                "%(venue)s has no space for a party of %(party)s to book online; please %(contact)s.",
                party_size,
            )
        raise PolicyViolation(message % words, field="party_size")
    return found


def unavailable_message(venue: Venue, space: Space | None, starts_at: datetime, party_size: int) -> str:
    when = format_local(venue, starts_at)
    if space is not None:
        return _("%(space)s is no longer free at %(when)s.") % {"space": space.name, "when": when}
    if venue.uses_nights:
        return ngettext(
            "No room for %(party)s is free for those nights any more.",
            "No room for %(party)s is free for those nights any more.",
            party_size,
        ) % {"party": party_size}
    return ngettext(
        "No table or space for %(party)s is free at %(when)s any more.",
        "No table or space for %(party)s is free at %(when)s any more.",
        party_size,
    ) % {"party": party_size, "when": when}


def paced_message(venue: Venue, window: capacity.PacingWindow, starts_at: datetime) -> str:
    """A time the kitchen's pacing has filled: 'Dinner at Trattoria Aurora is full at 19:00: at most
    12 guests start between 19:00 and 19:15. Please choose another time.'"""
    rule = window.rule
    limits = []
    if rule.max_covers is not None:
        limits.append(ngettext("%(count)s guest", "%(count)s guests", rule.max_covers) % {"count": rule.max_covers})
    if rule.max_parties is not None:
        limits.append(ngettext("%(count)s party", "%(count)s parties", rule.max_parties) % {"count": rule.max_parties})
    names = {"area": rule.area, "venue": venue.name, "shift": window.shift.name if window.shift else ""}
    if window.shift is not None and rule.area:
        where = _("%(shift)s on the %(area)s at %(venue)s") % names
    elif window.shift is not None:
        where = _("%(shift)s at %(venue)s") % names
    elif rule.area:
        where = _("the %(area)s at %(venue)s") % names
    else:
        where = venue.name
    where = where[0].upper() + where[1:]
    start, end = (format_local(venue, moment, with_date=False) for moment in (window.starts_at, window.ends_at))
    most = limits[0] if len(limits) == 1 else _("%(first)s or %(second)s") % {"first": limits[0], "second": limits[1]}
    return _(
        "%(where)s is full at %(when)s: at most %(most)s start between %(start)s and %(end)s. "
        "Please choose another time."
    ) % {"where": where, "when": format_local(venue, starts_at), "most": most, "start": start, "end": end}


# ---------------------------------------------------------------------------------------------
# Cut-offs


def modification_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.modification_cutoff_hours)


def cancellation_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.cancellation_cutoff_hours)


CHANGES, CANCELLATION = "Changes", "Cancellation"  # what a cut-off closes (check_cutoff's `what`)


def check_cutoff(reservation: Reservation, what: str, deadline: datetime, hours: int, *, now: datetime) -> None:
    """Refuse a guest's change or cancellation of a confirmed booking once the venue's cut-off passed."""
    if reservation.status == Reservation.Status.CONFIRMED and now > deadline:  # a hold is still being made
        venue = reservation.space.venue
        words = {"length": duration_words(hours * 60), "deadline": format_local(venue, deadline)}
        if what == CANCELLATION:
            raise PolicyViolation(_("Cancellation closed %(length)s before the start (%(deadline)s).") % words)
        raise PolicyViolation(_("Changes closed %(length)s before the start (%(deadline)s).") % words)


# ---------------------------------------------------------------------------------------------
# Who acts


def check_actor(reservation: Reservation, actor, power: Power = Power.CHANGE_BOOKINGS) -> bool:
    """Allow the reservation's guest, or the venue's staff whose role gives `power`; anyone else is
    refused as if the reservation did not exist. True when the actor acts as the venue's staff.

    On their own booking a member of staff uses staff powers only with two-factor set up, and is
    never asked for it: without, they are the guest. On someone else's, a role without two-factor
    raises TwoFactorRequired (spaces/powers.py)."""
    venue = reservation.space.venue
    if actor is not None and reservation.guest_id == actor.pk:
        return powers.can(actor, power, venue)
    if powers.may(actor, power, venue):
        return True
    raise NotAllowed(_("Reservation not found."))


def check_space_choice(venue: Venue, space: Space | None, *, staff: bool) -> None:
    """Where the venue assigns its spaces a guest asks for a time, not for table 7: only staff choose."""
    if space is not None and venue.assigns_spaces and not staff and not space.sold_by_seat:
        kind = space_kind(venue)
        if kind == "table":
            message = _("%(venue)s assigns the table: ask for a time and party size, not for a particular table.")
        elif kind == "room":
            message = _("%(venue)s assigns the room: ask for a time and party size, not for a particular room.")
        else:
            message = _("%(venue)s assigns the space: ask for a time and party size, not for a particular space.")
        raise PolicyViolation(message % {"venue": venue.name}, field="space")
