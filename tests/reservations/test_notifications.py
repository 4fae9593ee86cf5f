"""E-mails to guests through the outbox: written with the change, delivered once, never lost.

Tasks run eagerly here (the test settings); tests/reservations/test_worker.py runs a real worker.
"""

import io
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.utils import timezone
from icalendar import Calendar

from reservations import notifications
from reservations.models import OutgoingMessage
from reservations.services import (
    expire_stale_holds,
    reservation_book,
    reservation_cancel,
    reservation_hold,
    reservation_modify,
)
from reservations.tasks import deliver_message, deliver_pending_messages, send_reminders
from spaces.models import OpeningHours, Space, Venue
from tests import workers
from tests.transactions import held_elsewhere, lock_timeout

from .conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def broker_down():
    """Publish for real, to a broker address where nothing listens (tests/workers.py)."""
    return workers.broker_down("celery")


@pytest.fixture
def booked(restaurant, guest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
            party_size=4,
        )


def calendar_event(email):
    ((name, content, mimetype),) = [a for a in email.attachments if a[0].endswith(".ics")]
    assert mimetype.startswith("text/calendar")
    return next(component for component in Calendar.from_ical(content).walk() if component.name == "VEVENT")


def test_a_booking_sends_one_confirmation_with_a_calendar_file(booked, restaurant, guest):
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [guest.email]
    assert email.subject.startswith("[Holdfast] Confirmed: Trattoria Test")
    assert booked.reference in email.subject
    body = email.body
    assert "19:30 Berlin time" in body and "Europe/Berlin" not in body and "a table for 4" in body
    assert f"http://testserver/reservations/{booked.reference}/" in body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and booked.reference in html

    event = calendar_event(email)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == booked.starts_at and end == booked.ends_at
    assert str(start.tzinfo) == "Europe/Berlin" and start.strftime("%H:%M") == "19:30"
    assert str(event["uid"]) == f"{booked.reference}@holdfast"

    message = OutgoingMessage.objects.get()
    assert (message.kind, message.status, message.attempts) == ("confirmed", "sent", 1)


def test_a_message_delivered_twice_is_sent_once(booked):
    message = OutgoingMessage.objects.get()
    deliver_message.delay(message.pk)
    deliver_message.delay(message.pk)
    assert notifications.deliver(message.pk) is False
    assert deliver_pending_messages.delay().get() == 0
    assert len(mail.outbox) == 1


def test_a_message_claimed_by_a_worker_that_died_is_sent_by_the_sweep_once(restaurant, guest):
    reservation = reservation_book(  # on_commit never runs here: as if the worker never got it
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
        party_size=2,
    )
    message = OutgoingMessage.objects.get(reservation=reservation)
    claimed_at = timezone.now()
    OutgoingMessage.objects.filter(pk=message.pk).update(status="sending", claimed_at=claimed_at, attempts=1)

    assert notifications.deliver_due(now=claimed_at + timedelta(minutes=1)) == 0  # still someone's claim
    assert notifications.deliver_due(now=claimed_at + notifications.CLAIM_LEASE + timedelta(seconds=1)) == 1
    assert notifications.deliver_due(now=claimed_at + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


class SecondSweepMidSend(locmem.EmailBackend):
    """A provider so slow that, while it sends, another worker's sweep comes along (run here, inside)."""

    second_sweep_sent: list[int] = []

    def send_messages(self, messages):
        if not SecondSweepMidSend.second_sweep_sent:
            SecondSweepMidSend.second_sweep_sent.append(-1)  # only once: the inner sweep sends through here too
            SecondSweepMidSend.second_sweep_sent.append(notifications.deliver_due())
        return super().send_messages(messages)


def test_a_slow_sweeps_claim_is_dated_when_made_so_another_sweep_leaves_it_alone(restaurant, guest, settings):
    reservation = reservation_book(  # on_commit never runs here: the sweep is what sends it
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
        party_size=2,
    )
    settings.EMAIL_BACKEND = f"{__name__}.SecondSweepMidSend"
    SecondSweepMidSend.second_sweep_sent = []
    # This sweep began a lease and more ago and only now reaches the message (a slow batch before it).
    began = timezone.now() - notifications.CLAIM_LEASE - timedelta(minutes=1)
    OutgoingMessage.objects.filter(reservation=reservation).update(next_attempt_at=began)

    assert notifications.deliver_due(now=began) == 1

    assert SecondSweepMidSend.second_sweep_sent == [-1, 0]  # the second sweep found it claimed, freshly
    assert len(mail.outbox) == 1


def test_a_change_sends_old_and_new_and_an_updated_calendar(booked, guest, django_capture_on_commit_callbacks):
    new_start = booked.starts_at + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_modify(reservation=booked, actor=guest, starts_at=new_start)

    email = mail.outbox[-1]
    assert email.subject.startswith("[Holdfast] Changed: Trattoria Test")
    assert "Before: " in email.body and "19:30–21:00" in email.body
    assert "Now:    " in email.body and "20:30–22:00" in email.body
    event = calendar_event(email)
    assert event.decoded("dtstart") == new_start and int(event["sequence"]) == 1


def test_staff_cancellation_tells_the_guest_why(booked, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=booked, actor=staff, reason="Kitchen flooded")
        reservation_cancel(reservation=booked, actor=staff, reason="Kitchen flooded")
    cancellations = [email for email in mail.outbox if "Cancelled" in email.subject]
    assert len(cancellations) == 1
    assert "Trattoria Test has cancelled your reservation: Kitchen flooded" in cancellations[0].body


def test_releasing_a_hold_sends_nothing_but_an_expired_hold_is_told(
    restaurant, guest, django_capture_on_commit_callbacks
):
    day = next_weekday(restaurant, TUESDAY)
    with django_capture_on_commit_callbacks(execute=True):
        released = reservation_hold(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
        reservation_cancel(reservation=released, actor=guest)
    assert mail.outbox == []

    past = timezone.now() - timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_hold(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=2, now=past)
        assert expire_stale_holds() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Holdfast] Not booked: your hold at Trattoria Test ran out"


def test_an_smtp_failure_is_retried_with_backoff_and_then_delivered(
    restaurant, guest, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        reservation = reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
            party_size=2,
        )
    message = OutgoingMessage.objects.get(reservation=reservation)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert notifications.deliver_due() == 0  # not due again yet

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications.deliver_due(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_bookings_made_while_the_broker_is_down_are_all_confirmed_once_it_is_back(
    restaurant, django_capture_on_commit_callbacks
):
    guests = [make_user(f"diner{i}@example.com") for i in range(5)]
    day = next_weekday(restaurant, TUESDAY)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        bookings = [
            reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
            for guest in guests
        ]

    assert all(booking.status == "confirmed" for booking in bookings)
    assert mail.outbox == []
    assert OutgoingMessage.objects.filter(status="pending").count() == 5

    deliver_pending_messages.delay()  # the broker is back: the periodic sweep runs
    deliver_pending_messages.delay()
    assert sorted(email.to[0] for email in mail.outbox) == sorted(guest.email for guest in guests)
    assert OutgoingMessage.objects.filter(status="sent").count() == 5


# --- Reminders ---------------------------------------------------------------------------------


def test_the_reminder_job_run_twice_sends_one_reminder(restaurant, guest, django_capture_on_commit_callbacks):
    start = at(restaurant, next_weekday(restaurant, TUESDAY), "19:30")
    reservation = reservation_book(guest=guest, venue=restaurant, starts_at=start, party_size=2)
    OutgoingMessage.objects.all().delete()
    due = start - timedelta(hours=restaurant.reminder_lead_hours)

    assert notifications.create_due_reminders(now=due - timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.create_due_reminders(now=due) == 1
        assert notifications.create_due_reminders(now=due + timedelta(minutes=5)) == 0
        send_reminders.delay()
    reminders = [email for email in mail.outbox if email.subject.startswith("[Holdfast] Reminder")]
    assert len(reminders) == 1 and reservation.reference in reminders[0].subject


def test_no_reminder_for_a_booking_made_inside_the_reminder_lead_time(restaurant, guest):
    start = at(restaurant, next_weekday(restaurant, TUESDAY), "19:30")
    booked_late = start - timedelta(hours=3)
    reservation_book(guest=guest, venue=restaurant, starts_at=start, party_size=2, now=booked_late)
    from reservations.models import Reservation

    Reservation.objects.update(created_at=booked_late)
    assert notifications.create_due_reminders(now=booked_late + timedelta(minutes=5)) == 0


def test_a_reminder_across_the_clock_change_goes_out_at_the_same_local_time(guest):
    venue = Venue.objects.create(
        name="Spring Bistro",
        slug="spring-bistro",
        time_zone="Europe/Berlin",
        min_lead_minutes=0,
        max_advance_days=400,
        reminder_lead_hours=24,
    )
    OpeningHours.objects.create(venue=venue, weekday=6, opens_at=time(18), closes_at=time(23))
    Space.objects.create(venue=venue, name="Table", capacity=4)
    # Sunday 28 March 2027, 19:00 CEST (17:00 UTC); clocks went forward at 02:00 that night.
    start = datetime(2027, 3, 28, 19, 0, tzinfo=venue.zone)
    reservation_book(guest=guest, venue=venue, starts_at=start, party_size=2, now=datetime(2027, 3, 1, tzinfo=UTC))
    OutgoingMessage.objects.all().delete()

    # Saturday 19:00 CET is 18:00 UTC: 23 real hours before, the same time on the clock.
    assert notifications.create_due_reminders(now=datetime(2027, 3, 27, 17, 59, tzinfo=UTC)) == 0
    assert notifications.create_due_reminders(now=datetime(2027, 3, 27, 18, 0, tzinfo=UTC)) == 1


# --- Scheduling and admin ------------------------------------------------------------------------


def test_periodic_jobs_are_registered_on_migrate_and_again_without_duplicates():
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from core.schedule import periodic_tasks

    PERIODIC_TASKS = periodic_tasks()  # every app's own list, collected
    assert {
        "reservations.tasks.send_reminders",
        "payments.tasks.retry_refunds",
        "core.tasks.forget_old_rate_windows",
    } <= set(PERIODIC_TASKS)
    registered = set(PeriodicTask.objects.values_list("task", flat=True))
    assert set(PERIODIC_TASKS) <= registered  # the test database was migrated: they are there
    before = PeriodicTask.objects.count()
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    assert PeriodicTask.objects.count() == before
    reminders = PeriodicTask.objects.get(task="reservations.tasks.send_reminders")
    assert reminders.enabled and reminders.interval.every == PERIODIC_TASKS["reservations.tasks.send_reminders"][0]


def test_staff_see_outgoing_messages_and_can_send_one_again(booked, staff, client, django_capture_on_commit_callbacks):
    client.force_login(staff)
    message = OutgoingMessage.objects.get()
    listing = client.get("/admin/reservations/outgoingmessage/")
    assert listing.status_code == 200 and booked.reference in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/reservations/outgoingmessage/",
            {"action": "resend_selected", "_selected_action": [message.pk]},
        )
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_while_building_a_message_is_not_a_failed_attempt(restaurant, guest):
    """The message's calendar file reads the booking's history: with that table locked past the lock
    timeout, nothing is sent, the claim is handed back, and no attempt or provider error is recorded."""
    with broker_down():  # the task is never queued: the sweep below is what sends it
        reservation = reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
            party_size=2,
        )

    def lock_the_history():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE reservations_reservationevent IN ACCESS EXCLUSIVE MODE")

    with held_elsewhere(lock_the_history), lock_timeout(200):
        assert notifications.deliver_due() == 0

    message = OutgoingMessage.objects.get(reservation=reservation)
    assert (message.status, message.attempts, message.last_error, message.claimed_at) == ("pending", 0, "", None)
    assert not mail.outbox
    assert notifications.deliver_due() == 1  # the lock gone, the next sweep sends it
    assert len(mail.outbox) == 1
