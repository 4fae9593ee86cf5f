"""What the fault tests share: real processes on loopback (gunicorn with the production settings,
Celery workers with the test settings), a small HTTP client, and waiting on conditions."""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection

from tests.celery_workers import current_database_url  # noqa: F401  (the fault tests use it from here)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"
UNAVAILABLE = {"detail": "The service is temporarily unavailable; please try again."}


def wait_for(condition, seconds: float = 30, what: str = "condition"):
    """Poll `condition` until it returns something true, and return that; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not met within {seconds} s")
        pause.wait(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def session_token(user) -> str:
    """A logged-in session for `user`; its key is what allauth's app log-in returns as the session
    token (X-Session-Token). Made directly: log-ins over HTTP are rate limited to 30 a minute per IP."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# --- HTTP ---------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)


def send(conn: http.client.HTTPConnection, method: str, path: str, *, payload=None, headers=None) -> Answer:
    body = json.dumps(payload).encode() if payload is not None else None
    sent_headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if body else {})}
    conn.request(method, path, body=body, headers={**sent_headers, **(headers or {})})
    response = conn.getresponse()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())


def call(port: int, method: str, path: str, *, payload=None, headers=None, timeout: float = 30) -> Answer:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        return send(conn, method, path, payload=payload, headers=headers)
    finally:
        conn.close()


# --- Processes -------------------------------------------------------------------------------------------


def production_env(*, database_url: str, broker_folder: Path, **extra: str) -> dict[str, str]:
    """The environment the Docker image runs with, on loopback: production settings, plain http."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "EMAIL_", "CELERY_", "CACHE_", "DJANGO_", "SECURE_", "HOLDFAST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=settings.SECRET_KEY,  # sessions made by this process must verify over there
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="false",
        # The web processes queue e-mails on a broker of their own that no worker reads: these tests
        # must not publish to a broker another test's worker consumes from.
        CELERY_BROKER_URL="filesystem://",
        HOLDFAST_ALLOW_FILE_BROKER="true",  # one machine: the production settings allow it only when told
        CELERY_BROKER_FOLDER=str(broker_folder),
        # These tests send many requests from one address on purpose; the rate limits have their own tests.
        HOLDFAST_RATE_LIMIT_HOLD="",
        HOLDFAST_RATE_LIMIT_API="",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_gunicorn(*, port: int, env: dict[str, str], log: Path, workers: int = 2) -> subprocess.Popen:
    """gunicorn as the Dockerfile runs it (sync workers, no control socket), bound to loopback."""
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(workers), "--access-logfile", "-", "--no-control-socket", "--graceful-timeout", "5"]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_until_healthy(port: int, process: subprocess.Popen, log: Path, seconds: float = 45) -> None:
    """Poll /healthz until it answers 200; fail early, with the server's log, if the server exits."""

    def healthy():
        if process.poll() is not None:
            pytest.fail(f"gunicorn on port {port} exited with {process.returncode}:\n{tail(log)}")
        try:
            return call(port, "GET", "/healthz", timeout=5).status == 200
        except OSError:
            return False

    wait_for(healthy, seconds, f"gunicorn on port {port} answering /healthz")


def stop(process: subprocess.Popen, seconds: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=seconds)


def tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


# --- Databases of their own ---------------------------------------------------------------------------


def database_url(*, user: str, name: str) -> str:
    """The URL of database `name` as `user`, on the server this test process uses."""
    url = current_database_url()
    head, _, tail_ = url.partition("@")
    scheme = head.split("://", 1)[0]
    location, _, query = tail_.partition("?")
    host = location.rsplit("/", 1)[0]
    return f"{scheme}://{user}:@{host}/{name}" + (f"?{query}" if query else "")


def admin_connection():
    """An autocommit connection to the test server's maintenance database, as the test's own user."""
    import psycopg

    params = {**connection.get_connection_params(), "dbname": "postgres", "autocommit": True}
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


@contextlib.contextmanager
def own_database(name: str, *, connection_limit: int | None = None):
    """A fresh role `name` and a database `name` it owns, on the test server; dropped before and after.
    With `connection_limit`, PostgreSQL refuses the role's connections past that many. Yields its URL."""
    from psycopg import sql

    drop = [
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)),
    ]
    limit = sql.SQL(" CONNECTION LIMIT {}").format(sql.Literal(connection_limit)) if connection_limit else sql.SQL("")
    with admin_connection() as admin:
        for statement in drop:
            admin.execute(statement)
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)) + limit)
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
    try:
        yield database_url(user=name, name=name)
    finally:
        with admin_connection() as admin:
            for statement in drop:
                admin.execute(statement)


def race(ports: list[int], tokens: list[str], payload: dict) -> list[tuple[int, Answer | str]]:
    """Every guest books `payload` at the same moment, spread over `ports`: each connected first, then
    all requests released together. Each guest's port and answer, or what went wrong with the connection."""
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(tokens))

    def book(i: int):
        port = ports[i % len(ports)]
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            conn.connect()  # connected before the barrier, so the requests leave together
            barrier.wait(timeout=60)
            return port, send(
                conn, "POST", "/api/reservations", payload=payload, headers={"X-Session-Token": tokens[i]}
            )
        except OSError as error:
            return port, repr(error)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(book, range(len(tokens))))
