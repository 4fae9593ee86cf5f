"""The only code that talks to Stripe. Amounts cross this line in the currency's minor unit."""

from decimal import Decimal

import stripe
from django.conf import settings

# Currencies without a minor unit (Stripe's list); for these 1 unit is sent as 1, not 100.
ZERO_DECIMAL = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount if currency.upper() in ZERO_DECIMAL else (amount * 100).quantize(Decimal("1")))


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount) if currency.upper() in ZERO_DECIMAL else Decimal(amount) / 100


def _client() -> stripe.StripeClient:
    options = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


def create_checkout_session(
    *, reference, attempt, description, amount, currency, email, success_url, cancel_url, expires_at
):
    """A Stripe Checkout Session for one payment. The idempotency key is the booking's reference and
    the attempt's number: a retry of the same attempt (with the same parameters, as Stripe requires)
    returns the same session, so a double click never charges twice; a new attempt gets a new key."""
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor(amount, currency),
                    "product_data": {"name": description},
                },
                "quantity": 1,
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": reference,
        "metadata": {"reference": reference},
        "payment_intent_data": {"metadata": {"reference": reference}},
        "expires_at": int(expires_at.timestamp()),
    }
    if email:
        params["customer_email"] = email
    return _client().v1.checkout.sessions.create(
        params=params, options={"idempotency_key": f"checkout-{reference}-{attempt}"}
    )


def expire_checkout_session(session_id: str):
    """Close an open Checkout Session at Stripe, so that nobody pays for a hold that has ended."""
    return _client().v1.checkout.sessions.expire(session_id)


def create_refund(*, payment_intent: str, amount: Decimal, currency: str, idempotency_key: str):
    return _client().v1.refunds.create(
        params={"payment_intent": payment_intent, "amount": to_minor(amount, currency)},
        options={"idempotency_key": idempotency_key},
    )


def construct_event(payload: bytes, signature: str):
    """The event, if Stripe signed it with our secret recently; raises otherwise."""
    return stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
