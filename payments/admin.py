"""Payments and refunds for staff: read-only records of what Stripe did, and a refund action that
goes through the same service as a cancellation's refund."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core.formats import money
from payments.models import Payment, Refund, StripeEvent
from payments.services import refund_issue
from reservations.admin import add_reservation_inline
from reservations.exceptions import BookingError
from spaces import powers
from spaces.admin_scope import VenueScoped, VenueScopedInline
from spaces.powers import Power


class RefundInline(VenueScopedInline, admin.TabularInline):
    model = Refund
    venue_path = "payment__reservation__space__venue"
    parent_venue_path = "reservation__space__venue"
    view_power = Power.VIEW_PAYMENTS
    change_power = None
    extra = 0
    can_delete = False
    fields = ["created_at", "amount", "currency", "status", "reason", "stripe_refund_id", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(VenueScopedInline, admin.TabularInline):
    """Shown on each reservation, to those who may see the venue's payments."""

    model = Payment
    venue_path = "reservation__space__venue"
    parent_venue_path = "space__venue"
    view_power = Power.VIEW_PAYMENTS
    change_power = None
    extra = 0
    can_delete = False
    fields = [
        "created_at",
        "amount",
        "currency",
        "status",
        "paid_at",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
    ]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


add_reservation_inline(PaymentInline)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=gettext_lazy("Leave as it is for a full refund of what is left."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


@admin.register(Payment)
class PaymentAdmin(VenueScoped, admin.ModelAdmin):
    """A venue's managers see its payments and refund beyond the policy (the refund page)."""

    venue_path = "reservation__space__venue"
    view_power = Power.VIEW_PAYMENTS
    change_power = Power.REFUND
    list_display = ["created_at", "reservation", "amount", "currency", "status", "paid_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["reservation"]
    search_fields = [
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "refunds__stripe_refund_id",
        "reservation__reference",
        "reservation__guest__email",
    ]
    readonly_fields = [field.name for field in Payment._meta.fields]
    inlines = [RefundInline]
    actions = ["refund_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Refund (full or partial)"), permissions=["change"])
    def refund_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Refund one payment at a time."), messages.WARNING)
            return None
        return redirect(reverse("admin:payments_payment_refund", args=[queryset.get().pk]))

    def get_urls(self):
        return [
            path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="payments_payment_refund"),
            *super().get_urls(),
        ]

    def refund_view(self, request, pk):
        payment = self.get_queryset(request).select_related("reservation__space__venue").filter(pk=pk).first()
        if payment is None or not self.has_change_permission(request, payment):
            raise PermissionDenied
        refundable = payment.refundable()
        form = RefundForm(request.POST or None, initial={"amount": refundable})
        if request.method == "POST" and form.is_valid():
            try:
                refund_issue(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except (BookingError, InvalidOperation) as error:
                form.add_error("amount", str(error))
            else:
                amount = money(form.cleaned_data["amount"], payment.currency)
                self.message_user(request, _("Refund of %(amount)s requested.") % {"amount": amount})
                return redirect("admin:payments_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": pgettext("verb", "Refund %(payment)s") % {"payment": payment},
            "payment": payment,
            "refundable": refundable,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/payments/refund.html", context)


@admin.register(Refund)
class RefundAdmin(VenueScoped, admin.ModelAdmin):
    venue_path = "payment__reservation__space__venue"
    view_power = Power.VIEW_PAYMENTS
    change_power = None
    list_select_related = ["payment__reservation"]  # each row names its payment and booking: no query per row
    list_display = ["created_at", "payment", "amount", "currency", "status", "stripe_refund_id"]
    list_filter = ["status"]
    search_fields = ["stripe_refund_id", "payment__stripe_payment_intent_id", "payment__reservation__reference"]
    readonly_fields = [field.name for field in Refund._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Stripe's raw events belong to no one venue: superusers only."""

    def has_module_permission(self, request):
        return _superuser(request)

    def has_view_permission(self, request, obj=None):
        return _superuser(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    list_display = ["received_at", "type", "event_id"]
    list_filter = ["type"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "type", "received_at", "payload"]

    def has_add_permission(self, request):
        return False


def _superuser(request) -> bool:
    return powers.venue_ids(request.user, Power.VIEW_PAYMENTS) is None
