"""The waitlist over the API: join, see your place and your offer, confirm it, leave."""

import pytest

from reservations.services import reservation_book, reservation_cancel
from tests.reservations.conftest import at, make_user, next_weekday

from .conftest import logged_in

pytestmark = pytest.mark.django_db
TUESDAY = 1
JSON = "application/json"


def full_evening(restaurant):
    day = next_weekday(restaurant, TUESDAY)
    return [
        reservation_book(
            guest=make_user(f"d{n}@example.com"), venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=2
        )
        for n in range(restaurant.spaces.count())
    ]


def wish(restaurant, **changes):
    day = next_weekday(restaurant, TUESDAY)
    return {
        "venue": restaurant.slug,
        "date": day.isoformat(),
        "earliest": "19:00",
        "latest": "20:00",
        "party_size": 2,
        **changes,
    }


def test_join_see_the_place_in_line_get_the_offer_and_confirm_it(restaurant):
    booked = full_evening(restaurant)
    first, second = make_user("w1@example.com"), make_user("w2@example.com")
    joined = logged_in(first).post("/api/waitlist", wish(restaurant), content_type=JSON)
    logged_in(second).post("/api/waitlist", wish(restaurant), content_type=JSON)

    assert joined.status_code == 201, joined.content
    assert joined.json()["status"] == "waiting" and joined.json()["place"] == 1
    assert logged_in(second).get("/api/waitlist/me").json()[0]["place"] == 2

    reservation_cancel(reservation=booked[0], actor=booked[0].guest)
    mine = logged_in(first).get("/api/waitlist/me").json()[0]
    assert mine["status"] == "offered" and mine["place"] is None

    confirmed = logged_in(first).post(f"/api/reservations/{mine['offer']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert logged_in(first).get("/api/waitlist/me").json()[0]["status"] == "booked"


def test_bad_wishes_are_422_with_the_field_and_leaving_is_for_the_guest(restaurant):
    guest = make_user("w@example.com")
    backwards = logged_in(guest).post(
        "/api/waitlist", wish(restaurant, earliest="21:00", latest="19:00"), content_type=JSON
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "latest"
    past = logged_in(guest).post("/api/waitlist", wish(restaurant, date="2020-01-07"), content_type=JSON)
    assert past.status_code == 422

    entry = logged_in(guest).post("/api/waitlist", wish(restaurant), content_type=JSON).json()
    twice = logged_in(guest).post("/api/waitlist", wish(restaurant), content_type=JSON)
    assert twice.status_code == 422 and "already" in twice.json()["detail"]
    assert logged_in(make_user("other@example.com")).delete(f"/api/waitlist/{entry['id']}").status_code == 404
    left = logged_in(guest).delete(f"/api/waitlist/{entry['id']}")
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert logged_in(guest).post("/api/waitlist", wish(restaurant), content_type=JSON).status_code == 201


def test_joining_too_often_is_429(restaurant, settings):
    from django.core.cache import cache

    settings.HOLDFAST_RATE_LIMITS = {**settings.HOLDFAST_RATE_LIMITS, "waitlist": "2/m/user"}
    cache.clear()
    guest = make_user("eager@example.com")
    client = logged_in(guest)
    answers = [
        client.post(
            "/api/waitlist",
            wish(
                restaurant,
                date=(next_weekday(restaurant, TUESDAY) + __import__("datetime").timedelta(days=n)).isoformat(),
            ),
            content_type=JSON,
        ).status_code
        for n in range(3)
    ]
    assert answers == [201, 201, 429]
