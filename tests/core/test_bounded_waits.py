"""Every wait is bounded, and only real outages are outages: a lock held too long answers "busy, please
try again" (503, a short Retry-After, its own log line); a deadlock is retried inside the service call."""

import json
import logging
import threading

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from core.retry import retry_on_conflict
from reservations.models import Reservation
from spaces.models import Space
from tests.reservations.conftest import at, next_weekday
from tests.transactions import held_elsewhere, lock_timeout

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_connection_waits_for_locks_and_statements_only_as_long_as_the_settings_say():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]

    assert (lock_timeout, statement_timeout) == (
        f"{settings.DB_LOCK_TIMEOUT_MS // 1000}s",
        f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s",
    )


def test_a_booking_behind_a_lock_held_too_long_is_told_the_service_is_busy(client, meeting_rooms, guest, caplog):
    booth = meeting_rooms.spaces.get(name="Booth")
    client.force_login(guest)
    request = {
        "space": booth.pk,
        "starts_at": at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00").isoformat(),
        "party_size": 2,
    }

    # Another transaction keeps the space's row lock (a slow booking, say); this test's connection
    # need not wait the full limit.
    space_locked = held_elsewhere(lambda: Space.objects.select_for_update().get(pk=booth.pk))
    with space_locked, lock_timeout(300), caplog.at_level(logging.WARNING, logger="core.outage"):
        busy = client.post("/api/reservations", json.dumps(request), content_type="application/json")

    assert busy.status_code == 503 and busy["Retry-After"] == "2"
    assert busy.json() == {"detail": "The service is busy; please try again in a moment."}
    assert any("Database busy" in line and "lock wait timeout" in line for line in caplog.messages)
    assert not Reservation.objects.exists()
    booked = client.post("/api/reservations", json.dumps(request), content_type="application/json")
    assert booked.status_code == 201  # the lock is gone: the same request books


def test_a_deadlock_is_retried_inside_the_service_call(meeting_rooms, caplog):
    """Two transactions lock two spaces in opposite orders: PostgreSQL fails one, which runs again."""
    loft, booth = meeting_rooms.spaces.get(name="Loft"), meeting_rooms.spaces.get(name="Booth")
    both_have_one = threading.Barrier(2)
    done, errors = [], []

    attempts = threading.local()

    @retry_on_conflict
    def lock_in_order(first, second):
        attempts.count = getattr(attempts, "count", 0) + 1
        with transaction.atomic():
            Space.objects.select_for_update().get(pk=first.pk)
            if attempts.count == 1:
                both_have_one.wait(timeout=5)  # the first attempts meet here, each holding one lock
            Space.objects.select_for_update().get(pk=second.pk)
        return first.name

    def run(first, second):
        try:
            done.append(lock_in_order(first, second))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    with caplog.at_level(logging.WARNING, logger="core.retry"):
        threads = [threading.Thread(target=run, args=pair) for pair in ((loft, booth), (booth, loft))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == [] and sorted(done) == ["Booth", "Loft"]
    assert any("after a deadlock" in line for line in caplog.messages)


@pytest.fixture
def pool_of_one():
    """This process's connection pool made anew with one connection, given up on after half a second."""
    original = connection.settings_dict["OPTIONS"]
    connection.close()
    connection.close_pool()
    connection.settings_dict["OPTIONS"] = {**original, "pool": {**original["pool"], "max_size": 1, "timeout": 0.5}}
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["OPTIONS"] = original


def test_a_request_that_finds_every_pooled_connection_in_use_is_told_the_service_is_busy(client, pool_of_one, caplog):
    def take_the_only_connection():  # a slow request elsewhere in this process holds it
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    with held_elsewhere(take_the_only_connection), caplog.at_level(logging.WARNING, logger="core.outage"):
        busy = client.get("/api/venues")

    assert busy.status_code == 503 and busy["Retry-After"] == "2"
    assert busy.json() == {"detail": "The service is busy; please try again in a moment."}
    assert any("Database busy" in line and "no free connection in the pool" in line for line in caplog.messages)
    assert client.get("/api/venues").status_code == 200  # the connection is back: the same request is answered
