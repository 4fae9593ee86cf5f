"""allauth's pages and ours share one layout, and each form field has a label."""

import re

import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

OUR_LAYOUT = b'<a class="skip-link" href="#main">Skip to content</a>'


def assert_in_our_layout(response, heading):
    assert response.status_code == 200
    assert response.content.count(OUR_LAYOUT) == 1
    assert b'<main id="main"' in response.content
    assert b'<nav class="site-nav" aria-label="Main">' in response.content
    # allauth's own bare layout prints a "Menu:" list; ours replaces it.
    assert b"Menu:" not in response.content
    assert heading.encode() in response.content
    # One wording (docs/glossary.md): allauth's "Sign In", "Sign Up", "Sign Out" never reach a guest.
    for word in (b"Sign In", b"Sign Up", b"Sign Out", b"sign in", b"sign out", b"Signup"):
        assert word not in response.content
    # allauth's page title goes into ours.
    assert re.search(rb"<title>\s*\w[^<]* \xc2\xb7 Holdfast</title>", response.content)


def assert_every_field_is_labelled(response):
    html = response.content.decode()
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id, f"field without an id: {tag}"
        assert f'for="{field_id.group(1)}"' in html, f"field without a label: {tag}"


@pytest.mark.parametrize(
    ("url_name", "heading"),
    [
        ("account_signup", "Sign up"),
        ("account_login", "Log in"),
        ("account_reset_password", "Password Reset"),
        ("account_reset_password_done", "Password Reset"),
        ("account_email_verification_sent", "Verify Your Email Address"),
    ],
)
def test_allauth_entrance_pages_render_inside_our_layout(client, url_name, heading):
    response = client.get(reverse(url_name))

    assert_in_our_layout(response, heading)
    assert_every_field_is_labelled(response)


@pytest.mark.parametrize(
    ("url_name", "heading"),
    [
        ("account_logout", "Log out"),
        ("account_change_password", "Change Password"),
        ("account_email", "Email Address"),
    ],
)
def test_allauth_account_pages_render_inside_our_layout_with_the_account_menu(client, url_name, heading):
    client.force_login(UserFactory())

    response = client.get(reverse(url_name))

    assert_in_our_layout(response, heading)
    assert_every_field_is_labelled(response)
    assert b'<nav class="subnav" aria-label="My account">' in response.content
    if url_name != "account_logout":
        assert f'href="{reverse(url_name)}" aria-current="page"'.encode() in response.content


def test_an_invalid_confirmation_link_says_so_inside_our_layout(client):
    response = client.get(reverse("account_confirm_email", kwargs={"key": "not-a-real-key"}))

    assert_in_our_layout(response, "Confirm Email Address")
    assert b"expired or is invalid" in response.content


def test_allauth_buttons_get_our_button_style(client):
    response = client.get(reverse("account_login"))

    assert re.search(rb'<button\s+class="button prominent login"\s+type="submit"', response.content)


def test_form_errors_are_shown_next_to_the_field(client):
    response = client.post(reverse("account_signup"), {"email": "not-an-address", "password1": "x", "password2": "y"})

    assert response.status_code == 200
    assert b'class="errorlist' in response.content
    assert b'aria-invalid="true"' in response.content


def test_navigation_offers_log_in_to_visitors_and_account_and_log_out_to_guests(client):
    anonymous = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("account_login")}"' in anonymous
    assert f'href="{reverse("accounts:profile")}"' not in anonymous

    client.force_login(UserFactory())
    logged_in = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("accounts:profile")}"' in logged_in
    # Logging out is a POST (a link could be triggered by any page); the form works without JavaScript.
    assert f'<form method="post" action="{reverse("account_logout")}">' in logged_in
    assert f'href="{reverse("account_login")}"' not in logged_in
