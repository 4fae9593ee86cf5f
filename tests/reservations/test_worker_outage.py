"""The broker down while guests book, on either worker: every booking is confirmed at once, every
e-mail waits in the outbox, and once the broker is back the sweep run by a real worker sends each
guest exactly one confirmation.

The publishing side is pointed at a broker address where nothing listens (tests/workers.py), so each
booking's `.delay()` after commit fails, at once, and the booking goes on without it.
"""

import pytest

from reservations.models import OutgoingMessage
from reservations.services import reservation_book
from reservations.tasks import deliver_pending_messages
from tests.workers import WORKERS, broker_down, real_worker

from .conftest import at, make_user, next_weekday
from .test_worker import sent_emails, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.mark.parametrize("kind", WORKERS)
def test_bookings_made_while_the_broker_is_down_are_each_confirmed_once_by_a_real_worker(kind, restaurant, tmp_path):
    guests = [make_user(f"outage{i}@example.com") for i in range(5)]
    day = next_weekday(restaurant, 1)
    # Each booking commits (a transactional test: its on_commit callbacks run for real, as in
    # production), and its e-mail's dispatch after commit finds no broker.
    with broker_down(kind):
        bookings = [
            reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
            for guest in guests
        ]

    assert all(booking.status == "confirmed" for booking in bookings)
    assert OutgoingMessage.objects.filter(status="pending", attempts=0).count() == 5
    assert not OutgoingMessage.objects.exclude(status="pending").exists()  # none sent

    with real_worker(kind, tmp_path) as mail:  # the broker is back
        deliver_pending_messages.delay()  # what the scheduler queues every minute; twice, still one each
        deliver_pending_messages.delay()
        wait_for(lambda: OutgoingMessage.objects.filter(status="sent").count() == 5)
        wait_for(lambda: len(sent_emails(mail)) >= 5)

    assert sorted(email["To"] for email in sent_emails(mail)) == sorted(guest.email for guest in guests)
    assert set(OutgoingMessage.objects.values_list("attempts", flat=True)) == {1}
