"""Two application servers behind pgbouncer in transaction mode, one database: a storm of simultaneous
bookings for one slot, spread over two gunicorn servers (production settings, HOLDFAST_DB_POOLER=
pgbouncer, each process with its own psycopg pool of connections to pgbouncer), has exactly one
winner, SQL finds no overlapping pair of active bookings, and every guest then books slots of their own
one after another. pgbouncer gives all of it at most SERVER_CONNECTIONS connections to PostgreSQL,
fewer than the app's connections to pgbouncer: each transaction borrows one and gives it back.

pgbouncer refuses libpq's startup options, so the lock and statement timeouts are set on the role
(`manage.py set_database_timeouts`); its --check tells a role without them from one with them.

The app uses a database and role of its own (holdfast_pgbouncer), migrated and seeded through pgbouncer.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from .support import (
    BASE_DIR,
    HOST,
    admin_connection,
    call,
    database_url,
    free_port,
    own_database,
    production_env,
    race,
    start_gunicorn,
    stop,
    tail,
    wait_for,
    wait_until_healthy,
)

pytestmark = pytest.mark.faults
PGBOUNCER = Path("/usr/sbin/pgbouncer")
NAME = "holdfast_pgbouncer"  # the role, its database, and pgbouncer's name for that database
SERVER_CONNECTIONS = 10  # pgbouncer's default_pool_size: all PostgreSQL connections the app gets
GUESTS = 40
ROUNDS = 3  # bookings of their own per guest, one after another, after the storm
THREADS = 8  # per gunicorn worker: 2 servers x 2 workers x 8 threads, more than SERVER_CONNECTIONS


@dataclass
class Bouncer:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgres://{NAME}:@{HOST}:{self.port}/{NAME}"

    def admin(self, command: str) -> list[dict]:
        """A command on pgbouncer's admin console (the `pgbouncer` database), rows as dicts."""
        with psycopg.connect(
            host=HOST,
            port=self.port,
            dbname="pgbouncer",
            user=NAME,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as console:
            cursor = console.execute(command)
            if cursor.description is None:
                return []
            columns = [column.name for column in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def pool(self) -> dict:
        return next(row for row in self.admin("SHOW POOLS") if row["database"] == NAME)

    def transactions(self) -> int:
        return next(row["total_xact_count"] for row in self.admin("SHOW STATS") if row["database"] == NAME)


@pytest.fixture
def fresh_database():
    """A fresh role and a database it owns; dropped before and after."""
    with own_database(NAME):
        yield


def server_location() -> tuple[str, int]:
    """The test server's host (a socket folder or an address) and port. Its new roles log in without a
    password there, as tests/test_make_run_burst.py's do."""
    db = connection.settings_dict
    return db["HOST"] or db["OPTIONS"].get("host") or "/var/run/postgresql", int(db["PORT"] or 5432)


def pgbouncer_user(host: str) -> pwd.struct_passwd | None:
    """pgbouncer refuses to run as root: as root, run it as the owner of the server's socket folder
    (it must reach the socket), or as postgres. None: run it as ourselves."""
    if os.geteuid() != 0:
        return None
    names = [pwd.getpwuid(os.stat(host).st_uid).pw_name] if host.startswith("/") else []
    for name in [*names, "postgres", "embedded_postgres"]:
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        if user.pw_uid != 0:
            return user
    pytest.skip("pgbouncer refuses to run as root, and there is no postgres user to run it as")


@pytest.fixture
def pgbouncer(fresh_database):
    """pgbouncer in transaction mode in front of the own database, on a free port of loopback."""
    if not PGBOUNCER.exists():
        pytest.skip(f"pgbouncer is not installed ({PGBOUNCER}; Debian's package pgbouncer; CI installs it)")
    host, port = server_location()
    user = pgbouncer_user(host)
    folder = Path(tempfile.mkdtemp(prefix="holdfast-pgbouncer-"))
    bouncer = Bouncer(port=free_port(), log=folder / "pgbouncer.log")
    config = folder / "pgbouncer.ini"
    (folder / "users.txt").write_text(f'"{NAME}" ""\n')
    config.write_text(
        f"""[databases]
{NAME} = host={host} port={port} dbname={NAME} user={NAME}

[pgbouncer]
pool_mode = transaction
listen_addr = {HOST}
listen_port = {bouncer.port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
admin_users = {NAME}
max_client_conn = 200
default_pool_size = {SERVER_CONNECTIONS}
ignore_startup_parameters = extra_float_digits
"""
    )
    folder.chmod(0o755)  # mkdtemp's folder is ours alone; pgbouncer's user reads its files
    for file in (config, folder / "users.txt"):
        file.chmod(0o644)
    run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    with bouncer.log.open("ab") as log:  # opened here: pgbouncer's user need not write in the folder
        process = subprocess.Popen([PGBOUNCER, config], stdout=log, stderr=subprocess.STDOUT, **run_as)

    def listening():
        if process.poll() is not None:
            pytest.fail(f"pgbouncer exited with {process.returncode}:\n{tail(bouncer.log)}")
        try:
            return bouncer.admin("SHOW VERSION")
        except psycopg.OperationalError:
            return False

    try:
        wait_for(listening, 20, "pgbouncer accepting connections")
        yield bouncer
    finally:
        stop(process)
        shutil.rmtree(folder)


@pytest.fixture
def app_env(pgbouncer, tmp_path):
    """The production environment with DATABASE_URL pointing at pgbouncer."""
    return production_env(
        database_url=pgbouncer.url,
        broker_folder=tmp_path / "broker",
        HOLDFAST_DB_POOLER="pgbouncer",
        GUNICORN_CMD_ARGS=f"--threads {THREADS}",
    )


def python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return python("manage.py", *args, env=env)


def succeeded(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{' '.join(done.args[1:])}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def manage_ok(*args: str, env: dict[str, str]) -> str:
    return succeeded(manage(*args, env=env))


def show(url: str, *names: str) -> list[str]:
    """What a new connection to `url` gets for these settings."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0] for name in names]


def test_check_fails_until_the_timeouts_are_set_on_the_role(pgbouncer, app_env):
    assert show(pgbouncer.url, "lock_timeout", "statement_timeout") == ["0", "0"]  # pgbouncer passes no options
    refused = manage("set_database_timeouts", "--check", env=app_env)
    assert refused.returncode != 0
    assert "lock_timeout is 0 ms, not 5000 ms" in refused.stderr
    assert "statement_timeout is 0 ms, not 30000 ms" in refused.stderr

    said = manage_ok("set_database_timeouts", env=app_env)
    assert "lock_timeout = 5000 ms, statement_timeout = 30000 ms" in said
    assert "RECONNECT on its admin console" in said
    # pgbouncer's server connections that predate ALTER ROLE keep no timeouts until it renews them (a
    # new server connection it happens to open has them): RECONNECT renews them all.
    pgbouncer.admin(f"RECONNECT {NAME}")
    assert "configured timeouts" in manage_ok("set_database_timeouts", "--check", env=app_env)
    assert show(pgbouncer.url, "lock_timeout", "statement_timeout") == ["5s", "30s"]


def overlapping_active_pairs(conn) -> int:
    return conn.execute(
        """
        SELECT count(*) FROM reservations_reservation a
        JOIN reservations_reservation b
          ON a.space_id = b.space_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
        WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
        """
    ).fetchone()[0]


def server_connections() -> int:
    """The role's connections to PostgreSQL, all of them pgbouncer's."""
    with admin_connection() as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [NAME]).fetchone()[0]


@pytest.fixture
def two_servers(pgbouncer, app_env, tmp_path):
    """The own database migrated, seeded and given its timeouts through pgbouncer, and two gunicorn
    servers on it; yields their ports and the seed (rooms, tokens) once both answer /healthz."""
    manage_ok("migrate", "--noinput", env=app_env)
    manage_ok("createcachetable", env=app_env)
    manage_ok("set_database_timeouts", env=app_env)
    pgbouncer.admin(f"RECONNECT {NAME}")
    assert show(pgbouncer.url, "lock_timeout", "statement_timeout") == ["5s", "30s"]
    seeded = succeeded(python("-m", "tests.faults.seed", str(GUESTS), env=app_env))
    seed = json.loads(seeded.strip().splitlines()[-1])
    servers = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp_path / f"gunicorn-{name}.log"
            servers.append((port, start_gunicorn(port=port, env=app_env, log=log, workers=2), log))
        for port, process, log in servers:
            wait_until_healthy(port, process, log)
        yield [port for port, _, _ in servers], seed
    finally:
        for _, process, _ in servers:
            stop(process)
    for port, _, log in servers:
        assert "Traceback" not in log.read_text(errors="replace"), f"server on {port}:\n{tail(log)}"
    assert "ERROR" not in pgbouncer.log.read_text(errors="replace"), tail(pgbouncer.log)


def test_forty_guests_racing_through_pgbouncer_for_one_slot_leave_exactly_one_booking(pgbouncer, two_servers):
    ports, seed = two_servers
    tokens = seed["tokens"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    payload = {"space": seed["rooms"][0], "starts_at": tomorrow.isoformat(), "party_size": 2}
    transactions_before = pgbouncer.transactions()

    answers = race(ports, tokens, payload)  # half the guests on each server

    statuses = sorted(answer.status for _, answer in answers)
    assert statuses == [201] + [409] * (GUESTS - 1), [(a.status, a.body[:200]) for _, a in answers if a.status != 409]
    assert {port for port, answer in answers if answer.status == 409} == set(ports)  # both servers refused
    winner = next(answer.json() for _, answer in answers if answer.status == 201)
    assert winner["status"] == "confirmed"
    assert all("is no longer free" in answer.json()["detail"] for _, answer in answers if answer.status == 409)

    # The app's connections to pgbouncer outnumber pgbouncer's to PostgreSQL.
    pool = pgbouncer.pool()
    clients = pool["cl_active"] + pool["cl_waiting"]
    servers = sum(pool[key] for key in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
    assert 0 < servers <= SERVER_CONNECTIONS < clients, pool
    assert server_connections() <= SERVER_CONNECTIONS
    assert pgbouncer.transactions() - transactions_before >= GUESTS  # every booking went through pgbouncer

    # Then every guest books slots of their own, one after another: all granted.
    later = tomorrow + timedelta(days=1)
    steady = []
    for round_ in range(ROUNDS):
        for i, token in enumerate(tokens):
            slot = later + timedelta(minutes=30 * (round_ * GUESTS + i))
            payload = {"space": seed["rooms"][i % len(seed["rooms"])], "starts_at": slot.isoformat(), "party_size": 2}
            answer = call(
                ports[(i + round_) % 2],
                "POST",
                "/api/reservations",
                payload=payload,
                headers={"X-Session-Token": token},
            )
            steady.append((answer.status, answer.body[:200]) if answer.status != 201 else 201)
    assert steady == [201] * (ROUNDS * GUESTS), [s for s in steady if s != 201]
    assert server_connections() <= SERVER_CONNECTIONS

    with psycopg.connect(database_url(user=NAME, name=NAME), autocommit=True) as conn:
        assert overlapping_active_pairs(conn) == 0
        references = conn.execute(
            "SELECT reference FROM reservations_reservation WHERE space_id = %s AND starts_at = %s",
            [seed["rooms"][0], tomorrow],
        ).fetchall()
        assert references == [(winner["reference"],)]
        count = conn.execute("SELECT count(*) FROM reservations_reservation").fetchone()[0]
        assert count == 1 + ROUNDS * GUESTS  # the refused bookings left nothing behind
    for port in ports:
        assert call(port, "GET", "/healthz").status == 200
