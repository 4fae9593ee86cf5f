"""The hooks through which the booking services call the apps above them (reservations/hooks.py), and
the one place a status changes (reservations/services/transitions.py)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from payments.services import is_paid, refund_on_cancellation, takes_payment
from reservations import hooks
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.services import reservation_book, reservation_cancel, reservation_hold, transitions

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def dinner_for_two(restaurant, guest) -> Reservation:
    start = at(restaurant, next_weekday(restaurant, TUESDAY), "19:30")
    return reservation_book(guest=guest, venue=restaurant, starts_at=start, party_size=2)


def receivers(hook: hooks.Hook) -> list:
    return [receiver for *_, receiver in hook.receivers]


def test_payments_answers_every_hook_it_needs_once_the_apps_are_ready():
    assert takes_payment in receivers(hooks.collects_payment)
    assert is_paid in receivers(hooks.is_paid)
    assert refund_on_cancellation in receivers(hooks.cancelled)
    assert len(receivers(hooks.retained)) == 1


def test_receivers_run_by_order_then_by_registration_and_register_once():
    hook = hooks.Hook("test")
    calls = []

    def first(value):
        calls.append(("first", value))
        return 1

    def second(value):
        calls.append(("second", value))
        return 2

    def early(value):
        calls.append(("early", value))
        return 0

    hook.register(first)
    hook.register(second)
    hook.register(first)  # again: still once
    hook.register(early, order=10)

    assert hook.call("x") == [0, 1, 2]
    assert calls == [("early", "x"), ("first", "x"), ("second", "x")]
    assert hook.any("y") is True
    hook.unregister(first)
    hook.unregister(second)
    assert hook.any("z") is False  # only `early`, which answers 0
    assert hooks.Hook("empty").any() is False


@pytest.fixture
def failing_cancel_hook():
    def refuse(reservation, **kwargs):
        raise RuntimeError("the payment provider's books are closed")

    hooks.cancelled.register(refuse)
    yield
    hooks.cancelled.unregister(refuse)


def test_a_failing_cancelled_hook_rolls_the_whole_cancellation_back(restaurant, guest, failing_cancel_hook):
    booking = dinner_for_two(restaurant, guest)
    events, messages = ReservationEvent.objects.count(), OutgoingMessage.objects.count()

    with pytest.raises(RuntimeError):
        reservation_cancel(reservation=booking, actor=guest)

    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED and booking.cancelled_at is None
    assert (ReservationEvent.objects.count(), OutgoingMessage.objects.count()) == (events, messages)


def test_the_cancelled_hook_sees_the_cancellation_inside_its_transaction(restaurant, guest):
    booking = dinner_for_two(restaurant, guest)
    seen = []

    def look(reservation, *, by_staff, actor, now):
        # Already cancelled, with its history event, when the hook runs: a refund reads the final state.
        stored = Reservation.objects.get(pk=reservation.pk)
        seen.append((stored.status, reservation.events.last().kind, by_staff, actor))

    hooks.cancelled.register(look, order=1000)
    try:
        reservation_cancel(reservation=booking, actor=guest)
    finally:
        hooks.cancelled.unregister(look)

    assert seen == [(Reservation.Status.CANCELLED, ReservationEvent.Kind.CANCELLED, False, guest)]


# --- Transitions ------------------------------------------------------------------------------------


def test_a_transition_no_rule_allows_is_refused_and_writes_nothing(restaurant, guest):
    booking = dinner_for_two(restaurant, guest)
    Reservation.objects.filter(pk=booking.pk).update(status=Reservation.Status.COMPLETED)
    booking.refresh_from_db()
    events = ReservationEvent.objects.count()

    with pytest.raises(ValueError, match="cannot go from completed to cancelled"):
        transitions.transition(booking, Reservation.Status.CANCELLED, actor=guest, now=timezone.now())

    booking.refresh_from_db()
    assert booking.status == Reservation.Status.COMPLETED
    assert ReservationEvent.objects.count() == events


def test_expiring_a_hold_writes_status_time_history_and_the_guests_email_together(
    restaurant, guest, django_capture_on_commit_callbacks
):
    start = at(restaurant, next_weekday(restaurant, TUESDAY), "19:30")
    hold = reservation_hold(guest=guest, venue=restaurant, starts_at=start, party_size=2)
    later = timezone.now() + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        transitions.expire(Reservation.objects.get(pk=hold.pk), now=later)

    hold.refresh_from_db()
    assert (hold.status, hold.updated_at) == (Reservation.Status.EXPIRED, later)
    event = hold.events.last()
    assert (event.kind, event.actor, event.details) == (
        ReservationEvent.Kind.EXPIRED,
        None,
        {"hold_expired_at": hold.hold_expires_at.isoformat()},
    )
    message = OutgoingMessage.objects.get(reservation=hold)
    assert (message.kind, message.status) == (OutgoingMessage.Kind.HOLD_EXPIRED, OutgoingMessage.Status.SENT)
    assert len(mail.outbox) == 1
