"""Money follows the booking: a change re-prices it in its own transaction, refunds what a lower price
leaves over as the policy allows, refuses a guest's change that would cost more once paid, and never
lets a move improve the refund. The deposit venue asks 10 EUR a guest; its refund tiers are 100 %
until 48 hours before, 50 % until 24 hours, nothing after; changes close 24 hours before the start."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from payments.models import Payment, Refund
from payments.services import balance, checkout_start, inconsistencies
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_cancel, reservation_hold, reservation_modify
from spaces.models import VenueRole
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db


def hold_table(venue, guest, party_size=4, **extra):
    start = at(venue, next_weekday(venue, 1, weeks_ahead=2), "19:30")
    return reservation_hold(guest=guest, venue=venue, starts_at=start, party_size=party_size, **extra)


def paid_booking(venue, guest, fake, party_size=4) -> Reservation:
    """Held, paid on Stripe's page, confirmed by the webhook."""
    reservation = hold_table(venue, guest, party_size=party_size)
    payment = checkout_start(reservation=reservation)
    event = fake.complete_session(payment.stripe_checkout_session_id, deliver=False)
    payload = json.dumps(event)
    Client().post(
        "/payments/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=fake.sign(payload),
    )
    reservation.refresh_from_db()
    assert reservation.status == "confirmed" and balance(reservation) == Decimal(10 * party_size)
    return Reservation.objects.select_related("space__venue").get(pk=reservation.pk)


def test_a_hold_changed_before_payment_is_charged_the_new_amount(deposit_venue, guest, fake_stripe):
    reservation = hold_table(deposit_venue, guest, party_size=4)
    first = checkout_start(reservation=reservation)  # 40.00 on Stripe's page

    changed = reservation_modify(reservation=reservation, actor=guest, party_size=2)
    second = checkout_start(reservation=changed)

    assert changed.amount_due == Decimal("20.00")
    assert fake_stripe.sessions[second.stripe_checkout_session_id]["amount_total"] == 2000
    assert fake_stripe.sessions[first.stripe_checkout_session_id]["status"] == "expired"  # the old page is closed
    first.refresh_from_db()
    assert first.status == "expired"


def test_a_paid_booking_for_fewer_guests_refunds_the_difference_by_the_policy(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)

    changed = reservation_modify(reservation=reservation, actor=guest, party_size=2)

    assert changed.amount_due == Decimal("20.00")
    (refund,) = Refund.objects.all()
    assert refund.amount == Decimal("20.00")  # two weeks ahead: the 100 % tier
    assert balance(changed) == changed.amount_due


def test_a_late_change_to_fewer_guests_refunds_only_what_the_policy_gives(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)
    deposit_venue.modification_cutoff_hours = 0
    deposit_venue.save()

    reservation_modify(
        reservation=reservation, actor=guest, party_size=2, now=reservation.starts_at - timedelta(hours=30)
    )

    assert [refund.amount for refund in Refund.objects.all()] == [Decimal("10.00")]  # 50 % of 20.00


def test_a_guest_cannot_make_a_paid_booking_cost_more_and_nothing_changes(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=2)
    events = ReservationEvent.objects.count()

    with pytest.raises(PolicyViolation, match="from €20 to €40"):
        reservation_modify(reservation=reservation, actor=guest, party_size=4)

    reservation.refresh_from_db()
    assert (reservation.party_size, reservation.amount_due) == (2, Decimal("20.00"))
    assert ReservationEvent.objects.count() == events and not Refund.objects.exists()


def test_staff_make_it_cost_more_and_the_difference_is_paid_at_the_venue(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=2)
    host = with_authenticator(make_user("host@example.com", is_staff=True))
    VenueRole.objects.create(venue=deposit_venue, user=host, role=VenueRole.Role.HOST)

    changed = reservation_modify(reservation=reservation, actor=host, party_size=4)

    assert (changed.party_size, changed.amount_due) == (4, Decimal("20.00"))  # what was paid online
    event = changed.events.filter(kind=ReservationEvent.Kind.MODIFIED).get()
    assert event.details["to_pay_at_the_venue"] == "20.00"


def test_moving_a_booking_never_gives_a_better_refund_than_cancelling_before_the_move(
    deposit_venue, guest, fake_stripe
):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)
    thirty_hours_before = reservation.starts_at - timedelta(hours=30)  # the 50 % tier

    moved = reservation_modify(
        reservation=reservation,
        actor=guest,
        starts_at=reservation.starts_at + timedelta(days=7),
        now=thirty_hours_before,
    )
    reservation_cancel(reservation=moved, actor=guest, now=thirty_hours_before)  # now 8 days ahead: "100 %"

    assert [refund.amount for refund in Refund.objects.all()] == [Decimal("20.00")]  # still 50 %
    assert Payment.objects.get().refund_cap_percent == 50


def test_a_manager_cancelling_a_moved_booking_still_refunds_everything(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)
    manager = with_authenticator(make_user("manager@example.com", is_staff=True))
    VenueRole.objects.create(venue=deposit_venue, user=manager, role=VenueRole.Role.MANAGER)
    late = reservation.starts_at - timedelta(hours=30)
    moved = reservation_modify(
        reservation=reservation, actor=guest, starts_at=reservation.starts_at + timedelta(days=7), now=late
    )

    reservation_cancel(reservation=moved, actor=manager, reason="Kitchen flooded", now=late)

    assert [refund.amount for refund in Refund.objects.all()] == [Decimal("40.00")]


def test_the_guest_sees_the_money_consequence_before_the_change_is_made(client, deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)
    client.force_login(guest)
    url = reverse("reservations:modify", args=[reservation.reference])
    choice = {"starts_at": reservation.local_starts_at.isoformat(), "party_size": "2", "duration": "90"}

    asked = client.post(url, choice)

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "€40 → <strong>€20</strong>" in page and "Make the change" in page
    reservation.refresh_from_db()
    assert reservation.party_size == 4 and not Refund.objects.exists()  # nothing happened yet

    done = client.post(url, {**choice, "money_confirmed": "1"})

    assert done.status_code == 302
    reservation.refresh_from_db()
    assert reservation.party_size == 2 and Refund.objects.get().amount == Decimal("20.00")


def test_check_payments_reports_a_paid_amount_that_disagrees_with_what_is_due(deposit_venue, guest, fake_stripe):
    reservation = paid_booking(deposit_venue, guest, fake_stripe, party_size=4)
    call_command("check_payments")  # all agree

    Reservation.objects.filter(pk=reservation.pk).update(amount_due=Decimal("20.00"))  # changed without the refund

    with pytest.raises(CommandError):
        call_command("check_payments")
    assert any(reservation.reference in line and "more than is due" in line for line in inconsistencies())
