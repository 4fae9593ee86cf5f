"""Text messages and a guest's own data: the export lists them with their words and the number they went
to; deleting the account leaves no message with the phone it went to, once sent."""

import json

import pytest
from django.urls import reverse

from privacy.services import account_delete, account_export
from reservations import notifications
from reservations.models import OutgoingMessage
from reservations.services import reservation_book
from tests.reservations.conftest import at, next_weekday
from tests.sms_fixtures import GUEST_PHONE

pytestmark = pytest.mark.django_db
SMS = OutgoingMessage.Channel.SMS


@pytest.fixture
def texted(fake_twilio, restaurant, guest, django_capture_on_commit_callbacks):
    """A confirmed dinner whose confirmation went as an e-mail and a text."""
    restaurant.sms_booking_changes = True
    restaurant.save()
    guest.phone = GUEST_PHONE
    guest.save()
    with django_capture_on_commit_callbacks(execute=True):
        return reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, next_weekday(restaurant, 1), "19:30"),
            party_size=2,
            by_sms=True,
        )


def test_the_export_lists_the_texts_with_their_words(client, texted, guest):
    client.force_login(guest)

    data = json.loads(client.get(reverse("accounts:data_export")).content)

    (reservation,) = data["reservations"]
    assert [email["kind"] for email in reservation["emails"]] == ["confirmed"]
    (text,) = reservation["text_messages"]
    assert (text["kind"], text["to"], text["status"]) == ("confirmed", GUEST_PHONE, "sent")
    assert text["text"].startswith("Booked: a table for 2 at Trattoria Test") and texted.reference in text["text"]
    assert data["profile"]["text_messages"] is False


def test_the_export_with_texts_takes_a_bounded_number_of_queries(texted, guest, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        account_export(user=guest)


def test_deleting_the_account_forgets_the_phone_of_every_text_sent(
    texted, guest, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=guest)

    texts = OutgoingMessage.objects.filter(reservation=texted, channel=SMS)
    assert {text.kind for text in texts} == {"confirmed", "cancelled"}  # the cancellation went by text too
    assert all(text.status == OutgoingMessage.Status.SENT for text in texts)
    assert not texts.exclude(to_phone="").exists()
    assert fake_twilio.sent[-1]["body"].startswith("Cancelled, as you asked")


def test_a_text_still_to_go_keeps_the_phone_until_it_is_sent(
    texted, guest, fake_twilio, django_capture_on_commit_callbacks
):
    account_delete(user=guest)  # no commit callbacks: the cancellation's text is not sent yet

    pending = OutgoingMessage.objects.get(reservation=texted, channel=SMS, kind="cancelled")
    assert pending.to_phone == GUEST_PHONE
    notifications.deliver(pending.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.to_phone) == (OutgoingMessage.Status.SENT, "")
