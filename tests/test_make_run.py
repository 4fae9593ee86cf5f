"""`make run` on a machine without a database server: the launcher starts a private PostgreSQL,
serves the site with demo data next to a Celery worker and scheduler, stops everything on a signal
and keeps the data for next time.

Runs the real launcher (`python -m config.dev run`) in a subprocess with its own data folder; it
prints its banner only once the site answers.
"""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_launcher(pgdata: Path, port: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(HOLDFAST_PGDATA=str(pgdata), PYTHONUNBUFFERED="1")
    return launch(port, env)


def launch(port: int, env: dict[str, str]) -> subprocess.Popen:
    """`python -m config.dev run` in a process group of its own, its output on a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "config.dev", "run", "--port", str(port)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def read_until(process: subprocess.Popen, marker: str) -> str:
    """The launcher's output up to the line containing `marker` (fails if it exits first)."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"launcher exited before printing {marker!r}:\n{''.join(seen)}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the local test server)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    output = process.stdout.read()
    assert process.wait(timeout=60) == 0
    return output


def test_make_run_serves_demo_data_stops_everything_on_ctrl_c_and_keeps_the_data(tmp_path):
    pgdata = tmp_path / "pgdata"
    port = free_port()

    first = start_launcher(pgdata, port)
    try:
        banner = read_until(first, "Ctrl-C stops everything")
        assert "staff@holdfast.local / holdfast-staff" in banner
        assert "manager@holdfast.local / holdfast-manager" in banner and "host@holdfast.local / holdfast-host" in banner
        assert "guest@holdfast.local / holdfast-guest" in banner
        status, home = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "Trattoria Aurora" in home and "Harbour Inn" in home
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        started = psutil.Process(first.pid).children(recursive=True)
        commands = [" ".join(child.cmdline()) for child in started]
        assert any("gunicorn" in command and "config.wsgi" in command for command in commands)
        assert any("celery" in command and " worker" in command for command in commands)
        assert any("celery" in command and " beat" in command for command in commands)
    finally:
        output = stop(first)
    assert not [child for child in started if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert "Stopping the private PostgreSQL" in output
    assert not (pgdata / "postmaster.pid").exists()  # the database stopped with the launcher
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)

    second = start_launcher(pgdata, port)
    try:
        banner = read_until(second, "Ctrl-C stops everything")
        assert "nothing created" in banner  # the demo data is loaded once and kept
        assert "Trattoria Aurora" in get(f"http://127.0.0.1:{port}/")[1]
    finally:
        stop(second)


def test_links_in_emails_follow_the_port_make_run_serves_on():
    from config.dev import run_environment

    on_8123 = run_environment({"PATH": "/bin"}, database_url="postgres://x/y", host="127.0.0.1", port=8123)
    chosen = run_environment(
        {"SITE_URL": "https://book.example"}, database_url="postgres://x/y", host="127.0.0.1", port=80
    )

    assert on_8123["SITE_URL"] == "http://127.0.0.1:8123"
    assert (on_8123["DATABASE_URL"], on_8123["DJANGO_SETTINGS_MODULE"]) == ("postgres://x/y", "config.settings.local")
    assert chosen["SITE_URL"] == "https://book.example"  # set by the user: kept


def test_make_run_starts_the_worker_and_scheduler_holdfast_worker_names():
    from config.dev import worker_commands

    celery_worker, beat = worker_commands("celery")
    dramatiq_worker, scheduler = worker_commands("dramatiq")

    assert celery_worker[1:6] == ["-m", "celery", "-A", "config.celery", "worker"]
    assert beat[1:6] == ["-m", "celery", "-A", "config.celery", "beat"]
    # django-dramatiq's worker, one process of two threads (it reads DRAMATIQ_QUEUE, the only queue its
    # actors declare), and the one scheduler of the periodic jobs.
    assert dramatiq_worker[0] == sys.executable and dramatiq_worker[1:3] == ["manage.py", "rundramatiq"]
    assert dramatiq_worker[dramatiq_worker.index("--processes") + 1] == "1"
    assert dramatiq_worker[dramatiq_worker.index("--threads") + 1] == "2"
    assert scheduler == [sys.executable, "manage.py", "run_scheduler"]


def test_make_run_with_dramatiq_and_no_rabbitmq_says_what_to_do_and_starts_nothing():
    env = {
        **os.environ,
        "HOLDFAST_WORKER": "dramatiq",
        "DRAMATIQ_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",  # nothing listens there
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # never reached: the broker is asked first
    }
    result = subprocess.run(
        [sys.executable, "-m", "config.dev", "run", "--port", str(free_port())],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1
    assert "Dramatiq's broker at amqp://guest:**@127.0.0.1:1// is unreachable" in result.stderr
    assert "HOLDFAST_WORKER=dramatiq needs RabbitMQ" in result.stderr and "DRAMATIQ_BROKER_URL" in result.stderr
    assert "Holdfast is running" not in result.stdout
