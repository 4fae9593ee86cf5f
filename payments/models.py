"""Money taken up front through Stripe Checkout, and money given back. Card data never reaches us:
we keep Stripe's ids, amounts and states, each id unique so an event cannot be applied twice."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Sum

from core.formats import money
from reservations.models import Reservation


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Checkout expired"

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the Checkout Session closes at Stripe.")
    refund_cap_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The most a guest's cancellation may give back, once the booking was moved: what cancelling "
        "before the move would have given.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return f"{money(self.amount, self.currency)} for {self.reservation} ({self.get_status_display()})"

    def refunded_or_pending(self) -> Decimal:
        """What is refunded or on its way back (refunds that did not fail)."""
        live = self.refunds.exclude(status__in=[Refund.Status.FAILED, Refund.Status.CANCELED])
        return live.aggregate(total=Sum("amount"))["total"] or Decimal("0")

    def refundable(self) -> Decimal:
        return self.amount - self.refunded_or_pending() if self.status == self.Status.PAID else Decimal("0")


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested (not yet at Stripe)"
        PENDING = "pending", "Pending at Stripe"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last took it to send.")
    last_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"Refund of {money(self.amount, self.currency)} ({self.get_status_display()})"


class StripeEvent(models.Model):
    """Every webhook event we applied, once: Stripe delivers at least once, sometimes more."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"
