"""What `manage.py check_payments` reports: money and bookings that disagree."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from payments.models import Payment, Refund
from reservations.models import Reservation


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
    # A change re-prices the booking and refunds what a lower price leaves over: keeping more than is due
    # means a refund went missing. (Keeping less is a staff refund beyond the policy, not a fault.)
    paid_for = (
        Reservation.objects.filter(status__in=settled, payments__status=Payment.Status.PAID)
        .distinct()
        .prefetch_related("payments__refunds")
    )
    for reservation in paid_for:
        kept = sum(
            (
                payment.amount - payment.refunded_or_pending()
                for payment in reservation.payments.all()
                if payment.status == "paid"
            ),
            Decimal("0"),
        )
        if kept > reservation.amount_due:
            problems.append(
                f"Paid more than is due: {reservation.reference} ({kept} {reservation.currency} kept, "
                f"{reservation.amount_due} due after its last change)"
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
