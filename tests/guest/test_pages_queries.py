"""The guest pages run a fixed number of queries, however many reservations a venue or guest has."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from reservations.periods import stay_period
from reservations.services import reservation_book, reservation_modify
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def queries(client, url, data=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(captured)


def guests(count: int) -> list[User]:
    return [make_user(f"guest{number}@example.com") for number in range(count)]


def test_restaurant_page_query_count_does_not_grow_with_reservations(client, restaurant):
    day = next_weekday(restaurant, TUESDAY)
    search = {"date": day.isoformat(), "party_size": "2"}
    url = restaurant.get_absolute_url()
    reservation_book(
        guest=make_user("first@example.com"), venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=2
    )
    few = queries(client, url, search)

    for number, user in enumerate(guests(12)):
        clock = f"{18 + number // 4}:{(number % 4) * 15:02d}"
        reservation_book(guest=user, venue=restaurant, starts_at=at(restaurant, day, clock), party_size=2)
    many = queries(client, url, search)

    assert many == few <= 9  # with the venue's rules: shifts, turn times, pacing, combinations


def test_htmx_results_query_count_does_not_grow_with_reservations(client, restaurant):
    day = next_weekday(restaurant, TUESDAY)
    url = restaurant.get_absolute_url()
    search = {"date": day.isoformat(), "party_size": "2"}

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(url, search, headers={"HX-Request": "true"})
        return len(captured)

    few = count()
    for number, user in enumerate(guests(6)):  # 12:00 to 13:15: lunch, all six tables busy at 13:15
        reservation_book(
            guest=user,
            venue=restaurant,
            starts_at=at(restaurant, day, f"{12 + number // 4}:{(number % 4) * 15:02d}"),
            party_size=2,
        )
    assert count() == few


def test_hotel_page_query_count_does_not_grow_with_reservations(client, hotel):
    day = next_weekday(hotel, TUESDAY)
    search = {"date": day.isoformat(), "party_size": "1", "nights": "2"}
    few = queries(client, hotel.get_absolute_url(), search)

    for offset, user in enumerate(guests(3)):
        starts_at, ends_at = stay_period(hotel, day + timedelta(days=offset), 1)
        reservation_book(guest=user, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=1)
    many = queries(client, hotel.get_absolute_url(), search)

    assert many == few


def test_meeting_rooms_page_query_count_does_not_grow_with_reservations(client, meeting_rooms):
    day = next_weekday(meeting_rooms, TUESDAY)
    search = {"date": day.isoformat(), "party_size": "4"}
    few = queries(client, meeting_rooms.get_absolute_url(), search)

    users = guests(6)
    for number, space in enumerate(meeting_rooms.spaces.all()):
        for hour in range(3):
            reservation_book(
                guest=users[number * 3 + hour],
                space=space,
                starts_at=at(meeting_rooms, day, f"{9 + 2 * hour}:00"),
                party_size=4,
            )
    many = queries(client, meeting_rooms.get_absolute_url(), search)

    assert many == few


def test_my_reservations_query_count_does_not_grow_with_reservations(client, restaurant, meeting_rooms, guest):
    client.force_login(guest)
    day = next_weekday(restaurant, TUESDAY)
    then = timezone.now() - timedelta(days=40)
    reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=2)
    reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, day - timedelta(weeks=6), "13:00"),
        party_size=2,
        now=then,
    )
    few = queries(client, reverse("reservations:list"))

    for week in range(1, 5):
        reservation_book(
            guest=guest, venue=restaurant, starts_at=at(restaurant, day + timedelta(weeks=week), "19:00"), party_size=2
        )
        reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, day - timedelta(weeks=week + 1), "13:00"),
            party_size=2,
            now=then,
        )
        reservation_book(
            guest=guest,
            space=meeting_rooms.spaces.get(name="Booth"),
            starts_at=at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY, weeks_ahead=week), "10:00"),
            party_size=2,
        )
    many = queries(client, reverse("reservations:list"))

    assert many == few


def test_reservation_page_query_count_does_not_grow_with_its_history(client, restaurant, guest):
    client.force_login(guest)
    day = next_weekday(restaurant, TUESDAY)
    reservation = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=2)
    few = queries(client, reservation.get_absolute_url())

    for clock in ("12:15", "12:30", "12:45"):
        reservation_modify(reservation=reservation, actor=guest, starts_at=at(restaurant, day, clock))
    many = queries(client, reservation.get_absolute_url())

    assert many == few
