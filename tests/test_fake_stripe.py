"""The fake Stripe server, driven by the real `stripe` library exactly as the app will drive it."""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests.fake_stripe import FakeStripe, parse_stripe_params

WEBHOOK_SECRET = "whsec_test_holdfast"


@pytest.fixture
def fake():
    with FakeStripe(webhook_secret=WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture(autouse=True)
def stripe_against_fake(fake, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", "sk_test_holdfast")
    monkeypatch.setattr(stripe, "api_base", fake.url)
    # The library retries (with back-off sleeps) twice by default; a test must fail fast instead.
    monkeypatch.setattr(stripe, "max_network_retries", 0)


@pytest.fixture
def webhook_receiver(fake):
    """A tiny endpoint that accepts only genuinely signed events, as the app's webhook view must."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            payload = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
            try:
                event = stripe.Webhook.construct_event(payload, self.headers.get("Stripe-Signature"), WEBHOOK_SECRET)
            except (stripe.SignatureVerificationError, ValueError):
                status = 400
            else:
                received.append(event)
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.webhook_url = f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook/"
    yield received
    server.shutdown()
    server.server_close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


BROWSER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


def browse(url, *, post=False):
    """(status, headers, body) of a browser request, without following redirects."""
    request = urllib.request.Request(url, data=b"" if post else None, method="POST" if post else "GET")  # noqa: S310
    try:
        with BROWSER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def create_session(**overrides):
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {"currency": "eur", "unit_amount": 4500, "product_data": {"name": "Table for 4"}},
                "quantity": 1,
            },
            {
                "price_data": {"currency": "eur", "unit_amount": 1250, "product_data": {"name": "Wine pairing"}},
                "quantity": 2,
            },
        ],
        "success_url": "https://holdfast.test/pay/done/?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://holdfast.test/pay/cancelled/",
        "metadata": {"reference": "HF-1234", "reservation_id": "42"},
        "client_reference_id": "42",
        "customer_email": "ada@example.com",
        "expires_at": int(time.time()) + 45 * 60,
        "payment_intent_data": {"metadata": {"reference": "HF-1234"}},
    }
    params.update(overrides)
    return stripe.checkout.Session.create(**params)


def paid_intent(fake, amount=5000):
    session = create_session(
        line_items=[
            {"price_data": {"currency": "eur", "unit_amount": amount, "product_data": {"name": "Room"}}, "quantity": 1}
        ]
    )
    return fake.complete_session(session.id, deliver=False)["data"]["object"]["payment_intent"]


def test_checkout_session_is_created_with_total_metadata_and_payment_page(fake):
    session = create_session()

    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert session.amount_total == 4500 + 2 * 1250
    assert session.currency == "eur"
    assert session.metadata.to_dict() == {"reference": "HF-1234", "reservation_id": "42"}
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert session.url == f"{fake.url}/pay/{session.id}"
    assert session.client_reference_id == "42"
    assert session.livemode is False
    assert fake.sessions[session.id]["customer_email"] == "ada@example.com"


def test_requests_arrive_form_encoded_with_bearer_key_and_are_recorded(fake):
    create_session()

    (request,) = fake.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == "Bearer sk_test_holdfast"
    assert "line_items[1][price_data][product_data][name]=Wine+pairing" in request["body"]
    assert request["params"]["line_items"][1]["price_data"]["unit_amount"] == "1250"
    assert request["params"]["metadata"]["reference"] == "HF-1234"
    # The library sends a generated key on every POST, so only an explicit key makes retries safe.
    assert request["idempotency_key"]


def test_same_idempotency_key_returns_the_same_session_and_creates_only_one(fake):
    first = create_session(idempotency_key="reservation-42-checkout")
    again = create_session(idempotency_key="reservation-42-checkout")
    other = create_session(idempotency_key="reservation-43-checkout")

    assert again.id == first.id
    assert other.id != first.id
    assert len(fake.sessions) == 2
    assert [r["idempotency_key"] for r in fake.requests] == ["reservation-42-checkout"] * 2 + [
        "reservation-43-checkout"
    ]


def test_reusing_an_idempotency_key_with_other_parameters_is_refused():
    create_session(idempotency_key="reservation-42-checkout", client_reference_id="42")

    with pytest.raises(stripe.IdempotencyError):
        create_session(idempotency_key="reservation-42-checkout", client_reference_id="43")


@pytest.mark.parametrize("expires_in", [29 * 60, 25 * 60 * 60], ids=["under-30-minutes", "over-24-hours"])
def test_expires_at_outside_stripes_window_is_refused(fake, expires_in):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create_session(expires_at=int(time.time()) + expires_in)

    assert raised.value.http_status == 400
    assert raised.value.param == "expires_at"
    assert raised.value.error.type == "invalid_request_error"
    assert fake.sessions == {}


def test_unknown_parameter_is_refused_like_stripe_does():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create_session(sucess_url="https://holdfast.test/")

    assert raised.value.code == "parameter_unknown"


def test_retrieve_returns_the_current_session(fake):
    session = create_session()
    fake.complete_session(session.id, deliver=False)

    current = stripe.checkout.Session.retrieve(session.id)

    assert (current.status, current.payment_status) == ("complete", "paid")
    assert current.payment_intent.startswith("pi_test_")
    assert fake.payment_intents[current.payment_intent]["amount_received"] == 7000
    assert fake.payment_intents[current.payment_intent]["metadata"] == {"reference": "HF-1234"}


def test_retrieving_an_unknown_session_is_a_404_resource_missing():
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.checkout.Session.retrieve("cs_test_nope")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_hosted_page_shows_amount_with_pay_button_and_cancel_link():
    session = create_session()

    status, _, page = browse(session.url)

    assert status == 200
    assert "70.00 EUR" in page
    assert f'<form method="post" action="/pay/{session.id}"><button type="submit">Pay</button>' in page
    assert '<a href="https://holdfast.test/pay/cancelled/">Cancel</a>' in page


def test_paying_redirects_to_success_url_and_delivers_a_signed_completed_event(fake, webhook_receiver):
    session = create_session()

    status, headers, _ = browse(session.url, post=True)

    assert status == 303
    assert headers["Location"] == f"https://holdfast.test/pay/done/?session={session.id}"
    (event,) = webhook_receiver
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert event.data.object.payment_status == "paid"
    assert event.data.object.metadata["reference"] == "HF-1234"
    assert fake.deliveries[0]["status"] == 200
    assert stripe.checkout.Session.retrieve(session.id).status == "complete"


def test_paying_twice_delivers_one_event(fake, webhook_receiver):
    session = create_session()

    browse(session.url, post=True)
    status, headers, _ = browse(session.url, post=True)

    assert status == 303
    assert len(webhook_receiver) == 1
    assert len(fake.payment_intents) == 1


def test_expired_session_sends_expired_event_and_can_no_longer_be_paid(fake, webhook_receiver):
    session = create_session()

    event = fake.expire_session(session.id, deliver=True)
    status, _, _ = browse(session.url, post=True)

    assert event["type"] == "checkout.session.expired"
    assert [e.type for e in webhook_receiver] == ["checkout.session.expired"]
    assert status == 410
    assert stripe.checkout.Session.retrieve(session.id).status == "expired"


def test_expire_endpoint_expires_an_open_session():
    session = create_session()

    expired = stripe.checkout.Session.expire(session.id)

    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.checkout.Session.expire(session.id)


def test_event_signed_with_another_secret_is_rejected_by_the_receiver(fake, webhook_receiver):
    event = fake.event("checkout.session.completed", {"id": "cs_test_x", "object": "checkout.session"})
    fake.webhook_secret = "whsec_someone_else"

    status, _ = fake.send_event(event)

    assert status == 400
    assert webhook_receiver == []


def test_sign_produces_a_header_the_library_accepts(fake):
    payload = json.dumps(fake.event("refund.updated", {"id": "re_test_x", "object": "refund"}))

    event = stripe.Webhook.construct_event(payload, fake.sign(payload), WEBHOOK_SECRET)

    assert event.type == "refund.updated"
    assert event.id.startswith("evt_test_")


def test_full_refund_defaults_to_the_remaining_amount(fake):
    intent_id = paid_intent(fake, amount=5000)

    refund = stripe.Refund.create(payment_intent=intent_id, reason="requested_by_customer", metadata={"by": "staff"})

    assert refund.id.startswith("re_test_")
    assert (refund.amount, refund.currency, refund.status) == (5000, "eur", "succeeded")
    assert refund.payment_intent == intent_id
    assert stripe.Refund.retrieve(refund.id).amount == 5000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.Refund.create(payment_intent=intent_id)
    assert raised.value.code == "charge_already_refunded"


def test_partial_refunds_add_up_and_a_larger_one_is_refused(fake):
    intent_id = paid_intent(fake, amount=5000)

    stripe.Refund.create(payment_intent=intent_id, amount=2000)
    stripe.Refund.create(payment_intent=intent_id, amount=1000)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe.Refund.create(payment_intent=intent_id, amount=2001)

    assert raised.value.code == "amount_too_large"
    assert fake.refunded_amount(intent_id) == 3000
    assert stripe.Refund.create(payment_intent=intent_id).amount == 2000


def test_refund_can_be_left_pending_and_settled_later(fake, webhook_receiver):
    intent_id = paid_intent(fake)
    fake.refund_status = "pending"

    refund = stripe.Refund.create(payment_intent=intent_id)
    fake.settle_refund(refund.id, "succeeded")

    assert refund.status == "pending"
    assert [(e.type, e.data.object.status) for e in webhook_receiver] == [("refund.updated", "succeeded")]


def test_failing_refund_raises_card_error_and_refunds_nothing(fake):
    intent_id = paid_intent(fake)
    fake.fail_refunds = True

    with pytest.raises(stripe.CardError) as raised:
        stripe.Refund.create(payment_intent=intent_id, idempotency_key="refund-1")

    assert raised.value.http_status == 402
    assert fake.refunds == {}
    fake.fail_refunds = False
    assert stripe.Refund.create(payment_intent=intent_id, idempotency_key="refund-1").status == "succeeded"


def test_server_error_on_refund_raises_api_error_without_retrying(fake, monkeypatch):
    intent_id = paid_intent(fake)
    fake.fail_refunds = "server"
    # Even with the library's default retries the fake's `Stripe-Should-Retry: false` stops them.
    monkeypatch.setattr(stripe, "max_network_retries", 2)

    with pytest.raises(stripe.APIError) as raised:
        stripe.Refund.create(payment_intent=intent_id)

    assert raised.value.http_status == 500
    assert [r["path"] for r in fake.requests].count("/v1/refunds") == 1


def test_wrong_api_key_is_refused(monkeypatch):
    monkeypatch.setattr(stripe, "api_key", "sk_live_oops")

    with pytest.raises(stripe.AuthenticationError):
        create_session()


def test_stripe_client_style_works_against_the_fake(fake):
    client = stripe.StripeClient("sk_test_holdfast", base_addresses={"api": fake.url}, max_network_retries=0)

    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {"price_data": {"currency": "eur", "unit_amount": 900, "product_data": {"name": "Desk"}}, "quantity": 3}
            ],
            "success_url": "https://holdfast.test/done/",
        },
        options={"idempotency_key": "desk-1"},
    )
    intent_id = fake.complete_session(session.id, deliver=False)["data"]["object"]["payment_intent"]
    refund = client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 900})

    assert session.amount_total == 2700
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert client.v1.refunds.retrieve(refund.id).amount == 900


def test_nested_form_keys_become_dicts_and_lists():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "1500"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][quantity]", "1"),
        ("metadata[reference]", "HF-1"),
        ("expand[]", "payment_intent"),
        ("expand[]", "line_items"),
        ("mode", "payment"),
    ]

    assert parse_stripe_params(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "1500"}, "quantity": "2"}, {"quantity": "1"}],
        "metadata": {"reference": "HF-1"},
        "expand": ["payment_intent", "line_items"],
        "mode": "payment",
    }


def test_concurrent_requests_with_one_idempotency_key_create_one_session(fake):
    ids = []
    threads = [
        threading.Thread(target=lambda: ids.append(create_session(idempotency_key="reservation-42-checkout").id))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 1
    assert len(fake.sessions) == 1


def test_payment_still_redirects_when_the_webhook_is_unreachable(fake):
    fake.webhook_url = "http://127.0.0.1:9/unreachable/"
    session = create_session()

    status, _, _ = browse(session.url, post=True)

    assert status == 303
    assert fake.deliveries[0]["status"] is None
    assert fake.sessions[session.id]["payment_status"] == "paid"
