"""The venue's rules, checked before anything is written: periods, closures, which spaces fit a
party, cut-offs, who may act. No writes here; every refusal is a BookingError in a guest's words.

The availability selector and the pages use the same functions, so what a guest is offered and what
the services accept are one rule, not two.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import Reservation
from reservations.periods import format_local, nights_between, on_grid, periods_around
from reservations.wording import contact_words, duration_words, space_noun
from spaces import powers
from spaces.models import Closure, Space, Venue
from spaces.powers import Power

MAX_NIGHTS = 30  # the longest stay booked online; the availability search offers the same
MAX_PARTY_SIZE = 500  # the largest party booked online


def period_for(venue: Venue, starts_at: datetime, ends_at: datetime | None) -> tuple[datetime, datetime]:
    """Fill in the end of a slot booking (the default duration) and refuse a period that is empty.

    Both ends come back in UTC: arithmetic on datetimes in the venue's zone is wall-clock
    arithmetic, which would make a 60-minute booking across a DST change last 0 or 2 hours.
    """
    starts_at = starts_at.astimezone(UTC)
    ends_at = ends_at.astimezone(UTC) if ends_at is not None else None
    if ends_at is None:
        if venue.uses_nights:
            raise PolicyViolation("Say when the stay ends (the departure date).", field="ends_at")
        ends_at = starts_at + timedelta(minutes=venue.default_duration_minutes)
    if ends_at <= starts_at:
        raise PolicyViolation("The end must be after the start.", field="ends_at")
    return starts_at, ends_at


def check_period(venue: Venue, starts_at: datetime, ends_at: datetime, *, now: datetime) -> None:
    """Raise PolicyViolation unless the period is one this venue takes bookings for."""
    earliest = now + timedelta(minutes=venue.min_lead_minutes)
    if starts_at < earliest:
        if starts_at < now:
            raise PolicyViolation("That time has already passed.", field="starts_at")
        raise PolicyViolation(
            f"{venue.name} takes bookings at least {duration_words(venue.min_lead_minutes)} ahead; "
            f"the earliest start is {format_local(venue, earliest)}.",
            field="starts_at",
        )
    latest = now + timedelta(days=venue.max_advance_days)
    if starts_at > latest:
        raise PolicyViolation(
            f"{venue.name} takes bookings up to {venue.max_advance_days} days ahead "
            f"(until {format_local(venue, latest)}).",
            field="starts_at",
        )
    if venue.uses_nights:
        _check_stay(venue, starts_at, ends_at)
    else:
        _check_slot(venue, starts_at, ends_at)


def _check_stay(venue: Venue, starts_at: datetime, ends_at: datetime) -> None:
    local_start, local_end = starts_at.astimezone(venue.zone), ends_at.astimezone(venue.zone)
    if local_start.time() != venue.check_in_time:
        raise PolicyViolation(f"Stays begin at check-in, {venue.check_in_time:%H:%M}.", field="starts_at")
    if local_end.time() != venue.check_out_time:
        raise PolicyViolation(f"Stays end at check-out, {venue.check_out_time:%H:%M}.", field="ends_at")
    nights = nights_between(venue, starts_at, ends_at)
    if nights < 1:
        raise PolicyViolation("A stay lasts at least one night.", field="ends_at")
    if nights > MAX_NIGHTS:
        raise PolicyViolation(f"A stay lasts at most {MAX_NIGHTS} nights.", field="ends_at")


def _check_slot(venue: Venue, starts_at: datetime, ends_at: datetime) -> None:
    minutes = (ends_at - starts_at) / timedelta(minutes=1)
    if minutes not in venue.durations():
        allowed = ", ".join(duration_words(m) for m in venue.durations())
        raise PolicyViolation(f"Bookings here last {allowed}.", field="ends_at")
    periods = periods_around(venue, starts_at, list(venue.opening_hours.all()))
    if not any(period.contains(starts_at, ends_at) for period in periods):
        raise PolicyViolation(
            f"{venue.name} is not open for a booking from {format_local(venue, starts_at)} to "
            f"{format_local(venue, ends_at, with_date=False)}.",
            field="starts_at",
        )
    if not any(
        on_grid(period, starts_at, venue.slot_interval_minutes)
        for period in periods
        if period.contains(starts_at, ends_at)
    ):
        raise PolicyViolation(
            f"Bookings start every {venue.slot_interval_minutes} minutes from opening time.", field="starts_at"
        )


def check_closures(venue: Venue, spaces: list[Space], starts_at: datetime, ends_at: datetime) -> list[Space]:
    """Refuse a period in which the venue (or the one space asked for) is closed; drop closed spaces."""
    closures = list(
        Closure.objects.filter(venue=venue, starts_at__lt=ends_at, ends_at__gt=starts_at).filter(
            Q(space__isnull=True) | Q(space__in=spaces)
        )
    )
    closed = {closure.space_id for closure in closures}
    blocking = next((closure for closure in closures if closure.space_id is None), None)
    if blocking is None and len(spaces) == 1 and spaces[0].pk in closed:
        blocking = next(closure for closure in closures if closure.space_id == spaces[0].pk)
    if blocking:
        what = blocking.space.name if blocking.space_id else venue.name
        reason = f" ({blocking.reason})" if blocking.reason else ""
        raise PolicyViolation(
            f"{what} is closed from {format_local(venue, blocking.starts_at)} to "
            f"{format_local(venue, blocking.ends_at)}{reason}.",
            field="starts_at",
        )
    return [space for space in spaces if space.pk not in closed]


def fitting_spaces(venue: Venue, *, party_size: int, category: str = "") -> QuerySet[Space]:
    """The venue's bookable spaces that take a party of `party_size` (of `category`, if given), best
    first: the smallest that fits, in a stable order. What the services try, the availability lists
    and the pages price. (Space.fits is the same rule for one space.)"""
    spaces = venue.spaces.filter(is_active=True, capacity__gte=party_size, min_party_size__lte=party_size)
    if category:
        spaces = spaces.filter(category=category)
    return spaces.order_by("capacity", "name", "pk")


def candidates(venue: Venue, *, space: Space | None, category: str, party_size: int) -> list[Space]:
    """The spaces a request may be given, best first; the one asked for where the guest picks."""
    if party_size < 1:
        raise PolicyViolation("The party needs at least one guest.", field="party_size")
    if space is not None:
        if space.venue_id != venue.pk or not space.is_active:
            raise PolicyViolation(f"{space.name} cannot be booked.", field="space")
        if not space.fits(party_size):
            raise PolicyViolation(
                f"{space.name} takes parties of {space.min_party_size} to {space.capacity}.", field="party_size"
            )
        return [space]
    found = list(fitting_spaces(venue, party_size=party_size, category=category))
    if not found:
        what = f"{category} " if category else ""
        raise PolicyViolation(
            f"{venue.name} has no {what}space for a party of {party_size} to book online; "
            f"please {contact_words(venue)}.",
            field="party_size",
        )
    return found


def unavailable_message(venue: Venue, space: Space | None, starts_at: datetime, party_size: int) -> str:
    when = format_local(venue, starts_at)
    if space is not None:
        return f"{space.name} is no longer free at {when}."
    if venue.uses_nights:
        return f"No room for {party_size} is free for those nights any more."
    return f"No table or space for {party_size} is free at {when} any more."


# ---------------------------------------------------------------------------------------------
# Cut-offs


def modification_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.modification_cutoff_hours)


def cancellation_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.cancellation_cutoff_hours)


def check_cutoff(reservation: Reservation, what: str, deadline: datetime, hours: int, *, now: datetime) -> None:
    """Refuse a guest's change or cancellation of a confirmed booking once the venue's cut-off passed."""
    if reservation.status == Reservation.Status.CONFIRMED and now > deadline:  # a hold is still being made
        venue = reservation.space.venue
        raise PolicyViolation(
            f"{what} closed {duration_words(hours * 60)} before the start ({format_local(venue, deadline)})."
        )


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
    raise NotAllowed("Reservation not found.")


def check_space_choice(venue: Venue, space: Space | None, *, staff: bool) -> None:
    """Where the venue assigns its spaces a guest asks for a time, not for table 7: only staff choose."""
    if space is not None and venue.assigns_spaces and not staff:
        noun = space_noun(venue)
        raise PolicyViolation(
            f"{venue.name} assigns the {noun}: ask for a time and party size, not for a particular {noun}.",
            field="space",
        )
