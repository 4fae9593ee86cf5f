"""Rate limits beyond log-in (core/ratelimit.py) and request size limits, through real requests.

Limits are lowered per test through settings. Their windows are a day long, so that no test can
straddle the end of a window and be let through by a fresh one.
"""

import json

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from core.ratelimit import parse_rates
from reservations.models import Reservation
from tests.reservations import conftest as bookings
from tests.reservations.conftest import at, next_weekday

# The booking tests' venue and users serve here too.
guest, other_guest, restaurant = bookings.guest, bookings.other_guest, bookings.restaurant

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60
TUESDAY = 1
API_RESERVATIONS = "/api/reservations"


@pytest.fixture
def limits(settings):
    def set_limits(**rates):
        settings.HOLDFAST_RATE_LIMITS = {"hold": "", "api": "", **rates}

    return set_limits


def hold_url(venue):
    return reverse("spaces:hold", kwargs={"slug": venue.slug})


def choice(venue, clock="19:30"):
    return {
        "starts_at": at(venue, next_weekday(venue, TUESDAY), clock).isoformat(),
        "duration": "90",
        "party_size": "2",
    }


def api_booking(venue, clock="19:30", **extra):
    starts_at = at(venue, next_weekday(venue, TUESDAY), clock).isoformat()
    return {"venue": venue.slug, "starts_at": starts_at, "party_size": 2, **extra}


def logged_in(user, ip="127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return client


def post_json(client, url, payload, **headers):
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def assert_retry_after(response):
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= DAY


# --- Holding on the venue pages ----------------------------------------------------------------------


def test_holding_too_often_as_one_guest_is_refused_with_429_and_retry_after(limits, restaurant, guest):
    limits(hold="2/d/user,100/d/ip")
    client = logged_in(guest)
    for clock in ("19:30", "20:00"):
        assert client.post(hold_url(restaurant), choice(restaurant, clock)).status_code == 302

    response = client.post(hold_url(restaurant), choice(restaurant, "20:30"))

    assert_retry_after(response)
    html = " ".join(response.content.decode().split())
    assert "You have tried to hold a booking too many times in a short time." in html
    assert f'href="{restaurant.get_absolute_url()}?' in html  # back to the venue's search
    assert Reservation.objects.filter(guest=guest).count() == 2


def test_holding_too_often_from_one_ip_address_is_refused_whoever_is_logged_in(limits, restaurant, guest, other_guest):
    limits(hold="100/d/user,2/d/ip")
    first, second = logged_in(guest, ip="203.0.113.7"), logged_in(other_guest, ip="203.0.113.7")
    assert first.post(hold_url(restaurant), choice(restaurant, "19:30")).status_code == 302
    assert second.post(hold_url(restaurant), choice(restaurant, "20:00")).status_code == 302

    refused = second.post(hold_url(restaurant), choice(restaurant, "20:30"))
    elsewhere = logged_in(other_guest, ip="198.51.100.2").post(hold_url(restaurant), choice(restaurant, "20:30"))

    assert_retry_after(refused)
    assert elsewhere.status_code == 302


# --- Booking through the API -------------------------------------------------------------------------


def test_booking_too_often_through_the_api_is_refused_with_429_json_and_retry_after(limits, restaurant, guest):
    limits(hold="1/d/user,100/d/ip")
    client = logged_in(guest)
    assert post_json(client, API_RESERVATIONS, api_booking(restaurant, "19:30")).status_code == 201

    response = post_json(client, API_RESERVATIONS, api_booking(restaurant, "20:00"))

    assert_retry_after(response)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"].startswith("Too many booking attempts. Try again in ")
    assert Reservation.objects.filter(guest=guest).count() == 1


def test_booking_through_the_api_from_one_ip_address_is_limited_across_users(limits, restaurant, guest, other_guest):
    limits(hold="100/d/user,1/d/ip")
    assert post_json(logged_in(guest, ip="203.0.113.7"), API_RESERVATIONS, api_booking(restaurant)).status_code == 201

    response = post_json(logged_in(other_guest, ip="203.0.113.7"), API_RESERVATIONS, api_booking(restaurant, "20:00"))

    assert_retry_after(response)
    assert "detail" in response.json()


def test_the_whole_api_is_limited_per_session_token(limits, guest, other_guest, client):
    limits(api="3/d/user")
    EmailAddress.objects.create(user=guest, email=guest.email, primary=True, verified=True)
    login = post_json(client, "/_allauth/app/v1/auth/login", {"email": guest.email, "password": "a-long-test-password"})
    token = login.json()["meta"]["session_token"]
    app = Client(HTTP_X_SESSION_TOKEN=token)
    for _ in range(3):
        assert app.get("/api/reservations/me").status_code == 200

    response = app.get("/api/reservations/me")

    assert_retry_after(response)
    assert response.json()["detail"].startswith("Too many requests. Try again in ")
    assert logged_in(other_guest).get("/api/reservations/me").status_code == 200  # others are not affected


def test_anonymous_api_calls_are_limited_per_ip_address(limits, restaurant):
    limits(api="2/d/user")
    day = next_weekday(restaurant, TUESDAY).isoformat()
    url = f"/api/availability/{day}?venue={restaurant.slug}&party_size=2"
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        assert client.get(url).status_code == 200

    assert_retry_after(client.get(url))
    assert Client(REMOTE_ADDR="198.51.100.2").get(url).status_code == 200


def test_rates_are_read_the_way_allauth_writes_them():
    assert [str(rate) for rate in parse_rates(" 20/m/user, 60/5m/ip ")] == ["20/60s/user", "60/300s/ip"]
    assert parse_rates("") == []
    with pytest.raises(ValueError, match="Not a rate"):
        parse_rates("20 per minute")


# --- Request size ------------------------------------------------------------------------------------


def test_an_oversized_api_body_is_refused_with_413_json_not_an_error(settings, restaurant, guest):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    response = post_json(logged_in(guest), API_RESERVATIONS, api_booking(restaurant, notes="x" * 4000))

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}
    assert not Reservation.objects.exists()


def test_an_oversized_form_is_refused_with_400_not_an_error(settings, restaurant, guest):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    response = logged_in(guest).post(hold_url(restaurant), {**choice(restaurant), "padding": "x" * 4000})

    assert response.status_code == 400
    assert "We could not read that request" in response.content.decode()
    assert not Reservation.objects.exists()


def test_api_text_longer_than_its_limit_is_refused_field_by_field(restaurant, guest):
    response = post_json(logged_in(guest), API_RESERVATIONS, api_booking(restaurant, notes="x" * 1001))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "notes"


@pytest.mark.django_db
def test_counts_of_ended_windows_are_deleted_and_current_ones_kept(rf):
    from core import ratelimit
    from core.models import RateCounter

    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    ratelimit._bump("hold:old", expires_at=1_000.0)
    ratelimit._bump("hold:current", expires_at=10_000.0)
    assert ratelimit._bump("hold:current", expires_at=10_000.0) == 2  # one atomic count per attempt

    assert ratelimit.forget_old_windows(now=5_000.0) == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["hold:current"]
    assert request  # the counts never hold an address: keys are made of user ids and keyed hashes
