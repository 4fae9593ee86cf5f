from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # What the booking services ask of payments, and tell it, inside their transactions
        # (reservations/hooks.py): whether money is taken up front, whether it arrived, refunds on
        # cancellation, keeping the bookings money was involved in, and closing the payment page of a
        # hold that ended.
        from payments.services import (
            balance,
            close_checkout_when_hold_ends,
            is_paid,
            refund_after_repricing,
            refund_on_cancellation,
            takes_payment,
        )
        from reservations import hooks

        hooks.collects_payment.register(takes_payment)
        hooks.is_paid.register(is_paid)
        hooks.cancelled.register(refund_on_cancellation)
        hooks.retained.register(_reservations_with_payments)
        hooks.hold_ended.register(close_checkout_when_hold_ends)
        hooks.balance.register(balance)
        hooks.repriced.register(refund_after_repricing)


def _reservations_with_payments():
    from payments.models import Payment

    return Payment.objects.values("reservation_id")
