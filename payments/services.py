"""Deposits and prepayments through Stripe Checkout, the webhook, and refunds by the venue's policy.

The order of things when a booking needs money up front:
1. the booking service holds the slot (`amount_due` is set from the venue's rules);
2. `checkout_start` extends the hold to cover Stripe's checkout (30 minutes at least) and opens a
   Checkout Session, outside any transaction, with an idempotency key;
3. Stripe's `checkout.session.completed` webhook confirms the booking through the booking service,
   under the same locks as any booking: a payment that arrives after its hold lapsed confirms it
   when the slot is still free and is refunded otherwise; `checkout.session.expired` ends the hold.
Each webhook event is applied once (its id is recorded in the same transaction as its effects),
and every handler is idempotent, so duplicates and any order of arrival are harmless.
Refunds are rows first (in the cancellation's transaction) and Stripe calls after commit, with an
idempotency key per refund, retried by a periodic job until Stripe has answered.
"""

import json
import logging
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import stripe
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from payments import gateway
from payments.models import Payment, Refund, StripeEvent
from reservations import notifications
from reservations.exceptions import BookingError, PolicyViolation
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.services import reservation_confirm_paid, reservation_expire_hold, reservation_extend_hold
from spaces.models import PaymentMode, Space, Venue

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
CHECKOUT_MINUTES = 31  # Stripe refuses a Checkout Session that expires in less than 30 minutes


class PaymentUnavailable(BookingError):
    """Stripe could not be reached or refused: nothing was charged, the hold is kept."""


# ---------------------------------------------------------------------------------------------
# What is owed and what is given back


def online_payments_enabled() -> bool:
    return gateway.configured()


def takes_payment(venue: Venue) -> bool:
    """Does booking here involve Stripe (a deposit or prepayment, with Stripe set up)?"""
    return online_payments_enabled() and venue.payment_mode != PaymentMode.NONE


def amount_due(venue: Venue, *, space: Space, price: Decimal, party_size: int) -> Decimal:
    """What the venue asks up front for this booking; 0 without online payments."""
    if not online_payments_enabled():
        return Decimal("0")
    match venue.payment_mode:
        case PaymentMode.DEPOSIT_PER_GUEST:
            amount = venue.deposit_per_guest * party_size
        case PaymentMode.DEPOSIT_PERCENT:
            amount = price * venue.deposit_percent / 100
        case PaymentMode.FIRST_NIGHT:
            amount = min(space.price, price)
        case PaymentMode.FULL:
            amount = price
        case _:
            amount = Decimal("0")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def refund_percent(venue: Venue, starts_at: datetime, *, now: datetime) -> int:
    """The policy's refund for a guest cancelling now: the tier whose deadline has not passed."""
    hours_left = (starts_at - now) / timedelta(hours=1)
    for tier in sorted(venue.refund_policy or [], key=lambda tier: -tier["hours_before"]):
        if hours_left >= tier["hours_before"]:
            return tier["percent"]
    return 0


def refund_preview(reservation: Reservation, *, by_staff: bool = False, now: datetime | None = None) -> Decimal:
    """What cancelling now would give back (shown on the cancel page before the guest confirms)."""
    now = now or timezone.now()
    percent = 100 if by_staff else refund_percent(reservation.space.venue, reservation.starts_at, now=now)
    return sum(
        (_share(payment, percent) for payment in reservation.payments.filter(status=Payment.Status.PAID)),
        Decimal("0"),
    )


def _share(payment: Payment, percent: int) -> Decimal:
    return min((payment.amount * percent / 100).quantize(CENT, rounding=ROUND_DOWN), payment.refundable())


def refund_on_cancellation(*, reservation: Reservation, by_staff: bool, actor, now: datetime) -> list[Refund]:
    """Called by the booking service inside its cancellation: refund what the policy says (all of
    it when the venue cancels)."""
    percent = 100 if by_staff else refund_percent(reservation.space.venue, reservation.starts_at, now=now)
    refunds = []
    for payment in Payment.objects.select_for_update().filter(reservation=reservation, status=Payment.Status.PAID):
        amount = _share(payment, percent)
        if amount > 0:
            refunds.append(_request_refund(payment, amount, reason=f"cancelled ({percent} % by policy)", actor=actor))
    return refunds


def refund_issue(*, payment: Payment, amount: Decimal, actor, reason: str = "") -> Refund:
    """Staff give money back, all or part of what is left."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != Payment.Status.PAID:
            raise PolicyViolation("Only a paid payment can be refunded.")
        refundable = payment.refundable()
        if not 0 < amount <= refundable:
            raise PolicyViolation(f"Refund between 0.01 and {refundable} {payment.currency}.", field="amount")
        return _request_refund(payment, amount, reason=reason or "by staff", actor=actor)


def _request_refund(payment: Payment, amount: Decimal, *, reason: str, actor) -> Refund:
    refund = Refund.objects.create(
        payment=payment, amount=amount, currency=payment.currency, reason=reason, requested_by=actor
    )
    ReservationEvent.objects.create(
        reservation=payment.reservation,
        kind=ReservationEvent.Kind.REFUND,
        actor=actor,
        details={"amount": str(amount), "currency": payment.currency, "reason": reason, "status": "requested"},
    )
    transaction.on_commit(lambda: _dispatch_refund(refund.pk))
    return refund


def _dispatch_refund(refund_id: int) -> None:
    from payments.tasks import submit_refund

    try:
        submit_refund.delay(refund_id)
    except Exception:  # broker down: the periodic job submits it
        logger.warning("Could not queue refund %s; the periodic job will submit it.", refund_id)


def submit_refund(refund_id: int) -> bool:
    """Send one requested refund to Stripe. The idempotency key is the refund's own id, so a retry
    after a crash (Stripe answered, we did not record it) returns the same refund, never a second."""
    claimed = Refund.objects.filter(pk=refund_id, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.PENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    try:
        answer = gateway.create_refund(
            payment_intent=refund.payment.stripe_payment_intent_id,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=f"refund-{refund.pk}",
        )
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as error:
        # Stripe's side or the network: try again later.
        Refund.objects.filter(pk=refund_id).update(status=Refund.Status.REQUESTED, last_error=_error_text(error))
        return False
    except stripe.StripeError as error:
        # Stripe refused (card error, invalid request): a person has to look at it.
        Refund.objects.filter(pk=refund_id).update(status=Refund.Status.FAILED, last_error=_error_text(error))
        _record_refund_state(refund, "failed")
        return False
    _apply_refund_state(refund, answer)
    return True


def retry_refunds(*, now: datetime | None = None) -> int:
    """The periodic job: submit refunds still waiting (broker down, Stripe unavailable, a worker
    that died between claiming and recording Stripe's answer)."""
    now = now or timezone.now()
    stale = Refund.objects.filter(
        status=Refund.Status.PENDING, stripe_refund_id=None, updated_at__lt=now - timedelta(minutes=10)
    )
    stale.update(status=Refund.Status.REQUESTED)
    waiting = Refund.objects.filter(status=Refund.Status.REQUESTED).values_list("pk", flat=True)
    return sum(submit_refund(pk) for pk in list(waiting[:100]))


def _error_text(error: stripe.StripeError) -> str:
    return f"{type(error).__name__}: {error.user_message or error}"[:2000]


STRIPE_REFUND_STATES = {
    "succeeded": Refund.Status.SUCCEEDED,
    "pending": Refund.Status.PENDING,
    "requires_action": Refund.Status.PENDING,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
}


def _apply_refund_state(refund: Refund, stripe_refund) -> None:
    status = STRIPE_REFUND_STATES.get(stripe_refund["status"], Refund.Status.PENDING)
    changed = Refund.objects.filter(pk=refund.pk).exclude(status=status, stripe_refund_id=stripe_refund["id"])
    updated = changed.update(
        status=status,
        stripe_refund_id=stripe_refund["id"],
        last_error="",
        completed_at=timezone.now() if status == Refund.Status.SUCCEEDED else None,
    )
    if updated:
        _record_refund_state(refund, status)


def _record_refund_state(refund: Refund, status: str) -> None:
    ReservationEvent.objects.create(
        reservation_id=refund.payment.reservation_id,
        kind=ReservationEvent.Kind.REFUND,
        details={"amount": str(refund.amount), "currency": refund.currency, "status": status},
    )


# ---------------------------------------------------------------------------------------------
# Checkout


def checkout_start(*, reservation: Reservation, success_url: str, cancel_url: str, now=None) -> Payment:
    """Open (or reopen) Stripe Checkout for a held booking that needs payment; returns the Payment
    whose `checkout_url` the guest is sent to. Raises HoldExpired or PaymentUnavailable."""
    now = now or timezone.now()
    if reservation.amount_due <= 0:
        raise PolicyViolation("There is nothing to pay for this booking.")
    venue = reservation.space.venue
    expires_at = now + timedelta(minutes=CHECKOUT_MINUTES)
    reservation_extend_hold(reservation=reservation, until=expires_at, now=now)  # the hold lasts as long
    try:
        session = gateway.create_checkout_session(
            reference=reservation.reference,
            description=f"{venue.name}: {_what(reservation)}",
            amount=reservation.amount_due,
            currency=reservation.currency,
            email=reservation.guest.email if reservation.guest else "",
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=expires_at,
        )
    except stripe.StripeError as error:
        logger.warning("Checkout for %s failed: %s", reservation.reference, type(error).__name__)
        raise PaymentUnavailable(
            "The payment page could not be opened. Nothing was charged; please try again."
        ) from error
    payment, _ = Payment.objects.get_or_create(
        stripe_checkout_session_id=session["id"],
        defaults={
            "reservation": reservation,
            "amount": reservation.amount_due,
            "currency": reservation.currency,
            "checkout_url": session["url"],
        },
    )
    return payment


def _what(reservation: Reservation) -> str:
    from reservations.emails import what_words

    return what_words(reservation)


# ---------------------------------------------------------------------------------------------
# Webhook


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


def _session_completed(session) -> None:
    if session.get("payment_status") != "paid":
        return  # a delayed payment method: its own event follows
    payment = Payment.objects.select_for_update().filter(stripe_checkout_session_id=session["id"]).first()
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
    if not reservation_confirm_paid(reservation=reservation):
        # Too late: the slot went to someone else (or the guest cancelled). Give the money back.
        _request_refund(payment, payment.refundable(), reason="the slot was no longer free", actor=None)
        notifications.enqueue(
            reservation,
            OutgoingMessage.Kind.PAYMENT_REFUNDED,
            key=f"payment_refunded:{payment.pk}",
            context={"amount": str(payment.amount), "currency": payment.currency},
        )


def _session_expired(session) -> None:
    payment = Payment.objects.select_for_update().filter(stripe_checkout_session_id=session["id"]).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return  # already paid (events out of order) or not ours
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.EXPIRED)
    reservation_expire_hold(reservation=payment.reservation)


def _refund_updated(stripe_refund) -> None:
    refund = Refund.objects.select_related("payment").filter(stripe_refund_id=stripe_refund["id"]).first()
    if refund is not None:
        _apply_refund_state(refund, stripe_refund)


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_completed,
    "checkout.session.expired": _session_expired,
    "refund.created": _refund_updated,
    "refund.updated": _refund_updated,
    "refund.failed": _refund_updated,
}


# ---------------------------------------------------------------------------------------------
# Consistency


def inconsistencies(*, now: datetime | None = None) -> list[str]:
    """What `manage.py check_payments` reports: money and bookings that disagree."""
    now = now or timezone.now()
    problems = []
    settled = [Reservation.Status.CONFIRMED, Reservation.Status.COMPLETED, Reservation.Status.NO_SHOW]
    # Cancelled bookings keep what the refund policy kept; held or expired ones should have none.
    unsettled = [Reservation.Status.HELD, Reservation.Status.EXPIRED]
    paid = Payment.objects.filter(status=Payment.Status.PAID, reservation__status__in=unsettled)
    for payment in paid.select_related("reservation"):
        if payment.refundable() > 0:
            problems.append(
                f"Paid but not confirmed: {payment.reservation.reference} ({payment.amount} {payment.currency}, "
                f"booking {payment.reservation.get_status_display().lower()}, not refunded)"
            )
    unpaid = Reservation.objects.filter(status__in=settled, amount_due__gt=0).exclude(
        payments__status=Payment.Status.PAID
    )
    for reservation in unpaid:
        problems.append(
            f"Confirmed but unpaid: {reservation.reference} ({reservation.amount_due} {reservation.currency} due)"
        )
    stuck = Refund.objects.filter(
        status__in=[Refund.Status.REQUESTED, Refund.Status.PENDING], created_at__lt=now - timedelta(days=1)
    )
    for refund in stuck.select_related("payment__reservation"):
        problems.append(
            f"Refund stuck: {refund.amount} {refund.currency} for {refund.payment.reservation.reference} "
            f"({refund.get_status_display().lower()} since {refund.created_at:%Y-%m-%d %H:%M} UTC)"
        )
    for refund in Refund.objects.filter(status=Refund.Status.FAILED).select_related("payment__reservation"):
        reference = refund.payment.reservation.reference
        problems.append(f"Refund failed: {refund.amount} {refund.currency} for {reference}: {refund.last_error}")
    return problems


def payment_words(venue: Venue) -> str:
    """How a venue is paid, in a sentence for its page."""
    if venue.payment_mode == PaymentMode.NONE:
        return ""
    if not online_payments_enabled():
        return "You pay at the venue."
    money = venue.currency
    match venue.payment_mode:
        case PaymentMode.DEPOSIT_PER_GUEST:
            ask = f"a deposit of {venue.deposit_per_guest:.2f} {money} per guest"
        case PaymentMode.DEPOSIT_PERCENT:
            ask = f"a deposit of {venue.deposit_percent} % of the price"
        case PaymentMode.FIRST_NIGHT:
            ask = "the first night"
        case _:
            ask = "the full price"
    return f"{venue.name} asks for {ask} when you book, paid online with Stripe."
