"""What one uncontended booking costs in SQL statements (issue 22), held to the figure so that it
cannot silently grow back: a booking through the API (`reservation_book`), and the pages' hold and
confirm. And that what was saved changed nothing a guest, a partner or the outbox can see: the API's
answer, written without reading the booking back, is the one a later read gives; the history still
reads "held" then "confirmed"; the partners still hear "created" (a hold, as before) then "confirmed";
one confirmation e-mail, once.

The counts are of everything the request runs, the session and the user included; where they go:

- API booking, 27: session and user 2, rate limits 2 (the API's, then the hold's two rates in one
  upsert), the space 1, the guest's staff roles 1, the "plainly taken" read 1, the venue's rules 5,
  the transaction 2, the guest's lock and hold count 2, closures 1, stale holds in the way 1, the
  claim's savepoint 2, the space's lock and the check under it 2, the booking 1 (written confirmed),
  its claim 1, its two events 1, the partners' endpoints 1, the e-mail 1 (INSERT ... ON CONFLICT).
- HTML hold, 26: the same, with the venue and its rules read once by the form (given to the
  service), no confirmation, one event.
- HTML confirm, 13.
"""

import pytest
from django.urls import reverse

from reservations import webhooks
from reservations.models import OutgoingMessage, Reservation, ReservationEvent, WebhookDelivery, WebhookEndpoint
from reservations.services import reservation_book
from tests.api.conftest import logged_in
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db

API_BOOKING = 27
HTML_HOLD = 26
HTML_CONFIRM = 13


def _booth_request(venue, clock="10:00", **changes):
    return {
        "space": venue.spaces.get(name="Booth").pk,
        "starts_at": at(venue, next_weekday(venue, 1), clock).isoformat(),
        "party_size": 2,
        "notes": "Whiteboard, please.",
    } | changes


def _endpoint(venue):
    return WebhookEndpoint.objects.create(
        venue=venue, url="https://partner.example/hooks", events=list(WebhookEndpoint.Event.values), secret="whsec_x"
    )


def test_an_api_booking_costs_its_statements_and_answers_as_a_read_of_it_would(
    meeting_rooms, guest, django_assert_num_queries
):
    client = logged_in(guest)
    client.post("/api/reservations", _booth_request(meeting_rooms, "09:00"), content_type="application/json")
    payload = _booth_request(meeting_rooms)

    with django_assert_num_queries(API_BOOKING):
        response = client.post("/api/reservations", payload, content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["price"], body["amount_due"], body["hold_expires_at"]) == (
        "confirmed",
        "25.00",
        "0.00",
        None,
    )
    again = client.get(f"/api/reservations/{body['reference']}").json()
    assert body == again  # written, not read back: the same answer


def test_a_booking_with_a_partner_costs_no_more_and_reads_as_held_then_confirmed(
    meeting_rooms, guest, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _endpoint(meeting_rooms)
    client = logged_in(guest)
    client.post("/api/reservations", _booth_request(meeting_rooms, "09:00"), content_type="application/json")
    payload = _booth_request(meeting_rooms)

    with django_assert_num_queries(API_BOOKING + 2):  # the two events' deliveries, an INSERT each
        response = client.post("/api/reservations", payload, content_type="application/json")

    reservation = Reservation.objects.get(reference=response.json()["reference"])
    kinds = list(ReservationEvent.objects.filter(reservation=reservation).order_by("pk").values_list("kind", "details"))
    assert kinds == [("held", {"space": "Booth"}), ("confirmed", {"given": ["notes"]})]
    created, confirmed = WebhookDelivery.objects.filter(reservation=reservation).order_by("pk")
    assert (created.event_type, confirmed.event_type) == ("reservation.created", "reservation.confirmed")
    assert created.payload["data"]["object"]["status"] == "held"  # what partners heard of a new booking
    assert created.payload["data"]["object"]["hold_expires_at"] is not None
    assert confirmed.payload["data"]["object"]["status"] == "confirmed"
    assert confirmed.payload["data"]["object"] == webhooks.reservation_data(reservation)
    [message] = OutgoingMessage.objects.filter(reservation=reservation)
    assert (message.kind, message.dedupe_key, message.to_email) == (
        "confirmed",
        f"confirmed:{reservation.pk}",
        guest.email,
    )


def test_enqueueing_a_key_twice_records_one_message_and_sends_it_once(
    meeting_rooms, guest, django_capture_on_commit_callbacks
):
    from reservations import notifications

    booth = meeting_rooms.spaces.get(name="Booth")
    with django_capture_on_commit_callbacks() as callbacks:
        reservation = reservation_book(
            guest=guest, space=booth, starts_at=at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00"), party_size=2
        )
        again = notifications.enqueue(reservation, OutgoingMessage.Kind.CONFIRMED, key=f"confirmed:{reservation.pk}")
    first = OutgoingMessage.objects.get(dedupe_key=f"confirmed:{reservation.pk}")
    assert again == first and again.to_phone == "" and again.channel == "email"
    assert len(callbacks) == 1  # one dispatch: the second enqueue wrote nothing


def test_the_pages_hold_and_confirm_cost_their_statements(meeting_rooms, guest, django_assert_num_queries):
    client = logged_in(guest)
    day = next_weekday(meeting_rooms, 1)
    booth = meeting_rooms.spaces.get(name="Booth")
    hold_url = reverse("spaces:hold", kwargs={"slug": meeting_rooms.slug})

    def choice(clock):
        return {
            "starts_at": at(meeting_rooms, day, clock).isoformat(),
            "duration": "60",
            "party_size": "2",
            "space": booth.pk,
        }

    client.post(hold_url, choice("09:00"))
    with django_assert_num_queries(HTML_HOLD):
        response = client.post(hold_url, choice("10:00"))
    assert response.status_code == 302, response.content
    reservation = Reservation.objects.get(guest=guest, starts_at=at(meeting_rooms, day, "10:00"))
    assert reservation.status == "held"

    with django_assert_num_queries(HTML_CONFIRM):
        response = client.post(
            reverse("reservations:confirm", kwargs={"reference": reservation.reference}),
            {"notes": "By the window", "contact_name": "", "contact_phone": ""},
        )
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert (reservation.status, reservation.notes, reservation.hold_expires_at) == ("confirmed", "By the window", None)
    events = list(
        ReservationEvent.objects.filter(reservation=reservation).order_by("pk").values_list("kind", "details")
    )
    assert events == [("held", {"space": "Booth"}), ("confirmed", {"given": ["notes"]})]
    assert OutgoingMessage.objects.filter(reservation=reservation, kind="confirmed").count() == 1
