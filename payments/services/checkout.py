"""Taking money up front through Stripe Checkout.

The order of things when a booking needs money up front:
1. the booking service holds the slot (`amount_due` is set by reservations.pricing, which asks the
   `collects_payment` hook: `takes_payment` below);
2. `checkout_start` extends the hold to cover Stripe's checkout (30 minutes at least) and opens a
   Checkout Session, outside any transaction, with an idempotency key;
3. Stripe's webhook (payments/services/webhook.py) confirms the booking through the booking service.
"""

import logging
from datetime import timedelta

import stripe
from django.utils import timezone

from payments import gateway
from payments.models import Payment
from reservations.exceptions import BookingError, PolicyViolation
from reservations.models import Reservation
from reservations.services import reservation_extend_hold
from reservations.wording import what_words
from spaces.models import PaymentMode, Venue

logger = logging.getLogger(__name__)
CHECKOUT_MINUTES = 31  # Stripe refuses a Checkout Session that expires in less than 30 minutes


class PaymentUnavailable(BookingError):
    """Stripe could not be reached or refused: nothing was charged, the hold is kept."""


def online_payments_enabled() -> bool:
    return gateway.configured()


def takes_payment(venue: Venue) -> bool:
    """Does booking here involve Stripe (a deposit or prepayment, with Stripe set up)? The booking
    services' `collects_payment` hook."""
    return online_payments_enabled() and venue.payment_mode != PaymentMode.NONE


def is_paid(reservation: Reservation) -> bool:
    """Has the booking's up-front payment arrived? The booking services' `is_paid` hook."""
    return reservation.payments.filter(status=Payment.Status.PAID).exists()


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
            description=f"{venue.name}: {what_words(reservation)}",
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
