"""The site has a name and contact details (HOLDFAST_SITE_NAME, HOLDFAST_CONTACT_EMAIL, HOLDFAST_CONTACT_PHONE):
in allauth's e-mails (never the request's host), the page titles, the footer, the error pages, the verification
page and the outbox e-mails; a favicon; and the header's "Log in" and "Sign up" return to the page they came from."""

import re
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CONTACT_SENTENCE = (
    'Write to <a href="mailto:help@harbour.example">help@harbour.example</a> or call '
    '<a href="tel:+442079460000">+44 20 7946 0000</a>.'
)


@pytest.fixture
def harbour(settings):
    settings.HOLDFAST_SITE_NAME = "Harbour Bookings"
    settings.HOLDFAST_CONTACT_EMAIL = "help@harbour.example"
    settings.HOLDFAST_CONTACT_PHONE = "+44 20 7946 0000"
    settings.SITE_URL = "https://book.harbour.example"


@pytest.fixture
def no_contact(settings):
    settings.HOLDFAST_CONTACT_EMAIL = ""
    settings.HOLDFAST_CONTACT_PHONE = ""


SIGNUP = reverse("account_signup")


def sign_up(client, path=SIGNUP, **fields):
    form = {"name": "Ada Lovelace", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    return client.post(path, form | fields)


def link_in(message, path_prefix):
    match = re.search(rf"http://testserver({re.escape(path_prefix)}\S+)", message.body)
    assert match, message.body
    return match.group(1)


# --- allauth's e-mails ----------------------------------------------------------------------------------


def test_the_sign_up_email_says_the_sites_name_not_the_host(client, harbour):
    sign_up(client)

    (message,) = mail.outbox
    assert message.body.startswith("Hello from Harbour Bookings!")
    assert "Thank you for using Harbour Bookings!\nbook.harbour.example" in message.body
    assert "testserver!" not in message.body and "Hello from testserver" not in message.body
    assert "register an account on book.harbour.example" in message.body
    assert "Questions? Write to help@harbour.example or call +44 20 7946 0000." in message.body
    # The link itself still leads to the host the guest signed up on.
    assert link_in(message, "/accounts/confirm-email/")


def test_a_password_reset_email_names_the_site_and_says_no_contact_when_none_is_set(client, no_contact):
    UserFactory(email="grace@example.com")

    client.post(reverse("account_reset_password"), {"email": "grace@example.com"})

    (message,) = mail.outbox
    assert message.body.startswith("Hello from Holdfast!")
    assert "Questions?" not in message.body


# --- Pages: title, footer, the verification page --------------------------------------------------------


def test_every_page_has_the_sites_name_in_its_title_and_header_and_the_contact_in_its_footer(client, harbour):
    html = client.get(reverse("account_login")).content.decode()

    assert re.search(r"<title>\s*Log in\s* · Harbour Bookings</title>", html)
    assert '<a class="brand" href="/">Harbour Bookings</a>' in html
    footer = html[html.index('<footer class="site-footer">') :]
    assert "<strong>Harbour Bookings</strong>" in footer
    assert CONTACT_SENTENCE in footer


def test_without_contact_the_footer_has_only_the_name(client, no_contact):
    html = client.get(reverse("home")).content.decode()

    footer = html[html.index('<footer class="site-footer">') :]
    assert "<strong>Holdfast</strong></p>" in footer
    assert "Write to" not in footer and "mailto:" not in footer


def test_only_the_email_or_only_the_phone(client, settings):
    settings.HOLDFAST_CONTACT_EMAIL, settings.HOLDFAST_CONTACT_PHONE = "help@harbour.example", ""
    only_email = 'Write to <a href="mailto:help@harbour.example">help@harbour.example</a>.'
    assert only_email in client.get("/").content.decode()

    settings.HOLDFAST_CONTACT_EMAIL, settings.HOLDFAST_CONTACT_PHONE = "", "020 7946 0000"
    assert 'Call <a href="tel:02079460000">020 7946 0000</a>.' in client.get("/").content.decode()


def test_the_verification_page_gives_the_real_contact(client, harbour):
    response = sign_up(client)
    html = client.get(response["Location"]).content.decode()

    assert "Verify Your Email Address" in html
    assert f"Still nothing after a few minutes? {CONTACT_SENTENCE}" in html
    assert "contact us" not in html


def test_the_verification_page_says_nothing_of_a_contact_when_none_is_set(client, no_contact):
    response = sign_up(client)
    html = client.get(response["Location"]).content.decode()

    main = html[html.index("<main") : html.index("</main>")]
    assert "look in your spam folder." in main
    assert "contact us" not in main.lower() and "Still nothing" not in main


# --- Error pages -------------------------------------------------------------------------------------


def _standalone(view, **kwargs):
    """A page Django renders with an empty context (no request, no context processors)."""
    return view(RequestFactory().get("/somewhere"), **kwargs).content.decode()


def test_the_error_pages_say_whom_to_ask(client, harbour):
    pages = {
        "400": _standalone(defaults.bad_request, exception=Exception()),
        "500": _standalone(defaults.server_error),
        "503": render_to_string("503.html", {"busy": False}),
        "404": client.get("/no-such-page/").content.decode(),
    }
    for status, html in pages.items():
        assert f"Need help? {CONTACT_SENTENCE}" in html, status
        assert "· Harbour Bookings</title>" in html, status
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html, status


def test_the_403_and_429_pages_say_whom_to_ask(rf, harbour):
    request = rf.get("/staff/")
    request.user = AnonymousUser()
    forbidden = defaults.permission_denied(request, PermissionDenied()).content.decode()
    too_many = render_to_string("429.html", {"wait": "a minute"}, request=request)

    for html in (forbidden, too_many):
        assert f"Need help? {CONTACT_SENTENCE}" in html
    assert 'href="/accounts/login/?next=/staff/">log in</a>' in forbidden


def test_the_error_pages_without_a_contact_say_nothing_of_one(harbour, settings):
    settings.HOLDFAST_CONTACT_EMAIL = settings.HOLDFAST_CONTACT_PHONE = ""

    html = _standalone(defaults.server_error)

    assert "Need help?" not in html and "mailto:" not in html
    assert "<strong>Harbour Bookings</strong></p></footer>" in html


# --- The outbox e-mails' footer ---------------------------------------------------------------------------


def test_the_outbox_emails_end_with_the_sites_name_and_contact(harbour):
    html = render_to_string("emails/_layout.html", {"url": "https://book.harbour.example/reservations/1/"})

    footer = html[html.rindex('<p style="color:#555">') :]
    assert footer.startswith(f'<p style="color:#555">Harbour Bookings · {CONTACT_SENTENCE}')
    assert "bookings that hold" not in html


# --- Favicon ------------------------------------------------------------------------------------------


def test_the_favicon_is_linked_and_served_and_favicon_ico_finds_it(client):
    html = client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html

    asked = client.get("/favicon.ico")
    assert asked.status_code == 302
    assert asked["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in asked["Cache-Control"]

    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    body = b"".join(icon.streaming_content)
    assert body.startswith(b"<svg") and len(body) < 1000


# --- Log-in links return to the page they came from -------------------------------------------------------


def header_links(html: str) -> dict:
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    return {text: href.replace("&amp;", "&") for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)}


def test_the_headers_log_in_and_sign_up_keep_the_page_with_its_query(client):
    page = "/venues/no-such-venue/?date=2030-05-10&party_size=4"
    html = client.get(page).content.decode()  # a 404 page has the header too

    links = header_links(html)
    expected = quote(page, safe="/")
    assert links["Log in"] == f"{reverse('account_login')}?next={expected}"
    assert links["Sign up"] == f"{reverse('account_signup')}?next={expected}"


def test_the_start_page_needs_no_next(client):
    links = header_links(client.get(reverse("home")).content.decode())

    assert links["Log in"] == reverse("account_login")


def test_on_the_log_in_page_the_header_keeps_where_it_was_going_and_never_an_unsafe_address(client):
    login = reverse("account_login")

    kept = header_links(client.get(login, {"next": "/reservations/"}).content.decode())
    assert kept["Sign up"] == f"{reverse('account_signup')}?next=/reservations/"
    assert kept["Log in"] == f"{login}?next=/reservations/"

    for unsafe in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        links = header_links(client.get(login, {"next": unsafe}).content.decode())
        assert links["Log in"] == login, unsafe
        assert links["Sign up"] == reverse("account_signup"), unsafe

    plain = header_links(client.get(reverse("account_signup")).content.decode())
    assert plain["Log in"] == login  # not back to the sign-up page


def test_logging_in_from_the_header_returns_to_the_page(client):
    UserFactory(email="grace@example.com")
    page = "/venues/trattoria/?date=2030-05-10&party_size=4"
    login_url = header_links(client.get(page).content.decode())["Log in"]

    form = client.get(login_url).content.decode()
    assert f'<input type="hidden" name="next" value="{page.replace("&", "&amp;")}">' in form
    response = client.post(login_url, {"login": "grace@example.com", "password": PASSWORD, "next": page})

    assert response.status_code == 302
    assert response["Location"] == page
    assert get_user(client).is_authenticated


def test_signing_up_from_the_header_returns_to_the_page_once_the_address_is_verified(client):
    page = "/venues/trattoria/?date=2030-05-10&party_size=4"
    signup_url = header_links(client.get(page).content.decode())["Sign up"]

    sign_up(client, path=signup_url, next=page)
    confirm = link_in(mail.outbox[0], "/accounts/confirm-email/")
    response = client.post(confirm)

    assert response.status_code == 302
    assert response["Location"] == page
    assert get_user(client).email == "ada@example.com"
    assert User.objects.get().name == "Ada Lovelace"


def test_a_logged_in_guest_has_no_log_in_link(client):
    client.force_login(UserFactory())

    links = header_links(client.get("/venues/x/?date=2030-05-10").content.decode())

    assert "Log in" not in links and "Sign up" not in links
