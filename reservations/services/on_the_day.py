"""On the day: the host marks a party as arrived, seated, or as a no-show. Status stays as it is for
arrivals (a confirmed booking), and each mark is a history event with who made it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import Reservation, ReservationEvent
from reservations.services import transitions, waitlist
from reservations.services.lifecycle import _lock, _reload
from spaces import powers
from spaces.powers import Power

Status = Reservation.Status
Event = ReservationEvent.Kind


def reservation_mark_no_show(*, reservation: Reservation, actor, now: datetime | None = None) -> Reservation:
    """Staff record that the guest did not come. Only once the booking has started."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if not powers.may(actor, Power.CHANGE_BOOKINGS, current.space.venue):
            raise NotAllowed(_("Only the venue's staff can mark a no-show."))
        if current.status == Status.NO_SHOW:
            return current
        if current.status not in (Status.CONFIRMED, Status.COMPLETED):
            raise PolicyViolation(_("Only a confirmed booking can be marked as a no-show."))
        if current.arrived_at is not None:
            raise PolicyViolation(_("The party arrived: it cannot be marked as a no-show."))
        if current.starts_at > now:
            raise PolicyViolation(_("A booking can be marked as a no-show only once it has started."))
        was_confirmed = current.status == Status.CONFIRMED
        transitions.transition(current, Status.NO_SHOW, actor=actor, now=now)
        if was_confirmed and current.ends_at > now:  # its table is free for the rest of its time
            waitlist.offer_after(current, now=now)
        return _reload(current)


def _check_on_the_day(current: Reservation, seated: bool, *, now: datetime) -> None:
    if current.status != Status.CONFIRMED:
        if seated:
            raise PolicyViolation(_("Only a confirmed booking can be marked as seated."))
        raise PolicyViolation(_("Only a confirmed booking can be marked as arrived."))
    venue = current.space.venue
    if now.astimezone(venue.zone).date() < current.local_starts_at.date():
        if seated:
            raise PolicyViolation(_("A party can be marked as seated on the day of its booking."))
        raise PolicyViolation(_("A party can be marked as arrived on the day of its booking."))


def _mark(reservation: Reservation, actor, *, seated: bool, now: datetime | None) -> Reservation:
    """Note the party's arrival (and, with `seated`, that it sat down: arrived too, if that was not
    noted). Each mark once, with its history event."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if not powers.may(actor, Power.CHANGE_BOOKINGS, current.space.venue):
            if seated:
                raise NotAllowed(_("Only the venue's staff can mark a party as seated."))
            raise NotAllowed(_("Only the venue's staff can mark a party as arrived."))
        if (current.seated_at if seated else current.arrived_at) is not None:
            return current
        _check_on_the_day(current, seated, now=now)
        marks = {"arrived_at": current.arrived_at or now, **({"seated_at": now} if seated else {})}
        Reservation.objects.filter(pk=current.pk).update(updated_at=now, **marks)
        if current.arrived_at is None:
            transitions.record(current, Event.ARRIVED, actor)
        if seated:
            transitions.record(current, Event.SEATED, actor)
        return _reload(current)


def reservation_mark_arrived(*, reservation: Reservation, actor, now: datetime | None = None) -> Reservation:
    """The host notes that the party has come in (on the day of the booking). Idempotent."""
    return _mark(reservation, actor, seated=False, now=now)


def reservation_mark_seated(*, reservation: Reservation, actor, now: datetime | None = None) -> Reservation:
    """The host notes that the party sat down at its table (arrived too, if not noted). Idempotent."""
    return _mark(reservation, actor, seated=True, now=now)
