"""The API under the capacity rules: what a guest of an assigning venue is told (times and areas),
every table a combined booking takes, and a pacing-full time refused with 409."""

import pytest
from django.test import Client

from reservations.services import reservation_book
from tests.reservations.conftest import at, make_user, next_weekday

from .conftest import logged_in

pytestmark = pytest.mark.django_db
FRIDAY = 4


def request_for(venue, clock: str, party: int) -> dict:
    return {
        "venue": venue.slug,
        "starts_at": at(venue, next_weekday(venue, FRIDAY), clock).isoformat(),
        "party_size": party,
    }


def test_a_guest_of_an_assigning_venue_gets_times_and_areas_not_every_tables_slots(trattoria):
    day = next_weekday(trattoria, FRIDAY).isoformat()
    answer = Client().get(f"/api/availability/{day}", {"venue": trattoria.slug, "party_size": 4}).json()

    assert answer["spaces"] is None
    first = answer["options"][0]
    assert set(first) == {"category", "starts_at", "ends_at", "free"}
    assert first["starts_at"].endswith("T12:00:00+01:00") or first["starts_at"].endswith("T12:00:00+02:00")
    assert first["ends_at"][11:16] == "14:00"  # a four-top's turn time: two hours
    assert {option["category"] for option in answer["options"]} <= {"Dining room", "Terrace"}


def test_per_table_detail_comes_with_the_parameter_or_for_staff(trattoria, staff):
    day = next_weekday(trattoria, FRIDAY).isoformat()
    query = {"venue": trattoria.slug, "party_size": 4}
    asked = Client().get(f"/api/availability/{day}", {**query, "detail": "spaces"}).json()
    for_staff = logged_in(staff).get(f"/api/availability/{day}", query).json()

    assert [space["name"] for space in asked["spaces"]][:2] == ["Table 2", "Table 3"]
    assert for_staff["spaces"] == asked["spaces"]


def test_a_combined_booking_lists_every_table_it_takes(trattoria):
    guest = make_user("eleven@example.com")
    response = logged_in(guest).post(
        "/api/reservations", request_for(trattoria, "12:00", 11), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [space["name"] for space in body["spaces"]] == ["Table 4", "Table 5", "Table 6"]
    assert body["space"] == body["spaces"][0]["id"]
    assert body["ends_at"][11:16] == "15:00"  # nine to fourteen guests: three hours

    listed = logged_in(guest).get("/api/reservations/me").json()
    assert listed["items"][0]["spaces"] == body["spaces"]


def test_a_pacing_full_time_posted_anyway_is_409_with_the_reason(trattoria):
    for number, party in enumerate([8, 4]):
        reservation_book(
            guest=make_user(f"early{number}@example.com"),
            venue=trattoria,
            starts_at=at(trattoria, next_weekday(trattoria, FRIDAY), "19:00"),
            party_size=party,
        )
    response = logged_in(make_user("late@example.com")).post(
        "/api/reservations", request_for(trattoria, "19:00", 2), content_type="application/json"
    )

    assert response.status_code == 409, response.content
    assert "at most 12 guests start between 19:00 and 19:15" in response.json()["detail"]


def test_a_party_over_the_online_maximum_is_told_how_to_reach_the_venue(trattoria):
    day = next_weekday(trattoria, FRIDAY).isoformat()
    response = Client().get(f"/api/availability/{day}", {"venue": trattoria.slug, "party_size": 15})

    assert response.status_code == 422
    assert response.json()["field"] == "party_size"
    assert "+49 30 1234567" in response.json()["detail"]
