"""What the venue's partners are told of its money (reservations/webhooks.py sends it): a payment that
came in (`payment.paid`) and a refund that went through (`payment.refunded`), each with its booking."""

from payments.models import Payment, Refund
from reservations.webhooks import reservation_data


def payment_data(payment: Payment) -> dict:
    return {
        "object": "payment",
        "id": payment.pk,
        "status": payment.status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "stripe_payment_intent": payment.stripe_payment_intent_id or None,
        "reservation": reservation_data(payment.reservation),
    }


def refund_data(refund: Refund) -> dict:
    payment = refund.payment
    return {
        "object": "refund",
        "id": refund.pk,
        "status": refund.status,
        "amount": str(refund.amount),
        "currency": refund.currency,
        "reason": refund.reason,
        "completed_at": refund.completed_at.isoformat() if refund.completed_at else None,
        "payment": {"id": payment.pk, "amount": str(payment.amount), "currency": payment.currency},
        "reservation": reservation_data(payment.reservation),
    }
