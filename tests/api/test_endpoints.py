"""The JSON API under /api/: every endpoint's answers, the errors it promises, who may see what,
both ways of logging in (the browser session with CSRF, allauth's headless session token), and
the query counts of the public reads."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import reservation_book
from spaces.models import Closure, OpeningHours, PaymentMode, Space, Venue
from tests.booked import write_directly
from tests.fake_stripe import FakeStripe
from tests.reservations.conftest import at, make_user, next_weekday

from .conftest import APP_SESSION, app_login, logged_in, session_token, verify_email

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client: Client, url: str, payload, **extra):
    return client.post(url, payload, content_type=JSON, **extra)


def put(client: Client, url: str, payload, **extra):
    return client.put(url, payload, content_type=JSON, **extra)


def booth_request(venue: Venue, clock: str = "10:00", **changes) -> dict:
    day = next_weekday(venue, 1)
    payload = {
        "space": venue.spaces.get(name="Booth").pk,
        "starts_at": at(venue, day, clock).isoformat(),
        "party_size": 2,
        "notes": "Whiteboard, please.",
    }
    return payload | changes


def table_request(venue: Venue, clock: str = "19:30", **changes) -> dict:
    day = next_weekday(venue, 1)
    return {"venue": venue.slug, "starts_at": at(venue, day, clock).isoformat(), "party_size": 4} | changes


@pytest.fixture
def booking(meeting_rooms, guest):
    """The guest's confirmed Booth booking next week, 10:00-11:00 in New York."""
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    return reservation_book(guest=guest, space=booth, starts_at=start, party_size=2, notes="Coffee")


# --- Venues ----------------------------------------------------------------------------------------------


def test_venue_list_shows_active_venues_with_rules_and_active_spaces(restaurant, meeting_rooms, client):
    Venue.objects.create(name="Shut", slug="shut", is_active=False)
    meeting_rooms.spaces.filter(name="Loft").update(is_active=False)

    response = client.get("/api/venues")

    assert response.status_code == 200
    venues = {venue["slug"]: venue for venue in response.json()}
    assert set(venues) == {"trattoria-test", "foundry-test"}
    foundry = venues["foundry-test"]
    assert foundry["time_zone"] == "America/New_York"
    assert foundry["durations"] == [60, 30, 120]
    assert foundry["assignment"] == "guest_picks"
    assert [space["name"] for space in foundry["spaces"]] == ["Booth"]
    assert foundry["spaces"][0]["price"] == "25.00"
    assert len(venues["trattoria-test"]["spaces"]) == 6


def test_one_venue_is_found_by_slug(hotel, client):
    response = client.get("/api/venues/harbour-test")

    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["booking_mode"], body["check_in_time"]) == ("harbour-test", "nights", "15:00:00")
    assert [space["category"] for space in body["spaces"]] == ["Double", "Double", "Family", "Single"]


def test_unknown_or_inactive_venue_is_404_with_detail(restaurant, client):
    restaurant.is_active = False
    restaurant.save()
    for slug in ("trattoria-test", "no-such-venue"):
        response = client.get(f"/api/venues/{slug}")
        assert response.status_code == 404
        assert response.json()["detail"]


# --- Availability ----------------------------------------------------------------------------------------


def test_availability_of_a_guest_picks_venue_lists_slots_per_space_in_local_time(meeting_rooms, booking, client):
    day = next_weekday(meeting_rooms, 1)

    response = client.get(f"/api/availability/{day}", {"venue": "foundry-test", "party_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert (body["venue"], body["date"], body["time_zone"]) == ("foundry-test", str(day), "America/New_York")
    assert body["options"] is None
    (booth,) = [space for space in body["spaces"] if space["name"] == "Booth"]  # the Loft takes 4 or more
    assert (booth["id"], booth["capacity"]) == (booking.space_id, 4)
    starts = [slot["starts_at"] for slot in booth["slots"]]
    offset = at(meeting_rooms, day, "10:00").isoformat()[-6:]  # -05:00 or -04:00
    assert starts[0] == f"{day}T08:00:00{offset}"
    assert f"{day}T09:30:00{offset}" not in starts  # would run into the booking at 10:00
    assert f"{day}T10:00:00{offset}" not in starts
    assert f"{day}T11:00:00{offset}" in starts
    assert booth["slots"][0]["ends_at"] == f"{day}T09:00:00{offset}"


def test_availability_of_an_assigning_venue_has_options_with_free_counts(restaurant, client):
    day = next_weekday(restaurant, 1)

    response = client.get(f"/api/availability/{day}", {"venue": "trattoria-test", "party_size": 4, "duration": 120})

    body = response.json()
    assert response.status_code == 200 and body["duration"] == 120
    seven = [option for option in body["options"] if option["starts_at"] == at(restaurant, day, "19:00").isoformat()]
    assert {option["category"]: option["free"] for option in seven} == {"Dining room": 2, "Terrace": 2}
    assert seven[0]["ends_at"] == at(restaurant, day, "21:00").isoformat()


def test_availability_in_night_mode_takes_nights(hotel, client):
    day = next_weekday(hotel, 3)

    response = client.get(f"/api/availability/{day}", {"venue": "harbour-test", "party_size": 2, "nights": 3})

    body = response.json()
    assert response.status_code == 200 and body["nights"] == 3
    (double,) = [option for option in body["options"] if option["category"] == "Double"]
    assert double["free"] == 2
    # London in winter is UTC: pydantic writes the zero offset as "Z", which is ISO 8601 all the same.
    assert datetime.fromisoformat(double["starts_at"]) == at(hotel, day, "15:00")
    assert datetime.fromisoformat(double["ends_at"]) == at(hotel, day + timedelta(days=3), "11:00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"venue": "foundry-test"}, "party_size"),
        ({"venue": "foundry-test", "party_size": 0}, "party_size"),
        ({"venue": "foundry-test", "party_size": 2, "duration": 45}, "duration"),
        ({"venue": "foundry-test", "party_size": 2, "duration": "long"}, "duration"),
    ],
)
def test_availability_with_invalid_query_is_422_naming_the_field(meeting_rooms, client, query, field):
    day = next_weekday(meeting_rooms, 1)

    response = client.get(f"/api/availability/{day}", query)

    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_availability_for_a_malformed_date_is_422(meeting_rooms, client):
    response = client.get("/api/availability/2026-13-01", {"venue": "foundry-test", "party_size": 2})

    assert response.status_code == 422
    assert "date" in response.json()["detail"]


def test_availability_of_an_unknown_venue_is_404(db, client):
    response = client.get("/api/availability/2026-12-01", {"venue": "nowhere", "party_size": 2})

    assert response.status_code == 404 and response.json()["detail"]


def test_availability_across_the_spring_clock_change_switches_offset_at_two(always_open, client):
    response = client.get("/api/availability/2027-03-28", {"venue": "around-the-clock", "party_size": 1})

    assert response.status_code == 200
    options = response.json()["options"]  # the venue assigns its desk: times, not the desk's slot list
    starts = [option["starts_at"] for option in options]
    assert len(starts) == 23  # 02:00-03:00 does not exist in Berlin that night
    assert starts[:3] == ["2027-03-28T00:00:00+01:00", "2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00"]
    assert starts[-1] == "2027-03-28T23:00:00+02:00"
    assert options[1]["ends_at"] == "2027-03-28T03:00:00+02:00"  # one real hour after 01:00+01:00
    assert all(start.endswith("+01:00") for start in starts[:2])
    assert all(start.endswith("+02:00") for start in starts[2:])


def test_a_slot_from_availability_posts_back_as_it_is(always_open, guest):
    client = logged_in(guest)
    options = client.get("/api/availability/2027-03-28", {"venue": "around-the-clock", "party_size": 1}).json()[
        "options"
    ]
    after_the_change = {key: options[2][key] for key in ("starts_at", "ends_at")}

    response = post(client, "/api/reservations", {"venue": "around-the-clock", "party_size": 1, **after_the_change})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["starts_at"], body["ends_at"]) == (after_the_change["starts_at"], after_the_change["ends_at"])
    reservation = Reservation.objects.get(reference=body["reference"])
    assert reservation.starts_at == datetime(2027, 3, 28, 1, tzinfo=UTC)


# --- Creating ---------------------------------------------------------------------------------------------


def test_booking_a_free_space_is_confirmed_at_once(meeting_rooms, guest):
    client = logged_in(guest)

    response = post(client, "/api/reservations", booth_request(meeting_rooms))

    assert response.status_code == 201, response.content
    body = response.json()
    day = next_weekday(meeting_rooms, 1)
    assert body["status"] == "confirmed"
    assert body["space"] == meeting_rooms.spaces.get(name="Booth").pk
    assert body["venue"] == "foundry-test"
    assert body["starts_at"] == at(meeting_rooms, day, "10:00").isoformat()
    assert body["ends_at"] == at(meeting_rooms, day, "11:00").isoformat()  # the default duration
    assert (body["party_size"], body["notes"]) == (2, "Whiteboard, please.")
    assert body["hold_expires_at"] is None and body["payment_url"] is None
    assert body["reference"] and body["created_at"]
    reservation = Reservation.objects.get(reference=body["reference"])
    assert (reservation.guest, reservation.status) == (guest, "confirmed")


def test_booking_at_an_assigning_venue_takes_the_smallest_fitting_space_of_the_category(restaurant, guest):
    client = logged_in(guest)

    response = post(client, "/api/reservations", table_request(restaurant, category="Terrace"))

    assert response.status_code == 201, response.content
    assert Reservation.objects.get().space.name == "Table 4"
    assert response.json()["space_name"] == "Table 4"


def test_booking_a_venue_that_takes_a_deposit_comes_back_held_with_a_payment_url(restaurant, guest, settings):
    restaurant.payment_mode = PaymentMode.DEPOSIT_PER_GUEST
    restaurant.deposit_per_guest = Decimal("10.00")
    restaurant.save()
    with FakeStripe(webhook_secret="whsec_test_api") as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_api"
        settings.STRIPE_API_BASE = fake.url

        response = post(logged_in(guest), "/api/reservations", table_request(restaurant))

        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "held"
        assert body["amount_due"] == "40.00"
        (session,) = fake.sessions.values()
        assert body["payment_url"] == session["url"]
        assert session["amount_total"] == 4000
    reservation = Reservation.objects.get(reference=body["reference"])
    assert reservation.status == "held"
    # DjangoJSONEncoder writes milliseconds.
    assert abs(datetime.fromisoformat(body["hold_expires_at"]) - reservation.hold_expires_at) < timedelta(
        milliseconds=1
    )
    assert reservation.hold_expires_at > timezone.now()


def test_a_taken_slot_is_409(meeting_rooms, booking, other_guest):
    response = post(logged_in(other_guest), "/api/reservations", booth_request(meeting_rooms))

    assert response.status_code == 409
    assert "Booth is no longer free" in response.json()["detail"]
    assert Reservation.objects.count() == 1


def test_a_naive_time_is_422_naming_the_field(meeting_rooms, guest):
    naive = booth_request(meeting_rooms)["starts_at"][:19]  # "2026-12-01T10:00:00", no offset

    response = post(logged_in(guest), "/api/reservations", booth_request(meeting_rooms, starts_at=naive))

    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("starts_at:")
    assert [error["field"] for error in body["errors"]] == ["starts_at"]
    assert not Reservation.objects.exists()


def test_malformed_json_is_400(meeting_rooms, guest):
    response = logged_in(guest).post("/api/reservations", '{"space": 1, "starts_at": ', content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"party_size": 0}, "party_size"),
        ({"party_size": "four"}, "party_size"),
        ({"notes": "x" * 1001}, "notes"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"space": None}, "body"),  # neither a space nor a venue
    ],
)
def test_invalid_input_is_422_naming_the_field(meeting_rooms, guest, changes, field):
    response = post(logged_in(guest), "/api/reservations", booth_request(meeting_rooms, **changes))

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:")


def test_a_missing_field_is_422_naming_it(meeting_rooms, guest):
    payload = booth_request(meeting_rooms)
    del payload["party_size"]

    response = post(logged_in(guest), "/api/reservations", payload)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "party_size"


def test_an_unknown_space_is_422_and_an_unknown_venue_404(meeting_rooms, guest):
    client = logged_in(guest)

    unknown_space = post(client, "/api/reservations", booth_request(meeting_rooms, space=987654321))
    unknown_venue = post(client, "/api/reservations", {**table_request(meeting_rooms), "venue": "nowhere"})

    assert unknown_space.status_code == 422 and unknown_space.json()["detail"].startswith("space:")
    assert unknown_venue.status_code == 404


@pytest.mark.parametrize(
    ("changes", "words", "field"),
    [
        ({"starts_at": "07:00"}, "not open", "starts_at"),  # before opening
        ({"starts_at": "10:15"}, "every 30 minutes", "starts_at"),  # off the grid
        ({"ends_at": "10:45"}, "Bookings here last", "ends_at"),  # a length not offered
        ({"party_size": 5}, "parties of 1 to 4", "party_size"),  # more than the Booth takes
    ],
)
def test_a_venue_rule_broken_is_422_with_the_reason(meeting_rooms, guest, changes, words, field):
    day = next_weekday(meeting_rooms, 1)
    changes = {
        key: at(meeting_rooms, day, value).isoformat() if key in ("starts_at", "ends_at") else value
        for key, value in changes.items()
    }

    response = post(logged_in(guest), "/api/reservations", booth_request(meeting_rooms, **changes))

    assert response.status_code == 422
    body = response.json()
    assert words in body["detail"]
    assert body["field"] == field


def test_a_party_too_large_for_every_table_is_422_and_says_how_to_reach_the_venue(restaurant, guest):
    Venue.objects.filter(pk=restaurant.pk).update(phone="+49 30 1234567", email="tavola@example.com")

    response = post(logged_in(guest), "/api/reservations", table_request(restaurant, party_size=9))

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Trattoria Test has no space for a party of 9 to book online; "
        "please contact Trattoria Test (+49 30 1234567, tavola@example.com).",
        "field": "party_size",
    }


def test_a_time_in_the_past_or_too_far_ahead_is_422(meeting_rooms, guest):
    client = logged_in(guest)
    past = timezone.now() - timedelta(days=7)
    far = timezone.now() + timedelta(days=200)

    for moment, words in ((past, "already passed"), (far, "up to 90 days ahead")):
        response = post(client, "/api/reservations", booth_request(meeting_rooms, starts_at=moment.isoformat()))
        assert response.status_code == 422
        assert words in response.json()["detail"]


def test_booking_during_a_closure_is_422(restaurant, guest):
    day = next_weekday(restaurant, 1)
    Closure.objects.create(
        venue=restaurant,
        starts_at=at(restaurant, day, "00:00"),
        ends_at=at(restaurant, day, "23:59"),
        reason="Staff party",
    )

    response = post(logged_in(guest), "/api/reservations", table_request(restaurant))

    assert response.status_code == 422
    assert "Staff party" in response.json()["detail"]
    assert not Reservation.objects.exists()


# --- Listing ----------------------------------------------------------------------------------------------


def test_my_list_is_paginated_newest_first(meeting_rooms, guest):
    client = logged_in(guest)
    for clock in ("09:00", "13:00", "16:00"):
        assert post(client, "/api/reservations", booth_request(meeting_rooms, clock)).status_code == 201

    everything = client.get("/api/reservations/me").json()
    page = client.get("/api/reservations/me", {"limit": 1, "offset": 1}).json()

    assert everything["count"] == 3
    assert [item["starts_at"][11:16] for item in everything["items"]] == ["16:00", "13:00", "09:00"]
    assert page == {"items": [everything["items"][1]], "count": 3}


def test_the_list_splits_upcoming_from_past(meeting_rooms, guest, booking):
    room = meeting_rooms.spaces.get(name="Booth")
    yesterday = timezone.now() - timedelta(days=1)
    write_directly(
        Reservation(
            guest=guest,
            space=room,
            starts_at=yesterday,
            ends_at=yesterday + timedelta(hours=1),
            party_size=2,
            status="completed",
        )
    )[0]
    client = logged_in(guest)

    upcoming = client.get(f"/api/reservations/{guest.pk}", {"when": "upcoming"}).json()
    past = client.get("/api/reservations/me", {"when": "past"}).json()

    assert [item["reference"] for item in upcoming["items"]] == [booking.reference]
    assert [item["status"] for item in past["items"]] == ["completed"]


def test_an_unknown_when_is_422(guest):
    response = logged_in(guest).get("/api/reservations/me", {"when": "someday"})

    assert response.status_code == 422 and "when" in response.json()["detail"]


def test_staff_may_list_anyones_reservations_but_an_unknown_user_is_404(booking, guest, staff):
    client = logged_in(staff)

    listed = client.get(f"/api/reservations/{guest.pk}").json()
    unknown = client.get("/api/reservations/987654321")

    assert [item["reference"] for item in listed["items"]] == [booking.reference]
    assert unknown.status_code == 404


# --- The permission matrix ---------------------------------------------------------------------------------


def client_for(who: str, users: dict) -> Client:
    return Client() if who == "anonymous" else logged_in(users[who])


@pytest.fixture
def users(guest, other_guest, staff):
    return {"guest": guest, "other_guest": other_guest, "staff": staff}


@pytest.mark.parametrize(("who", "status"), [("guest", 200), ("other_guest", 403), ("staff", 200), ("anonymous", 401)])
def test_who_may_list_the_guests_reservations(booking, users, who, status):
    response = client_for(who, users).get(f"/api/reservations/{users['guest'].pk}")

    assert response.status_code == status
    assert response.json()["items" if status == 200 else "detail"]


@pytest.mark.parametrize(("who", "status"), [("guest", 200), ("other_guest", 404), ("staff", 200), ("anonymous", 401)])
def test_who_may_see_the_guests_reservation(booking, users, who, status):
    response = client_for(who, users).get(f"/api/reservations/{booking.reference}")

    assert response.status_code == status
    if status == 200:
        assert response.json()["reference"] == booking.reference


@pytest.mark.parametrize(("who", "status"), [("guest", 200), ("other_guest", 404), ("staff", 200), ("anonymous", 401)])
def test_who_may_change_the_guests_reservation(booking, users, who, status):
    response = put(client_for(who, users), f"/api/reservations/{booking.reference}", {"party_size": 3})

    assert response.status_code == status
    booking.refresh_from_db()
    assert booking.party_size == (3 if status == 200 else 2)


@pytest.mark.parametrize(("who", "status"), [("guest", 200), ("other_guest", 404), ("staff", 200), ("anonymous", 401)])
def test_who_may_cancel_the_guests_reservation(booking, users, who, status):
    url = f"/api/reservations/{booking.reference}?reason=Flooded"

    response = client_for(who, users).delete(url)

    assert response.status_code == status
    booking.refresh_from_db()
    assert booking.status == ("cancelled" if status == 200 else "confirmed")


def test_someone_elses_reservation_looks_exactly_like_one_that_does_not_exist(booking, other_guest):
    client = logged_in(other_guest)
    for method in ("get", "put", "delete"):
        theirs = getattr(client, method)(f"/api/reservations/{booking.reference}", {}, content_type=JSON)
        unknown = getattr(client, method)("/api/reservations/ZZZZ-ZZZZ-ZZZZ", {}, content_type=JSON)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()


def test_creating_requires_a_login(meeting_rooms):
    response = post(Client(), "/api/reservations", booth_request(meeting_rooms))

    assert response.status_code == 401
    assert "Log in" in response.json()["detail"]


# --- Changing -----------------------------------------------------------------------------------------------


def test_changing_the_time_keeps_the_length_and_answers_the_new_booking(meeting_rooms, booking, guest):
    day = next_weekday(meeting_rooms, 1)

    response = put(
        logged_in(guest),
        f"/api/reservations/{booking.reference}",
        {"starts_at": at(meeting_rooms, day, "14:00").isoformat(), "notes": "Moved"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["starts_at"] == at(meeting_rooms, day, "14:00").isoformat()
    assert body["ends_at"] == at(meeting_rooms, day, "15:00").isoformat()
    assert (body["notes"], body["status"], body["reference"]) == ("Moved", "confirmed", booking.reference)


def test_moving_to_another_space_of_the_venue(meeting_rooms, booking, guest):
    loft = meeting_rooms.spaces.get(name="Loft")

    response = put(logged_in(guest), f"/api/reservations/{booking.reference}", {"space": loft.pk, "party_size": 6})

    assert response.status_code == 200, response.content
    assert (response.json()["space"], response.json()["space_name"]) == (loft.pk, "Loft")


def test_moving_onto_a_taken_slot_is_409(meeting_rooms, booking, other_guest):
    other = reservation_book(
        guest=other_guest,
        space=booking.space,
        starts_at=at(meeting_rooms, next_weekday(meeting_rooms, 1), "14:00"),
        party_size=2,
    )

    response = put(
        logged_in(other_guest), f"/api/reservations/{other.reference}", {"starts_at": booking.starts_at.isoformat()}
    )

    assert response.status_code == 409
    other.refresh_from_db()
    assert other.starts_at.astimezone(meeting_rooms.zone).time() == time(14)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"party_size": 0}, "party_size"),
        ({"starts_at": "2026-12-01T10:00:00"}, "starts_at"),
        ({"space": 987654321}, "space"),
        ({"notes": "x" * 1001}, "notes"),
    ],
)
def test_an_invalid_change_is_422_naming_the_field(booking, guest, payload, field):
    response = put(logged_in(guest), f"/api/reservations/{booking.reference}", payload)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:")


def test_moving_to_a_space_of_another_venue_is_422(booking, guest, restaurant):
    table = restaurant.spaces.first()

    response = put(logged_in(guest), f"/api/reservations/{booking.reference}", {"space": table.pk})

    assert response.status_code == 422
    assert response.json()["field"] == "space"


def start_soon(venue: Venue, guest, hours: int) -> Reservation:
    """A confirmed booking starting in `hours` hours, made directly: the rules would refuse it now."""
    start = (timezone.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return write_directly(
        Reservation(
            guest=guest,
            space=venue.spaces.get(name="Booth"),
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            party_size=2,
            status="confirmed",
        )
    )[0]


def test_after_the_cutoff_a_guest_can_neither_change_nor_cancel(meeting_rooms, guest):
    soon = start_soon(meeting_rooms, guest, hours=1)  # the Foundry's cut-offs are 2 hours before the start
    client = logged_in(guest)

    changed = put(client, f"/api/reservations/{soon.reference}", {"notes": "Late"})
    cancelled = client.delete(f"/api/reservations/{soon.reference}")

    assert (changed.status_code, cancelled.status_code) == (422, 422)
    assert "Changes closed 2 hours before the start" in changed.json()["detail"]
    assert "Cancellation closed 2 hours before the start" in cancelled.json()["detail"]
    soon.refresh_from_db()
    assert (soon.status, soon.notes) == ("confirmed", "")


# --- Cancelling ---------------------------------------------------------------------------------------------


def test_cancelling_twice_answers_the_same_cancelled_booking(booking, guest):
    client = logged_in(guest)

    first = client.delete(f"/api/reservations/{booking.reference}")
    second = client.delete(f"/api/reservations/{booking.reference}")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == "cancelled"
    assert first.json() == second.json()
    assert booking.events.filter(kind="cancelled").count() == 1


def test_staff_cancelling_without_a_reason_is_422(booking, staff):
    response = logged_in(staff).delete(f"/api/reservations/{booking.reference}")

    assert response.status_code == 422
    assert response.json()["field"] == "reason"


def test_a_cancelled_booking_cannot_be_changed(booking, guest):
    client = logged_in(guest)
    client.delete(f"/api/reservations/{booking.reference}")

    response = put(client, f"/api/reservations/{booking.reference}", {"party_size": 3})

    assert response.status_code == 422
    assert "cancelled and cannot be changed" in response.json()["detail"]


# --- Apps: allauth's headless session token -------------------------------------------------------------------


def test_an_app_logs_in_through_allauth_and_books_with_its_session_token(meeting_rooms, guest):
    token = session_token(guest)
    app = Client()  # no cookies: only the header identifies the guest

    created = post(app, "/api/reservations", booth_request(meeting_rooms), HTTP_X_SESSION_TOKEN=token)
    mine = app.get("/api/reservations/me", HTTP_X_SESSION_TOKEN=token)
    reference = created.json()["reference"]
    changed = put(app, f"/api/reservations/{reference}", {"party_size": 3}, HTTP_X_SESSION_TOKEN=token)
    cancelled = app.delete(f"/api/reservations/{reference}", HTTP_X_SESSION_TOKEN=token)

    assert created.status_code == 201, created.content
    assert [item["reference"] for item in mine.json()["items"]] == [reference]
    assert (changed.status_code, changed.json()["party_size"]) == (200, 3)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert Reservation.objects.get().guest == guest


def test_an_app_token_needs_no_csrf_token(meeting_rooms, guest):
    token = session_token(guest)
    app = Client(enforce_csrf_checks=True)

    response = post(app, "/api/reservations", booth_request(meeting_rooms), HTTP_X_SESSION_TOKEN=token)

    assert response.status_code == 201, response.content


def test_a_wrong_password_gets_no_token(guest):
    verify_email(guest)

    response = app_login(Client(), guest.email, "not-the-password")

    assert response.status_code == 400
    assert "session_token" not in response.json().get("meta", {})


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bogus_session_token_is_401(meeting_rooms, method):
    app = Client(enforce_csrf_checks=True)
    if method == "get":
        response = app.get("/api/reservations/me", HTTP_X_SESSION_TOKEN="bogus")
    else:
        response = post(app, "/api/reservations", booth_request(meeting_rooms), HTTP_X_SESSION_TOKEN="bogus")

    assert response.status_code == 401
    assert response.json()["detail"]


def test_after_logging_out_the_token_is_401(guest):
    token = session_token(guest)
    app = Client()
    assert app.get("/api/reservations/me", HTTP_X_SESSION_TOKEN=token).status_code == 200

    app.delete(APP_SESSION, HTTP_X_SESSION_TOKEN=token)

    assert app.get("/api/reservations/me", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_an_unverified_email_gets_no_token_our_api_accepts(db):
    make_user("fresh@example.com")

    response = app_login(Client(), "fresh@example.com")

    # allauth answers 401 with a pending e-mail verification flow; its token identifies no one yet.
    assert response.status_code == 401
    meta = response.json()["meta"]
    assert meta["is_authenticated"] is False
    assert Client().get("/api/reservations/me", HTTP_X_SESSION_TOKEN=meta["session_token"]).status_code == 401


# --- Browsers: the session, with CSRF on unsafe methods ------------------------------------------------------


def browser_for(user) -> tuple[Client, str]:
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # a page with a form sets the CSRF cookie
    browser.force_login(user)
    return browser, browser.cookies["csrftoken"].value


def test_a_browser_post_without_the_csrf_token_is_refused(meeting_rooms, guest):
    browser, _ = browser_for(guest)

    response = post(browser, "/api/reservations", booth_request(meeting_rooms))

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Reservation.objects.exists()


def test_a_browser_post_with_the_csrf_token_is_accepted(meeting_rooms, guest):
    browser, token = browser_for(guest)

    response = post(browser, "/api/reservations", booth_request(meeting_rooms), HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201, response.content


def test_a_browser_put_and_delete_need_the_csrf_token_too(booking, guest):
    browser, token = browser_for(guest)
    url = f"/api/reservations/{booking.reference}"

    assert put(browser, url, {"party_size": 3}).status_code == 403
    assert browser.delete(url).status_code == 403
    assert put(browser, url, {"party_size": 3}, HTTP_X_CSRFTOKEN=token).status_code == 200
    assert browser.delete(url, HTTP_X_CSRFTOKEN=token).status_code == 200
    booking.refresh_from_db()
    assert (booking.party_size, booking.status) == (3, "cancelled")


def test_a_browser_read_needs_no_csrf_token(booking, guest):
    browser, _ = browser_for(guest)

    assert browser.get(f"/api/reservations/{booking.reference}").status_code == 200


# --- Query counts ------------------------------------------------------------------------------------------------


def count_queries(client: Client, url: str, query=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query)
    assert response.status_code == 200, response.content
    return len(queries)


def add_venue(number: int, spaces: int) -> Venue:
    venue = Venue.objects.create(
        name=f"Venue {number}",
        slug=f"venue-{number}",
        min_lead_minutes=0,
        max_advance_days=365,
        allowed_durations=[120],
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(venue=venue, weekday=weekday, opens_at=time(9), closes_at=time(22)) for weekday in range(7)
    )
    Space.objects.bulk_create(
        Space(venue=venue, name=f"Space {n}", capacity=4, category="A" if n % 2 else "B") for n in range(spaces)
    )
    return venue


def test_the_venue_list_takes_the_same_queries_for_one_venue_or_twenty(client):
    add_venue(0, spaces=1)
    few = count_queries(client, "/api/venues")

    for number in range(1, 20):
        add_venue(number, spaces=15)
    many = count_queries(client, "/api/venues")

    assert len(client.get("/api/venues").json()) == 20
    assert many == few <= 3


def test_availability_takes_the_same_queries_for_few_or_many_spaces_and_bookings(guest, client):
    venue = add_venue(0, spaces=2)
    day = next_weekday(venue, 2)
    query = {"venue": venue.slug, "party_size": 2}
    few = count_queries(client, f"/api/availability/{day}", query)

    Space.objects.bulk_create(Space(venue=venue, name=f"More {n}", capacity=6) for n in range(30))
    for space in venue.spaces.all():
        for clock in ("10:00", "13:00", "17:00"):
            start = at(venue, day, clock)
            write_directly(
                Reservation(
                    guest=guest,
                    space=space,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=90),
                    party_size=2,
                    status="confirmed",
                )
            )[0]
    many = count_queries(client, f"/api/availability/{day}", query)

    assert many == few


# --- Input the database or Python's datetime cannot take (found by tests/api/test_schema_fuzz.py) ----------------


@pytest.mark.parametrize(
    ("method", "url", "payload", "field"),
    [
        ("post", "/api/reservations", {"notes": "Window\x00seat"}, "notes"),
        ("post", "/api/reservations", {"space": None, "venue": "foundry\x00test"}, "venue"),
        ("get", "/api/venues/foundry%00test", None, "slug"),
        ("get", "/api/availability/2026-12-01?venue=foundry%00test&party_size=2", None, "venue"),
        ("get", "/api/reservations/ABCD-EFGH-%00JKM", None, "reference"),
        ("delete", "/api/reservations/{reference}?reason=No%00show", None, "reason"),
    ],
)
def test_a_nul_character_is_422_not_a_database_error(meeting_rooms, booking, guest, method, url, payload, field):
    client = logged_in(guest)
    url = url.format(reference=booking.reference)
    if payload is None:
        response = getattr(client, method)(url)
    else:
        response = post(client, url, {**booth_request(meeting_rooms), **payload})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    booking.refresh_from_db()
    assert booking.status == "confirmed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),  # before year 1 in UTC
        ({"starts_at": "9999-12-31T23:00:00+00:00"}, "starts_at"),  # its end would be after 9999
        ({"ends_at": "9999-12-31T23:59:59-01:00"}, "ends_at"),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_422_for_a_booking_and_a_change(
    meeting_rooms, booking, guest, changes, field
):
    client = logged_in(guest)

    created = post(client, "/api/reservations", booth_request(meeting_rooms, **changes))
    changed = put(client, f"/api/reservations/{booking.reference}", changes)

    for response in (created, changed):
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_availability_for_a_date_at_the_edge_of_the_calendar_is_422(restaurant, hotel, client, day):
    for venue in ("trattoria-test", "harbour-test"):
        response = client.get(f"/api/availability/{day}", {"venue": venue, "party_size": 2, "nights": 1})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "date"


def test_a_stay_of_more_than_thirty_nights_is_422(hotel, guest):
    arrival = next_weekday(hotel, 3)
    stay = {"starts_at": at(hotel, arrival, "15:00").isoformat(), "party_size": 2, "venue": hotel.slug}
    client = logged_in(guest)

    month = post(
        client, "/api/reservations", {**stay, "ends_at": at(hotel, arrival + timedelta(days=30), "11:00").isoformat()}
    )
    centuries = post(client, "/api/reservations", {**stay, "ends_at": "2200-12-31T11:00:00+00:00"})
    reference = month.json()["reference"]
    longer = put(client, f"/api/reservations/{reference}", {"ends_at": "2200-12-31T11:00:00+00:00"})

    assert month.status_code == 201, month.content
    assert (centuries.status_code, longer.status_code) == (422, 422)
    assert centuries.json()["errors"][0]["field"] == "ends_at"
    assert longer.json()["detail"].startswith("ends_at:")
    assert Reservation.objects.get().nights == 30


@pytest.mark.parametrize("query", [{"limit": 10**22}, {"offset": 10**22}, {"limit": 0}, {"offset": -1}])
def test_a_page_beyond_what_postgresql_counts_is_422(guest, query):
    response = logged_in(guest).get("/api/reservations/me", query)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(query))


def test_the_schema_declares_the_token_header_and_every_error_answer(client):
    schema = client.get("/api/openapi.json").json()

    assert schema["components"]["securitySchemes"]["XSessionTokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Session-Token",
    }
    book = schema["paths"]["/api/reservations"]["post"]["responses"]
    assert set(book) == {"201", "400", "401", "403", "404", "409", "413", "422", "429", "503"}
    assert book["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    check_in = schema["components"]["schemas"]["VenueOut"]["properties"]["check_in_time"]
    assert "format" not in check_in  # "time" in JSON Schema requires an offset, which a check-in time has not
