"""Checkout can be reopened, never keeps a hold past its ceiling, and closes when the hold ends — against
the local fake of Stripe, which refuses an idempotency key reused with other parameters, as Stripe does."""

import json
import threading
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment, Refund
from payments.services import PaymentUnavailable, checkout_start, refund_issue
from payments.services.refunds import CLAIM_LEASE, claim_refund, retry_refunds
from reservations.exceptions import HoldExpired, PolicyViolation
from reservations.models import Reservation
from reservations.services import (
    expire_stale_holds,
    hold_ceiling,
    reservation_book,
    reservation_cancel,
    reservation_extend_hold,
    reservation_hold,
)
from spaces.models import Closure, VenueRole
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens


def hold_table(venue, guest, **extra):
    start = at(venue, next_weekday(venue, 1), "19:30")
    return reservation_hold(guest=guest, venue=venue, starts_at=start, party_size=4, **extra)


def session_requests(fake) -> list[dict]:
    return [request for request in fake.requests if request["path"] == "/v1/checkout/sessions"]


def test_coming_back_from_stripe_and_paying_again_reopens_the_same_session(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    first = checkout_start(reservation=reservation)

    # A minute later (not in the same second): the guest came back from Stripe's cancel page.
    again = checkout_start(reservation=reservation, now=timezone.now() + timedelta(minutes=1))

    assert again.pk == first.pk and again.checkout_url == first.checkout_url
    assert len(fake_stripe.sessions) == 1 and len(session_requests(fake_stripe)) == 1


def test_a_closed_session_is_followed_by_a_new_one_with_a_new_key(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    first = checkout_start(reservation=reservation)
    fake_stripe.expire_session(first.stripe_checkout_session_id)  # closed at Stripe (say, by its dashboard)
    Payment.objects.filter(pk=first.pk).update(expires_at=timezone.now())

    second = checkout_start(reservation=reservation)

    assert second.pk != first.pk and fake_stripe.sessions[second.stripe_checkout_session_id]["status"] == "open"
    keys = [request["idempotency_key"] for request in session_requests(fake_stripe)]
    assert keys == [f"checkout-{reservation.reference}-1", f"checkout-{reservation.reference}-2"]
    first.refresh_from_db()
    assert first.status == "pending"  # Stripe closed it, not us: its checkout.session.expired event marks it


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_open_one_session(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    results, barrier = [], threading.Barrier(2)

    def click():
        barrier.wait()
        try:
            results.append(checkout_start(reservation=reservation).stripe_checkout_session_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2 and len(set(results)) == 1  # the same session, no idempotency_error
    assert len(fake_stripe.sessions) == 1 and Payment.objects.count() == 1


def test_a_hold_is_never_extended_past_its_ceiling(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest)
    ceiling = hold_ceiling(reservation)
    assert ceiling == reservation.created_at + timedelta(minutes=deposit_venue.hold_minutes + 31)

    extended = reservation_extend_hold(reservation=reservation, until=timezone.now() + timedelta(days=3))
    payment = checkout_start(reservation=reservation)

    assert extended.hold_expires_at == ceiling
    assert payment.expires_at == ceiling.replace(microsecond=0)
    # Too little of the ceiling left for a new payment page: refused with the time it ends.
    fake_stripe.expire_session(payment.stripe_checkout_session_id)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now())
    with pytest.raises(HoldExpired, match="too soon to pay online"):
        checkout_start(reservation=reservation, now=ceiling - timedelta(minutes=20))
    assert len(fake_stripe.sessions) == 1


def test_a_failed_start_keeps_the_hold_as_it_was_and_names_the_booking(deposit_venue, guest, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_holdfast", UNREACHABLE
    reservation = hold_table(deposit_venue, guest)

    with pytest.raises(PaymentUnavailable) as refused:
        checkout_start(reservation=reservation)

    assert refused.value.reference == reservation.reference
    assert Reservation.objects.get(pk=reservation.pk).hold_expires_at == reservation.hold_expires_at  # not extended
    assert not Payment.objects.exists()


@pytest.mark.parametrize("how", ["released", "expired"])
def test_a_hold_that_ends_closes_its_checkout_session_at_stripe(
    deposit_venue, guest, fake_stripe, how, django_capture_on_commit_callbacks
):
    reservation = hold_table(deposit_venue, guest)
    payment = checkout_start(reservation=reservation)

    with django_capture_on_commit_callbacks(execute=True):
        if how == "released":
            reservation_cancel(reservation=reservation, actor=guest)
        else:
            expire_stale_holds(now=timezone.now() + timedelta(hours=1))

    assert fake_stripe.sessions[payment.stripe_checkout_session_id]["status"] == "expired"
    payment.refresh_from_db()
    assert payment.status == "expired"


# --- Through the API ---------------------------------------------------------------------------------------


def api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def book_by_api(client, venue):
    request = {
        "venue": venue.slug,
        "starts_at": at(venue, next_weekday(venue, 1), "19:30").isoformat(),
        "party_size": 4,
    }
    return client.post("/api/reservations", json.dumps(request), content_type="application/json")


def test_the_api_reopens_checkout_for_a_held_booking(deposit_venue, guest, other_guest, fake_stripe):
    client = api(guest)
    booked = book_by_api(client, deposit_venue)
    assert booked.status_code == 201 and booked.json()["status"] == "held"
    reference = booked.json()["reference"]

    again = client.post(f"/api/reservations/{reference}/checkout")
    someone_else = api(other_guest).post(f"/api/reservations/{reference}/checkout")

    assert again.status_code == 200 and again.json()["payment_url"] == booked.json()["payment_url"]
    assert someone_else.status_code == 404
    assert len(fake_stripe.sessions) == 1


def test_the_api_answers_a_failed_checkout_with_the_reference_and_keeps_the_hold(deposit_venue, guest, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_holdfast", UNREACHABLE
    client = api(guest)

    response = book_by_api(client, deposit_venue)

    assert response.status_code == 503 and "Nothing was charged" in response.json()["detail"]
    reference = response.json()["reference"]
    assert Reservation.objects.get(reference=reference).status == "held"
    assert client.post(f"/api/reservations/{reference}/checkout").status_code == 503  # and it can be retried


# --- Late payments -------------------------------------------------------------------------------------------


def pay_late(client, fake, payment):
    """The guest pays on Stripe's page after the hold ran out; the webhook arrives."""
    event = fake.complete_session(payment.stripe_checkout_session_id, deliver=False)
    payload = json.dumps(event)
    return client.post(
        "/payments/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=fake.sign(payload),
    )


@pytest.fixture
def lapsed(deposit_venue, guest, fake_stripe):
    """A held table with its checkout open, whose hold has run out (not yet expired by the job)."""
    deposit_venue.spaces.exclude(name="Table 6").delete()  # one table only
    reservation = hold_table(deposit_venue, guest)
    payment = checkout_start(reservation=reservation)
    Reservation.objects.filter(pk=reservation.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    return reservation, payment


def test_a_late_payment_for_a_start_that_passed_is_refunded(
    lapsed, fake_stripe, client, django_capture_on_commit_callbacks, mailoutbox
):
    reservation, payment = lapsed
    past = timezone.now() - timedelta(hours=3)
    Reservation.objects.filter(pk=reservation.pk).update(starts_at=past, ends_at=past + timedelta(minutes=90))

    with django_capture_on_commit_callbacks(execute=True):
        assert pay_late(client, fake_stripe, payment).status_code == 200

    reservation.refresh_from_db()
    assert reservation.status == "expired"
    assert [refund["amount"] for refund in fake_stripe.refunds.values()] == [4000]
    assert any("payment refunded" in email.subject for email in mailoutbox)


def test_a_late_payment_for_a_time_the_venue_has_closed_is_refunded(
    lapsed, fake_stripe, client, django_capture_on_commit_callbacks
):
    reservation, payment = lapsed
    Closure.objects.create(
        venue=reservation.space.venue,
        starts_at=reservation.starts_at - timedelta(hours=1),
        ends_at=reservation.ends_at,
        reason="Private party",
    )

    with django_capture_on_commit_callbacks(execute=True):
        pay_late(client, fake_stripe, payment)

    reservation.refresh_from_db()
    assert reservation.status == "expired" and len(fake_stripe.refunds) == 1


def test_a_late_payment_confirms_when_only_a_stale_hold_is_in_the_way(
    lapsed, fake_stripe, client, other_guest, django_capture_on_commit_callbacks
):
    reservation, payment = lapsed
    expire_stale_holds()
    other = hold_table(reservation.space.venue, other_guest)  # the table again, for someone else...
    Reservation.objects.filter(pk=other.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))  # ...lapsed

    with django_capture_on_commit_callbacks(execute=True):
        pay_late(client, fake_stripe, payment)

    reservation.refresh_from_db()
    other.refresh_from_db()
    assert (reservation.status, other.status) == ("confirmed", "expired")
    assert not fake_stripe.refunds


# --- One lock order ----------------------------------------------------------------------------------------


def race(*actions) -> list[Exception]:
    """Run the actions in threads of their own, released together; the errors they raised."""
    barrier, errors = threading.Barrier(len(actions)), []

    def run(action):
        barrier.wait()
        try:
            action()
        except Exception as error:  # a deadlock would surface here
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_a_staff_refund_racing_a_cancellation_never_deadlocks_nor_refunds_twice(deposit_venue, guest, fake_stripe):
    """The refund takes the reservation's lock before the payment's, as the cancellation does: they queue."""
    manager = with_authenticator(make_user("manager@example.com", is_staff=True))
    VenueRole.objects.create(venue=deposit_venue, user=manager, role=VenueRole.Role.MANAGER)
    client = Client()
    for _round in range(8):
        reservation = reservation_hold(
            guest=guest,
            venue=deposit_venue,
            starts_at=at(deposit_venue, next_weekday(deposit_venue, 1, weeks_ahead=2), "12:00"),
            party_size=4,
        )
        payment = checkout_start(reservation=reservation)
        pay_late(client, fake_stripe, payment)  # on time here: the webhook confirms it
        assert Reservation.objects.get(pk=reservation.pk).status == "confirmed"
        payment.refresh_from_db()

        errors = race(
            partial(refund_issue, payment=payment, amount=Decimal("10.00"), actor=manager, reason="Wine"),
            partial(reservation_cancel, reservation=reservation, actor=guest),
        )

        # When the cancellation came first nothing is left to refund: that refusal is the only error allowed.
        assert [error for error in errors if not isinstance(error, PolicyViolation)] == []
        payment.refresh_from_db()
        assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"
        assert payment.refunded_or_pending() == payment.amount  # all of it back, once, whoever came first


def test_the_admins_refund_list_runs_the_same_queries_for_one_refund_or_many(staff, deposit_venue, guest):
    def paid_booking_with_refund(clock):
        reservation = reservation_book(
            guest=guest,
            venue=deposit_venue,
            starts_at=at(deposit_venue, next_weekday(deposit_venue, 1), clock),
            party_size=2,
        )
        payment = Payment.objects.create(
            reservation=reservation,
            amount=Decimal("20"),
            currency="EUR",
            status="paid",
            stripe_checkout_session_id=f"cs_{clock}",
            stripe_payment_intent_id=f"pi_{clock}",
        )
        Refund.objects.create(payment=payment, amount=Decimal("5"), currency="EUR")

    client = api(staff)
    url = reverse("admin:payments_refund_changelist")
    paid_booking_with_refund("19:00")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for clock in ("19:15", "19:30", "19:45", "20:00"):
        paid_booking_with_refund(clock)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200

    assert len(five.captured_queries) == len(one.captured_queries)


# --- Refund claims -------------------------------------------------------------------------------------------


def test_a_refund_being_sent_is_left_alone_by_the_retry_job_and_an_abandoned_one_is_sent(
    deposit_venue, guest, fake_stripe
):
    reservation = paid_booking_for_refunds(deposit_venue, guest, fake_stripe)
    refund = Refund.objects.create(payment=reservation.payments.get(), amount=Decimal("5"), currency="EUR")
    long_ago = timezone.now() - timedelta(hours=1)
    Refund.objects.filter(pk=refund.pk).update(created_at=long_ago, updated_at=long_ago)  # queued while Stripe was down

    assert claim_refund(refund.pk)  # a worker takes it now and is talking to Stripe...
    assert retry_refunds() == 0  # ...so the job does not send it a second time
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("pending", 1)

    # The worker died: once the lease is over the job sends it (Stripe answers the same refund for the key).
    assert retry_refunds(now=timezone.now() + CLAIM_LEASE + timedelta(seconds=1)) == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.stripe_refund_id


def paid_booking_for_refunds(venue, guest, fake):
    reservation = hold_table(venue, guest)
    payment = checkout_start(reservation=reservation)
    pay_late(Client(), fake, payment)  # on time: confirmed
    return Reservation.objects.get(pk=reservation.pk)
