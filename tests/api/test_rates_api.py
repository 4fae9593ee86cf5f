"""The JSON API with a hotel's nightly rates and stay limits: prices and refusals in the availability,
stay limits refusing bookings (422 with detail and field), a stay moved to another room type (issue 18)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from reservations.models import Reservation
from reservations.periods import stay_period
from reservations.services import reservation_book
from spaces.models import Rate, Space, StayLimit, Venue
from tests.reservations.conftest import next_weekday

from .conftest import logged_in

pytestmark = pytest.mark.django_db
JSON = "application/json"
TUESDAY, FRIDAY, SATURDAY = 1, 4, 5
WHOLE_YEAR = {"starts_on": date(2000, 1, 1), "ends_on": date(2000, 12, 31)}
SATURDAY_WORDS = "Stays that include a Saturday night from 1 Jan to 30 Jun (Spring) last at least 2 nights."


@pytest.fixture
def spring_saturdays(hotel):
    return StayLimit.objects.create(
        venue=hotel,
        name="Spring",
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 6, 30),
        weekdays=[SATURDAY],
        min_nights=2,
    )


def spring_saturday(venue: Venue) -> date:
    """A Saturday from January to June, within the hotel's booking window."""
    day = next_weekday(venue, SATURDAY, 2)
    while not 1 <= day.month <= 6:
        day += timedelta(weeks=1)
    return day


def stay_request(venue: Venue, arrival: date, nights: int, **changes) -> dict:
    starts_at, ends_at = stay_period(venue, arrival, nights)
    return {
        "venue": venue.slug,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "party_size": 2,
    } | changes


def test_availability_prices_each_room_type_at_its_rates_and_says_why_one_is_refused(hotel, spring_saturdays, client):
    Rate.objects.create(venue=hotel, category="Family", nightly_price=Decimal("175"), **WHOLE_YEAR)
    StayLimit.objects.create(venue=hotel, category="Family", min_nights=1, max_nights=1, **WHOLE_YEAR)
    friday = spring_saturday(hotel) - timedelta(days=1)

    response = client.get(f"/api/availability/{friday}", {"venue": hotel.slug, "party_size": 2, "nights": 2})

    assert response.status_code == 200, response.content
    options = {option["category"]: option for option in response.json()["options"]}
    assert options["Double"]["price"] == "180.00" and options["Double"]["free"] == 2
    assert "unavailable_reason" not in options["Double"]
    assert options["Family"]["free"] == 0
    assert options["Family"]["unavailable_reason"] == "Family: stays last at most 1 night."

    one_night = client.get(f"/api/availability/{friday}", {"venue": hotel.slug, "party_size": 2, "nights": 1}).json()
    family = next(option for option in one_night["options"] if option["category"] == "Family")
    assert (family["free"], family["price"]) == (1, "175.00")


def test_availability_per_room_carries_the_reason(hotel, spring_saturdays, client):
    saturday = spring_saturday(hotel)

    body = client.get(
        f"/api/availability/{saturday}", {"venue": hotel.slug, "party_size": 1, "nights": 1, "detail": "spaces"}
    ).json()

    assert body["spaces"] and all(space["slots"] == [] for space in body["spaces"])
    assert {space["unavailable_reason"] for space in body["spaces"]} == {SATURDAY_WORDS}
    assert all(option["unavailable_reason"] == SATURDAY_WORDS for option in body["options"])


def test_the_schema_declares_the_reason_and_the_room_type_of_a_change(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]

    assert "unavailable_reason" in schema["OptionOut"]["properties"]
    assert "unavailable_reason" in schema["SpaceSlotsOut"]["properties"]
    assert "category" in schema["ReservationUpdate"]["properties"]


def test_a_stay_a_limit_refuses_is_422_with_the_reason_and_the_field(hotel, spring_saturdays, guest):
    saturday = spring_saturday(hotel)

    response = logged_in(guest).post("/api/reservations", stay_request(hotel, saturday, 1), content_type=JSON)

    assert response.status_code == 422
    assert response.json() == {"detail": SATURDAY_WORDS, "field": "ends_at"}
    assert not Reservation.objects.exists()


def test_a_booked_stay_is_priced_at_its_rates(hotel, guest):
    Rate.objects.create(
        venue=hotel, name="Weekends", weekdays=[FRIDAY, SATURDAY], nightly_price=Decimal("150"), **WHOLE_YEAR
    )
    friday = next_weekday(hotel, FRIDAY, 2)

    response = logged_in(guest).post(
        "/api/reservations", stay_request(hotel, friday, 3, category="Double"), content_type=JSON
    )

    assert response.status_code == 201, response.content
    assert response.json()["price"] == "390.00"  # 150 + 150 + 90


@pytest.fixture
def double_stay(hotel, guest) -> Reservation:
    starts_at, ends_at = stay_period(hotel, next_weekday(hotel, TUESDAY, 2), 2)
    return reservation_book(
        guest=guest, venue=hotel, category="Double", starts_at=starts_at, ends_at=ends_at, party_size=2
    )


def put(client: Client, reservation: Reservation, payload: dict):
    return client.put(f"/api/reservations/{reservation.reference}", payload, content_type=JSON)


def test_a_stay_moves_to_another_room_type(hotel, guest, double_stay):
    response = put(logged_in(guest), double_stay, {"category": "Family"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["price"] == "300.00"  # 2 × 150
    assert body["space_name"] == "201"
    double_stay.refresh_from_db()
    assert (double_stay.requested_category, double_stay.space.category) == ("Family", "Family")


def test_a_stay_cannot_move_into_a_room_type_that_is_taken(hotel, guest, other_guest, double_stay):
    family = Space.objects.get(venue=hotel, category="Family")
    reservation_book(
        guest=other_guest,
        venue=hotel,
        category="Family",
        starts_at=double_stay.starts_at,
        ends_at=stay_period(hotel, double_stay.local_starts_at.date(), 1)[1],  # its first night only
        party_size=2,
    )

    response = put(logged_in(guest), double_stay, {"category": "Family"})

    assert response.status_code == 409
    assert response.json()["detail"] == "No room for 2 is free for those nights any more."
    assert Reservation.objects.filter(space=family).count() == 1
    double_stay.refresh_from_db()
    assert double_stay.space.category == "Double"


def test_an_unknown_room_type_is_422_naming_the_field(hotel, guest, double_stay):
    response = put(logged_in(guest), double_stay, {"category": "Penthouse"})

    assert response.status_code == 422
    assert response.json() == {"detail": "Harbour Test has no “Penthouse” to book.", "field": "category"}


def test_a_room_type_a_limit_refuses_is_422_naming_the_end(hotel, guest, double_stay):
    StayLimit.objects.create(venue=hotel, category="Family", min_nights=3, **WHOLE_YEAR)

    response = put(logged_in(guest), double_stay, {"category": "Family"})

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Family: stays last at least 3 nights.",
        "field": "ends_at",
    }


def test_where_the_guest_picks_rooms_a_room_type_is_refused(hotel, guest):
    hotel.assignment = Venue.Assignment.GUEST_PICKS
    hotel.save()
    starts_at, ends_at = stay_period(hotel, next_weekday(hotel, TUESDAY, 2), 2)
    reservation = reservation_book(
        guest=guest,
        space=Space.objects.get(venue=hotel, name="102"),
        starts_at=starts_at,
        ends_at=ends_at,
        party_size=2,
    )

    response = put(logged_in(guest), reservation, {"category": "Family"})
    moved = put(logged_in(guest), reservation, {"space": Space.objects.get(venue=hotel, name="201").pk})

    assert response.status_code == 422 and response.json()["field"] == "category"
    assert moved.status_code == 200 and moved.json()["price"] == "300.00"
