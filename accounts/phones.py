"""Phone numbers, in one place: what a person types ("030 1234567", "+49 30 1234567") read with the
`phonenumbers` library (Google's libphonenumber), stored as E.164 ("+49301234567"), shown in the
international format ("+49 30 1234567"). A number without a country code is read as one of
HOLDFAST_PHONE_REGION's (default GB). The sign-up, profile and booking forms and the API call these."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Longer than any number written with spaces and brackets; the library refuses longer input anyway.
MAX_TYPED_LENGTH = 40


def _region(region: str | None) -> str:
    return (region or getattr(settings, "HOLDFAST_PHONE_REGION", "") or "GB").upper()


def normalise(text: str, region: str | None = None) -> str:
    """The number in E.164 ("+49301234567"); "" for an empty `text`. Raises ValidationError (code
    "invalid_phone") with a plain message when it is not a phone number one could call."""
    text = (text or "").strip()
    if not text:
        return ""
    region = _region(region)
    if len(text) > MAX_TYPED_LENGTH:
        raise ValidationError(_invalid_message(region), code="invalid_phone")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_invalid_message(region), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_invalid_message(region), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """A stored number as people read it: "+49301234567" -> "+49 30 1234567". What cannot be read
    as a number (a phone typed before numbers were checked) comes back as it was."""
    e164 = (e164 or "").strip()
    number = _stored(e164)
    if number is None:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel_href(e164: str) -> str:
    """The `tel:` link of a stored number ("tel:+49301234567"); "" when there is none to call."""
    e164 = (e164 or "").strip()
    number = _stored(e164)
    if number is not None:
        return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(c for c in e164 if c.isdigit() or c == "+")
    return f"tel:{digits}" if any(c.isdigit() for c in digits) else ""


def _stored(e164: str):
    """The number a stored "+..." string is; None for anything else (older free text is left as it was:
    without its country code, which country it is in is a guess)."""
    if not e164.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _invalid_message(region: str) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return _("This is not a phone number we can call. Write it with its country code, for example +44 7400 123456.")
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return _(
        "This is not a phone number we can call. Write it as you would dial it, for example %(national)s, "
        "or with its country code, for example %(international)s."
    ) % {"national": national, "international": international}
