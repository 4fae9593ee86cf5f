"""Deposits and prepayments through Stripe Checkout, the webhook, and refunds by the venue's policy.

By concern: `checkout` (taking money up front), `webhook` (Stripe's events, applied once),
`refunds` (money given back), `consistency` (what `check_payments` reports). What a booking costs
and what is due up front is the booking engine's pricing policy (reservations/pricing.py); payments
answers its hooks (reservations/hooks.py), registered in PaymentsConfig.ready.
"""

from payments.services.checkout import (
    PaymentUnavailable,
    checkout_start,
    checkout_urls,
    close_checkout_when_hold_ends,
    expire_open_sessions,
    is_paid,
    online_payments_enabled,
    payment_words,
    takes_payment,
)
from payments.services.consistency import inconsistencies
from payments.services.refunds import (
    balance,
    refund_after_repricing,
    refund_issue,
    refund_on_cancellation,
    refund_percent,
    refund_preview,
    retry_refunds,
    submit_refund,
)
from payments.services.webhook import handle_webhook

__all__ = [
    "PaymentUnavailable",
    "balance",
    "checkout_start",
    "refund_after_repricing",
    "checkout_urls",
    "close_checkout_when_hold_ends",
    "expire_open_sessions",
    "handle_webhook",
    "inconsistencies",
    "is_paid",
    "online_payments_enabled",
    "payment_words",
    "refund_issue",
    "refund_on_cancellation",
    "refund_percent",
    "refund_preview",
    "retry_refunds",
    "submit_refund",
    "takes_payment",
]
