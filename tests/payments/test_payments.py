"""Deposits, the Stripe webhook and refunds, against a local fake of Stripe's HTTP API.

Webhook payloads are signed with the stripe library's own signature helper and a test secret.
"""

import io
import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.models import Payment, Refund, StripeEvent
from payments.services import checkout_start, refund_preview, retry_refunds
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.services import (
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
)
from spaces.models import PaymentMode, VenueRole
from tests.fake_stripe import FakeStripe
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db
WEBHOOK = "/payments/stripe/webhook/"
SECRET = "whsec_test_holdfast"


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe(webhook_secret=SECRET) as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_holdfast"
        settings.STRIPE_WEBHOOK_SECRET = SECRET
        settings.STRIPE_API_BASE = fake.url
        yield fake


@pytest.fixture
def deposit_venue(restaurant):
    restaurant.payment_mode = PaymentMode.DEPOSIT_PER_GUEST
    restaurant.deposit_per_guest = Decimal("10.00")
    restaurant.cancellation_cutoff_hours = 0  # every refund tier is reachable by a guest
    restaurant.save()
    return restaurant


def hold_table(venue, guest, clock="19:30", party_size=4, **extra):
    start = at(venue, next_weekday(venue, 1), clock)
    return reservation_hold(guest=guest, venue=venue, starts_at=start, party_size=party_size, **extra)


def start_checkout(reservation):
    return checkout_start(reservation=reservation)


def post_event(client, fake, event, *, signature=None):
    payload = json.dumps(event)
    return client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature or fake.sign(payload)
    )


def pay(client, fake, payment, times=1):
    event = fake.complete_session(payment.stripe_checkout_session_id, deliver=False)
    return [post_event(client, fake, event) for _ in range(times)]


# --- Amounts and checkout -----------------------------------------------------------------------------


def test_without_stripe_keys_a_deposit_venue_is_paid_at_the_venue(deposit_venue, guest, client):
    reservation = reservation_book(
        guest=guest,
        venue=deposit_venue,
        starts_at=at(deposit_venue, next_weekday(deposit_venue, 1), "19:30"),
        party_size=4,
    )
    assert reservation.status == "confirmed" and reservation.amount_due == 0
    assert "You pay at the venue." in client.get(deposit_venue.get_absolute_url()).content.decode()


def test_a_hold_at_a_deposit_venue_owes_the_deposit_and_cannot_be_confirmed_unpaid(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest, party_size=4)
    assert reservation.amount_due == Decimal("40.00")
    with pytest.raises(PolicyViolation, match="once the payment is made"):
        reservation_confirm(reservation=reservation, actor=guest)


def test_checkout_opens_a_session_for_the_deposit_and_keeps_the_hold_as_long(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    before = timezone.now()
    payment = start_checkout(reservation)
    again = start_checkout(reservation)  # a second click: the same session, no second charge

    assert again.pk == payment.pk and len(fake_stripe.sessions) == 1
    session = fake_stripe.sessions[payment.stripe_checkout_session_id]
    assert session["amount_total"] == 4000 and session["currency"] == "eur"
    assert session["metadata"] == {"reference": reservation.reference}
    assert session["expires_at"] >= (before + timedelta(minutes=30)).timestamp()
    request = next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")
    assert request["idempotency_key"].startswith(f"checkout-{reservation.reference}")
    reservation.refresh_from_db()
    assert reservation.hold_expires_at.timestamp() >= session["expires_at"] - 1
    assert payment.checkout_url == session["url"] and payment.status == "pending"


# --- Webhook ---------------------------------------------------------------------------------------------


def test_paying_confirms_the_booking_once_however_often_the_webhook_comes(
    deposit_venue, guest, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    with django_capture_on_commit_callbacks(execute=True):
        responses = pay(client, fake_stripe, payment, times=3)

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response.content for response in responses] == [b"handled", b"duplicate", b"duplicate"]
    reservation.refresh_from_db()
    payment.refresh_from_db()
    assert reservation.status == "confirmed"
    assert payment.status == "paid" and payment.stripe_payment_intent_id.startswith("pi_test_")
    assert reservation.events.filter(kind="paid").count() == 1
    assert reservation.events.filter(kind="confirmed").count() == 1
    assert StripeEvent.objects.count() == 1
    assert [email.subject.split(":")[0] for email in mail.outbox] == ["[Holdfast] Confirmed"]


def test_an_expired_event_after_the_payment_changes_nothing(deposit_venue, guest, fake_stripe, client):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    pay(client, fake_stripe, payment)
    late_expiry = fake_stripe.event(
        "checkout.session.expired", {**fake_stripe.sessions[payment.stripe_checkout_session_id], "status": "expired"}
    )
    assert post_event(client, fake_stripe, late_expiry).status_code == 200
    reservation.refresh_from_db()
    payment.refresh_from_db()
    assert (reservation.status, payment.status) == ("confirmed", "paid")


def test_an_expired_checkout_ends_the_hold(deposit_venue, guest, fake_stripe, client):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    event = fake_stripe.expire_session(payment.stripe_checkout_session_id)
    for _ in range(3):
        assert post_event(client, fake_stripe, event).status_code == 200
    reservation.refresh_from_db()
    payment.refresh_from_db()
    assert (reservation.status, payment.status) == ("expired", "expired")
    assert reservation.events.filter(kind="expired").count() == 1


def test_a_payment_that_arrives_after_expiry_confirms_when_the_slot_is_still_free(
    deposit_venue, guest, fake_stripe, client
):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    completed = fake_stripe.complete_session(payment.stripe_checkout_session_id, deliver=False)
    expired = fake_stripe.event(
        "checkout.session.expired", {**completed["data"]["object"], "status": "expired", "payment_status": "unpaid"}
    )
    post_event(client, fake_stripe, expired)  # out of order: the expiry arrives first
    post_event(client, fake_stripe, completed)

    reservation.refresh_from_db()
    assert reservation.status == "confirmed"
    assert reservation.events.get(kind="confirmed").details == {"paid": True, "late_payment": True}
    assert not Refund.objects.exists()


def test_a_payment_after_expiry_with_the_slot_taken_is_refunded_and_the_guest_told(
    deposit_venue, guest, other_guest, fake_stripe, client, django_capture_on_commit_callbacks
):
    deposit_venue.spaces.exclude(name="Table 6").delete()  # one table only
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    Reservation.objects.filter(pk=reservation.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    # The guest pays at the last moment; Stripe's webhook is on its way when the table is given away.
    paid = fake_stripe.complete_session(payment.stripe_checkout_session_id, deliver=False)
    host = with_authenticator(make_user("host@example.com", is_staff=True))
    VenueRole.objects.create(venue=deposit_venue, user=host, role=VenueRole.Role.HOST)
    with django_capture_on_commit_callbacks(execute=True):
        taker = reservation_book(  # the host's walk-in takes the table once the hold has lapsed
            guest=other_guest,
            actor=host,
            venue=deposit_venue,
            starts_at=reservation.starts_at,
            party_size=4,
        )
    assert taker.status == "confirmed"
    assert Payment.objects.get().status == "pending"  # Stripe would not expire a paid session
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, fake_stripe, paid)

    reservation.refresh_from_db()
    refund = Refund.objects.get()
    assert reservation.status == "expired"
    assert (refund.amount, refund.status) == (Decimal("40.00"), "succeeded")
    (stripe_refund,) = fake_stripe.refunds.values()
    assert (
        stripe_refund["amount"] == 4000
        and stripe_refund["payment_intent"] == Payment.objects.get().stripe_payment_intent_id
    )
    assert any("payment refunded" in email.subject for email in mail.outbox)


def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(deposit_venue, guest, fake_stripe, client):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    event = fake_stripe.complete_session(payment.stripe_checkout_session_id, deliver=False)
    payload = json.dumps(event)

    wrong = fake_stripe.sign(payload, secret="whsec_someone_else")
    stale = fake_stripe.sign(payload, timestamp=int(time.time()) - 3600)
    for signature in (wrong, stale, "t=1,v1=nonsense"):
        assert post_event(client, fake_stripe, event, signature=signature).status_code == 400
    assert client.post(WEBHOOK, data=payload, content_type="application/json").status_code == 400
    reservation.refresh_from_db()
    assert reservation.status == "held" and not StripeEvent.objects.exists()


# --- Refunds by policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("hours_before", "refunded"), [(72, "40.00"), (30, "20.00"), (10, None)])
def test_a_guest_cancellation_is_refunded_by_the_policy_tier(
    deposit_venue, guest, fake_stripe, client, hours_before, refunded, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    pay(client, fake_stripe, payment)
    reservation.refresh_from_db()
    when = reservation.starts_at - timedelta(hours=hours_before)

    assert refund_preview(reservation, now=when) == Decimal(refunded or "0")
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest, now=when)

    if refunded is None:
        assert not Refund.objects.exists() and not fake_stripe.refunds
    else:
        refund = Refund.objects.get()
        assert (refund.amount, refund.status) == (Decimal(refunded), "succeeded")
        (stripe_refund,) = fake_stripe.refunds.values()
        assert stripe_refund["amount"] == int(Decimal(refunded) * 100)
        request = next(r for r in fake_stripe.requests if r["path"] == "/v1/refunds")
        assert request["idempotency_key"] == f"refund-{refund.pk}"


def test_a_staff_cancellation_refunds_everything(
    deposit_venue, guest, staff, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    reservation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(
            reservation=reservation,
            actor=staff,
            reason="Kitchen closed",
            now=reservation.starts_at - timedelta(hours=1),
        )
    assert Refund.objects.get().amount == Decimal("40.00")


def test_a_refund_refused_by_stripe_is_reported_by_check_payments(
    deposit_venue, guest, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    reservation.refresh_from_db()
    call_command("check_payments", stdout=io.StringIO())  # consistent so far: no error

    fake_stripe.fail_refunds = True
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest, now=reservation.starts_at - timedelta(hours=72))

    refund = Refund.objects.get()
    assert refund.status == "failed" and "CardError" in refund.last_error
    output = io.StringIO()
    with pytest.raises(CommandError, match="1 payment inconsistency"):
        call_command("check_payments", stdout=output)
    assert f"Refund failed: €40 for {reservation.reference}" in output.getvalue()


def test_a_refund_stripe_could_not_take_is_retried_until_it_goes_through(
    deposit_venue, guest, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    reservation.refresh_from_db()
    fake_stripe.fail_refunds = "server"
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest, now=reservation.starts_at - timedelta(hours=72))
    assert Refund.objects.get().status == "requested"

    fake_stripe.fail_refunds = False
    assert retry_refunds() == 1
    assert retry_refunds() == 0
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == ("succeeded", 2)
    assert len(fake_stripe.refunds) == 1


def test_a_pending_refund_is_tracked_until_stripe_reports_it_done(
    deposit_venue, guest, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    reservation.refresh_from_db()
    fake_stripe.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest, now=reservation.starts_at - timedelta(hours=72))
    refund = Refund.objects.get()
    assert refund.status == "pending"

    event = fake_stripe.settle_refund(refund.stripe_refund_id, deliver=False)
    post_event(client, fake_stripe, event)
    post_event(client, fake_stripe, event)
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.completed_at is not None


def test_check_payments_reports_a_paid_booking_that_was_never_confirmed(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    payment = start_checkout(reservation)
    Payment.objects.filter(pk=payment.pk).update(status="paid", stripe_payment_intent_id="pi_test_lost")
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_payments", stdout=output)
    assert f"Paid but not confirmed: {reservation.reference}" in output.getvalue()


# --- Pages --------------------------------------------------------------------------------------------------


def test_the_review_page_sends_the_guest_to_stripe_and_back_to_a_confirming_page(
    deposit_venue, guest, fake_stripe, client
):
    reservation = hold_table(deposit_venue, guest)
    client.force_login(guest)
    review = client.get(f"/reservations/{reservation.reference}/review/").content.decode()
    assert "Confirm and pay €40" in review

    response = client.post(f"/reservations/{reservation.reference}/confirm/", {"notes": ""})
    payment = Payment.objects.get()
    assert response.status_code == 302 and response["Location"] == payment.checkout_url
    waiting = client.get(f"/reservations/{reservation.reference}/payment/")
    assert waiting.status_code == 200 and "confirming" in waiting.content.decode().lower()

    pay(client, fake_stripe, payment)
    done = client.get(f"/reservations/{reservation.reference}/payment/")
    assert done.status_code == 302 and done["Location"] == f"/reservations/{reservation.reference}/"


def test_the_cancel_page_tells_the_refund_before_the_guest_confirms(deposit_venue, guest, fake_stripe, client):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    client.force_login(guest)
    page = client.get(f"/reservations/{reservation.reference}/cancel/").content.decode()
    assert "You will get €40 back" in page


def test_staff_find_a_payment_by_stripe_id_and_refund_part_of_it(
    deposit_venue, guest, staff, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    pay(client, fake_stripe, start_checkout(reservation))
    payment = Payment.objects.get()
    client.force_login(staff)

    found = client.get("/admin/payments/payment/", {"q": payment.stripe_payment_intent_id})
    assert reservation.reference in found.content.decode()
    assert (
        payment.stripe_checkout_session_id
        in client.get(f"/admin/reservations/reservation/{reservation.pk}/change/").content.decode()
    )

    url = f"/admin/payments/payment/{payment.pk}/refund/"
    form_page = client.get(url).content.decode()
    assert "Payment of €40 for reservation" in form_page and "Refundable: <strong>€40</strong>" in form_page
    too_much = client.post(url, {"amount": "50.00", "reason": "goodwill"})
    assert too_much.status_code == 200 and "Refund between €0.01 and €40." in too_much.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"amount": "15.00", "reason": "goodwill"})
    assert done.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.requested_by) == (Decimal("15.00"), "succeeded", staff)
    assert payment.refundable() == Decimal("25.00")
