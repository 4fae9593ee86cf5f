"""Text messages through the outbox: which messages also go as a text, sent once through Twilio's
library against the local fake (tests/fake_twilio.py), retried or failed as Twilio answers, and what
Twilio tells us back (status callbacks, a guest's STOP), signed as Twilio signs it."""

import io
from datetime import timedelta
from typing import ClassVar
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext
from twilio.request_validator import RequestValidator

from accounts.models import SmsOptOut
from core import sms as core_sms
from reservations import notifications
from reservations.models import OutgoingMessage, Reservation, WaitlistEntry
from reservations.services import reservation_book, reservation_cancel
from reservations.services.waitlist import waitlist_join
from reservations.sms import render_sms, text_phone
from tests.fake_twilio import segments
from tests.sms_fixtures import GUEST_PHONE

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1
Channel = OutgoingMessage.Channel
Status = OutgoingMessage.Status
STATUS_URL = "http://testserver/sms/twilio/status"
INCOMING_URL = "http://testserver/sms/twilio/incoming"


@pytest.fixture
def texter(guest):
    guest.phone = GUEST_PHONE
    guest.save()
    return guest


def book(venue, guest, *, clock="19:30", **extra) -> Reservation:
    return reservation_book(
        guest=guest, venue=venue, starts_at=at(venue, next_weekday(venue, TUESDAY), clock), party_size=2, **extra
    )


def remind(reservation: Reservation, capture) -> list[OutgoingMessage]:
    """Make the booking's reminder due now and let the job write it; the outbox sends after commit."""
    due = notifications.reminder_due_at(reservation)
    Reservation.objects.filter(pk=reservation.pk).update(created_at=due - timedelta(days=1))
    with capture(execute=True):
        assert notifications.create_due_reminders(now=due) == 1
    return list(OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.REMINDER).order_by("channel"))


def texts() -> list[OutgoingMessage]:
    return list(OutgoingMessage.objects.filter(channel=Channel.SMS))


# --- Which messages go as texts -------------------------------------------------------------------------


def test_a_reminder_goes_by_email_and_by_text_to_a_guest_who_asked(
    fake_twilio, restaurant, texter, django_capture_on_commit_callbacks
):
    reservation = book(restaurant, texter, by_sms=True)

    email_row, text_row = remind(reservation, django_capture_on_commit_callbacks)

    assert (email_row.channel, email_row.status, email_row.to_email) == (Channel.EMAIL, Status.SENT, texter.email)
    assert [m.subject for m in mail.outbox if "Reminder" in m.subject]
    assert (text_row.channel, text_row.status, text_row.to_phone) == (Channel.SMS, Status.SENT, GUEST_PHONE)
    assert text_row.dedupe_key == f"sms:{email_row.dedupe_key}"
    (sent,) = fake_twilio.sent
    assert (sent["to"], sent["from"]) == (GUEST_PHONE, fake_twilio.from_number)
    assert (text_row.provider_id, text_row.provider_status) == (sent["sid"], "queued")
    body = sent["body"]
    assert body.startswith("Reminder: a table for 2 at Trattoria Test, ")
    assert f"http://testserver/reservations/{reservation.reference}/" in body
    assert body.endswith("Reply STOP to opt out.")
    local = reservation.starts_at.astimezone(restaurant.zone)
    assert date_format(local, "D j M H:i") in body  # the venue's own time: 19:30 in Berlin
    # Twilio reports how the text fares to our status callback.
    assert fake_twilio.requests[-1]["params"]["StatusCallback"] == STATUS_URL


@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("reminder", {}),
        ("confirmed", {}),
        ("modified", {"by_staff": True}),
        ("cancelled", {"by_staff": False}),
        ("waitlist_offer", {"until": "2030-01-01T18:45:00+00:00"}),
    ],
)
def test_an_english_text_for_a_typical_booking_fits_one_segment(
    fake_twilio, restaurant, texter, settings, kind, context
):
    settings.SITE_URL = "https://book.holdfast.example"
    restaurant.name = "Trattoria da Gino"
    restaurant.save()
    reservation = book(restaurant, texter, by_sms=True)
    row = OutgoingMessage.objects.create(
        reservation=reservation, kind=kind, channel=Channel.SMS, to_phone=GUEST_PHONE, context=context
    )

    body = render_sms(row)

    assert len(body) <= 160, body
    assert segments(body) == (1, "GSM-7")
    assert body.endswith("Reply STOP to opt out.")


def test_a_german_guest_gets_the_text_in_german(fake_twilio, restaurant, texter, django_capture_on_commit_callbacks):
    texter.language = "de"
    texter.save()
    reservation = book(restaurant, texter, by_sms=True)

    remind(reservation, django_capture_on_commit_callbacks)

    (sent,) = fake_twilio.sent
    local = reservation.starts_at.astimezone(restaurant.zone)
    with translation.override("de"):
        german_date = date_format(local, "D., j. M., H:i")  # core/formats.py DATETIME_WITH_DAY in German
        stop_words = gettext("Reply STOP to opt out.")
    assert german_date in sent["body"]
    assert sent["body"].endswith(stop_words)


def test_the_profile_choice_texts_the_guests_own_phone(
    fake_twilio, restaurant, texter, django_capture_on_commit_callbacks
):
    texter.sms_messages = True
    texter.save()
    # Booked for a friend, with the friend's phone: the profile's consent is for the guest's own number.
    reservation = book(restaurant, texter, contact_name="Fiona Friend", contact_phone="+447911123456")

    remind(reservation, django_capture_on_commit_callbacks)

    assert [text.to_phone for text in texts()] == [GUEST_PHONE]


def test_the_bookings_own_choice_texts_the_bookings_phone(
    fake_twilio, restaurant, texter, django_capture_on_commit_callbacks
):
    reservation = book(restaurant, texter, contact_name="Fiona Friend", contact_phone="+447911123456", by_sms=True)

    remind(reservation, django_capture_on_commit_callbacks)

    assert [text.to_phone for text in texts()] == ["+447911123456"]


def test_no_text_without_the_guests_choice(fake_twilio, restaurant, texter, django_capture_on_commit_callbacks):
    reservation = book(restaurant, texter)

    remind(reservation, django_capture_on_commit_callbacks)

    assert texts() == [] and fake_twilio.sent == []
    assert len([m for m in mail.outbox if "Reminder" in m.subject]) == 1


def test_no_text_where_the_venue_sends_none(fake_twilio, restaurant, texter, django_capture_on_commit_callbacks):
    restaurant.sms_reminders = False
    restaurant.save()
    reservation = book(restaurant, texter, by_sms=True)

    remind(reservation, django_capture_on_commit_callbacks)

    assert texts() == [] and fake_twilio.sent == []


def test_no_text_while_texts_are_off(restaurant, texter, django_capture_on_commit_callbacks):
    reservation = book(restaurant, texter, by_sms=True)

    remind(reservation, django_capture_on_commit_callbacks)

    assert texts() == []


def test_confirmations_and_cancellations_go_by_text_only_where_the_venue_says_so(
    fake_twilio, restaurant, texter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = book(restaurant, texter, by_sms=True)
        reservation_cancel(reservation=first, actor=texter)
    assert texts() == []  # by default a venue texts reminders and offers only

    restaurant.sms_booking_changes = True
    restaurant.save()
    with django_capture_on_commit_callbacks(execute=True):
        second = book(restaurant, texter, clock="20:00", by_sms=True)
        reservation_cancel(reservation=second, actor=texter)

    assert sorted(text.kind for text in texts()) == ["cancelled", "confirmed"]
    bodies = [sent["body"] for sent in fake_twilio.sent]
    assert bodies[0].startswith("Booked: a table for 2 at Trattoria Test, ") and second.reference in bodies[0]
    assert bodies[1].startswith("Cancelled, as you asked: a table for 2 at Trattoria Test, ")


def test_a_waitlist_offer_is_texted_with_the_page_that_confirms_it(
    fake_twilio, restaurant, texter, other_guest, django_capture_on_commit_callbacks
):
    day = next_weekday(restaurant, TUESDAY)
    for table in restaurant.spaces.exclude(name="Table 1"):
        table.is_active = False
        table.save()
    taken = reservation_book(guest=other_guest, venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=2)
    waitlist_join(
        guest=texter,
        venue=restaurant,
        day=day,
        earliest=at(restaurant, day, "19:00").time(),
        latest=at(restaurant, day, "19:00").time(),
        party_size=2,
        by_sms=True,
    )

    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=taken, actor=other_guest)

    entry = WaitlistEntry.objects.get(guest=texter)
    assert entry.status == WaitlistEntry.Status.OFFERED and entry.offer.by_sms
    (text,) = texts()
    assert text.kind == OutgoingMessage.Kind.WAITLIST_OFFER
    (sent,) = fake_twilio.sent
    assert sent["body"].startswith("Waitlist: Trattoria Test, ") and "Yours until" in sent["body"]
    assert f"http://testserver/reservations/{entry.offer.reference}/review/" in sent["body"]


def test_staff_messages_and_other_kinds_never_go_by_text(fake_twilio, restaurant, texter, settings):
    restaurant.sms_booking_changes = True
    restaurant.save()
    texter.sms_messages = True
    texter.save()
    reservation = book(restaurant, texter, by_sms=True)

    for kind in (
        OutgoingMessage.Kind.HOLD_EXPIRED,
        OutgoingMessage.Kind.PAYMENT_REFUNDED,
        OutgoingMessage.Kind.WAITLIST_LAPSED,
        OutgoingMessage.Kind.CALENDAR_CONFLICT,
    ):
        notifications.enqueue(reservation, kind, key=f"{kind}:{reservation.pk}")

    assert list(OutgoingMessage.objects.filter(channel=Channel.SMS).values_list("kind", flat=True)) == ["confirmed"]
    assert text_phone(texter, OutgoingMessage.Kind.REMINDER, reservation=reservation, block=object()) == ""


def test_checking_the_opt_out_is_one_query_and_none_while_texts_are_off(
    settings, fake_twilio, restaurant, texter, django_capture_on_commit_callbacks
):
    texter.sms_messages = True
    texter.save()
    reservation = Reservation.objects.select_related("space__venue", "guest").get(pk=book(restaurant, texter).pk)

    def queries(key):
        with CaptureQueriesContext(connection) as captured:
            notifications.enqueue(reservation, OutgoingMessage.Kind.REMINDER, key=key)
        return len(captured)

    with_texts = queries("reminder:a")
    settings.HOLDFAST_SMS_PROVIDER = ""
    without = queries("reminder:b")

    assert with_texts == 2 * without + 1  # the text's own row as the e-mail's, and the opt-out lookup


# --- Delivery: once, retried, or failed for good ------------------------------------------------------


@pytest.fixture
def queued_text(fake_twilio, restaurant, texter, django_capture_on_commit_callbacks):
    """A reminder's text written, not yet sent."""
    reservation = book(restaurant, texter, by_sms=True)
    due = notifications.reminder_due_at(reservation)
    Reservation.objects.filter(pk=reservation.pk).update(created_at=due - timedelta(days=1))
    notifications.create_due_reminders(now=due)  # no commit callbacks run: nothing sent yet
    return OutgoingMessage.objects.get(channel=Channel.SMS)


def test_a_text_delivered_twice_is_sent_once(fake_twilio, queued_text):
    assert notifications.deliver(queued_text.pk) is True
    assert notifications.deliver(queued_text.pk) is False
    notifications.deliver_due()  # the e-mails that were still due; the text is sent

    assert len(fake_twilio.sent) == 1
    queued_text.refresh_from_db()
    assert (queued_text.status, queued_text.attempts) == (Status.SENT, 1)


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (429, 20429)])
def test_a_provider_that_fails_is_tried_again_with_backoff(fake_twilio, queued_text, status, code):
    fake_twilio.fail_next(1, status)
    now = timezone.now()

    assert notifications.deliver(queued_text.pk, now=now) is False

    queued_text.refresh_from_db()
    assert (queued_text.status, queued_text.attempts) == (Status.PENDING, 1)
    assert queued_text.next_attempt_at == now + timedelta(minutes=1)
    assert str(code) in queued_text.last_error
    assert notifications.deliver(queued_text.pk, now=now + timedelta(seconds=30)) is False  # not due yet

    assert notifications.deliver(queued_text.pk, now=now + timedelta(minutes=1)) is True
    queued_text.refresh_from_db()
    assert (queued_text.status, queued_text.attempts, queued_text.last_error) == (Status.SENT, 2, "")
    assert queued_text.provider_id == fake_twilio.sent[0]["sid"]


def test_a_network_failure_is_tried_again(fake_twilio, queued_text, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    assert notifications.deliver(queued_text.pk) is False

    queued_text.refresh_from_db()
    assert queued_text.status == Status.PENDING and "ConnectionError" in queued_text.last_error


def test_a_number_that_answered_stop_fails_at_once_and_is_opted_out(fake_twilio, queued_text):
    fake_twilio.opted_out.add(GUEST_PHONE)  # Twilio knows of the STOP; we had not heard

    assert notifications.deliver(queued_text.pk) is False

    queued_text.refresh_from_db()
    assert (queued_text.status, queued_text.attempts) == (Status.FAILED, 1)
    assert "21610" in queued_text.last_error
    assert SmsOptOut.objects.filter(phone=GUEST_PHONE).exists()
    requests = len(fake_twilio.requests)
    notifications.deliver_due(now=timezone.now() + timedelta(days=1))  # the e-mails
    assert len(fake_twilio.requests) == requests  # the text is never tried again


@pytest.mark.parametrize("refusal", ["non_mobile", "blocked_prefixes"])
def test_a_number_twilio_cannot_text_fails_at_once(fake_twilio, queued_text, refusal):
    getattr(fake_twilio, refusal).add(GUEST_PHONE if refusal == "non_mobile" else "+44")

    notifications.deliver(queued_text.pk)

    queued_text.refresh_from_db()
    assert queued_text.status == Status.FAILED
    assert ("21614" if refusal == "non_mobile" else "21408") in queued_text.last_error
    assert not SmsOptOut.objects.exists()


def test_a_stop_that_arrives_after_the_text_was_written_stops_it(fake_twilio, queued_text):
    SmsOptOut.objects.create(phone=GUEST_PHONE, words="STOP")

    notifications.deliver(queued_text.pk)

    queued_text.refresh_from_db()
    assert queued_text.status == Status.FAILED and "STOP" in queued_text.last_error
    assert fake_twilio.requests == []


def test_a_deleted_accounts_text_forgets_the_number_once_sent(fake_twilio, queued_text):
    Reservation.objects.filter(pk=queued_text.reservation_id).update(guest=None)

    notifications.deliver(queued_text.pk)

    queued_text.refresh_from_db()
    assert (queued_text.status, queued_text.to_phone) == (Status.SENT, "")


def test_the_console_provider_prints_the_text(settings, queued_text, monkeypatch):
    settings.HOLDFAST_SMS_PROVIDER = "console"
    printed = io.StringIO()
    monkeypatch.setattr("sys.stdout", printed)

    assert notifications.deliver(queued_text.pk) is True

    assert f"Text message to {GUEST_PHONE}" in printed.getvalue() and "Reminder:" in printed.getvalue()
    queued_text.refresh_from_db()
    assert queued_text.provider_id.startswith("console-") and queued_text.provider_status == "sent"


class RecordingProvider(core_sms.Provider):
    sent: ClassVar[list] = []

    def send(self, to, body, *, status_callback=None):
        self.sent.append((to, body))
        return core_sms.SentSms(id="rec-1", status="accepted")


def test_another_provider_is_one_class_named_in_the_settings(settings, queued_text):
    settings.HOLDFAST_SMS_PROVIDER = "tests.reservations.test_sms.RecordingProvider"

    assert notifications.deliver(queued_text.pk) is True

    assert RecordingProvider.sent[-1][0] == GUEST_PHONE
    queued_text.refresh_from_db()
    assert (queued_text.provider_id, queued_text.provider_status) == ("rec-1", "accepted")


# --- What Twilio tells us back -------------------------------------------------------------------------


@pytest.fixture
def sent_text(fake_twilio, queued_text):
    notifications.deliver(queued_text.pk)
    queued_text.refresh_from_db()
    return queued_text


def test_status_callbacks_move_the_text_forward_never_back(fake_twilio, sent_text):
    answers = fake_twilio.advance(sent_text.provider_id, "sent", "delivered")
    assert [status for status, _ in answers] == [200, 200]
    sent_text.refresh_from_db()
    assert sent_text.provider_status == "delivered"

    fake_twilio.advance(sent_text.provider_id, "sent")  # a late report, out of order

    sent_text.refresh_from_db()
    assert sent_text.provider_status == "delivered"


def test_an_undelivered_text_records_the_error_code(fake_twilio, sent_text):
    fake_twilio.advance(sent_text.provider_id, "undelivered", error_code=30003)

    sent_text.refresh_from_db()
    assert sent_text.provider_status == "undelivered"
    assert "30003" in sent_text.last_error
    assert sent_text.status == Status.SENT  # handed over; staff see why it did not arrive


def test_a_callback_without_a_valid_signature_changes_nothing(fake_twilio, sent_text):
    params = fake_twilio.status_params(sent_text.provider_id, "delivered")

    assert fake_twilio.post(STATUS_URL, params, signature="forged")[0] == 403
    assert fake_twilio.post(STATUS_URL, params, signature="")[0] == 403
    wrong_token = fake_twilio.sign(STATUS_URL, params, token="another-token")
    assert fake_twilio.post(STATUS_URL, params, signature=wrong_token)[0] == 403
    # Signed for another address (a copy replayed elsewhere) is not valid here either.
    assert fake_twilio.post(STATUS_URL, params, signature=fake_twilio.sign("https://else/x", params))[0] == 403

    sent_text.refresh_from_db()
    assert sent_text.provider_status == "queued"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"MessageSid": "nope"}, "MessageSid"),
        ({"MessageStatus": "exploded"}, "MessageStatus"),
        ({"ErrorCode": "x"}, "ErrorCode"),
    ],
)
def test_a_signed_callback_with_bad_input_is_400_with_a_clear_body(fake_twilio, sent_text, change, words):
    params = {**fake_twilio.status_params(sent_text.provider_id, "delivered"), **change}

    status, body = fake_twilio.post(STATUS_URL, params)

    assert status == 400 and body.startswith(words)


def test_a_callback_for_a_text_we_do_not_know_is_answered_and_ignored(fake_twilio, sent_text):
    params = {**fake_twilio.status_params(sent_text.provider_id, "delivered"), "MessageSid": "SM" + "0" * 32}

    assert fake_twilio.post(STATUS_URL, params) == (200, "ignored")


def test_the_webhooks_take_only_post():
    assert Client().get("/sms/twilio/status").status_code == 405
    assert Client().get("/sms/twilio/incoming").status_code == 405


@pytest.mark.parametrize("reply", ["STOP", "stop", "  Stop  ", "UNSUBSCRIBE", "quit", "End", "stopall", "Stop."])
def test_a_reply_of_stop_opts_the_number_out_and_no_more_texts_are_made(
    fake_twilio, restaurant, texter, reply, django_capture_on_commit_callbacks
):
    status, body = fake_twilio.inbound(GUEST_PHONE, reply)

    assert status == 200 and "<Response" in body
    opt_out = SmsOptOut.objects.get(phone=GUEST_PHONE)
    assert opt_out.words == reply.strip()
    reservation = book(restaurant, texter, by_sms=True)
    remind(reservation, django_capture_on_commit_callbacks)
    assert texts() == [] and fake_twilio.sent == []


def test_a_reply_that_is_not_a_keyword_changes_nothing(fake_twilio, texter):
    assert fake_twilio.inbound(GUEST_PHONE, "Please stop by at 8")[0] == 200

    assert not SmsOptOut.objects.exists()


def test_start_lifts_the_opt_out(fake_twilio, restaurant, texter, django_capture_on_commit_callbacks):
    fake_twilio.inbound(GUEST_PHONE, "STOP")
    fake_twilio.inbound(GUEST_PHONE, "start")

    assert not SmsOptOut.objects.exists()
    reservation = book(restaurant, texter, by_sms=True)
    remind(reservation, django_capture_on_commit_callbacks)
    assert len(fake_twilio.sent) == 1


def test_a_reply_without_a_valid_signature_changes_nothing(fake_twilio):
    params = fake_twilio.inbound_params(GUEST_PHONE, "STOP")

    assert fake_twilio.post(INCOMING_URL, params, signature="forged")[0] == 403
    assert not SmsOptOut.objects.exists()


def test_a_signed_reply_from_no_phone_number_is_400(fake_twilio):
    params = fake_twilio.inbound_params("not-a-number", "STOP")

    status, body = fake_twilio.post(INCOMING_URL, params)

    assert status == 400 and body.startswith("From")


def test_replies_signed_with_a_webhook_signing_key_are_accepted(fake_twilio, settings):
    settings.TWILIO_WEBHOOK_SIGNING_KEY = "shared-key-secret"
    params = fake_twilio.inbound_params(GUEST_PHONE, "STOP")
    client = Client()
    signature = RequestValidator("shared-key-secret").compute_signature(INCOMING_URL, params, algorithm="HMAC_SHA256")
    response = client.post(
        "/sms/twilio/incoming",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
        },
    )

    assert response.status_code == 200
    assert SmsOptOut.objects.filter(phone=GUEST_PHONE).exists()
