"""Money given back: by the venue's refund tiers when a booking is cancelled, by staff (all or part
of what is left), and when a payment arrived for a slot that had gone.

Refunds are rows first, written in the transaction that decides them (a cancellation's, through the
booking services' `cancelled` hook), and Stripe calls after commit, with an idempotency key per
refund, retried by a periodic job until Stripe has answered.
"""

import logging
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import stripe
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from core.formats import money
from payments import gateway
from payments.models import Payment, Refund
from payments.partners import refund_data
from reservations import webhooks
from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import Reservation, ReservationEvent
from reservations.pricing import CENT
from spaces import powers
from spaces.models import Venue
from spaces.powers import Power

logger = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this, without Stripe's answer, was abandoned


def refund_percent(venue: Venue, starts_at: datetime, *, now: datetime) -> int:
    """The policy's refund for a guest cancelling now: the tier whose deadline has not passed."""
    hours_left = (starts_at - now) / timedelta(hours=1)
    for tier in sorted(venue.refund_policy or [], key=lambda tier: -tier["hours_before"]):
        if hours_left >= tier["hours_before"]:
            return tier["percent"]
    return 0


def cancellation_refund_percent(reservation: Reservation, *, by_staff: bool, actor, now: datetime) -> int:
    """What a cancellation gives back, in percent: the policy's tier; all of it when the venue cancels
    and the member of staff may refund beyond the policy (a manager; a host refunds by the policy)."""
    if _beyond_policy(reservation, by_staff=by_staff, actor=actor):
        return 100
    return refund_percent(reservation.space.venue, reservation.starts_at, now=now)


def _beyond_policy(reservation: Reservation, *, by_staff: bool, actor) -> bool:
    return by_staff and powers.can(actor, Power.REFUND, reservation.space.venue)


def refund_preview(
    reservation: Reservation, *, by_staff: bool = False, actor=None, now: datetime | None = None
) -> Decimal:
    """What cancelling now would give back (shown on the cancel page before the guest confirms)."""
    now = now or timezone.now()
    percent = cancellation_refund_percent(reservation, by_staff=by_staff, actor=actor, now=now)
    capped = not _beyond_policy(reservation, by_staff=by_staff, actor=actor)
    return sum(
        (
            _share(payment, percent, capped=capped)
            for payment in reservation.payments.filter(status=Payment.Status.PAID)
        ),
        Decimal("0"),
    )


def _share(payment: Payment, percent: int, *, capped: bool = True) -> Decimal:
    """The part of `payment` a refund of `percent` gives back; a moved booking's cap applies unless the
    venue refunds beyond the policy (`capped=False`)."""
    if capped and payment.refund_cap_percent is not None:
        percent = min(percent, payment.refund_cap_percent)
    return min((payment.amount * percent / 100).quantize(CENT, rounding=ROUND_DOWN), payment.refundable())


def balance(reservation: Reservation) -> Decimal:
    """Paid online for the booking, less what is refunded or on its way back. The `balance` hook."""
    return sum(
        (payment.amount - payment.refunded_or_pending() for payment in reservation.payments.filter(status="paid")),
        Decimal("0"),
    )


def refund_after_repricing(
    reservation: Reservation, *, moved_from: datetime, balance: Decimal, actor, by_staff: bool, now: datetime
) -> list[Refund]:
    """The booking services' `repriced` hook, in the change's transaction (the reservation is locked).

    A moved booking keeps the refund it had before the move as its ceiling: cancelling later never gives
    back more than cancelling just before the move would have. What the new, lower amount due leaves
    over is refunded as a cancellation would refund it now."""
    venue = reservation.space.venue
    paid = list(
        Payment.objects.select_for_update(no_key=True).filter(reservation=reservation, status=Payment.Status.PAID)
    )
    if moved_from != reservation.starts_at:
        before_the_move = refund_percent(venue, moved_from, now=now)
        for payment in paid:
            cap = min(before_the_move, payment.refund_cap_percent if payment.refund_cap_percent is not None else 100)
            Payment.objects.filter(pk=payment.pk).update(refund_cap_percent=cap)
            payment.refund_cap_percent = cap
    left_over = balance - reservation.amount_due
    if left_over <= 0:
        return []
    percent = cancellation_refund_percent(reservation, by_staff=by_staff, actor=actor, now=now)
    capped = not _beyond_policy(reservation, by_staff=by_staff, actor=actor)
    to_refund = (left_over * percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    refunds = []
    for payment in paid:
        if to_refund <= 0:
            break
        room = payment.refundable()
        if capped and payment.refund_cap_percent is not None:  # never past what the cap lets back in all
            allowed = (payment.amount * payment.refund_cap_percent / 100).quantize(CENT, rounding=ROUND_DOWN)
            room = min(room, allowed - (payment.amount - payment.refundable()))
        amount = min(to_refund, room)
        if amount > 0:
            refunds.append(request_refund(payment, amount, reason="the booking now costs less", actor=actor))
            to_refund -= amount
    return refunds


def refund_on_cancellation(reservation: Reservation, *, by_staff: bool, actor, now: datetime) -> list[Refund]:
    """The booking services' `cancelled` hook (registered in PaymentsConfig.ready), inside the
    cancellation's transaction: refund what cancellation_refund_percent says."""
    percent = cancellation_refund_percent(reservation, by_staff=by_staff, actor=actor, now=now)
    capped = not _beyond_policy(reservation, by_staff=by_staff, actor=actor)
    refunds = []
    # The caller (reservation_cancel) holds the reservation's lock: its payments come after it.
    paid = Payment.objects.select_for_update(no_key=True).filter(reservation=reservation, status=Payment.Status.PAID)
    for payment in paid:
        amount = _share(payment, percent, capped=capped)
        if amount > 0:
            refunds.append(request_refund(payment, amount, reason=f"cancelled ({percent} % by policy)", actor=actor))
    return refunds


def refund_issue(*, payment: Payment, amount: Decimal, actor, reason: str = "") -> Refund:
    """Staff who may refund beyond the policy (a manager of the venue) give money back, all or part of
    what is left."""
    with transaction.atomic():
        # The reservation first, then the payment: the order a cancellation takes them in.
        lock_reservation(payment.reservation_id)
        payment = (
            Payment.objects.select_for_update(no_key=True)
            .select_related("reservation__space__venue")
            .get(pk=payment.pk)
        )
        if not powers.may(actor, Power.REFUND, payment.reservation.space.venue):
            raise NotAllowed(gettext("Only a manager of the venue can refund a payment."))
        if payment.status != Payment.Status.PAID:
            raise PolicyViolation(gettext("Only a paid payment can be refunded."))
        refundable = payment.refundable()
        if not 0 < amount <= refundable:
            least, most = money(CENT, payment.currency), money(refundable, payment.currency)
            raise PolicyViolation(
                gettext("Refund between %(least)s and %(most)s.") % {"least": least, "most": most}, field="amount"
            )
        return request_refund(payment, amount, reason=reason or "by staff", actor=actor)


def lock_reservation(reservation_id: int) -> None:
    """Take a booking's lock before any of its payments' (FOR NO KEY UPDATE, like the booking services):
    one lock order everywhere, so a refund and a cancellation of one booking queue instead of deadlocking."""
    Reservation.objects.select_for_update(no_key=True).filter(pk=reservation_id).exists()


def request_refund(payment: Payment, amount: Decimal, *, reason: str, actor) -> Refund:
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


def claim_refund(refund_id: int) -> bool:
    """Take a requested refund to send it (once, whoever else tries). The claim's time is written:
    retry_refunds tells an abandoned claim from one in progress by it."""
    return bool(
        Refund.objects.filter(pk=refund_id, status=Refund.Status.REQUESTED).update(
            status=Refund.Status.PENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        )
    )


def submit_refund(refund_id: int) -> bool:
    """Send one requested refund to Stripe. The idempotency key is the refund's own id, so a retry
    after a crash (Stripe answered, we did not record it) returns the same refund, never a second."""
    if not claim_refund(refund_id):
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
    apply_refund_state(refund, answer)
    return True


def retry_refunds(*, now: datetime | None = None) -> int:
    """The periodic job: submit refunds still waiting (broker down, Stripe unavailable, a worker
    that died between claiming and recording Stripe's answer)."""
    now = now or timezone.now()
    abandoned = Q(claimed_at__lt=now - CLAIM_LEASE) | Q(claimed_at=None, updated_at__lt=now - CLAIM_LEASE)
    stale = Refund.objects.filter(abandoned, status=Refund.Status.PENDING, stripe_refund_id=None)
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


def apply_refund_state(refund: Refund, stripe_refund) -> None:
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
    if status == Refund.Status.SUCCEEDED:
        reservation = refund.payment.reservation
        webhooks.emit(
            webhooks.Event.PAYMENT_REFUNDED,
            reservation=reservation,
            data=lambda: refund_data(Refund.objects.select_related("payment__reservation").get(pk=refund.pk)),
        )
