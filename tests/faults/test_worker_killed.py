"""A Celery worker killed with SIGKILL while it is inside `send`: every message is still delivered
exactly once.

A real worker (the test settings, a real broker: CELERY_BROKER_URL or a file-based one) sends the
outbox through tests/faults/blocking_email.py, which stops inside send until the test lets it go.
The test kills the worker there — after it claimed a message, before it handed anything over — and
starts a new worker, which delivers the rest. The killed worker's message stays claimed until its
lease (CLAIM_LEASE) runs out; the sweep, run with `now` past the lease, delivers it. The e-mails the
file-based backend wrote are counted: one per message.

(If the kill came after the provider had accepted the message, the sweep would send it again:
delivery is at least once. docs/operations.md says so.)
"""

import os
import signal
import subprocess
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from django.utils import timezone

from reservations.models import OutgoingMessage
from reservations.notifications import CLAIM_LEASE, deliver_due
from reservations.services import reservation_book
from tests.celery_workers import own_queue, worker_command
from tests.reservations.conftest import at, make_user, next_weekday

from .support import BASE_DIR, tail, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults, pytest.mark.worker]
BLOCKING_BACKEND = "tests.faults.blocking_email.EmailBackend"


def sent_emails(folder: Path):
    """Every e-mail the file-based backend wrote (one or more per file, separated by dashes)."""
    emails = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"-" * 79):
            if chunk.strip():
                emails.append(message_from_bytes(chunk.strip()))
    return emails


def send_attempts(signals: Path) -> list[tuple[int, int]]:
    """(message id, pid) of every time the blocking backend was asked to send."""
    attempts = []
    for marker in signals.glob("sending-*"):
        _, message_id, pid, _ = marker.name.split("-")
        attempts.append((int(message_id), int(pid)))
    return sorted(attempts)


@pytest.fixture
def workers(tmp_path):
    """Start workers on this test's own queue; the test process publishes to the same queue."""
    folders = {name: tmp_path / name for name in ("mail", "signals")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    started = []
    with own_queue(tmp_path, prefix="holdfast-faults") as (queue, env):
        env |= {
            "TEST_EMAIL_BACKEND": BLOCKING_BACKEND,
            "EMAIL_FILE_PATH": str(folders["mail"]),
            "HOLDFAST_FAULTS_SIGNALS": str(folders["signals"]),
        }

        def start(name: str) -> subprocess.Popen:
            log = tmp_path / f"worker-{name}.log"
            with log.open("ab") as output:
                process = subprocess.Popen(
                    worker_command(queue), cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            started.append((process, log))
            return process

        try:
            yield start, folders["mail"], folders["signals"]
        finally:
            for process, _ in started:
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)


def test_a_worker_killed_inside_send_leaves_every_message_delivered_exactly_once(
    workers, restaurant, settings, monkeypatch
):
    start_worker, mail, signals = workers
    first = start_worker("first")
    day = next_weekday(restaurant, 2)
    guests = [make_user(f"killed{i}@example.com") for i in range(3)]
    for guest in guests:  # each booking queues its confirmation after commit
        reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
    messages = set(OutgoingMessage.objects.values_list("pk", flat=True))
    assert len(messages) == 3

    [(caught, pid)] = wait_for(lambda: send_attempts(signals), 60, "the first worker inside send")
    assert pid == first.pid
    assert OutgoingMessage.objects.get(pk=caught).status == "sending"  # claimed, then stopped inside send
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    assert sent_emails(mail) == []  # nothing was handed over before the kill

    (signals / "release").touch()
    second = start_worker("second")
    others = messages - {caught}
    wait_for(
        lambda: OutgoingMessage.objects.filter(pk__in=others, status="sent").count() == len(others),
        60,
        "the new worker delivering the other messages",
    )
    assert second.poll() is None
    # The killed worker's claim holds until its lease runs out: nobody sends that message meanwhile.
    assert OutgoingMessage.objects.get(pk=caught).status == "sending"
    assert deliver_due() == 0

    # The periodic sweep, once the lease has passed (run here, writing to the same mail folder).
    settings.EMAIL_BACKEND = BLOCKING_BACKEND
    settings.EMAIL_FILE_PATH = str(mail)
    monkeypatch.setenv("HOLDFAST_FAULTS_SIGNALS", str(signals))
    after_lease = timezone.now() + CLAIM_LEASE + timedelta(seconds=1)
    assert deliver_due(now=after_lease) == 1
    assert deliver_due(now=after_lease + timedelta(hours=1)) == 0  # and never again

    emails = sent_emails(mail)
    assert sorted(int(email["X-Holdfast-Message"]) for email in emails) == sorted(messages)  # once each
    assert sorted(email["To"] for email in emails) == sorted(guest.email for guest in guests)
    attempts = dict(OutgoingMessage.objects.values_list("pk", "attempts"))
    assert attempts == {pk: 2 if pk == caught else 1 for pk in messages}
    assert set(OutgoingMessage.objects.values_list("status", flat=True)) == {"sent"}
    tried = [message_id for message_id, _ in send_attempts(signals)]
    assert sorted(tried) == sorted([*messages, caught])  # the killed attempt, then one more for that message
    second_log = mail.parent / "worker-second.log"
    assert second.poll() is None and "Traceback" not in second_log.read_text(errors="replace"), tail(second_log)
