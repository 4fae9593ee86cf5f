"""The one place a reservation's status changes.

A change of status is the writes that belong together, in the caller's transaction: the row (with
`updated_at` and whatever else the change sets), its claims on spaces (taken while it is active),
the history event with its actor, and the e-mail to the guest when there is one to send (the
outbox). Callers lock the row first and decide whether the
change is allowed by the venue's rules; this module refuses only a change no rule could allow
(cancelling a completed booking, say), which would be a bug in the caller.
"""

from collections.abc import Callable
from datetime import datetime

from core.replica import pin_to_primary
from reservations import hooks, notifications, webhooks
from reservations.models import OutgoingMessage, Reservation, ReservationEvent, SpaceClaim, WaitlistEntry

Status = Reservation.Status
Event = ReservationEvent.Kind

# from -> the statuses it may become. A new booking starts as HELD (reservation_hold).
ALLOWED = {
    Status.HELD: {Status.CONFIRMED, Status.CANCELLED, Status.EXPIRED},
    Status.EXPIRED: {Status.CONFIRMED},  # paid after the hold lapsed, and the space was still free
    Status.CONFIRMED: {Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW},
    Status.COMPLETED: {Status.NO_SHOW},
}
EVENT_OF = {
    Status.CONFIRMED: Event.CONFIRMED,
    Status.CANCELLED: Event.CANCELLED,
    Status.EXPIRED: Event.EXPIRED,
    Status.COMPLETED: Event.COMPLETED,
    Status.NO_SHOW: Event.NO_SHOW,
}


def record(reservation: Reservation, kind: str, actor, **details) -> ReservationEvent:
    """One line of the reservation's history. Every change records one: the guest's own reads stay on
    the primary for a while after it (read-your-writes, core/replica.py), and the venue's partners
    that asked for it are told (reservations/webhooks.py, in the same transaction)."""
    pin_to_primary(reservation.guest_id)
    event = ReservationEvent.objects.create(reservation=reservation, kind=kind, actor=actor, details=details)
    webhooks.emit_for_history(reservation, kind, details)
    return event


def record_all(
    reservation: Reservation, lines: list[tuple[str, dict, Callable[[], dict] | None]], actor
) -> list[ReservationEvent]:
    """Several lines of the history at once, in order, as `record` writes each (the events in one
    INSERT; the venue's webhook endpoints read once for all of them): a booking made confirmed at once
    is "held" then "confirmed", as a hold confirmed a moment later reads. Each line is (kind, details,
    what makes the object its webhook sends, or None for the booking as it is now)."""
    pin_to_primary(reservation.guest_id)
    events = ReservationEvent.objects.bulk_create(
        ReservationEvent(reservation=reservation, kind=kind, actor=actor, details=details) for kind, details, _ in lines
    )
    endpoints = webhooks.endpoints_of(reservation)
    for kind, details, data in lines:
        webhooks.emit_for_history(reservation, kind, details, endpoints=endpoints, data=data)
    return events


def transition(
    reservation: Reservation,
    to: str,
    *,
    actor,
    now: datetime,
    details: dict | None = None,
    fields: dict | None = None,
    message: tuple[str, str, dict] | None = None,
) -> Reservation:
    """Move the locked `reservation` to status `to`, setting `fields` too; record the event with
    `details`; queue `message` = (kind, dedupe key, context) to the guest. Updates the instance."""
    if to not in ALLOWED.get(reservation.status, ()):
        raise ValueError(f"A reservation cannot go from {reservation.status} to {to}.")
    was_active = reservation.status in Reservation.ACTIVE_STATUSES
    changes = {"status": to, "updated_at": now, **(fields or {})}
    Reservation.objects.filter(pk=reservation.pk).update(**changes)
    # The spaces it takes are taken while it is held or confirmed, and free again once it is not
    # (held to confirmed leaves them taken: nothing to write).
    active = to in Reservation.ACTIVE_STATUSES
    if active != was_active or not active:
        SpaceClaim.objects.filter(reservation=reservation).update(active=active)
    # A waitlist offer ends with its hold: booked when confirmed, lapsed when it ran out or was let go.
    if to in (Status.CONFIRMED, Status.EXPIRED, Status.CANCELLED):
        booked = WaitlistEntry.Status.BOOKED if to == Status.CONFIRMED else WaitlistEntry.Status.LAPSED
        WaitlistEntry.objects.filter(offer=reservation, status=WaitlistEntry.Status.OFFERED).update(status=booked)
    for name, value in changes.items():
        setattr(reservation, name, value)
    record(reservation, EVENT_OF[to], actor, **(details or {}))
    if message is not None:
        kind, key, context = message
        notifications.enqueue(reservation, kind, key=key, context=context)
    return reservation


def given(reservation: Reservation) -> list[str]:
    """What the booking was confirmed with, for its "confirmed" event: "notes", "contact" (a name or
    phone of its own: booked for someone else). Names only: the values stay on the booking."""
    return [
        name
        for name, value in (
            ("notes", reservation.notes),
            ("contact", reservation.contact_name or reservation.contact_phone),
        )
        if value
    ]


def confirm(
    reservation: Reservation, *, actor, now: datetime, details: dict, fields: dict | None = None
) -> Reservation:
    """A hold (or a lapsed hold that was paid for) becomes a booking; the guest gets the confirmation.
    Its one event says what it was confirmed with (`given`): a confirm with notes is no "modified".
    `fields`: what else is written with it (the notes and contact given as it is confirmed, already
    set on the instance)."""
    with_details = given(reservation)
    return transition(
        reservation,
        Status.CONFIRMED,
        actor=actor,
        now=now,
        details={**details, "given": with_details} if with_details else details,
        fields={**(fields or {}), "hold_expires_at": None},
        message=(OutgoingMessage.Kind.CONFIRMED, f"confirmed:{reservation.pk}", {}),
    )


def expire(reservation: Reservation, *, now: datetime) -> Reservation:
    """A hold ran out (or its payment page expired): the slot is free again; the guest is told, and
    the `hold_ended` hook closes what was opened for it (payments: its Checkout Session)."""
    expired = transition(
        reservation,
        Status.EXPIRED,
        actor=None,
        now=now,
        details={"hold_expired_at": reservation.hold_expires_at.isoformat()},
        # An offer from the waitlist that was not taken says so (it goes to the next guest).
        message=(OutgoingMessage.Kind.WAITLIST_LAPSED, f"waitlist_lapsed:{reservation.pk}", {})
        if WaitlistEntry.objects.filter(offer=reservation).exists()
        else (OutgoingMessage.Kind.HOLD_EXPIRED, f"hold_expired:{reservation.pk}", {}),
    )
    hooks.hold_ended.call(expired)
    return expired


def complete_all(ids: list[int], *, now: datetime) -> int:
    """Confirmed bookings (locked by the caller) that have ended become completed: one statement for
    the rows, one for their events, however many. Nothing is sent."""
    Reservation.objects.filter(pk__in=ids, status=Status.CONFIRMED).update(status=Status.COMPLETED, updated_at=now)
    SpaceClaim.objects.filter(reservation_id__in=ids).update(active=False)
    ReservationEvent.objects.bulk_create(
        ReservationEvent(reservation_id=pk, kind=EVENT_OF[Status.COMPLETED], details={}) for pk in ids
    )
    return len(ids)
