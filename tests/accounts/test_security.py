"""Security headers and the Content-Security-Policy on our pages; two-factor authentication (required for
staff before the admin and the staff pages); the guest's list of sessions, where other sessions end."""

import re
import time
from datetime import datetime, timedelta
from datetime import time as clock
from html.parser import HTMLParser

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.usersessions.models import UserSession
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from reservations.services import reservation_hold
from tests.accounts.factories import PASSWORD, UserFactory
from tests.spaces.factories import OpeningHoursFactory, SpaceFactory, VenueFactory

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"'nonce-([^']+)'")
# Inline <script> elements of these types are data for a script, which browsers never execute.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy governs in a page: scripts, style elements and attributes."""

    def __init__(self):
        super().__init__()
        self.scripts = []  # (attributes, inline text)
        self.styles = []  # attributes of <style> elements
        self.style_attributes = []
        self.event_handlers = []
        self._open_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._open_script = (attributes, [])
        elif tag == "style":
            self.styles.append(attributes)
        if "style" in attributes:
            self.style_attributes.append((tag, attributes["style"]))
        self.event_handlers += [(tag, name) for name in attributes if name.startswith("on")]

    def handle_data(self, data):
        if self._open_script is not None:
            self._open_script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open_script is not None:
            attributes, text = self._open_script
            self.scripts.append((attributes, "".join(text).strip()))
            self._open_script = None


def nonce_of(response) -> str | None:
    match = NONCE.search(response["Content-Security-Policy"])
    return match.group(1) if match else None


def assert_runs_only_what_the_policy_allows(response) -> InlineCode:
    """The page's scripts and styles come from our origin or carry the nonce of its own CSP header."""
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    nonce = nonce_of(response)
    page = InlineCode()
    page.feed(response.content.decode())
    for attributes, text in page.scripts:
        if "nonce" in attributes:
            assert attributes["nonce"] == nonce, f"a script whose nonce is not the header's: {attributes}"
        elif "src" in attributes:
            assert attributes["src"].startswith("/"), f"a script from another origin: {attributes}"
        else:
            assert attributes.get("type") in DATA_SCRIPT_TYPES, f"an inline script without the nonce: {text[:80]}"
    for attributes in page.styles:
        assert nonce and attributes.get("nonce") == nonce, f"a <style> without the nonce: {attributes}"
    assert page.style_attributes == []
    assert page.event_handlers == []
    return page


def current_code(secret: str) -> str:
    # A code computed in a step's last moment may reach the server in the next step: the server
    # accepts the neighbouring steps too (MFA_TOTP_TOLERANCE), as it does for a phone's clock drift.
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def log_in(client, email, password=PASSWORD):
    """Through allauth's log-in form, as a person does; returns the response."""
    return client.post(reverse("account_login"), {"login": email, "password": password})


def open_the_app_set_up(client, password=PASSWORD):
    """allauth asks for the password again before an authenticator is added; returns the set-up page."""
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": password})
    assert response["Location"] == reverse("mfa_activate_totp")
    response = client.get(response["Location"])
    assert response.status_code == 200
    return response


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def venue():
    venue = VenueFactory(name="Trattoria Sicura", slug="trattoria-sicura", min_lead_minutes=0, max_advance_days=60)
    for weekday in range(7):
        OpeningHoursFactory(venue=venue, weekday=weekday, opens_at=clock(12), closes_at=clock(15))
    SpaceFactory(venue=venue, name="Table 1", capacity=4)
    return venue


@pytest.fixture
def held_reservation(venue):
    guest = UserFactory()
    tomorrow = timezone.now().astimezone(venue.zone).date() + timedelta(days=1)
    starts_at = datetime.combine(tomorrow, clock(12), tzinfo=venue.zone)
    return reservation_hold(guest=guest, venue=venue, starts_at=starts_at, party_size=2)


def staff_member(**extra) -> User:
    return UserFactory(email="host@example.com", is_staff=True, is_superuser=True, **extra)


# ---------------------------------------------------------------------------------------------
# Content-Security-Policy and the other headers


def test_every_page_sends_the_security_headers(client):
    response = client.get(reverse("home"))

    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' https://checkout.stripe.com",
        "img-src 'self' data:",
    ):
        assert directive in policy
    assert re.search(r"script-src 'self' 'nonce-[^']+'", policy)


def test_public_pages_run_only_scripts_with_their_nonce(client, venue):
    for url in [reverse("home"), venue.get_absolute_url(), reverse("account_login"), reverse("account_signup")]:
        response = client.get(url)
        page = assert_runs_only_what_the_policy_allows(response)
        # htmx comes from django-htmx's tag, which puts the request's nonce on it.
        htmx = [attributes for attributes, _ in page.scripts if "htmx" in attributes.get("src", "")]
        assert htmx and htmx[0]["nonce"] == nonce_of(response)


def test_each_response_has_a_nonce_of_its_own(client):
    first, second = client.get(reverse("home")), client.get(reverse("home"))
    assert nonce_of(first) and nonce_of(second) and nonce_of(first) != nonce_of(second)


def test_the_htmx_results_of_the_venue_page_are_covered_too(client, venue):
    response = client.get(venue.get_absolute_url(), headers={"HX-Request": "true"})
    assert_runs_only_what_the_policy_allows(response)
    assert "Content-Security-Policy" in response


def test_the_review_page_loads_its_countdown_from_our_origin(client, held_reservation):
    client.force_login(held_reservation.guest)

    response = client.get(reverse("reservations:review", kwargs={"reference": held_reservation.reference}))

    page = assert_runs_only_what_the_policy_allows(response)
    assert any(attributes.get("src", "").endswith("js/countdown.js") for attributes, _ in page.scripts)


def test_account_pages_run_only_scripts_with_their_nonce(client):
    user = UserFactory()
    log_in(client, user.email)
    for url_name in ["accounts:profile", "account_email", "account_change_password", "mfa_index"]:
        assert_runs_only_what_the_policy_allows(client.get(reverse(url_name)))
    assert_runs_only_what_the_policy_allows(client.get(reverse("usersessions_list")))
    assert_runs_only_what_the_policy_allows(client.get(reverse("account_reauthenticate")))
    # The authenticator app's QR code is a data: image, which img-src allows.
    activate = open_the_app_set_up(client)
    assert_runs_only_what_the_policy_allows(activate)
    assert 'src="data:image/svg+xml;base64,' in activate.content.decode()


def test_the_admin_and_the_day_sheet_run_only_what_the_policy_allows(client, venue):
    staff = staff_member()
    client.force_login(staff)  # the suite gives staff who log in an authenticator app (tests/conftest.py)
    for url in [
        reverse("admin:index"),
        reverse("admin:spaces_venue_changelist"),
        reverse("admin:spaces_venue_change", args=[venue.pk]),
        reverse("admin:reservations_reservation_add"),
        reverse("staff:day_sheet") + f"?venue={venue.pk}",
    ]:
        assert_runs_only_what_the_policy_allows(client.get(url))


# ---------------------------------------------------------------------------------------------
# Two-factor authentication: staff must have it before the admin and the staff pages


@pytest.mark.parametrize("url_name", ["admin:index", "admin:spaces_venue_changelist", "staff:day_sheet"])
def test_staff_without_an_authenticator_are_sent_to_set_one_up(client, staff_without_authenticator, url_name):
    staff = staff_member()
    log_in(client, staff.email)

    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert messages_of(response)[-1] == (
        "Staff powers need two-factor authentication: set up an authenticator app first."
    )
    assert not Authenticator.objects.filter(user=staff).exists()


def test_staff_set_up_an_authenticator_app_and_then_reach_the_admin(client, staff_without_authenticator):
    staff = staff_member()
    log_in(client, staff.email)
    assert client.get(reverse("admin:index"))["Location"] == reverse("mfa_activate_totp")

    setup = open_the_app_set_up(client)
    secret = setup.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get(reverse("admin:index")).status_code == 200


def test_after_setting_up_the_app_staff_continue_where_they_were_going(client, staff_without_authenticator):
    staff = staff_member()
    log_in(client, staff.email)
    going_to = reverse("staff:day_sheet") + "?day=2030-06-04"
    assert client.get(going_to)["Location"] == reverse("mfa_activate_totp")

    setup = open_the_app_set_up(client)
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(setup.context["form"].secret)})

    assert response.status_code == 302
    assert response["Location"] == going_to  # not the recovery codes page
    assert "recovery codes are under My account" in messages_of(response)[-1]
    assert client.get(going_to).status_code == 200


def test_staff_with_an_authenticator_give_its_code_at_log_in_and_reach_the_admin(client, staff_without_authenticator):
    staff = staff_member()
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)

    response = log_in(client, staff.email)

    # The password alone does not log in: allauth asks for the code.
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))
    challenge = client.get(reverse("mfa_authenticate"))
    assert_runs_only_what_the_policy_allows(challenge)
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000" if current_code(secret) != "000000" else "1"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == staff.pk
    admin = client.get(reverse("admin:index"))
    assert admin.status_code == 200
    assert_runs_only_what_the_policy_allows(admin)
    assert client.get(reverse("staff:day_sheet")).status_code == 200


def test_demo_staff_set_up_an_authenticator_on_their_first_admin_visit(client, staff_without_authenticator):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    log_in(client, "staff@holdfast.local", "holdfast-staff")

    assert client.get(reverse("admin:index"))["Location"] == reverse("mfa_activate_totp")


def test_guests_need_no_authenticator_and_never_reach_the_admin(client):
    guest = UserFactory()
    log_in(client, guest.email)

    assert client.get(reverse("reservations:list")).status_code == 200
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))  # the admin's own refusal, not ours


def test_a_guest_opens_two_factor_authentication_from_my_account_and_activates_an_app(client):
    guest = UserFactory()
    log_in(client, guest.email)

    profile = client.get(reverse("accounts:profile")).content.decode()
    assert f'href="{reverse("mfa_index")}"' in profile
    index = client.get(reverse("mfa_index"))
    assert index.status_code == 200
    assert '<nav class="subnav" aria-label="My account">' in index.content.decode()
    assert "An authenticator app is not active." in index.content.decode()

    setup = open_the_app_set_up(client)
    secret = setup.context["form"].secret
    assert client.post(reverse("mfa_activate_totp"), {"code": "123"}).status_code == 200  # wrong: asked again
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})

    assert response["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=guest, type=Authenticator.Type.TOTP).exists()
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200
    assert_runs_only_what_the_policy_allows(codes)
    assert "Authentication using an authenticator app is active." in client.get(reverse("mfa_index")).content.decode()

    # The next log-in asks for the app's code.
    client.logout()
    assert log_in(client, guest.email)["Location"] == reverse("mfa_authenticate")


# ---------------------------------------------------------------------------------------------
# Sessions


def test_the_sessions_page_lists_where_the_guest_is_logged_in_and_ends_the_others(client):
    guest = UserFactory()
    phone = Client(HTTP_USER_AGENT="Phone browser/1.0")
    log_in(phone, guest.email)
    laptop = Client(HTTP_USER_AGENT="Laptop browser/2.0")
    log_in(laptop, guest.email)

    page = laptop.get(reverse("usersessions_list"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Phone browser/1.0" in html and "Laptop browser/2.0" in html
    assert '<nav class="subnav" aria-label="My account">' in html
    assert f'href="{reverse("usersessions_list")}" aria-current="page"' in html
    assert UserSession.objects.filter(user=guest).count() == 2

    response = laptop.post(reverse("usersessions_list"))

    assert response.status_code == 302
    assert list(UserSession.objects.filter(user=guest).values_list("user_agent", flat=True)) == ["Laptop browser/2.0"]
    assert laptop.get(reverse("reservations:list")).status_code == 200
    assert phone.get(reverse("reservations:list"))["Location"].startswith(reverse("account_login"))


def test_the_sessions_page_needs_a_log_in(client):
    response = client.get(reverse("usersessions_list"))
    assert response["Location"].startswith(reverse("account_login"))
