"""The venue's partners hear of its money: a payment that came in, a refund that went through, each
with its booking (reservations/webhooks.py, payments/partners.py), against the Stripe fake."""

import pytest

from payments.models import Refund
from reservations import webhooks
from reservations.models import WebhookEndpoint
from reservations.services import reservation_cancel
from tests.fake_partner import FakePartner
from tests.payments.test_payments import deposit_venue, fake_stripe, hold_table, pay, start_checkout  # noqa: F401

pytestmark = pytest.mark.django_db
Event = WebhookEndpoint.Event


@pytest.fixture
def partner(deposit_venue):  # noqa: F811  (the imported fixture, asked for by name)
    fake = FakePartner().start()
    endpoint = WebhookEndpoint.objects.create(
        venue=deposit_venue,
        url=fake.url,
        events=[Event.PAYMENT_PAID, Event.PAYMENT_REFUNDED, Event.RESERVATION_CONFIRMED],
        secret=webhooks.new_secret(),
    )
    fake.secret = endpoint.secret
    yield fake
    fake.stop()


def test_a_payment_and_its_refund_reach_the_partner(
    deposit_venue,  # noqa: F811
    guest,
    fake_stripe,  # noqa: F811
    client,
    partner,
    django_capture_on_commit_callbacks,
):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, fake_stripe, payment, times=2)  # Stripe's event twice: told once
    assert partner.types() == ["payment.paid", "reservation.confirmed"]
    paid = partner.events()[0]["data"]["object"]
    assert (paid["object"], paid["amount"], paid["currency"], paid["status"]) == ("payment", "40.00", "EUR", "paid")
    assert paid["reservation"]["reference"] == reservation.reference

    reservation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest)
    assert partner.types()[-1] == "payment.refunded"
    refunded = partner.events()[-1]["data"]["object"]
    refund = Refund.objects.get()
    assert (refunded["object"], refunded["id"], refunded["status"]) == ("refund", refund.pk, "succeeded")
    assert refunded["amount"] == str(refund.amount)
    assert refunded["payment"]["amount"] == "40.00"
    assert all(record.verified for record in partner.received)
