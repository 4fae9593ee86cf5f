"""The guest's way in through allauth: sign up, verify the e-mail address, log in, reset a password."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-and-longer-passphrase"


def link_in(message, path_prefix):
    """The first link in an e-mail's text that starts with http://testserver<path_prefix>."""
    match = re.search(rf"http://testserver({re.escape(path_prefix)}\S+)", message.body)
    assert match, f"no link to {path_prefix} in:\n{message.body}"
    return match.group(1)


def sign_up(client, email="ada@example.com", password=PASSWORD, name="Ada Lovelace"):
    return client.post(
        reverse("account_signup"), {"name": name, "email": email, "password1": password, "password2": password}
    )


def test_sign_up_sends_a_verification_link_and_does_not_log_in(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not get_user(client).is_authenticated
    user = User.objects.get(email="ada@example.com")
    assert EmailAddress.objects.get(user=user).verified is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert mail.outbox[0].subject.startswith("[Holdfast] ")


def test_following_the_verification_link_and_confirming_logs_the_guest_in(client):
    sign_up(client)
    confirm_path = link_in(mail.outbox[0], "/accounts/confirm-email/")

    # Opening the link only shows a confirm button (mail scanners follow links too) ...
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert b'class="skip-link"' in page.content
    assert b"ada@example.com" in page.content
    assert not get_user(client).is_authenticated
    assert EmailAddress.objects.get(email="ada@example.com").verified is False

    # ... and posting it verifies the address and logs the guest in.
    response = client.post(confirm_path)

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="ada@example.com").verified is True
    user = get_user(client)
    assert user.is_authenticated
    assert user.email == "ada@example.com"
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_log_in_is_refused_until_the_address_is_verified(client):
    sign_up(client)
    client.logout()
    mail.outbox.clear()

    response = client.post(reverse("account_login"), {"login": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not get_user(client).is_authenticated


def test_verified_guest_logs_in_with_email_and_password(client):
    UserFactory(email="grace@example.com")

    response = client.post(reverse("account_login"), {"login": "grace@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert get_user(client).email == "grace@example.com"


def test_log_in_with_a_wrong_password_is_refused_with_a_message(client):
    UserFactory(email="grace@example.com")

    response = client.post(reverse("account_login"), {"login": "grace@example.com", "password": "wrong-password"})

    assert response.status_code == 200
    assert b"not correct" in response.content
    assert not get_user(client).is_authenticated


def test_log_out_ends_the_session(client):
    client.force_login(UserFactory())

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert not get_user(client).is_authenticated


def test_password_reset_sends_a_link_that_sets_a_new_password(client):
    UserFactory(email="grace@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "grace@example.com"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["grace@example.com"]
    reset_path = link_in(mail.outbox[0], "/accounts/password/reset/key/")

    # allauth moves the key out of the URL into the session, then shows the form.
    form_page = client.get(reset_path, follow=True)
    assert form_page.status_code == 200
    assert b'name="password1"' in form_page.content
    set_password_path = form_page.redirect_chain[-1][0]
    response = client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302

    client.logout()
    client.post(reverse("account_login"), {"login": "grace@example.com", "password": NEW_PASSWORD})
    assert get_user(client).email == "grace@example.com"


def test_password_reset_answers_the_same_for_an_unknown_address(client):
    UserFactory(email="grace@example.com")
    known = client.post(reverse("account_reset_password"), {"email": "grace@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    # Only the real account receives a reset link.
    reset_links = [m.to for m in mail.outbox if "/accounts/password/reset/key/" in m.body]
    assert reset_links == [["grace@example.com"]]
