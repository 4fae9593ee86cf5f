import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")


@pytest.fixture
def guest(client):
    user = UserFactory(name="Ada", phone="")
    client.force_login(user)
    return user


def test_logged_out_visitor_is_sent_to_log_in_and_back(client):
    response = client.get(PROFILE_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={PROFILE_URL}"


def test_profile_page_shows_the_guests_details_in_our_layout(client, guest):
    response = client.get(PROFILE_URL)

    assert response.status_code == 200
    assert b'class="skip-link"' in response.content
    assert guest.email.encode() in response.content
    assert b'<label for="id_name">' in response.content
    assert b'<label for="id_phone">' in response.content


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+49 30 1234567", "+49301234567"),
        ("0049 (30) 123-45-67", "+49301234567"),
        ("020 7946 0000", "+442079460000"),  # HOLDFAST_PHONE_REGION: GB
        ("+1 (212) 555-0100", "+12125550100"),
    ],
)
def test_guest_saves_name_and_phone(client, guest, typed, stored):
    response = client.post(PROFILE_URL, {"name": "  Ada   Lovelace ", "phone": f" {typed} "})

    assert response.status_code == 302
    assert response["Location"] == PROFILE_URL
    guest.refresh_from_db()
    assert guest.name == "Ada Lovelace"
    assert guest.phone == stored
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Your profile was saved."]


def test_guest_may_leave_the_phone_empty(client, guest):
    guest.phone = "+49 30 1234567"
    guest.save()

    response = client.post(PROFILE_URL, {"name": "Ada", "phone": ""})

    assert response.status_code == 302
    guest.refresh_from_db()
    assert guest.phone == ""


@pytest.mark.parametrize(
    "phone",
    [
        "12345",  # too short
        "1" * 41,  # too long
        "+49 30 12x4567",  # a letter
        "030 1234567",  # a Berlin number without its country code, read as British: none
        "(+) - ()",  # no digits at all
    ],
)
def test_invalid_phone_is_refused_with_a_clear_message(client, guest, phone):
    response = client.post(PROFILE_URL, {"name": "Ada Lovelace", "phone": phone})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["phone"]
    assert b"This is not a phone number we can call" in response.content
    assert b"+44 7400 123456" in response.content  # an example with its country code
    assert b'aria-invalid="true"' in response.content
    guest.refresh_from_db()
    assert (guest.name, guest.phone) == ("Ada", "")


def test_profile_form_changes_only_the_logged_in_guests_name_and_phone(client, guest):
    other = UserFactory(name="Grace", phone="+44 20 7946 0000")

    client.post(PROFILE_URL, {"name": "Mallory", "phone": "+44 7400 123456", "email": other.email})

    other.refresh_from_db()
    guest.refresh_from_db()
    assert (other.name, other.phone) == ("Grace", "+44 20 7946 0000")
    assert guest.name == "Mallory"
    assert guest.email != other.email
