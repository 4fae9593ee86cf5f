import re

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User

PHONE_CHARACTERS = re.compile(r"[0-9 +\-()]+")
PHONE_MESSAGE = (
    "Enter a phone number of 6 to 32 characters, using only digits, spaces, +, - and parentheses, "
    "for example +49 30 1234 5678."
)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "phone"]
        labels = {"name": "Your name", "phone": "Phone number"}
        help_texts = {"phone": "So the venue can reach you about your booking. Optional."}
        # The model's 32-character limit is checked before clean_phone(); give it the same message.
        error_messages = {"phone": {"max_length": PHONE_MESSAGE}}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        }

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not phone:
            return phone
        if not (6 <= len(phone) <= 32 and PHONE_CHARACTERS.fullmatch(phone) and any(c.isdigit() for c in phone)):
            raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
        return phone


class AccountDeleteForm(forms.Form):
    """Deleting an account cannot be undone: the password confirms it is the guest, not a borrowed session."""

    password = forms.CharField(
        label="Your password",
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
            raise ValidationError("That is not your password.", code="wrong_password")
        return password
