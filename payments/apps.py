from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # What the booking services ask of payments, and tell it, inside their transactions
        # (reservations/hooks.py): whether money is taken up front, whether it arrived, refunds on
        # cancellation, and keeping the bookings money was involved in.
        from payments.services import is_paid, refund_on_cancellation, takes_payment
        from reservations import hooks

        hooks.collects_payment.register(takes_payment)
        hooks.is_paid.register(is_paid)
        hooks.cancelled.register(refund_on_cancellation)
        hooks.retained.register(_reservations_with_payments)


def _reservations_with_payments():
    from payments.models import Payment

    return Payment.objects.values("reservation_id")
