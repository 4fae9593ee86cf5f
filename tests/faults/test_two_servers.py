"""Two application servers, one database: a storm of simultaneous bookings for one slot, spread
over two gunicorn servers (production settings, each with its own worker processes and database
connections), has exactly one winner, and SQL finds no overlapping pair of active bookings.

Each guest has their own session token (X-Session-Token), as allauth's app log-in gives one.
"""

import pytest
from django.db import connection

from reservations.models import Reservation
from tests.reservations.conftest import at, make_user, next_weekday

from .support import (
    call,
    current_database_url,
    free_port,
    production_env,
    race,
    session_token,
    start_gunicorn,
    stop,
    tail,
    wait_until_healthy,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]
GUESTS = 40


def overlapping_active_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM reservations_reservation a
            JOIN reservations_reservation b
              ON a.space_id = b.space_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
            WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
            """
        )
        return cursor.fetchone()[0]


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn servers on the test database; yields their ports once both answer /healthz."""
    # The shared cache only counts log-ins (rate limits), and nobody logs in here: each server keeps its own.
    env = production_env(
        database_url=current_database_url(), broker_folder=tmp_path / "broker", CACHE_URL="locmemcache://"
    )
    servers = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp_path / f"gunicorn-{name}.log"
            servers.append((port, start_gunicorn(port=port, env=env, log=log, workers=2), log))
        for port, process, log in servers:
            wait_until_healthy(port, process, log)
        yield [port for port, _, _ in servers]
    finally:
        for _, process, _ in servers:
            stop(process)
    for port, _, log in servers:
        assert "Traceback" not in log.read_text(errors="replace"), f"server on {port}:\n{tail(log)}"


def test_forty_guests_racing_through_two_servers_for_one_slot_leave_exactly_one_booking(two_servers, meeting_rooms):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    tokens = [session_token(make_user(f"storm{i}@example.com")) for i in range(GUESTS)]
    payload = {"space": booth.pk, "starts_at": start.isoformat(), "party_size": 2}

    answers = race(two_servers, tokens, payload)  # half the guests on each server

    statuses = sorted(answer.status for _, answer in answers)
    assert statuses == [201] + [409] * (GUESTS - 1), statuses
    assert {port for port, answer in answers if answer.status == 409} == set(two_servers)  # both servers refused
    winner = next(answer.json() for _, answer in answers if answer.status == 201)
    assert winner["status"] == "confirmed"
    refusals = [answer.json() for _, answer in answers if answer.status == 409]
    assert all("Booth is no longer free" in refusal["detail"] for refusal in refusals)

    assert overlapping_active_pairs() == 0
    active = Reservation.objects.filter(space=booth, status__in=Reservation.ACTIVE_STATUSES)
    assert list(active.values_list("reference", flat=True)) == [winner["reference"]]
    assert Reservation.objects.count() == 1  # the refused bookings left nothing behind
    for port in two_servers:
        assert call(port, "GET", "/healthz").status == 200
