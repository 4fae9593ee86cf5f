"""What `manage.py check_payments` reports: money and bookings that disagree."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.formats import money
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
                f"Paid but not confirmed: {payment.reservation.reference} ({money(payment.amount, payment.currency)}, "
                f"booking {payment.reservation.get_status_display().lower()}, not refunded)"
            )
    unpaid = Reservation.objects.filter(status__in=settled, amount_due__gt=0).exclude(
        payments__status=Payment.Status.PAID
    )
    for reservation in unpaid:
        problems.append(
            f"Confirmed but unpaid: {reservation.reference} ({money(reservation.amount_due, reservation.currency)} due)"
        )
    # A change re-prices the booking and refunds what a lower price leaves over: keeping more than is due
    # means a refund went missing. (Keeping less is a staff refund beyond the policy, not a fault.)
    # One query, whatever the number of bookings: the amounts kept are summed in the database.
    paid = (
        Payment.objects.filter(reservation=OuterRef("pk"), status=Payment.Status.PAID)
        .values("reservation")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    refunded = (
        Refund.objects.filter(payment__reservation=OuterRef("pk"), payment__status=Payment.Status.PAID)
        .exclude(status__in=[Refund.Status.FAILED, Refund.Status.CANCELED])
        .values("payment__reservation")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=12, decimal_places=2))
    overpaid = (
        Reservation.objects.filter(status__in=settled)
        .annotate(kept=Coalesce(Subquery(paid), zero) - Coalesce(Subquery(refunded), zero))
        .filter(kept__gt=F("amount_due"))
        .order_by("pk")
    )
    for reservation in overpaid:
        problems.append(
            f"Paid more than is due: {reservation.reference} ({money(reservation.kept, reservation.currency)} kept, "
            f"{money(reservation.amount_due, reservation.currency)} due after its last change)"
        )
    stuck = Refund.objects.filter(
        status__in=[Refund.Status.REQUESTED, Refund.Status.PENDING], created_at__lt=now - timedelta(days=1)
    )
    for refund in stuck.select_related("payment__reservation"):
        problems.append(
            f"Refund stuck: {money(refund.amount, refund.currency)} for {refund.payment.reservation.reference} "
            f"({refund.get_status_display().lower()} since {refund.created_at:%Y-%m-%d %H:%M} UTC)"
        )
    for refund in Refund.objects.filter(status=Refund.Status.FAILED).select_related("payment__reservation"):
        reference = refund.payment.reservation.reference
        problems.append(f"Refund failed: {money(refund.amount, refund.currency)} for {reference}: {refund.last_error}")
    return problems
