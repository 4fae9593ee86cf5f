"""Text messages over the API: `by_sms` when booking, confirming and joining a waitlist, shown with the
booking and the wish; asking for texts without a phone is refused like a broken rule (422, with
`field`: "by_sms")."""

import pytest

from reservations.models import OutgoingMessage, Reservation, WaitlistEntry
from reservations.services import reservation_hold
from tests.api.test_endpoints import JSON, post, table_request
from tests.api.test_waitlist_api import full_evening, wish
from tests.reservations.conftest import at, next_weekday
from tests.sms_fixtures import GUEST_PHONE

from .conftest import logged_in

pytestmark = pytest.mark.django_db
NO_PHONE = "To get text messages, give a phone for the booking."


def test_a_booking_asks_for_texts_to_its_phone(fake_twilio, restaurant, guest):
    response = post(
        logged_in(guest), "/api/reservations", table_request(restaurant, contact_phone="07400 123456", by_sms=True)
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["by_sms"], body["contact_phone"]) == (True, GUEST_PHONE)
    assert Reservation.objects.get(reference=body["reference"]).by_sms


def test_a_booking_without_by_sms_asks_for_none(restaurant, guest):
    response = post(logged_in(guest), "/api/reservations", table_request(restaurant))

    assert response.status_code == 201 and response.json()["by_sms"] is False


def test_asking_for_texts_without_any_phone_is_422_naming_the_field(restaurant, guest):
    response = post(logged_in(guest), "/api/reservations", table_request(restaurant, by_sms=True))

    assert response.status_code == 422
    assert response.json() == {"detail": NO_PHONE, "field": "by_sms"}
    assert not Reservation.objects.exists()


def test_the_accounts_phone_is_enough(restaurant, guest):
    guest.phone = GUEST_PHONE
    guest.save()

    response = post(logged_in(guest), "/api/reservations", table_request(restaurant, by_sms=True))

    assert response.status_code == 201 and response.json()["by_sms"] is True


def test_by_sms_must_be_a_boolean(restaurant, guest):
    response = post(logged_in(guest), "/api/reservations", table_request(restaurant, by_sms="perhaps"))

    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "by_sms"


@pytest.fixture
def hold(restaurant, guest):
    return reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, next_weekday(restaurant, 1), "19:30"), party_size=2
    )


def test_confirming_with_by_sms_asks_for_texts(hold, guest):
    guest.phone = GUEST_PHONE
    guest.save()

    response = post(logged_in(guest), f"/api/reservations/{hold.reference}/confirm", {"by_sms": True})

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["by_sms"]) == ("confirmed", True)


def test_confirming_without_a_body_keeps_the_holds_choice(hold, guest):
    response = logged_in(guest).post(f"/api/reservations/{hold.reference}/confirm")

    assert response.status_code == 200 and response.json()["by_sms"] is False


def test_confirming_with_texts_but_no_phone_is_422_and_leaves_the_hold(hold, guest):
    response = post(logged_in(guest), f"/api/reservations/{hold.reference}/confirm", {"by_sms": True})

    assert response.status_code == 422
    assert response.json() == {"detail": NO_PHONE, "field": "by_sms"}
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.HELD


def test_a_confirmation_body_that_is_not_valid_is_422(hold, guest):
    client = logged_in(guest)

    assert client.post(f"/api/reservations/{hold.reference}/confirm", "{", content_type=JSON).status_code == 422
    wrong = post(client, f"/api/reservations/{hold.reference}/confirm", {"by_sms": "perhaps"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "by_sms"


def test_a_confirmation_texted_where_the_venue_texts_them(
    fake_twilio, restaurant, guest, django_capture_on_commit_callbacks
):
    restaurant.sms_booking_changes = True
    restaurant.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            logged_in(guest), "/api/reservations", table_request(restaurant, contact_phone=GUEST_PHONE, by_sms=True)
        )

    assert response.status_code == 201
    text = OutgoingMessage.objects.get(channel=OutgoingMessage.Channel.SMS)
    assert (text.kind, text.status, text.to_phone) == ("confirmed", "sent", GUEST_PHONE)
    assert [sent["to"] for sent in fake_twilio.sent] == [GUEST_PHONE]


def test_joining_a_waitlist_with_texts_needs_the_accounts_phone(restaurant, guest):
    full_evening(restaurant)
    client = logged_in(guest)

    refused = post(client, "/api/waitlist", wish(restaurant, by_sms=True))
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": "To get text messages, add your phone number under My account first.",
        "field": "by_sms",
    }

    guest.phone = GUEST_PHONE
    guest.save()
    joined = post(client, "/api/waitlist", wish(restaurant, by_sms=True))
    assert joined.status_code == 201 and joined.json()["by_sms"] is True
    assert WaitlistEntry.objects.get(guest=guest).by_sms
    assert client.get("/api/waitlist/me").json()[0]["by_sms"] is True
