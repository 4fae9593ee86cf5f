"""Taking money up front through Stripe Checkout.

The order of things when a booking needs money up front:
1. the booking service holds the slot (`amount_due` is set by reservations.pricing, which asks the
   `collects_payment` hook: `takes_payment` below);
2. `checkout_start` opens a Checkout Session (or reopens the one still open), outside any
   transaction, and then extends the hold to cover it, up to the hold's ceiling;
3. Stripe's webhook (payments/services/webhook.py) confirms the booking through the booking service.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from core.formats import money
from payments import gateway
from payments.models import Payment
from reservations.exceptions import BookingError, HoldExpired, PolicyViolation
from reservations.models import Reservation
from reservations.periods import format_local
from reservations.services import hold_ceiling, reservation_extend_hold
from reservations.wording import what_words
from spaces.models import PaymentMode, Venue

logger = logging.getLogger(__name__)
CHECKOUT_MINUTES = 31  # Stripe refuses a Checkout Session that expires in less than 30 minutes
REOPEN_MARGIN = timedelta(minutes=2)  # an open session closer to its end than this is not sent again


class PaymentUnavailable(BookingError):
    """Stripe could not be reached or refused: nothing was charged, the hold is kept (`reference`)."""

    def __init__(self, message: str, *, reference: str = ""):
        super().__init__(message)
        self.reference = reference


def online_payments_enabled() -> bool:
    return gateway.configured()


def takes_payment(venue: Venue) -> bool:
    """Does booking here involve Stripe (a deposit or prepayment, with Stripe set up)? The booking
    services' `collects_payment` hook."""
    return online_payments_enabled() and venue.payment_mode != PaymentMode.NONE


def is_paid(reservation: Reservation) -> bool:
    """Has the booking's up-front payment arrived? The booking services' `is_paid` hook."""
    return reservation.payments.filter(status=Payment.Status.PAID).exists()


def checkout_urls(reservation: Reservation) -> tuple[str, str]:
    """Where Stripe sends the guest back: the page that waits for the payment, and the review page
    (the cancel button). One place, on the site's own address, for the pages and the API alike."""
    site = settings.SITE_URL.rstrip("/")
    return (
        site + reverse("reservations:payment", args=[reservation.reference]),
        site + reverse("reservations:review", args=[reservation.reference]),
    )


def checkout_start(*, reservation: Reservation, now=None) -> Payment:
    """Open Stripe Checkout for a held booking that needs payment, or reopen the one still open;
    returns the Payment whose `checkout_url` the guest is sent to.

    - A pending session that is open (and for the amount owed) is reused: no new one, no new charge.
    - Otherwise a new session, with a new idempotency key (the attempt's number), closes when the
      hold reaches its ceiling; sessions left open for another amount are expired at Stripe first.
      Its parameters depend only on the booking and the attempt, so two clicks at once send the same
      request and get the same session.
    - The hold is extended to the session's end only once the session exists.
    Raises HoldExpired (also when too little of the hold's ceiling is left for a payment page) or
    PaymentUnavailable, which carries the booking's `reference`."""
    now = now or timezone.now()
    current = Reservation.objects.select_related("space__venue", "guest").get(pk=reservation.pk)
    if current.amount_due <= 0:
        raise PolicyViolation(gettext("There is nothing to pay for this booking."))
    if current.status != Reservation.Status.HELD or current.hold_expires_at <= now:
        raise HoldExpired(gettext("Your hold ran out; hold it again if it is still free."))
    # One read for both the sessions to reuse and the attempt's number: read apart, a click that came
    # second could miss the first click's session in one and count it in the other (a second session).
    payments = list(Payment.objects.filter(reservation=current).order_by("-pk"))
    pending = [payment for payment in payments if payment.status == Payment.Status.PENDING]
    for payment in pending:
        still_open = payment.expires_at is not None and payment.expires_at > now + REOPEN_MARGIN
        if still_open and payment.amount == current.amount_due and payment.checkout_url:
            return payment
    ceiling = hold_ceiling(current)
    if ceiling < now + timedelta(minutes=CHECKOUT_MINUTES):
        venue = current.space.venue
        raise HoldExpired(
            gettext("Your hold ends at %(time)s: too soon to pay online. Please release it and book again.")
            % {"time": format_local(venue, ceiling, with_date=False)}
        )
    expire_open_sessions(current, payments=pending)
    attempt = len(payments) + 1
    success_url, cancel_url = checkout_urls(current)
    try:
        session = gateway.create_checkout_session(
            reference=current.reference,
            attempt=attempt,
            description=gettext("%(venue)s: %(what)s")
            % {"venue": current.space.venue.name, "what": what_words(current)},
            amount=current.amount_due,
            currency=current.currency,
            email=current.guest.email if current.guest else "",
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=ceiling,
        )
    except stripe.StripeError as error:
        logger.warning("Checkout for %s failed: %s", current.reference, type(error).__name__)
        raise PaymentUnavailable(
            gettext("The payment page could not be opened. Nothing was charged; please try again."),
            reference=current.reference,
        ) from error
    payment, _ = Payment.objects.get_or_create(
        stripe_checkout_session_id=session["id"],
        defaults={
            "reservation": current,
            "amount": current.amount_due,
            "currency": current.currency,
            "checkout_url": session["url"],
            "expires_at": datetime.fromtimestamp(session["expires_at"], UTC),
        },
    )
    try:
        reservation_extend_hold(reservation=current, until=payment.expires_at or ceiling, now=now)  # as long
    except HoldExpired:
        expire_open_sessions(current)  # the hold ran out meanwhile: nobody may pay for it
        raise
    return payment


def expire_open_sessions(reservation: Reservation, *, payments: list[Payment] | None = None) -> int:
    """Close the booking's pending Checkout Sessions at Stripe (outside any transaction) and mark them
    expired. A session Stripe cannot close now stays pending: a payment made on it is refunded when
    the slot has gone (the webhook's late-payment rule). Returns how many were closed."""
    if payments is None:
        payments = list(Payment.objects.filter(reservation=reservation, status=Payment.Status.PENDING))
    closed = 0
    for payment in payments:
        try:
            gateway.expire_checkout_session(payment.stripe_checkout_session_id)
        except stripe.StripeError as error:
            logger.warning("Could not expire checkout session of %s: %s", reservation.reference, type(error).__name__)
            continue
        closed += Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            status=Payment.Status.EXPIRED
        )
    return closed


def close_checkout_when_hold_ends(reservation: Reservation) -> None:
    """The booking services' `hold_ended` hook: once the hold's end is committed, close its open
    Checkout Session so the guest cannot pay for a slot that is no longer theirs."""
    if not online_payments_enabled():
        return
    transaction.on_commit(lambda: expire_open_sessions(reservation))


def payment_words(venue: Venue) -> str:
    """How a venue is paid, in a sentence for its page."""
    if venue.payment_mode == PaymentMode.NONE:
        return ""
    if not online_payments_enabled():
        return gettext("You pay at the venue.")
    match venue.payment_mode:
        case PaymentMode.DEPOSIT_PER_GUEST:
            sentence = gettext(
                "%(venue)s asks for a deposit of %(deposit)s per guest when you book, paid online with Stripe."
            ) % {"venue": venue.name, "deposit": money(venue.deposit_per_guest, venue.currency)}
        case PaymentMode.DEPOSIT_PERCENT:
            sentence = gettext(
                "%(venue)s asks for a deposit of %(percent)s %% of the price when you book, paid online with Stripe."
            ) % {"venue": venue.name, "percent": venue.deposit_percent}
        case PaymentMode.FIRST_NIGHT:
            sentence = gettext("%(venue)s asks for the first night when you book, paid online with Stripe.") % {
                "venue": venue.name
            }
        case _:
            sentence = gettext("%(venue)s asks for the full price when you book, paid online with Stripe.") % {
                "venue": venue.name
            }
    return sentence
