"""The name and phone a booking is under over the API: POST /api/reservations takes `contact_name` and
`contact_phone` (read with accounts.phones into E.164; one that is no phone number is 422 with its field),
PUT changes them, every reservation answer carries them, and the schema says so."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from tests.reservations.conftest import at, next_weekday

from .conftest import logged_in

pytestmark = pytest.mark.django_db
JSON = "application/json"


def booth_request(venue, clock="10:00", **changes) -> dict:
    day = next_weekday(venue, 1)
    booth = venue.spaces.get(name="Booth")
    return {"space": booth.pk, "starts_at": at(venue, day, clock).isoformat(), "party_size": 2} | changes


def test_a_booking_for_someone_else_takes_their_name_and_phone(meeting_rooms, guest):
    client = logged_in(guest)

    response = client.post(
        "/api/reservations",
        booth_request(meeting_rooms, contact_name="  Bob   Builder ", contact_phone="+1 (212) 555-0100"),
        content_type=JSON,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["contact_name"], body["contact_phone"]) == ("Bob Builder", "+12125550100")
    booking = Reservation.objects.get(reference=body["reference"])
    assert (booking.who, booking.phone) == ("Bob Builder", "+12125550100")
    again = client.get(f"/api/reservations/{body['reference']}").json()
    assert (again["contact_name"], again["contact_phone"]) == ("Bob Builder", "+12125550100")
    (listed,) = client.get("/api/reservations/me").json()["items"]
    assert listed["contact_name"] == "Bob Builder"


def test_without_them_the_booking_is_under_the_accounts_name_and_phone(meeting_rooms, guest):
    guest.phone = "+49301234567"
    guest.save()

    response = logged_in(guest).post("/api/reservations", booth_request(meeting_rooms), content_type=JSON)

    assert response.status_code == 201
    assert (response.json()["contact_name"], response.json()["contact_phone"]) == ("Gina Guest", "+49301234567")
    booking = Reservation.objects.get()
    assert (booking.contact_name, booking.contact_phone) == ("", "")  # nothing of its own


@pytest.mark.parametrize("phone", ["12", "not a number", "030 1234567"])  # the last: no country code, not British
def test_a_phone_that_is_none_is_422_naming_the_field_and_nothing_is_booked(meeting_rooms, guest, phone):
    response = logged_in(guest).post(
        "/api/reservations", booth_request(meeting_rooms, contact_phone=phone), content_type=JSON
    )

    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "contact_phone"
    assert body["detail"].startswith("This is not a phone number we can call.")
    assert not Reservation.objects.exists()


def test_a_name_or_phone_too_long_for_the_api_is_422(meeting_rooms, guest):
    client = logged_in(guest)
    for field, value in (("contact_name", "x" * 151), ("contact_phone", "1" * 41)):
        response = client.post("/api/reservations", booth_request(meeting_rooms, **{field: value}), content_type=JSON)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_put_changes_the_name_and_phone(meeting_rooms, guest):
    client = logged_in(guest)
    reference = client.post("/api/reservations", booth_request(meeting_rooms), content_type=JSON).json()["reference"]

    response = client.put(
        f"/api/reservations/{reference}",
        {"contact_name": "Bob Builder", "contact_phone": "07400 123456"},
        content_type=JSON,
    )

    assert response.status_code == 200, response.content
    assert (response.json()["contact_name"], response.json()["contact_phone"]) == ("Bob Builder", "+447400123456")
    bad = client.put(f"/api/reservations/{reference}", {"contact_phone": "12"}, content_type=JSON)
    assert bad.status_code == 422 and bad.json()["field"] == "contact_phone"
    assert Reservation.objects.get().phone == "+447400123456"


def test_the_schema_documents_the_contact_fields():
    schemas = Client().get("/api/openapi.json").json()["components"]["schemas"]

    for schema in ("ReservationIn", "ReservationUpdate", "ReservationOut"):
        properties = schemas[schema]["properties"]
        assert {"contact_name", "contact_phone"} <= set(properties), schema
    assert "E.164" in schemas["ReservationOut"]["properties"]["contact_phone"]["description"]
    assert schemas["ReservationIn"]["properties"]["contact_phone"]["maxLength"] == 40
    assert set(schemas["ReservationOut"]["required"]) >= {"contact_name", "contact_phone"}


def test_listing_reservations_with_their_contacts_costs_no_query_per_booking(
    meeting_rooms, guest, django_assert_num_queries
):
    client = logged_in(guest)
    client.post("/api/reservations", booth_request(meeting_rooms, "08:00"), content_type=JSON)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/reservations/me").json()["items"]) == 1
    queries = len(one.captured_queries)  # now: the next request clears the connection's log
    for clock, name in (("10:00", "Bob"), ("12:00", ""), ("14:00", "Carla")):
        client.post("/api/reservations", booth_request(meeting_rooms, clock, contact_name=name), content_type=JSON)

    with django_assert_num_queries(queries):
        items = client.get("/api/reservations/me").json()["items"]

    assert sorted(item["contact_name"] for item in items) == ["Bob", "Carla", "Gina Guest", "Gina Guest"]
