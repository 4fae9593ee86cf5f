"""Real Celery workers for tests: a queue of the test's own on a real broker, and the command and
environment that start a worker process against the test database.

The broker is CELERY_BROKER_URL when set (.ci/run points it at the machine's RabbitMQ), otherwise
kombu's filesystem transport in a folder of the test's.
"""

import contextlib
import os
import sys
import uuid

from django.db import connection

from config.celery import app as celery_app


def current_database_url() -> str:
    """The URL of the database this test process uses (TCP, or the embedded server's socket)."""
    db = connection.settings_dict
    if db["HOST"] and not db["HOST"].startswith("/"):
        return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"postgresql://{db['USER']}:@/{db['NAME']}?host={db['HOST'] or db['OPTIONS']['host']}"


def _reset_connections():  # the next publish builds its connection from the broker settings again
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def own_queue(folder, prefix="holdfast-test"):
    """Point this process's Celery at a real broker and a fresh queue (tasks are published, not run
    eagerly); yield the queue and the environment a worker process needs. Restores everything after."""
    broker = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"  # this test's own queue on a shared broker
    broker_folder = folder / "broker"
    options = {}
    if broker.startswith("filesystem://"):
        for sub in ("queue", "control"):
            (broker_folder / sub).mkdir(parents=True)
        options = {
            "data_folder_in": str(broker_folder / "queue"),
            "data_folder_out": str(broker_folder / "queue"),
            "control_folder": str(broker_folder / "control"),
        }
    keys = ("task_always_eager", "broker_url", "broker_transport_options", "task_default_queue")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=broker,
        broker_transport_options={**saved["broker_transport_options"], **options},
        task_default_queue=queue,
    )
    _reset_connections()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": current_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_BROKER_FOLDER": str(broker_folder),
        "CELERY_QUEUE": queue,  # what the worker's own tasks queue (a job fanning out) comes back to it
    }
    try:
        yield queue, env
    finally:
        celery_app.conf.update(saved)
        _reset_connections()


def worker_command(queue: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--pool", "solo",
        "--queues", queue, "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
    ]  # fmt: skip
