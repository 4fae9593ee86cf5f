"""`make run` holds a burst: 40 guests ask for the same free slot at the same moment, eight times in a
row, and each time exactly one gets it (201) and the others are told it is taken (409), never a 5xx.

The launcher (`python -m config.dev run`) runs as a newcomer starts it, on a database of its own whose
role may open only CONNECTIONS connections (CONNECTION LIMIT): a server that opened a connection per
request thread would be refused by PostgreSQL ("too many connections for role") and answer 503.
"""

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.support import BASE_DIR, free_port, own_database, race
from tests.test_make_run import launch, read_until

pytestmark = pytest.mark.faults
GUESTS = 40
BURSTS = 8
POOL_SIZE = 1  # per site process: fewer than its four threads, so requests queue for the connection
# The site's two processes' pools, one connection for each of the Celery worker's two processes and the
# scheduler's, and four to spare (the seed command, a pool replacing a connection). Without the pool the
# site's eight threads alone could open eight.
CONNECTIONS = 2 * POOL_SIZE + 3 + 4
NAME = "holdfast_burst"


@pytest.fixture
def bounded_database():
    """A fresh database owned by a role allowed CONNECTIONS connections; dropped afterwards."""
    with own_database(NAME, connection_limit=CONNECTIONS) as url:
        yield url


def test_make_run_gives_one_table_to_one_of_forty_guests_asking_at_once_eight_times_running(bounded_database, tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "HOLDFAST_"))}
    env.update(
        DATABASE_URL=bounded_database,
        HOLDFAST_DB_POOL_SIZE=str(POOL_SIZE),
        HOLDFAST_DB_POOL_TIMEOUT="30",  # a loaded machine may queue 20 requests on one connection
        CELERY_BROKER_URL="filesystem://",  # its worker must not take other tests' tasks from a shared broker
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        # 40 guests from one address on purpose: the rate limits per address have their own tests.
        HOLDFAST_RATE_LIMIT_HOLD="",
        HOLDFAST_RATE_LIMIT_API="",
        PYTHONUNBUFFERED="1",
    )
    launcher = launch(port, env)
    drained = []
    reader = threading.Thread(target=lambda: drained.extend(launcher.stdout), daemon=True)
    try:
        read_until(launcher, "Ctrl-C stops everything")
        # Keep reading what it prints (a line per request): a full pipe would block its writes.
        reader.start()
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.faults.seed", str(GUESTS)],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
            capture_output=True,
            text=True,
            check=True,
        )
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        results = []
        for burst in range(BURSTS):
            slot = tomorrow + timedelta(minutes=30 * burst)  # a free slot each time
            payload = {"space": seed["rooms"][0], "starts_at": slot.isoformat(), "party_size": 2}
            answers = race([port], seed["tokens"], payload)
            results.append(
                sorted((answer if isinstance(answer, str) else answer.status for _, answer in answers), key=str)
            )
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        stopped = launcher.wait(timeout=60)
        if reader.is_alive():
            reader.join(timeout=10)
        output = "".join(drained)
        print(output[-5000:])  # shown with a failure, whatever failed

    assert results == [[201] + [409] * (GUESTS - 1)] * BURSTS, output[-3000:]
    assert stopped == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
