"""Stripe's webhook: each event verified, applied once, in any order.

Each event's id is recorded in the same transaction as its effects, and every handler is
idempotent, so duplicates and any order of arrival are harmless. A payment that arrives after its
hold lapsed confirms the booking when the slot is still free (under the same locks as any booking)
and is refunded otherwise; `checkout.session.expired` ends the hold.
"""

import json
import logging

from django.db import transaction
from django.utils import timezone

from payments import gateway
from payments.models import Payment, Refund, StripeEvent
from payments.partners import payment_data
from payments.services.refunds import apply_refund_state, lock_reservation, request_refund
from reservations import notifications, webhooks
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.services import reservation_confirm_paid, reservation_expire_hold

logger = logging.getLogger(__name__)


def handle_webhook(payload: bytes, signature: str) -> str:
    """Verify and apply one Stripe event. Raises ValueError or SignatureVerificationError for a
    payload Stripe did not sign (the view answers 400 and nothing changes)."""
    gateway.construct_event(payload, signature)  # verifies, or raises
    event = json.loads(payload)  # plain data from here on
    with transaction.atomic():
        _, created = StripeEvent.objects.get_or_create(
            event_id=event["id"], defaults={"type": event["type"], "payload": event}
        )
        if not created:
            return "duplicate"
        handler = HANDLERS.get(event["type"])
        if handler is None:
            return "ignored"
        handler(event["data"]["object"])
    return "handled"


def _lock_payment(session_id: str) -> Payment | None:
    """The session's payment, locked after its reservation (the order every booking change takes)."""
    reservation_id = (
        Payment.objects.filter(stripe_checkout_session_id=session_id).values_list("reservation_id", flat=True).first()
    )
    if reservation_id is None:
        return None
    lock_reservation(reservation_id)
    return Payment.objects.select_for_update(no_key=True).filter(stripe_checkout_session_id=session_id).first()


def _session_completed(session) -> None:
    if session.get("payment_status") != "paid":
        return  # a delayed payment method: its own event follows
    payment = _lock_payment(session["id"])
    if payment is None:  # the webhook beat our own record of the session
        reservation = Reservation.objects.filter(reference=(session.get("metadata") or {}).get("reference")).first()
        if reservation is None:
            logger.warning("Paid checkout session %s names no reservation of ours.", session["id"])
            return
        currency = session["currency"].upper()
        payment = Payment.objects.create(
            reservation=reservation,
            amount=gateway.from_minor(session["amount_total"], currency),
            currency=currency,
            stripe_checkout_session_id=session["id"],
        )
    if payment.status == Payment.Status.PAID:
        return
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.PAID, stripe_payment_intent_id=session.get("payment_intent"), paid_at=timezone.now()
    )
    payment.refresh_from_db()
    reservation = payment.reservation
    ReservationEvent.objects.create(
        reservation=reservation,
        kind=ReservationEvent.Kind.PAID,
        details={"amount": str(payment.amount), "currency": payment.currency},
    )
    webhooks.emit(webhooks.Event.PAYMENT_PAID, reservation=reservation, data=lambda: payment_data(payment))
    if not reservation_confirm_paid(reservation=reservation):
        # Too late: the slot went to someone else (or the guest cancelled). Give the money back.
        request_refund(payment, payment.refundable(), reason="the slot was no longer free", actor=None)
        notifications.enqueue(
            reservation,
            OutgoingMessage.Kind.PAYMENT_REFUNDED,
            key=f"payment_refunded:{payment.pk}",
            context={"amount": str(payment.amount), "currency": payment.currency},
        )


def _session_expired(session) -> None:
    payment = _lock_payment(session["id"])
    if payment is None or payment.status != Payment.Status.PENDING:
        return  # already paid (events out of order) or not ours
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.EXPIRED)
    reservation_expire_hold(reservation=payment.reservation)


def _refund_updated(stripe_refund) -> None:
    refund = Refund.objects.select_related("payment").filter(stripe_refund_id=stripe_refund["id"]).first()
    if refund is not None:
        apply_refund_state(refund, stripe_refund)


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_completed,
    "checkout.session.expired": _session_expired,
    "refund.created": _refund_updated,
    "refund.updated": _refund_updated,
    "refund.failed": _refund_updated,
}
