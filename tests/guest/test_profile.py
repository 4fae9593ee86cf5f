import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from guest.account_forms import PHONE_MESSAGE
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


@pytest.mark.parametrize("phone", ["+49 30 1234567", "(030) 123-45-67", "123456", "+1 (555) 010-9999 1234 5678 90"])
def test_guest_saves_name_and_phone(client, guest, phone):
    response = client.post(PROFILE_URL, {"name": "  Ada   Lovelace ", "phone": f" {phone} "})

    assert response.status_code == 302
    assert response["Location"] == PROFILE_URL
    guest.refresh_from_db()
    assert guest.name == "Ada Lovelace"
    assert guest.phone == phone
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
        "1" * 33,  # too long
        "+49 30 12x4567",  # a letter
        "030/1234567",  # a slash
        "+49.30.1234567",  # dots
        "(+) - ()",  # no digits at all
    ],
)
def test_invalid_phone_is_refused_with_a_clear_message(client, guest, phone):
    response = client.post(PROFILE_URL, {"name": "Ada Lovelace", "phone": phone})

    assert response.status_code == 200
    assert response.context["form"].errors == {"phone": [PHONE_MESSAGE]}
    assert b"6 to 32 characters" in response.content
    assert b'aria-invalid="true"' in response.content
    guest.refresh_from_db()
    assert (guest.name, guest.phone) == ("Ada", "")


def test_profile_form_changes_only_the_logged_in_guests_name_and_phone(client, guest):
    other = UserFactory(name="Grace", phone="+44 20 7946 0000")

    client.post(PROFILE_URL, {"name": "Mallory", "phone": "123456", "email": other.email})

    other.refresh_from_db()
    guest.refresh_from_db()
    assert (other.name, other.phone) == ("Grace", "+44 20 7946 0000")
    assert guest.name == "Mallory"
    assert guest.email != other.email
