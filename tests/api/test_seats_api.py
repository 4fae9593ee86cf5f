"""Seats over the API: each session's seats left, and "sold out" as 409."""

from datetime import time
from decimal import Decimal

import pytest
from django.test import Client

from reservations.services import reservation_book
from spaces.models import Session, Space
from tests.reservations.conftest import at, make_user, next_weekday

from .conftest import logged_in

pytestmark = pytest.mark.django_db
SATURDAY = 5


@pytest.fixture
def pasta_class(meeting_rooms):
    space = Space.objects.create(
        venue=meeting_rooms, name="Pasta class", capacity=12, price=Decimal("35"), sold_by_seat=True
    )
    Session.objects.create(space=space, weekday=SATURDAY, starts_at=time(10), minutes=180, seats=12)
    return space


def test_the_availability_gives_each_sessions_seats_left(pasta_class):
    venue = pasta_class.venue
    day = next_weekday(venue, SATURDAY)
    reservation_book(
        guest=make_user("a@example.com"), space=pasta_class, starts_at=at(venue, day, "10:00"), party_size=9
    )

    body = Client().get(f"/api/availability/{day.isoformat()}", {"venue": venue.slug, "party_size": 2}).json()

    (entry,) = [space for space in body["spaces"] if space["name"] == "Pasta class"]
    assert entry["slots"] == [
        {
            "starts_at": at(venue, day, "10:00").isoformat(),
            "ends_at": at(venue, day, "13:00").isoformat(),
            "seats_left": 3,
        }
    ]


def test_seats_are_booked_like_a_table_and_a_full_session_is_409_sold_out(pasta_class):
    venue = pasta_class.venue
    start = at(venue, next_weekday(venue, SATURDAY), "10:00").isoformat()
    payload = {"space": pasta_class.pk, "starts_at": start, "party_size": 10}

    first = logged_in(make_user("b@example.com")).post("/api/reservations", payload, content_type="application/json")
    second = logged_in(make_user("c@example.com")).post(
        "/api/reservations", {**payload, "party_size": 3}, content_type="application/json"
    )

    assert first.status_code == 201, first.content
    assert first.json()["price"] == "350.00"
    assert second.status_code == 409
    assert second.json()["detail"].endswith("is sold out for your party: 2 seats left.")


def test_a_held_booking_is_confirmed_by_its_guest_and_no_one_else(pasta_class):
    from reservations.services import reservation_hold

    venue = pasta_class.venue
    guest = make_user("held@example.com")
    held = reservation_hold(
        guest=guest, space=pasta_class, starts_at=at(venue, next_weekday(venue, SATURDAY), "10:00"), party_size=2
    )
    url = f"/api/reservations/{held.reference}/confirm"

    stranger = logged_in(make_user("stranger@example.com")).post(url)
    confirmed = logged_in(guest).post(url)
    again = logged_in(guest).post(url)

    assert stranger.status_code == 404
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert again.status_code == 200 and again.json()["status"] == "confirmed"


def test_a_hold_that_ran_out_is_409_on_confirm(pasta_class):
    from django.utils import timezone

    from reservations.models import Reservation
    from reservations.services import reservation_hold

    venue = pasta_class.venue
    guest = make_user("late@example.com")
    held = reservation_hold(
        guest=guest, space=pasta_class, starts_at=at(venue, next_weekday(venue, SATURDAY), "10:00"), party_size=2
    )
    Reservation.objects.filter(pk=held.pk).update(hold_expires_at=timezone.now())

    response = logged_in(guest).post(f"/api/reservations/{held.reference}/confirm")

    assert response.status_code == 409
    assert "Your hold ran out" in response.json()["detail"]
