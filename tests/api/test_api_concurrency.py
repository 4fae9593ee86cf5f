"""Twenty apps book the same slot at the same moment, over real HTTP against the live server: each is a
different guest with its own allauth session token, each request runs in its own server thread and
database connection, and exactly one booking may result. The invariant is checked in SQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from tests.reservations.conftest import at, make_user, next_weekday

from .conftest import APP_LOGIN, PASSWORD, verify_email

pytestmark = pytest.mark.django_db(transaction=True)
GUESTS = 20


def app_token(base_url: str, email: str) -> str:
    response = requests.post(base_url + APP_LOGIN, json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["meta"]["session_token"]


def overlapping_active_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM reservations_reservation a
            JOIN reservations_reservation b
              ON a.space_id = b.space_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
            WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
            """
        )
        return cursor.fetchone()[0]


def test_twenty_apps_posting_for_one_slot_at_once_get_one_201_and_nineteen_409s(live_server, meeting_rooms):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    guests = [make_user(f"app{number}@example.com") for number in range(GUESTS)]
    for guest in guests:
        verify_email(guest)
    tokens = [app_token(live_server.url, guest.email) for guest in guests]
    payload = {"space": booth.pk, "starts_at": start.isoformat(), "party_size": 2}
    barrier = threading.Barrier(GUESTS)

    def book(token: str) -> requests.Response:
        with requests.Session() as session:
            session.headers["X-Session-Token"] = token
            barrier.wait(timeout=30)
            return session.post(live_server.url + "/api/reservations", json=payload, timeout=60)

    with ThreadPoolExecutor(max_workers=GUESTS) as pool:
        responses = list(pool.map(book, tokens))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (GUESTS - 1), [response.text for response in responses]
    ((winner, won),) = [(guest, r.json()) for guest, r in zip(guests, responses, strict=True) if r.status_code == 201]
    assert won["status"] == "confirmed"
    assert all("Booth is no longer free" in r.json()["detail"] for r in responses if r.status_code == 409)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.reference, u.email FROM reservations_reservation r JOIN accounts_user u ON u.id = r.guest_id "
            "WHERE r.space_id = %s AND r.status IN ('held', 'confirmed')",
            [booth.pk],
        )
        booked = cursor.fetchall()
    assert booked == [(won["reference"], winner.email)]
    assert overlapping_active_pairs() == 0
