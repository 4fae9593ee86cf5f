from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import phones
from accounts.models import SmsOptOut, User
from core import sms

NAME_MAX = User._meta.get_field("name").max_length


def clean_name(value: str) -> str:
    """A name as people write it, without the spaces pasted around or inside it."""
    return " ".join(value.split())


def clean_phone(value: str) -> str:
    """A phone as typed ("030 1234567", "+49 30 1234567") in E.164 (accounts/phones.py); "" for none."""
    return phones.normalise(value)


NAME_LABEL = _("Your name")
NAME_ERRORS = {
    "required": _("Tell us your name: the venue greets you by it."),
    "max_length": _("A name can be up to %(limit_value)d characters."),
}
NAME_HELP = _("The name the venue greets you by. You can give another one when you book for someone else.")
PHONE_LABEL = _("Phone number")
PHONE_HELP = _("So the venue can reach you about your booking. Optional.")


def phone_field(**kwargs) -> forms.CharField:
    # Typed with spaces and brackets: longer than the E.164 stored. The browser stops at the limit;
    # accounts.phones refuses what is longer in its own words (no "Ensure this value has at most...").
    return forms.CharField(
        label=PHONE_LABEL,
        help_text=PHONE_HELP,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "maxlength": phones.MAX_TYPED_LENGTH}),
        **kwargs,
    )


class SignupForm(forms.Form):
    """What allauth's sign-up asks besides e-mail and password (settings.ACCOUNT_SIGNUP_FORM_CLASS: allauth's
    form, the page's and the app API's, derives from this): the guest's name, and their phone if they like
    (the first booking asks it otherwise). accounts.adapter.AccountAdapter.save_user stores both."""

    field_order = ["name", "email", "phone", "password1", "password2"]

    name = forms.CharField(
        label=NAME_LABEL,
        max_length=NAME_MAX,
        help_text=NAME_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages=NAME_ERRORS,
    )
    phone = phone_field()

    def clean_name(self):
        return clean_name(self.cleaned_data["name"])

    def clean_phone(self):
        return clean_phone(self.cleaned_data["phone"])

    def signup(self, request, user):
        """allauth asks for this; the adapter's save_user has stored the name and phone already."""


class ProfileForm(forms.ModelForm):
    """Name, phone, language and, where the site sends text messages, whether to get them about every
    booking (reminders and waitlist offers, where the venue sends them); that needs a phone."""

    phone = phone_field()

    class Meta:
        model = User
        fields = ["name", "phone", "language", "sms_messages"]
        labels = {"name": NAME_LABEL, "sms_messages": _("Text me reminders and waitlist offers")}
        help_texts = {
            "sms_messages": _("To the phone above, as well as the e-mail, where the venue sends them by text.")
        }
        widgets = {"name": forms.TextInput(attrs={"autocomplete": "name"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["language"].choices = [("", _("The one my browser asks for")), *settings.LANGUAGES]
        self.fields["name"].error_messages.update(NAME_ERRORS)
        if self.instance.phone and not self.is_bound:
            self.initial["phone"] = phones.display(self.instance.phone)
        if not sms.configured():
            del self.fields["sms_messages"]  # the site sends no texts: nothing to choose
        elif self.instance.phone and SmsOptOut.objects.filter(phone=self.instance.phone).exists():
            self.fields["sms_messages"].help_text = _(
                "Your number answered STOP, so we send it no texts. Reply START to one of our texts to get them again."
            )

    def clean_name(self):
        return clean_name(self.cleaned_data["name"])

    def clean_phone(self):
        return clean_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        if data.get("sms_messages") and "phone" in data and not data["phone"]:
            self.add_error("sms_messages", _("To get text messages, give your phone number above."))
        return data


class AccountDeleteForm(forms.Form):
    """Deleting an account cannot be undone: the password confirms it is the guest, not a borrowed session."""

    password = forms.CharField(
        label=_("Your password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("That is not your password."), code="wrong_password")
        return password
