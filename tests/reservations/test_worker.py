"""A real worker consuming from a real broker delivers the outbox: a Celery worker, and a Dramatiq one
(HOLDFAST_WORKER=dramatiq), running the same tasks.

Celery's broker is CELERY_BROKER_URL when set (.ci/run points it at the machine's RabbitMQ), otherwise
kombu's filesystem transport in a temporary folder; Dramatiq's is that RabbitMQ (skipped without one).
The worker runs as a separate process against the test database and writes its e-mails to files
through Django's file-based e-mail backend (tests/workers.py).
"""

import threading
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from reservations.models import OutgoingMessage
from reservations.services import reservation_book
from reservations.tasks import deliver_message
from tests.workers import WORKERS, real_worker

from .conftest import at, make_user, next_weekday

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for(condition, seconds=60):
    """Poll `condition` until it holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return
        pause.wait(0.2)
    pytest.fail(f"condition not met within {seconds} s")


def sent_emails(folder: Path):
    """Every e-mail the worker's file backend wrote (one or more per file, separated by dashes)."""
    emails = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                emails.append(message_from_bytes(chunk.strip()))
    return emails


@pytest.fixture(params=WORKERS)
def worker(request, tmp_path):
    """A worker of each kind in turn, this test publishing to it; the folder of its e-mails."""
    with real_worker(request.param, tmp_path) as mail_folder:
        yield mail_folder


def test_a_real_worker_delivers_every_confirmation_once(worker, restaurant):
    day = next_weekday(restaurant, 1)
    guests = [make_user(f"diner{i}@example.com") for i in range(3)]
    bookings = [
        reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
        for guest in guests
    ]
    first = OutgoingMessage.objects.get(reservation=bookings[0])
    deliver_message.delay(first.pk)  # the same task delivered twice more: still one e-mail
    deliver_message.delay(first.pk)

    wait_for(lambda: OutgoingMessage.objects.filter(status="sent").count() == 3)
    wait_for(lambda: len(sent_emails(worker)) >= 3)

    emails = sent_emails(worker)
    assert sorted(email["To"] for email in emails) == sorted(guest.email for guest in guests)
    assert all(email["Subject"].startswith("[Holdfast] Confirmed: Trattoria Test") for email in emails)
    assert OutgoingMessage.objects.get(pk=first.pk).attempts == 1


def test_a_real_worker_posts_a_bookings_webhooks_once_and_in_order(worker, restaurant):
    from reservations import webhooks
    from reservations.models import WebhookDelivery, WebhookEndpoint
    from reservations.services import reservation_cancel
    from reservations.tasks import deliver_webhook
    from tests.fake_partner import FakePartner

    partner = FakePartner().start()
    try:
        endpoint = WebhookEndpoint.objects.create(
            venue=restaurant, url=partner.url, events=list(WebhookEndpoint.Event.values), secret=webhooks.new_secret()
        )
        partner.secret = endpoint.secret
        guest = make_user("diner@example.com")
        booking = reservation_book(
            guest=guest, venue=restaurant, starts_at=at(restaurant, next_weekday(restaurant, 1), "19:30"), party_size=2
        )
        reservation_cancel(reservation=booking, actor=guest)
        first = WebhookDelivery.objects.order_by("pk").first()
        deliver_webhook.delay(first.pk)  # queued twice more: still posted once

        wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").count() == 3)
        assert partner.types() == ["reservation.created", "reservation.confirmed", "reservation.cancelled"]
        assert all(record.verified for record in partner.received)
    finally:
        partner.stop()
