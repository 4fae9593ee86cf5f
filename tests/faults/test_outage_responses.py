"""What a request gets while the database is unreachable, in-process: 503 with Retry-After, JSON for
the API and for clients that ask for JSON, the 503 page for browsers; never a 500 or a traceback.
core/outage.py does it; test_database_restart.py shows the same with gunicorn and a real restart."""

import pytest
from django.conf import settings as django_settings
from django.db import InterfaceError, OperationalError, connections
from django.template.loader import render_to_string
from django.test import Client

from core import outage
from reservations.models import Reservation
from tests.reservations.conftest import at, make_user, next_weekday

from .support import UNAVAILABLE, session_token

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-cache" in response["Cache-Control"]
    assert b"Traceback" not in response.content


def test_api_read_answers_503_json(client, unreachable_database):
    response = client.get("/api/venues")

    assert_unavailable(response)
    assert response.json() == UNAVAILABLE


def test_api_booking_with_a_session_token_answers_503_json(client, unreachable_database):
    payload = {"space": 1, "starts_at": "2030-01-01T10:00:00+00:00", "party_size": 2}

    response = client.post(
        "/api/reservations", payload, content_type="application/json", headers={"X-Session-Token": "a" * 32}
    )

    assert_unavailable(response)
    assert response.json() == UNAVAILABLE


def test_api_answers_503_json_even_with_debug_on(client, unreachable_database, settings):
    settings.DEBUG = True  # django-ninja would answer a traceback as text

    response = client.get("/api/venues")

    assert_unavailable(response)
    assert response.json() == UNAVAILABLE


def test_page_answers_the_503_page_to_a_browser(client, unreachable_database):
    response = client.get("/venues/anything/", headers={"Accept": BROWSER})

    assert_unavailable(response)
    assert response["Content-Type"].startswith("text/html")
    assert b'<a class="skip-link" href="#main">Skip to content</a>' in response.content
    assert b"Temporarily unavailable" in response.content


def test_page_answers_json_to_a_client_that_asks_for_json(client, unreachable_database):
    response = client.get("/", headers={"Accept": "application/json"})

    assert_unavailable(response)
    assert response.json() == UNAVAILABLE


def test_a_failure_outside_the_view_also_answers_503(client, unreachable_database):
    # A session cookie makes the middleware (user sessions, the log-in check) read the database
    # before any view runs: Django makes a 500 of that, which the middleware turns into the 503.
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "a" * 32

    response = client.get("/", headers={"Accept": BROWSER})

    assert_unavailable(response)
    assert b"Temporarily unavailable" in response.content


def test_503_page_renders_without_request_or_context():
    html = render_to_string("503.html")

    assert "Temporarily unavailable" in html
    assert 'class="skip-link"' in html


def test_healthz_answers_503_when_the_connection_was_closed_under_it(client, monkeypatch):
    def closed(self, *args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(type(connections["default"]), "cursor", closed)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}


def gone(reservation):
    raise OperationalError("server closed the connection unexpectedly")


def book_booth(meeting_rooms, client):
    booth = meeting_rooms.spaces.get(name="Booth")
    starts_at = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    token = session_token(make_user("late@example.com"))
    payload = {"space": booth.pk, "starts_at": starts_at.isoformat(), "party_size": 2}
    return client.post(
        "/api/reservations", payload, content_type="application/json", headers={"X-Session-Token": token}
    )


def test_a_booking_whose_answer_cannot_be_read_for_the_database_answers_503(meeting_rooms, client, monkeypatch):
    # The booking commits; then reading it back for the answer meets a database that has just gone
    # away, which pydantic reports as a validation error of the answer.
    monkeypatch.setattr(Reservation, "local_starts_at", property(gone))
    monkeypatch.setattr(outage, "database_answers", lambda: False)

    response = book_booth(meeting_rooms, client)

    assert_unavailable(response)
    assert response.json() == UNAVAILABLE
    assert Reservation.objects.get().status == "confirmed"  # saved: why an app should look before retrying


def test_an_unreadable_answer_with_the_database_up_is_still_a_server_error(meeting_rooms, client, monkeypatch):
    monkeypatch.setattr(Reservation, "local_starts_at", property(gone))

    response = book_booth(meeting_rooms, client)

    assert response.status_code == 500
