"""A guest's name and phone, asked once: at sign-up (the name required, the phone if they like), kept on the
account, edited on the profile. Phones are read with `phonenumbers` (accounts/phones.py): what people type,
stored in E.164, shown in the international format, refused in plain words next to the field."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import phones
from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = reverse("account_signup")
PROFILE = reverse("accounts:profile")


def sign_up(client, **fields):
    form = {"name": "Ada Lovelace", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    return client.post(SIGNUP, form | fields)


# --- accounts.phones: one place that reads and writes phone numbers ----------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+49 30 1234567", "+49301234567"),
        ("+49 (0)30 123 45 67", "+49301234567"),
        ("0049 30 1234567", "+49301234567"),
        ("07400 123456", "+447400123456"),  # no country code: the default region, GB
        ("020-7946-0000", "+442079460000"),
        ("  +1 212 555 0100 ", "+12125550100"),
    ],
)
def test_normalise_reads_what_people_type_into_e164(typed, e164):
    assert phones.normalise(typed) == e164
    assert phones.normalise(e164) == e164  # reading it again changes nothing


def test_a_number_without_its_country_code_is_read_in_the_configured_region(settings):
    with pytest.raises(ValidationError):
        phones.normalise("030 1234567")  # not a British number

    settings.HOLDFAST_PHONE_REGION = "DE"
    assert phones.normalise("030 1234567") == "+49301234567"
    with pytest.raises(ValidationError):
        phones.normalise("030 1234567", region="GB")  # the caller's region wins over the setting


@pytest.mark.parametrize("typed", ["12", "12345", "+49 30 12x4567", "hello", "+", "1" * 41, "+999 1234567"])
def test_normalise_refuses_what_is_not_a_phone_number_in_plain_words(typed):
    with pytest.raises(ValidationError) as refused:
        phones.normalise(typed)

    assert refused.value.code == "invalid_phone"
    (message,) = refused.value.messages
    assert message.startswith("This is not a phone number we can call.")
    assert "07400 123456" in message and "+44 7400 123456" in message  # how to write one, in this region


def test_empty_is_no_phone():
    assert phones.normalise("") == phones.normalise("   ") == ""
    assert phones.display("") == phones.tel_href("") == ""


def test_display_and_tel_link_of_a_stored_number():
    assert phones.display("+49301234567") == "+49 30 1234567"
    assert phones.display("+447400123456") == "+44 7400 123456"
    assert phones.tel_href("+49301234567") == "tel:+49301234567"
    # A phone typed before numbers were checked is shown as it was, its digits still callable.
    assert phones.display("030 123-4567") == "030 123-4567"
    assert phones.tel_href("030 123-4567") == "tel:0301234567"


# --- Sign-up asks the name and the phone ----------------------------------------------------------------


def test_sign_up_asks_the_name_first_and_the_phone_as_optional(client):
    html = client.get(SIGNUP).content.decode()

    names = [name for name in ("name", "email", "phone", "password1") if f'name="{name}"' in html]
    assert names == ["name", "email", "phone", "password1"]
    assert html.index('name="name"') < html.index('name="email"') < html.index('name="phone"')
    assert '<input type="text" name="name" autocomplete="name" maxlength="150" required' in html
    assert 'type="tel"' in html and 'autocomplete="tel"' in html
    phone_input = html[html.index('name="phone"') - 100 : html.index('name="phone"') + 200]
    assert "required" not in phone_input
    assert "Optional." in html


def test_sign_up_stores_the_name_and_the_phone_in_e164(client):
    response = sign_up(client, name="  Ada   Lovelace ", phone="07400 123456")

    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    assert (user.name, user.phone) == ("Ada Lovelace", "+447400123456")
    assert len(mail.outbox) == 1  # the verification e-mail


def test_sign_up_without_a_phone_is_fine(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert User.objects.get(email="ada@example.com").phone == ""


def test_sign_up_without_a_name_is_refused_next_to_the_field(client):
    response = sign_up(client, name="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["Tell us your name: the venue greets you by it."]
    assert b'aria-invalid="true"' in response.content
    assert not User.objects.exists()
    assert mail.outbox == []


def test_sign_up_with_a_phone_that_is_none_is_refused_in_plain_words(client):
    response = sign_up(client, phone="030 1234567")

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone"]
    html = response.content.decode()
    assert "This is not a phone number we can call." in html
    assert 'aria-invalid="true"' in html
    assert not User.objects.exists()
    assert mail.outbox == []


def test_a_name_too_long_is_refused_in_our_words(client):
    response = sign_up(client, name="A" * 151)

    assert response.context["form"].errors["name"] == ["A name can be up to 150 characters."]


def test_the_app_signs_up_with_name_and_phone_too(client):
    response = client.post(
        "/_allauth/app/v1/auth/signup",
        {"email": "app@example.com", "password": PASSWORD, "name": "Grace Hopper", "phone": "+1 212 555 0100"},
        content_type="application/json",
    )

    assert response.status_code in (200, 401), response.content  # 401: the e-mail address is to be verified
    user = User.objects.get(email="app@example.com")
    assert (user.name, user.phone) == ("Grace Hopper", "+12125550100")


def test_the_app_is_told_which_field_is_wrong(client):
    response = client.post(
        "/_allauth/app/v1/auth/signup",
        {"email": "app@example.com", "password": PASSWORD, "name": "", "phone": "12"},
        content_type="application/json",
    )

    assert response.status_code == 400
    params = {error["param"] for error in response.json()["errors"]}
    assert params == {"name", "phone"}
    assert not User.objects.exists()


# --- The profile: the same name and phone, edited -----------------------------------------------------------


@pytest.fixture
def ada(client):
    user = UserFactory(name="Ada", phone="+447400123456")
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    client.force_login(user)
    return user


def test_the_profile_shows_the_phone_in_the_international_format(client, ada):
    html = client.get(PROFILE).content.decode()

    assert 'value="+44 7400 123456"' in html
    assert 'value="Ada"' in html


def test_editing_the_profile_stores_the_phone_in_e164(client, ada):
    response = client.post(PROFILE, {"name": "Ada Lovelace", "phone": "+49 30 1234567"})

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.name, ada.phone) == ("Ada Lovelace", "+49301234567")


def test_saving_the_profile_as_shown_keeps_the_phone(client, ada):
    client.post(PROFILE, {"name": "Ada", "phone": "+44 7400 123456"})  # what the page showed

    ada.refresh_from_db()
    assert ada.phone == "+447400123456"


def test_the_profile_refuses_a_bad_phone_and_an_empty_name_next_to_each_field(client, ada):
    response = client.post(PROFILE, {"name": "", "phone": "12"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["name"] == ["Tell us your name: the venue greets you by it."]
    assert errors["phone"][0].startswith("This is not a phone number we can call.")
    ada.refresh_from_db()
    assert (ada.name, ada.phone) == ("Ada", "+447400123456")
