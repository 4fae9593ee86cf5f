"""Accounts in the admin: superusers only (a venue's managers give roles by e-mail address on the venue's
page). A person's e-mail addresses are shown on their account, so the admin has one "Accounts" section,
not allauth's beside ours."""

from allauth.account.models import EmailAddress, EmailConfirmation
from django import forms
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import phones
from accounts.models import SmsOptOut, User


class _UniqueEmailMixin:
    """The e-mail address is the log-in: refuse one that differs from another account's only in case."""

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        others = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(gettext("Another account already uses this e-mail address."))
        return email


class UserCreationForm(_UniqueEmailMixin, auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "name", "phone"]


class UserChangeForm(_UniqueEmailMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


for model in (EmailAddress, EmailConfirmation):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


def _address_words(address: EmailAddress) -> str:
    """'guest@example.com (primary, verified)', as the account's page in the admin lists it."""
    words = {"email": address.email}
    if address.primary and address.verified:
        return gettext("%(email)s (primary, verified)") % words
    if address.primary:
        return gettext("%(email)s (primary, not verified)") % words
    if address.verified:
        return gettext("%(email)s (verified)") % words
    return gettext("%(email)s (not verified)") % words


def _superuser(request) -> bool:
    user = request.user
    return user.is_active and user.is_superuser


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["email", "name", "phone", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name", "phone"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["name", "phone", "sms_messages"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "phone", "usable_password", "password1", "password2"],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined", "email_addresses"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, (_("E-mail addresses (allauth)"), {"fields": ["email_addresses"]})]

    @admin.display(description=_("addresses"))
    def email_addresses(self, user):
        addresses = EmailAddress.objects.filter(user=user).order_by("-primary", "email")
        return ", ".join(_address_words(address) for address in addresses) or "—"

    def has_module_permission(self, request):
        return _superuser(request)

    def has_view_permission(self, request, obj=None):
        return _superuser(request)

    def has_change_permission(self, request, obj=None):
        return _superuser(request)

    def has_add_permission(self, request):
        return _superuser(request)

    def has_delete_permission(self, request, obj=None):
        return _superuser(request)


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    """Numbers that answered STOP (or that the provider says did): no text goes to them. Only the
    number's owner lifts it, by answering START; here it is only read."""

    list_display = ["phone_words", "words", "opted_out_at"]
    search_fields = ["phone"]
    ordering = ["-opted_out_at"]
    readonly_fields = ["phone", "words", "opted_out_at"]

    @admin.display(description=_("phone"), ordering="phone")
    def phone_words(self, opt_out):
        return phones.display(opt_out.phone)

    def get_search_results(self, request, queryset, search_term):
        # A number typed as people write it ("07400 123456") finds the E.164 one stored.
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        try:
            number = phones.normalise(search_term)
        except ValidationError:
            number = ""
        if number:
            queryset |= self.model.objects.filter(phone=number)
        return queryset, duplicates

    def has_module_permission(self, request):
        return _superuser(request)

    def has_view_permission(self, request, obj=None):
        return _superuser(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
