"""A real Celery worker consuming from a real broker delivers the outbox.

The broker is CELERY_BROKER_URL when set (.ci/run points it at the machine's RabbitMQ), otherwise
kombu's filesystem transport in a temporary folder. The worker runs as a separate process against
the test database and writes its e-mails to files through Django's file-based e-mail backend.
"""

import subprocess
import threading
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from reservations.models import OutgoingMessage
from reservations.services import reservation_book
from reservations.tasks import deliver_message
from tests.celery_workers import own_queue, worker_command

from .conftest import at, make_user, next_weekday

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
BASE_DIR = Path(__file__).resolve().parent.parent.parent


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


@pytest.fixture
def worker(tmp_path):
    mail_folder = tmp_path / "mail"
    mail_folder.mkdir()
    with own_queue(tmp_path) as (queue, env):
        env |= {
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_folder),
        }
        process = subprocess.Popen(worker_command(queue), cwd=BASE_DIR, env=env)
        try:
            yield mail_folder
        finally:
            process.terminate()
            process.wait(timeout=30)


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
