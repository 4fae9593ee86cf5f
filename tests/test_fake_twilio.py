"""The fake Twilio server, driven by the real `twilio` library exactly as core/sms.py drives it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from core.sms import _twilio_http_client
from tests.fake_twilio import FakeTwilio, segments

GUEST = "+447400123456"


@pytest.fixture
def fake():
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def client(fake):
    return Client(fake.account_sid, fake.auth_token, http_client=_twilio_http_client(fake.url, 5))


def refused(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def test_a_text_is_taken_with_the_message_resource_twilio_answers(fake, client):
    message = client.messages.create(to=GUEST, from_=fake.from_number, body="Hello", status_callback="https://x/cb")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.body) == ("queued", GUEST, fake.from_number, "Hello")
    assert message.num_segments == "1"
    assert fake.messages[message.sid]["to"] == GUEST
    assert fake.requests[-1]["params"]["StatusCallback"] == "https://x/cb"
    fetched = client.messages(message.sid).fetch()
    assert fetched.body == "Hello"


def test_through_a_messaging_service_a_text_starts_accepted(fake, client):
    message = client.messages.create(to=GUEST, messaging_service_sid=fake.messaging_service_sid, body="Hi")

    assert message.status == "accepted"
    assert message.messaging_service_sid == fake.messaging_service_sid


def test_wrong_credentials_are_refused_with_twilios_20003(fake):
    wrong = Client(fake.account_sid, "not-the-token", http_client=_twilio_http_client(fake.url, 5))

    error = refused(lambda: wrong.messages.create(to=GUEST, from_=fake.from_number, body="Hi"))

    assert (error.status, error.code) == (401, 20003)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": "07400 123456", "body": "Hi"}, 21211),
        ({"to": "+44abc", "body": "Hi"}, 21211),
        ({"to": GUEST, "body": ""}, 21602),
        ({"to": GUEST, "body": "x" * 1601}, 21617),
    ],
)
def test_twilios_rules_on_the_number_and_the_body(fake, client, params, code):
    error = refused(lambda: client.messages.create(from_=fake.from_number, **params))

    assert (error.status, error.code) == (400, code)
    assert not fake.messages


def test_a_text_needs_a_sender_of_ours(fake, client):
    assert refused(lambda: client.messages.create(to=GUEST, body="Hi")).code == 21603
    assert refused(lambda: client.messages.create(to=GUEST, from_="+15005550001", body="Hi")).code == 21606
    assert refused(lambda: client.messages.create(to=GUEST, messaging_service_sid="MG" + "0" * 32, body="Hi")).code == (
        21705
    )


def test_numbers_that_cannot_take_a_text(fake, client):
    fake.non_mobile.add("+442071234567")
    fake.blocked_prefixes.add("+86")
    fake.opted_out.add(GUEST)

    def send(to):
        return lambda: client.messages.create(to=to, from_=fake.from_number, body="Hi")

    assert refused(send("+442071234567")).code == 21614
    assert refused(send("+8613800138000")).code == 21408
    assert refused(send(GUEST)).code == 21610


def test_injected_failures_answer_500_then_429_then_work_again(fake, client):
    fake.fail_next(1, 500)
    fake.fail_next(1, 429)

    def send():
        return client.messages.create(to=GUEST, from_=fake.from_number, body="Hi")

    assert (refused(send).status, refused(send).status) == (500, 429)
    assert send().status == "queued"


def test_segments_are_counted_as_twilio_bills_them():
    assert segments("a" * 160) == (1, "GSM-7")
    assert segments("a" * 161) == (2, "GSM-7")
    assert segments("Straße, Öl, café") == (1, "GSM-7")
    assert segments("€" * 80) == (1, "GSM-7")  # an extension character counts twice
    assert segments("€" * 81) == (2, "GSM-7")
    assert segments("ç" * 70) == (1, "UCS-2")
    assert segments("ç" * 71) == (2, "UCS-2")


@pytest.fixture
def receiver(fake):
    """An endpoint that accepts only requests signed with the account's auth token, as the app's must."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            params = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")))
            url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
            genuine = RequestValidator(fake.auth_token).validate(url, params, self.headers["X-Twilio-Signature"])
            if genuine:
                received.append(params)
            self.send_response(200 if genuine else 403)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_status_callbacks_are_signed_and_follow_the_message(fake, client, receiver):
    base, received = receiver
    message = client.messages.create(
        to=GUEST, from_=fake.from_number, body="Hi", status_callback=f"{base}/sms/twilio/status"
    )

    answers = fake.advance(message.sid, "sent", "delivered")

    assert [status for status, _ in answers] == [200, 200]
    assert [(p["MessageSid"], p["MessageStatus"]) for p in received] == [
        (message.sid, "sent"),
        (message.sid, "delivered"),
    ]
    assert client.messages(message.sid).fetch().status == "delivered"


def test_a_failed_delivery_reports_its_error_code(fake, client, receiver):
    base, received = receiver
    message = client.messages.create(to=GUEST, from_=fake.from_number, body="Hi", status_callback=f"{base}/s")

    fake.advance(message.sid, "undelivered", error_code=30005)

    assert (received[0]["MessageStatus"], received[0]["ErrorCode"]) == ("undelivered", "30005")


def test_a_reply_of_stop_opts_the_number_out_at_twilio_too(fake, client, receiver):
    base, received = receiver
    fake.incoming_url = f"{base}/sms/twilio/incoming"

    status, _ = fake.inbound(GUEST, " stop ")

    assert status == 200
    assert (received[0]["From"], received[0]["Body"], received[0]["OptOutType"]) == (GUEST, " stop ", "STOP")
    assert refused(lambda: client.messages.create(to=GUEST, from_=fake.from_number, body="Hi")).code == 21610
    fake.inbound(GUEST, "START")
    assert client.messages.create(to=GUEST, from_=fake.from_number, body="Hi").status == "queued"


def test_a_forged_signature_is_refused_by_a_validating_receiver(fake, receiver):
    base, received = receiver
    fake.incoming_url = f"{base}/sms/twilio/incoming"

    status, _ = fake.post(fake.incoming_url, fake.inbound_params(GUEST, "STOP"), signature="forged")

    assert status == 403 and not received
