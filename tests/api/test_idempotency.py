"""POST /api/reservations with an Idempotency-Key: an app whose answer never arrived (a connection cut, a
503 during a failover while the booking's commit did reach the database) sends the same request again
and gets the booking the first one made, not a second booking and not "no longer free" about its own
table. The key is the guest's: the same key from another guest is another booking."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client

from reservations.models import Reservation
from tests.reservations.conftest import at, next_weekday

from .conftest import logged_in

KEY = "5f0c7c2e-2c4b-4f38-9a55-8d1d9c7e0b1a"


def book(client: Client, venue, *, key: str = KEY, clock: str = "19:00", party_size: int = 4):
    payload = {"venue": venue.slug, "starts_at": at(venue, next_weekday(venue, 2), clock).isoformat()}
    payload["party_size"] = party_size
    return client.post(
        "/api/reservations", json.dumps(payload), content_type="application/json", headers={"Idempotency-Key": key}
    )


@pytest.mark.django_db
def test_a_retry_with_the_same_key_gets_the_first_booking_back(restaurant, guest):
    client = logged_in(guest)

    first = book(client, restaurant)
    again = book(client, restaurant)

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Reservation.objects.count() == 1
    assert book(client, restaurant, key="another-key").json()["reference"] != first.json()["reference"]


@pytest.mark.django_db
def test_a_retry_gets_the_booking_as_it_is_now(restaurant, guest):
    client = logged_in(guest)
    first = book(client, restaurant).json()
    assert client.delete(f"/api/reservations/{first['reference']}").status_code == 200

    again = book(client, restaurant)

    assert again.status_code == 201 and again.json()["status"] == "cancelled"  # not booked anew behind its back
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_for_another_booking_is_refused_next_to_the_field(restaurant, guest):
    client = logged_in(guest)
    assert book(client, restaurant).status_code == 201

    other = book(client, restaurant, clock="20:00")

    assert other.status_code == 422
    assert other.json()["field"] == "idempotency_key"
    assert "used for another booking" in other.json()["detail"]
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_another_guests_same_key_is_their_own_booking(restaurant, guest, other_guest):
    mine, theirs = book(logged_in(guest), restaurant), book(logged_in(other_guest), restaurant)

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["reference"] != theirs.json()["reference"]


@pytest.mark.django_db
def test_a_key_longer_than_100_characters_is_a_clear_error(restaurant, guest):
    response = book(logged_in(guest), restaurant, key="k" * 101)

    assert response.status_code == 422
    assert not Reservation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_request_sent_twice_at_once_makes_one_booking(restaurant, guest):
    """The venue assigns tables: without the key, two requests at once would get two tables."""
    barrier = threading.Barrier(2)

    def send(_):
        client = logged_in(guest)
        barrier.wait(timeout=30)
        try:
            return book(client, restaurant)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(send, range(2)))

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json()["reference"] == answers[1].json()["reference"]
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in answers) == ["", "true"]
    assert Reservation.objects.count() == 1
