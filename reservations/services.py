"""Where booking is decided: the only way to create, confirm, modify, cancel or end a reservation.

Views, the API, admin actions, tasks and commands all call these functions. Each runs in one
transaction and either succeeds or raises a BookingError having changed nothing. Double booking is
made impossible by the database (the exclusion constraint on Reservation); these services choose
what to try, translate the constraint's refusal into SlotUnavailable and record the history.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from reservations import notifications
from reservations.exceptions import HoldExpired, NotAllowed, PolicyViolation, SlotUnavailable
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.periods import format_local, on_grid, periods_around, stay_period
from spaces.models import Closure, Space, Venue

Status = Reservation.Status
Event = ReservationEvent.Kind
NO_OVERLAP_CONSTRAINT = "reservation_no_overlap"
MAX_NIGHTS = 30  # the longest stay booked online; the availability search offers the same


# ---------------------------------------------------------------------------------------------
# Checking a request against the venue's rules (no writes)


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
            f"{venue.name} takes bookings at least {_duration_words(venue.min_lead_minutes)} ahead; "
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
    nights = (local_end.date() - local_start.date()).days
    if nights < 1:
        raise PolicyViolation("A stay lasts at least one night.", field="ends_at")
    if nights > MAX_NIGHTS:
        raise PolicyViolation(f"A stay lasts at most {MAX_NIGHTS} nights.", field="ends_at")


def _check_slot(venue: Venue, starts_at: datetime, ends_at: datetime) -> None:
    minutes = (ends_at - starts_at) / timedelta(minutes=1)
    if minutes not in venue.durations():
        allowed = ", ".join(_duration_words(m) for m in venue.durations())
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


def _duration_words(minutes: float) -> str:
    minutes = int(minutes)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def _check_closures(venue: Venue, spaces: list[Space], starts_at: datetime, ends_at: datetime) -> list[Space]:
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


def _price(space: Space, starts_at: datetime, ends_at: datetime) -> Decimal:
    if space.venue.uses_nights:
        nights = (ends_at.astimezone(space.venue.zone).date() - starts_at.astimezone(space.venue.zone).date()).days
        return space.price * nights
    return space.price


def _amount_due(space: Space, starts_at: datetime, ends_at: datetime, party_size: int) -> Decimal:
    """What the guest pays online up front; 0 when the venue asks nothing or Stripe is not set up."""
    from payments.services import amount_due

    return amount_due(space.venue, space=space, price=_price(space, starts_at, ends_at), party_size=party_size)


def _candidates(venue: Venue, *, space: Space | None, category: str, party_size: int) -> list[Space]:
    """The spaces a request may be given, best first: the smallest that fits, in a stable order."""
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
    spaces = venue.spaces.filter(is_active=True, capacity__gte=party_size, min_party_size__lte=party_size)
    if category:
        spaces = spaces.filter(category=category)
    found = list(spaces.order_by("capacity", "name", "pk"))
    if not found:
        what = f"{category} " if category else ""
        raise PolicyViolation(f"{venue.name} has no {what}space for a party of {party_size}.", field="party_size")
    return found


def _without_overlap(spaces: list[Space], starts_at, ends_at, *, now, exclude: Reservation | None = None):
    """The spaces with no active booking overlapping the period (one query), in the same order.

    A pre-filter that saves locking spaces that are plainly taken; with one candidate, _claim asks
    the same question under the lock anyway, so it is skipped.
    """
    if len(spaces) <= 1:
        return spaces
    busy = Reservation.objects.active().filter(space=OuterRef("pk")).overlapping(starts_at, ends_at)
    if exclude is not None:
        busy = busy.exclude(pk=exclude.pk)
    free = set(
        Space.objects.filter(pk__in=[space.pk for space in spaces]).exclude(Exists(busy)).values_list("pk", flat=True)
    )
    return [space for space in spaces if space.pk in free]


def bookings_in_the_way(space: Space, starts_at: datetime, ends_at: datetime):
    """The active bookings of `space` overlapping the period.

    The id is typed as bigint, like the column: btree_gist has no bigint = integer operator, and
    only then can the exclusion constraint's index answer for space and period at once.
    """
    same_space = Cast(Value(space.pk), BigIntegerField())
    return Reservation.objects.active().filter(space_id=same_space).overlapping(starts_at, ends_at)


class _Taken(Exception):
    pass


def _claim(space: Space, starts_at: datetime, ends_at: datetime, write, *, exclude: Reservation | None = None):
    """Lock `space`, check under the lock that the period is still free, then `write()`.

    Concurrent bookings of one space queue on its row lock instead of racing into the exclusion
    constraint, where PostgreSQL would detect a deadlock between two conflicting inserts. Each
    attempt is a savepoint: rolling it back releases the lock of a space we could not use, so a
    transaction never waits for a space while holding another (no lock-order deadlocks).
    Returns what `write()` returned, or None when the space is taken.
    """
    try:
        with transaction.atomic():
            Space.objects.select_for_update().filter(pk=space.pk).exists()
            busy = bookings_in_the_way(space, starts_at, ends_at)
            if exclude is not None:
                busy = busy.exclude(pk=exclude.pk)
            if busy.exists():
                raise _Taken
            return write()
    except _Taken:
        return None
    except IntegrityError as error:
        if _is_overlap_violation(error):  # the database's last word, e.g. against a direct write
            return None
        raise


def _is_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == NO_OVERLAP_CONSTRAINT


def _unavailable_message(venue: Venue, space: Space | None, starts_at: datetime, party_size: int) -> str:
    when = format_local(venue, starts_at)
    if space is not None:
        return f"{space.name} is no longer free at {when}."
    if venue.uses_nights:
        return f"No room for {party_size} is free for those nights any more."
    return f"No table or space for {party_size} is free at {when} any more."


def _record(reservation: Reservation, kind: str, actor, **details) -> ReservationEvent:
    return ReservationEvent.objects.create(reservation=reservation, kind=kind, actor=actor, details=details)


def _summary(reservation: Reservation) -> str:
    """The booking in one line for an e-mail: 'Tue 01 Dec 19:30–21:00, Table 3, 4 guests'."""
    venue = reservation.space.venue
    start, end = reservation.starts_at.astimezone(venue.zone), reservation.ends_at.astimezone(venue.zone)
    if venue.uses_nights:
        nights = reservation.nights
        when = f"{start:%a %d %b} – {end:%a %d %b} ({nights} night{'s' if nights != 1 else ''})"
    else:
        when = f"{start:%a %d %b %H:%M}–{end:%H:%M}"
    guests = reservation.party_size
    return f"{when}, {reservation.space.name}, {guests} guest{'s' if guests != 1 else ''}"


def _is_staff(actor) -> bool:
    return bool(actor is not None and getattr(actor, "is_staff", False))


def _check_actor(reservation: Reservation, actor) -> None:
    if _is_staff(actor) or (actor is not None and reservation.guest_id == actor.pk):
        return
    raise NotAllowed("Reservation not found.")


def _reload(reservation: Reservation) -> Reservation:
    """The row as written, with its space and venue (callers render them; refresh_from_db drops them)."""
    return Reservation.objects.select_related("space__venue").get(pk=reservation.pk)


def _lock(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update().select_related("space__venue").get(pk=reservation.pk)


def _expire_stale_holds_for(spaces: list[Space], starts_at, ends_at, *, now) -> None:
    """Expired holds never block anyone: expire those in the way inside the booking's transaction."""
    stale = Reservation.objects.filter(space__in=spaces, status=Status.HELD, hold_expires_at__lte=now).overlapping(
        starts_at, ends_at
    )
    for reservation in stale.select_for_update(skip_locked=True).order_by("pk"):
        _set_expired(reservation, now=now)


def _set_expired(reservation: Reservation, *, now) -> None:
    Reservation.objects.filter(pk=reservation.pk).update(status=Status.EXPIRED, updated_at=now)
    reservation.status = Status.EXPIRED
    _record(reservation, Event.EXPIRED, None, hold_expired_at=reservation.hold_expires_at.isoformat())
    notifications.enqueue(reservation, OutgoingMessage.Kind.HOLD_EXPIRED, key=f"hold_expired:{reservation.pk}")


# ---------------------------------------------------------------------------------------------
# Creating


def reservation_hold(
    *,
    guest,
    starts_at: datetime,
    ends_at: datetime | None = None,
    party_size: int,
    space: Space | None = None,
    venue: Venue | None = None,
    category: str = "",
    notes: str = "",
    actor=None,
    now: datetime | None = None,
) -> Reservation:
    """Hold a space for `guest` for the venue's hold length, or raise SlotUnavailable/PolicyViolation.

    Give `space` where the guest picks one; give `venue` (and optionally `category`) where the
    venue assigns: the smallest free space that fits is taken, and when a concurrent booking takes
    it first the next one is tried, so the guest hears "no longer free" only when none is left.
    """
    now = now or timezone.now()
    actor = actor or guest
    if space is None and venue is None:
        raise PolicyViolation("Choose a venue or a space.", field="space")
    venue = space.venue if space is not None else venue
    if not venue.is_active:
        raise PolicyViolation(f"{venue.name} is not taking bookings.", field="venue")
    starts_at, ends_at = period_for(venue, starts_at, ends_at)
    check_period(venue, starts_at, ends_at, now=now)
    candidates = _candidates(venue, space=space, category=category, party_size=party_size)

    with transaction.atomic():
        # One guest's holds are counted under a lock on their row, so the cap cannot be raced.
        get_user_model().objects.select_for_update().filter(pk=guest.pk).exists()
        held = Reservation.objects.filter(guest=guest, status=Status.HELD, hold_expires_at__gt=now).count()
        if held >= settings.HOLDFAST_MAX_ACTIVE_HOLDS:
            raise PolicyViolation(
                f"You are already holding {held} bookings. Confirm or release one before holding another.",
            )
        candidates = _check_closures(venue, candidates, starts_at, ends_at)
        _expire_stale_holds_for(candidates, starts_at, ends_at, now=now)
        for candidate in _without_overlap(candidates, starts_at, ends_at, now=now):
            reservation = _claim(
                candidate,
                starts_at,
                ends_at,
                lambda candidate=candidate: Reservation.objects.create(
                    guest=guest,
                    space=candidate,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    party_size=party_size,
                    requested_category=category,
                    status=Status.HELD,
                    hold_expires_at=now + timedelta(minutes=venue.hold_minutes),
                    notes=notes,
                    price=_price(candidate, starts_at, ends_at),
                    amount_due=_amount_due(candidate, starts_at, ends_at, party_size),
                    currency=venue.currency,
                ),
            )
            if reservation is None:
                continue  # taken by a concurrent booking a moment ago: try the next candidate
            _record(reservation, Event.HELD, actor, space=candidate.name)
            return reservation
    raise SlotUnavailable(_unavailable_message(venue, space, starts_at, party_size))


def reservation_book(**kwargs) -> Reservation:
    """Hold and confirm in one step (a booking that needs no payment). Same arguments as hold."""
    with transaction.atomic():
        reservation = reservation_hold(**kwargs)
        return reservation_confirm(
            reservation=reservation, actor=kwargs.get("actor") or kwargs["guest"], now=kwargs.get("now")
        )


def reservation_confirm(*, reservation: Reservation, actor=None, now: datetime | None = None) -> Reservation:
    """Turn a hold into a confirmed booking. Confirming a confirmed booking changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(reservation)
        if actor is not None:
            _check_actor(locked, actor)
        if locked.status == Status.CONFIRMED:
            return locked
        if locked.status != Status.HELD:
            raise PolicyViolation(f"This reservation is {locked.get_status_display().lower()} and cannot be confirmed.")
        waived = {}
        if locked.amount_due and not locked.payments.filter(status="paid").exists():
            if not _is_staff(actor):
                raise PolicyViolation("This booking is confirmed once the payment is made.")
            waived = {"payment_waived": str(locked.amount_due)}  # staff book it to be paid at the venue
            Reservation.objects.filter(pk=locked.pk).update(amount_due=0)
        if locked.hold_expires_at and locked.hold_expires_at <= now:
            _set_expired(locked, now=now)
            expired = locked
        else:
            Reservation.objects.filter(pk=locked.pk).update(
                status=Status.CONFIRMED, hold_expires_at=None, updated_at=now
            )
            locked = _reload(locked)
            _record(locked, Event.CONFIRMED, actor, **waived)
            notifications.enqueue(locked, OutgoingMessage.Kind.CONFIRMED, key=f"confirmed:{locked.pk}")
            return locked
    raise HoldExpired(
        f"Your hold ran out at {format_local(expired.space.venue, expired.hold_expires_at, with_date=False)}. "
        "Please search again."
    )


def reservation_extend_hold(*, reservation: Reservation, until: datetime, now: datetime | None = None) -> Reservation:
    """Keep a live hold at least until `until` (Stripe's checkout lasts 30 minutes or more)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status != Status.HELD or current.hold_expires_at <= now:
            raise HoldExpired("Your hold ran out. Please search again.")
        if current.hold_expires_at < until:
            Reservation.objects.filter(pk=current.pk).update(hold_expires_at=until, updated_at=now)
            current.hold_expires_at = until
        return current


def reservation_confirm_paid(*, reservation: Reservation, now: datetime | None = None) -> bool:
    """The guest has paid: confirm the booking. A payment that arrives after its hold lapsed still
    confirms it when the space is free for the period (checked under the space's lock, like any
    booking); False when the slot has gone to someone else or the booking was cancelled meanwhile
    (the caller refunds). Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status in (Status.CONFIRMED, Status.COMPLETED, Status.NO_SHOW):
            return True
        if current.status == Status.HELD and current.hold_expires_at > now:
            confirmed = 1
        elif current.status in (Status.HELD, Status.EXPIRED):
            confirmed = _claim(
                current.space,
                current.starts_at,
                current.ends_at,
                lambda: Reservation.objects.filter(pk=current.pk).update(status=Status.CONFIRMED),
                exclude=current,
            )
        else:
            return False  # cancelled before the payment arrived
        if not confirmed:
            if current.status == Status.HELD:
                _set_expired(current, now=now)
            return False
        late = current.status == Status.EXPIRED or current.hold_expires_at <= now
        Reservation.objects.filter(pk=current.pk).update(status=Status.CONFIRMED, hold_expires_at=None, updated_at=now)
        current = _reload(current)
        _record(current, Event.CONFIRMED, None, paid=True, **({"late_payment": True} if late else {}))
        notifications.enqueue(current, OutgoingMessage.Kind.CONFIRMED, key=f"confirmed:{current.pk}")
        return True


def reservation_expire_hold(*, reservation: Reservation, now: datetime | None = None) -> Reservation:
    """End a hold now (its payment page expired). Does nothing to a booking that is not held."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status == Status.HELD:
            _set_expired(current, now=now)
        return current


# ---------------------------------------------------------------------------------------------
# Changing


def _cutoff_passed(reservation: Reservation, hours: int, *, now) -> datetime | None:
    """The moment a guest's right to change ended, if it has."""
    cutoff = reservation.starts_at - timedelta(hours=hours)
    return cutoff if now > cutoff else None


def modification_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.modification_cutoff_hours)


def cancellation_deadline(reservation: Reservation) -> datetime:
    return reservation.starts_at - timedelta(hours=reservation.space.venue.cancellation_cutoff_hours)


def reservation_modify(
    *,
    reservation: Reservation,
    actor,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    party_size: int | None = None,
    space: Space | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Change the time, length, party size, space or notes, under the same rules as a new booking.

    Where the venue assigns, the current space is kept if it still fits, otherwise the best free
    one (of the category asked for) is taken. Staff may move a booking to any free space.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        _check_actor(current, actor)
        venue = current.space.venue
        if not current.is_active:
            raise PolicyViolation(f"This reservation is {current.get_status_display().lower()} and cannot be changed.")
        if not _is_staff(actor) and current.status == Status.CONFIRMED:  # a hold is still being made
            passed = _cutoff_passed(current, venue.modification_cutoff_hours, now=now)
            if passed:
                raise PolicyViolation(
                    f"Changes closed {_duration_words(venue.modification_cutoff_hours * 60)} before the start "
                    f"({format_local(venue, passed)})."
                )
        new_start = starts_at.astimezone(UTC) if starts_at else current.starts_at
        if ends_at is None and starts_at is None:
            ends_at = current.ends_at
        elif ends_at is None and venue.uses_nights:
            ends_at = stay_period(venue, new_start.astimezone(venue.zone).date(), current.nights)[1]
        elif ends_at is None:
            ends_at = new_start + (current.ends_at - current.starts_at)  # keep the booked length
        new_start, new_end = period_for(venue, new_start, ends_at)
        new_party = party_size if party_size is not None else current.party_size
        new_notes = notes if notes is not None else current.notes
        time_changed = (new_start, new_end) != (current.starts_at, current.ends_at)
        if space is not None and space.pk != current.space_id and space.venue_id != venue.pk:
            raise PolicyViolation("A reservation can only move to a space of the same venue.", field="space")
        if time_changed:
            check_period(venue, new_start, new_end, now=now)

        if space is not None:
            candidates = _candidates(venue, space=space, category="", party_size=new_party)
        elif venue.assigns_spaces:
            others = _candidates(venue, space=None, category=current.requested_category, party_size=new_party)
            keep = [current.space] if current.space.fits(new_party) else []
            candidates = keep + [other for other in others if other.pk != current.space_id]
        else:
            candidates = _candidates(venue, space=current.space, category="", party_size=new_party)
        candidates = _check_closures(venue, candidates, new_start, new_end)
        _expire_stale_holds_for(candidates, new_start, new_end, now=now)

        before = _snapshot(current)
        summary_before = _summary(current)
        by_staff = _is_staff(actor) and actor.pk != current.guest_id
        for candidate in _without_overlap(candidates, new_start, new_end, now=now, exclude=current):
            moved = _claim(
                candidate,
                new_start,
                new_end,
                lambda candidate=candidate, pk=current.pk: Reservation.objects.filter(pk=pk).update(
                    space=candidate,
                    starts_at=new_start,
                    ends_at=new_end,
                    party_size=new_party,
                    notes=new_notes,
                    price=_price(candidate, new_start, new_end),
                    updated_at=now,
                ),
                exclude=current,
            )
            if not moved:
                continue
            current = _reload(current)
            after = _snapshot(current)
            if after != before:
                changed = {
                    key: {"before": before[key], "after": after[key]} for key in after if after[key] != before[key]
                }
                event = _record(current, Event.MODIFIED, actor, changes=changed)
                if current.status == Status.CONFIRMED:
                    notifications.enqueue(
                        current,
                        OutgoingMessage.Kind.MODIFIED,
                        key=f"modified:{event.pk}",
                        context={"before": summary_before, "after": _summary(current), "by_staff": by_staff},
                    )
            return current
    named = space or (None if venue.assigns_spaces else current.space)
    raise SlotUnavailable(_unavailable_message(venue, named, new_start, new_party))


def _snapshot(reservation: Reservation) -> dict:
    return {
        "space": reservation.space.name,
        "starts_at": reservation.starts_at.isoformat(),
        "ends_at": reservation.ends_at.isoformat(),
        "party_size": reservation.party_size,
        "notes": reservation.notes,
    }


def reservation_cancel(
    *, reservation: Reservation, actor, reason: str = "", now: datetime | None = None
) -> Reservation:
    """Cancel. Guests may until the venue's cut-off; staff always, with a reason. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        _check_actor(current, actor)
        if current.status == Status.CANCELLED:
            return current
        if not current.is_active:
            raise PolicyViolation(
                f"This reservation is {current.get_status_display().lower()} and cannot be cancelled."
            )
        venue = current.space.venue
        by_staff = _is_staff(actor) and actor.pk != current.guest_id
        if by_staff and not reason.strip():
            raise PolicyViolation("Give the guest a reason for the cancellation.", field="reason")
        if not _is_staff(actor) and current.status == Status.CONFIRMED:
            passed = _cutoff_passed(current, venue.cancellation_cutoff_hours, now=now)
            if passed:
                raise PolicyViolation(
                    f"Cancellation closed {_duration_words(venue.cancellation_cutoff_hours * 60)} before the start "
                    f"({format_local(venue, passed)})."
                )
        Reservation.objects.filter(pk=current.pk).update(
            status=Status.CANCELLED,
            cancelled_at=now,
            cancelled_by=actor,
            cancellation_reason=reason.strip(),
            hold_expires_at=None,
            updated_at=now,
        )
        was_confirmed = current.status == Status.CONFIRMED
        current = _reload(current)
        _record(current, Event.CANCELLED, actor, by="staff" if by_staff else "guest", reason=reason.strip())
        from payments.services import refund_on_cancellation

        refund_on_cancellation(reservation=current, by_staff=by_staff, actor=actor, now=now)
        if was_confirmed:  # a released hold was never booked: nothing to tell
            notifications.enqueue(
                current,
                OutgoingMessage.Kind.CANCELLED,
                key=f"cancelled:{current.pk}",
                context={"by_staff": by_staff, "reason": reason.strip()},
            )
        return current


def reservation_mark_no_show(*, reservation: Reservation, actor, now: datetime | None = None) -> Reservation:
    """Staff record that the guest did not come. Only once the booking has started."""
    now = now or timezone.now()
    if not _is_staff(actor):
        raise NotAllowed("Only staff can mark a no-show.")
    with transaction.atomic():
        current = _lock(reservation)
        if current.status == Status.NO_SHOW:
            return current
        if current.status not in (Status.CONFIRMED, Status.COMPLETED):
            raise PolicyViolation("Only a confirmed booking can be marked as a no-show.")
        if current.starts_at > now:
            raise PolicyViolation("A booking can be marked as a no-show only once it has started.")
        Reservation.objects.filter(pk=current.pk).update(status=Status.NO_SHOW, updated_at=now)
        current = _reload(current)
        _record(current, Event.NO_SHOW, actor)
        return current


# ---------------------------------------------------------------------------------------------
# Housekeeping (management commands and periodic tasks)


def expire_stale_holds(*, now: datetime | None = None) -> int:
    """Expire every hold whose time ran out. Safe to run twice or in parallel; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = (
            Reservation.objects.filter(status=Status.HELD, hold_expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
        )
        expired = list(stale)
        for reservation in expired:
            _set_expired(reservation, now=now)
    return len(expired)


def complete_past_reservations(*, now: datetime | None = None) -> int:
    """Confirmed bookings that have ended become completed. Idempotent; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        ended = list(
            Reservation.objects.filter(status=Status.CONFIRMED, ends_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Reservation.objects.filter(pk__in=ended).update(status=Status.COMPLETED, updated_at=now)
        ReservationEvent.objects.bulk_create(
            ReservationEvent(reservation_id=pk, kind=Event.COMPLETED, details={}) for pk in ended
        )
    return len(ended)


FINISHED_STATUSES = (Status.CANCELLED, Status.EXPIRED, Status.COMPLETED, Status.NO_SHOW)


def purge_reservations(*, older_than_days: int, dry_run: bool = False, now: datetime | None = None) -> dict:
    """Delete finished reservations (and their history) that ended more than `older_than_days` ago."""
    if older_than_days < 1:
        raise PolicyViolation("The retention period must be at least one day.", field="older_than_days")
    now = now or timezone.now()
    old = Reservation.objects.filter(
        status__in=FINISHED_STATUSES,
        ends_at__lt=now - timedelta(days=older_than_days),
        payments__isnull=True,  # money was involved: the accounts keep it
    )
    counts = {
        "reservations": old.count(),
        "events": ReservationEvent.objects.filter(reservation__in=old).count(),
    }
    if not dry_run:
        with transaction.atomic():
            ReservationEvent.objects.filter(reservation__in=old).delete()
            old.delete()
    return counts
