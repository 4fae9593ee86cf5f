"""A guest's own data: downloading it, deleting the account, and logs that never show an e-mail address."""

import io
import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.logging import RedactPersonalData
from payments.models import Payment, Refund
from privacy.services import ACCOUNT_DELETED_REASON, ERASED, account_delete, account_export
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.services import (
    complete_past_reservations,
    reservation_book,
    reservation_cancel,
    reservation_hold,
    reservation_modify,
)
from spaces.models import VenueRole
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"  # what tests.reservations.conftest.make_user gives everyone
TUESDAY, WEDNESDAY = 1, 2
EXPORT_URL = reverse("accounts:data_export")
DELETE_URL = reverse("accounts:delete")


def book_dinner(restaurant, guest, *, weeks_ahead=1, clock="19:30", weekday=TUESDAY, **extra):
    day = next_weekday(restaurant, weekday, weeks_ahead)
    return reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, clock), party_size=2, **extra)


def book_stay_starting_tomorrow(hotel, guest):
    """Inside the hotel's 48-hour cancellation cut-off, whatever the time of day the test runs."""
    arrival = timezone.now().astimezone(hotel.zone).date() + timedelta(days=1)
    return reservation_book(
        guest=guest,
        venue=hotel,
        starts_at=at(hotel, arrival, "15:00"),
        ends_at=at(hotel, arrival + timedelta(days=2), "11:00"),
        party_size=2,
        category="Double",
    )


def book_last_week(restaurant, guest, **extra):
    """A dinner that took place last week (booked as if it were two weeks ago) and was completed."""
    now = timezone.now()
    day = next_weekday(restaurant, TUESDAY, weeks_ahead=-1)
    reservation = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, day, "19:30"),
        party_size=2,
        now=now - timedelta(weeks=2),
        **extra,
    )
    complete_past_reservations(now=now)
    return reservation


def download(client):
    response = client.get(EXPORT_URL)
    assert response.status_code == 200
    return response, json.loads(response.content)


# --- Download ----------------------------------------------------------------------------------------


def test_export_needs_a_login(client):
    response = client.get(EXPORT_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_export_is_a_json_attachment_with_the_guests_reservations_history_emails_and_payments(
    client, restaurant, guest
):
    guest.phone = "+49 30 1234567"
    guest.save()
    EmailAddress.objects.create(user=guest, email=guest.email, primary=True, verified=True)
    dinner = book_dinner(restaurant, guest, notes="Window seat")
    reservation_modify(reservation=dinner, actor=guest, party_size=3)
    payment = Payment.objects.create(
        reservation=dinner,
        amount=Decimal("20.00"),
        currency="EUR",
        status=Payment.Status.PAID,
        stripe_checkout_session_id="cs_test_export",
    )
    Refund.objects.create(payment=payment, amount=Decimal("5.00"), currency="EUR", status=Refund.Status.REQUESTED)
    client.force_login(guest)

    response, data = download(client)

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="holdfast-data.json"'
    assert "no-store" in response["Cache-Control"]
    assert data["profile"]["email"] == "guest@example.com"
    assert data["profile"]["name"] == "Gina Guest"
    assert data["profile"]["phone"] == "+49 30 1234567"
    assert data["email_addresses"] == [{"email": "guest@example.com", "primary": True, "verified": True}]
    [exported] = data["reservations"]
    assert exported["reference"] == dinner.reference
    assert exported["venue"] == "Trattoria Test"
    assert exported["party_size"] == 3
    assert exported["notes"] == "Window seat"
    assert exported["status"] == "confirmed"
    assert [(entry["event"], entry["by"]) for entry in exported["history"]] == [
        ("held", "you"),
        ("confirmed", "you"),
        ("modified", "you"),
    ]
    assert exported["history"][2]["details"]["changes"]["party_size"] == {"before": 2, "after": 3}
    subjects = [email["subject"] for email in exported["emails"]]
    assert len(subjects) == 2  # the confirmation and the modification
    assert all(subject.startswith("[Holdfast] ") and dinner.reference in subject for subject in subjects)
    assert all(email["created_at"] for email in exported["emails"])
    assert exported["payments"] == [
        {
            "amount": "20.00",
            "currency": "EUR",
            "status": "paid",
            "created_at": payment.created_at.isoformat(),
            "paid_at": None,
            "refunds": [
                {
                    "amount": "5.00",
                    "currency": "EUR",
                    "status": "requested",
                    "created_at": Refund.objects.get().created_at.isoformat(),
                    "completed_at": None,
                }
            ],
        }
    ]


def test_export_holds_nothing_of_other_users(client, restaurant, guest, other_guest, staff_member):
    mine = book_dinner(restaurant, guest)
    theirs = book_dinner(restaurant, other_guest, clock="20:00", notes="Otto's anniversary")
    reservation_modify(reservation=mine, actor=staff_member, party_size=4)  # staff changed the guest's booking
    client.force_login(guest)

    response, data = download(client)

    assert [entry["reference"] for entry in data["reservations"]] == [mine.reference]
    assert data["reservations"][0]["history"][-1]["by"] == "the venue"
    body = response.content.decode()
    for someone_elses in (theirs.reference, "other@example.com", "Otto", "staff@example.com", "Sam Staff"):
        assert someone_elses not in body


def test_export_takes_a_fixed_number_of_queries_however_many_reservations(
    restaurant, guest, django_assert_max_num_queries
):
    from datetime import time

    from reservations.services.waitlist import waitlist_join

    for weeks_ahead in range(1, 6):
        book_dinner(restaurant, guest, weeks_ahead=weeks_ahead)
        day = next_weekday(restaurant, TUESDAY, weeks_ahead=weeks_ahead) + timedelta(days=1)
        waitlist_join(guest=guest, venue=restaurant, day=day, earliest=time(19), latest=time(20), party_size=2)

    # Reservations, their events, e-mails, payments and refunds (none here), the e-mail addresses, and
    # the waitlist's wishes with their e-mails.
    with django_assert_max_num_queries(8):
        data = account_export(user=guest)

    assert len(data["reservations"]) == 5
    assert all(len(entry["emails"]) == 1 for entry in data["reservations"])
    assert len(data["waitlist"]) == 5
    assert data["waitlist"][0]["earliest"] == "19:00" and data["waitlist"][0]["status"] == "waiting"
    assert data["waitlist"][0]["emails"][0]["subject"].endswith(f"waitlist for {day - timedelta(weeks=4):%a %-d %b}")


# --- Deleting the account --------------------------------------------------------------------------


@pytest.fixture
def staff_member(db, restaurant, hotel):
    """A manager of the test venues, with an authenticator app."""
    member = with_authenticator(make_user("staff@example.com", name="Sam Staff", is_staff=True))
    for venue in (restaurant, hotel):
        VenueRole.objects.create(venue=venue, user=member, role=VenueRole.Role.MANAGER)
    return member


def test_deleting_the_account_cancels_upcoming_bookings_with_the_usual_email(
    client, restaurant, guest, django_capture_on_commit_callbacks
):
    EmailAddress.objects.create(user=guest, email=guest.email, primary=True, verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        dinner = book_dinner(restaurant, guest, notes="Nut allergy")
    held = reservation_hold(guest=guest, venue=restaurant, starts_at=dinner.starts_at + timedelta(days=1), party_size=2)
    mail.outbox.clear()
    client.force_login(guest)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    dinner.refresh_from_db()
    assert dinner.status == Reservation.Status.CANCELLED
    assert dinner.cancellation_reason == ACCOUNT_DELETED_REASON
    assert (dinner.guest, dinner.notes) == (None, "")
    held.refresh_from_db()
    assert (held.status, held.guest) == (Reservation.Status.CANCELLED, None)
    # The confirmed dinner's guest is told, as after any cancellation; a released hold was never booked.
    [email] = mail.outbox
    assert email.to == ["guest@example.com"]
    assert "cancel" in email.subject.lower() and dinner.reference in email.subject
    # Once sent, no message keeps the address it went to.
    assert not OutgoingMessage.objects.exclude(to_email="").filter(reservation__in=[dinner, held]).exists()
    assert not User.objects.filter(email="guest@example.com").exists()
    assert not EmailAddress.objects.filter(email="guest@example.com").exists()
    assert not client.get(reverse("accounts:data")).wsgi_request.user.is_authenticated


def test_past_bookings_stay_with_the_venue_without_the_guest_or_their_words(restaurant, guest):
    dinner = book_last_week(restaurant, guest, notes="Wheelchair, please")
    ReservationEvent.objects.create(
        reservation=dinner,
        kind=ReservationEvent.Kind.MODIFIED,
        actor=guest,
        details={"changes": {"notes": {"before": "", "after": "Wheelchair, please"}}},
    )
    user_id = guest.pk

    counts = account_delete(user=guest)

    dinner.refresh_from_db()
    assert dinner.status == Reservation.Status.COMPLETED
    assert (dinner.guest, dinner.notes) == (None, "")
    assert dinner.events.filter(kind="completed").exists()  # the history stays, without the person
    assert dinner.events.get(kind="modified").details == {"changes": {"notes": {"before": ERASED, "after": ERASED}}}
    assert not dinner.events.filter(actor_id=user_id).exists()
    assert counts == {"cancelled": 0, "kept": 0, "anonymised": 1, "email_addresses": 0, "sessions": 0}
    assert not User.objects.filter(pk=user_id).exists()


def test_reasons_the_guest_gave_when_cancelling_are_erased(restaurant, guest):
    dinner = book_dinner(restaurant, guest)
    reservation_cancel(reservation=dinner, actor=guest, reason="My ex will be there")

    account_delete(user=guest)

    dinner.refresh_from_db()
    assert dinner.cancellation_reason == ERASED
    assert dinner.events.get(kind="cancelled").details["reason"] == ERASED


def test_a_booking_past_the_cancellation_cutoff_stays_booked_without_the_guest(client, hotel, guest):
    stay = book_stay_starting_tomorrow(hotel, guest)  # the hotel's cut-off is 48 hours before check-in
    client.force_login(guest)

    page = client.get(DELETE_URL)

    html = " ".join(page.content.decode().split())
    assert "These bookings stay" in html
    assert stay.reference in html
    assert "These bookings are cancelled" not in html

    counts = account_delete(user=guest)

    stay.refresh_from_db()
    assert stay.status == Reservation.Status.CONFIRMED  # the venue keeps it: no free late cancellation
    assert stay.guest is None
    assert (counts["cancelled"], counts["kept"]) == (0, 1)


def test_the_delete_page_lists_the_bookings_it_cancels(client, restaurant, guest):
    dinner = book_dinner(restaurant, guest)
    client.force_login(guest)

    page = client.get(DELETE_URL)

    html = " ".join(page.content.decode().split())
    assert page.status_code == 200
    assert "These bookings are cancelled" in html
    assert dinner.reference in html
    assert 'autocomplete="current-password"' in html


def test_a_wrong_password_deletes_nothing(client, restaurant, guest):
    dinner = book_dinner(restaurant, guest)
    client.force_login(guest)

    response = client.post(DELETE_URL, {"password": "not-my-password"})

    assert response.status_code == 422
    assert "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=guest.pk).exists()
    dinner.refresh_from_db()
    assert (dinner.status, dinner.guest_id) == (Reservation.Status.CONFIRMED, guest.pk)


def test_guessing_the_password_on_the_delete_page_is_rate_limited(client, guest, settings):
    settings.HOLDFAST_RATE_LIMITS = {**settings.HOLDFAST_RATE_LIMITS, "account_delete": "2/m/user"}
    client.force_login(guest)
    for _ in range(2):
        assert client.post(DELETE_URL, {"password": "guess"}).status_code == 422

    response = client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert User.objects.filter(pk=guest.pk).exists()


def test_deleting_needs_a_login_and_a_post(client, guest):
    assert client.post(DELETE_URL, {"password": PASSWORD})["Location"].startswith(reverse("account_login"))
    client.force_login(guest)
    assert client.put(DELETE_URL).status_code == 405
    assert User.objects.filter(pk=guest.pk).exists()


# --- Logs ------------------------------------------------------------------------------------------


@pytest.fixture
def site_log():
    """What the site's own log handler (settings.LOGGING) writes, in a string."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(candidate, RedactPersonalData) for candidate in handler.filters)
    ]
    assert handlers, "settings.LOGGING puts the redaction filter on the root handler"
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def test_log_lines_never_show_an_email_address(site_log):
    logging.getLogger("reservations.notifications").warning("Could not reach %s", "gina.guest+test@example.co.uk")
    try:
        raise ValueError("duplicate key (email)=(otto@example.com)")
    except ValueError:
        logging.getLogger("django.request").exception("Internal Server Error: /accounts/profile/")

    written = site_log.getvalue()
    assert "Could not reach [e-mail]" in written
    assert "duplicate key (email)=([e-mail])" in written
    assert "@example" not in written


def test_request_lines_are_logged_without_their_query_string(site_log):
    logging.getLogger("django.server").info('"%s" %s %s', "GET /venues/x/?email=a%40b.c&name=Gina HTTP/1.1", 200, 5)

    written = site_log.getvalue()
    assert '"GET /venues/x/?[query] HTTP/1.1" 200 5' in written
    assert "Gina" not in written
