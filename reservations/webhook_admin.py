"""The admin of partners' webhooks (reservations/webhooks.py): a venue's managers register endpoints,
see every delivery with its attempts, and send one again. Imported by reservations/admin.py."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.fetch import FetchError, check_address
from reservations import webhooks
from reservations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from spaces.admin_scope import VenueScoped
from spaces.powers import Power


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 80}),
        help_text=_("Where the events are POSTed (https)."),
    )
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEndpoint.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events sent to this address."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["venue", "url", "description", "events", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_address(
                url,
                allow_private=settings.HOLDFAST_WEBHOOK_ALLOW_PRIVATE,
                allow_http=settings.HOLDFAST_WEBHOOK_ALLOW_HTTP,
            )
        except FetchError as error:
            raise forms.ValidationError(str(error)) from None
        return url


def _secret_message(endpoint: WebhookEndpoint) -> str:
    return format_html(
        "{} <code class='webhook-secret'>{}</code> {}",
        _("%(endpoint)s: its signing secret is") % {"endpoint": endpoint},
        endpoint.secret,
        _("Copy it now: it is not shown again (docs/webhooks.md says how to check a signature)."),
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(VenueScoped, admin.ModelAdmin):
    """A venue's partners' addresses. The signing secret is shown once, when an endpoint is made or
    its secret is rolled; a partner that answered 410 Gone was switched off (the reason says when)."""

    form = WebhookEndpointForm
    venue_path = "venue"
    view_power = change_power = delete_power = Power.MANAGE_VENUE
    list_display = ["url", "venue", "description", "event_list", "is_active", "disabled_reason"]
    list_filter = ["is_active", "venue"]
    list_select_related = ["venue"]
    readonly_fields = ["secret_hint", "disabled_reason", "created_at"]
    actions = ["roll_secret"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj):
        if obj is None or not obj.secret:
            return _("Made when the endpoint is saved, and shown once then.")
        return f"whsec_…{obj.secret[-4:]}"

    def save_model(self, request, obj, form, change):
        made = obj.pk is None
        if made:
            obj.secret = webhooks.new_secret()
        if change and "is_active" in form.changed_data and obj.is_active:
            obj.disabled_reason = ""  # switched on again by a manager
        super().save_model(request, obj, form, change)
        if made:
            self.message_user(request, _secret_message(obj), messages.WARNING)

    @admin.action(description=_("New signing secret (the old one stops working at once)"), permissions=["change"])
    def roll_secret(self, request, queryset):
        for endpoint in queryset:
            if not self.has_change_permission(request, endpoint):
                continue
            endpoint.secret = webhooks.new_secret()
            endpoint.save(update_fields=["secret"])
            self.message_user(request, _secret_message(endpoint), messages.WARNING)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("attempts (latest first)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # on a delivery's page, which its venue's managers alone may open


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(VenueScoped, admin.ModelAdmin):
    """Every event sent (or to be sent) to the venue's partners, its attempts and their answers; the
    action sends the selected again, as they were (same event id)."""

    venue_path = "endpoint__venue"
    view_power = change_power = Power.MANAGE_VENUE
    list_display = [
        "created_at",
        "event_type",
        "reservation",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint", "reservation"]
    search_fields = ["event_id", "reservation__reference", "endpoint__url"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["resend_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing on the page can be edited; "change" is what the resend action needs.
        return super().has_change_permission(request, obj) and obj is None

    @admin.action(description=_("Send the selected deliveries again"), permissions=["change"])
    def resend_selected(self, request, queryset):
        count = webhooks.resend(queryset, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Queued %(count)s delivery to be sent again.", "Queued %(count)s deliveries to be sent again.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )
