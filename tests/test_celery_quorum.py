"""Production on RabbitMQ: the worker declares its queue as a quorum queue (replicated by Raft; RabbitMQ
4 has no mirrored classic queues) and runs what the site publishes there, with publisher confirms.

Real processes on the machine's RabbitMQ (CELERY_BROKER_URL, as .ci/run sets it): a worker with the
production settings on a queue of this test's own, a task published by another process with the same
settings, and the queue's type asked of RabbitMQ itself: declaring it again as a classic queue is
refused as "inequivalent".
"""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import amqp
import pytest
from kombu.utils.url import parse_url

from core.models import RateCounter
from tests.faults.support import BASE_DIR, current_database_url, production_env, stop, tail, wait_for

BROKER = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not BROKER.startswith("amqp://"), reason="needs RabbitMQ: set CELERY_BROKER_URL=amqp://..."),
]


def broker_channel() -> amqp.Connection:
    url = parse_url(BROKER)
    conn = amqp.Connection(
        f"{url['hostname']}:{url['port'] or 5672}",
        userid=url["userid"],
        password=url["password"],
        virtual_host=url["virtual_host"] or "/",
    )
    conn.connect()
    return conn


def test_the_production_worker_reads_a_quorum_queue_and_runs_what_the_site_publishes(tmp_path):
    queue = f"holdfast-quorum-{uuid.uuid4().hex[:8]}"
    RateCounter.objects.create(key="ended-window", count=3, expires_at=datetime.now(UTC) - timedelta(hours=1))
    env = production_env(database_url=current_database_url(), broker_folder=tmp_path / "unused")
    env.update(CELERY_BROKER_URL=BROKER, CELERY_QUEUE=queue)
    env.pop("HOLDFAST_ALLOW_FILE_BROKER")
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool", "solo"]
    command += ["--queues", queue, "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
    with log.open("ab") as output:
        worker = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "ready." in log.read_text(errors="replace"), 60, "the worker ready")
        publish = "import django; django.setup(); from core import tasks; tasks.forget_old_rate_windows.delay()"
        subprocess.run([sys.executable, "-c", publish], cwd=BASE_DIR, env=env, check=True, timeout=60)

        wait_for(lambda: not RateCounter.objects.filter(key="ended-window").exists(), 60, "the task run by the worker")
    finally:
        stop(worker)
        assert "Traceback" not in log.read_text(errors="replace"), tail(log)

    with broker_channel() as conn:
        channel = conn.channel()
        channel.queue_declare(queue, passive=True)  # it exists: the worker declared it
        channel.queue_declare(queue, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
        with pytest.raises(amqp.exceptions.PreconditionFailed, match="inequivalent arg 'x-queue-type'"):
            channel.queue_declare(queue, durable=True, auto_delete=False, arguments={"x-queue-type": "classic"})
        conn.channel().queue_delete(queue)
