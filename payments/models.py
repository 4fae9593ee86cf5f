"""Money taken up front through Stripe Checkout, and money given back. Card data never reaches us:
we keep Stripe's ids, amounts and states, each id unique so an event cannot be applied twice."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from core.formats import money
from reservations.models import Reservation


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Checkout expired")

    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, related_name="payments", verbose_name=_("reservation")
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_checkout_session_id = models.CharField(_("stripe checkout session id"), max_length=255, unique=True)
    stripe_payment_intent_id = models.CharField(
        _("stripe payment intent id"), max_length=255, unique=True, null=True, blank=True
    )
    checkout_url = models.URLField(_("checkout url"), max_length=2000, blank=True)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("When the Checkout Session closes at Stripe.")
    )
    refund_cap_percent = models.PositiveSmallIntegerField(
        _("refund cap percent"),
        null=True,
        blank=True,
        help_text=_(
            "The most a guest's cancellation may give back, once the booking was moved: what cancelling "
            "before the move would have given."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return _("%(amount)s for %(reservation)s (%(status)s)") % {
            "amount": money(self.amount, self.currency),
            "reservation": self.reservation,
            "status": self.get_status_display(),
        }

    def refunded_or_pending(self) -> Decimal:
        """What is refunded or on its way back (refunds that did not fail)."""
        live = self.refunds.exclude(status__in=[Refund.Status.FAILED, Refund.Status.CANCELED])
        return live.aggregate(total=Sum("amount"))["total"] or Decimal("0")

    def refundable(self) -> Decimal:
        return self.amount - self.refunded_or_pending() if self.status == self.Status.PAID else Decimal("0")


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested (not yet at Stripe)")
        PENDING = "pending", _("Pending at Stripe")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    stripe_refund_id = models.CharField(_("stripe refund id"), max_length=255, unique=True, null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(
        _("claimed at"), null=True, blank=True, help_text=_("When a worker last took it to send.")
    )
    last_error = models.TextField(_("last error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return _("Refund of %(amount)s (%(status)s)") % {
            "amount": money(self.amount, self.currency),
            "status": self.get_status_display(),
        }


class StripeEvent(models.Model):
    """Every webhook event we applied, once: Stripe delivers at least once, sometimes more."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("stripe event")
        verbose_name_plural = _("stripe events")

    def __str__(self):
        return f"{self.type} {self.event_id}"
