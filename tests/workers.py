"""Real workers of either kind (HOLDFAST_WORKER) for tests: a Celery worker (tests/celery_workers.py)
or a Dramatiq one (`manage.py rundramatiq`), each on a queue of the test's own, against the test
database, writing its e-mails to files; and a broker that is down, for the publishing side.

Celery's broker is CELERY_BROKER_URL, or kombu's file-based transport. Dramatiq needs RabbitMQ
(DRAMATIQ_BROKER_URL, or CELERY_BROKER_URL when that is amqp://, as .ci/run sets it): without one
its tests are skipped, and say why.
"""

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import dramatiq
import pytest
from django.conf import settings
from django.test import override_settings
from dramatiq.common import dq_name, xq_name

from config.celery import app as celery_app
from core.jobs import FailFastRabbitmqBroker
from tests.celery_workers import current_database_url, own_queue, worker_command

BASE_DIR = Path(__file__).resolve().parent.parent
# A broker address where nothing listens: publishing there fails (at once).
CLOSED_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"


def rabbitmq_in_environment() -> bool:
    urls = (os.environ.get("DRAMATIQ_BROKER_URL", ""), os.environ.get("CELERY_BROKER_URL", ""))
    return any(url.startswith(("amqp://", "amqps://")) for url in urls)


needs_rabbitmq = pytest.mark.skipif(
    not rabbitmq_in_environment(),
    reason="Dramatiq needs RabbitMQ: set CELERY_BROKER_URL or DRAMATIQ_BROKER_URL to amqp://... (as .ci/run does)",
)
# Parametrize a test over both workers: `@pytest.mark.parametrize("kind", WORKERS)` or a fixture's params.
WORKERS = [pytest.param("celery", id="celery"), pytest.param("dramatiq", id="dramatiq", marks=needs_rabbitmq)]


@contextlib.contextmanager
def own_dramatiq_queue(prefix="holdfast-test"):
    """This process publishes through Dramatiq to a fresh queue on the settings' RabbitMQ; yield the
    queue and the environment a worker process needs. The queue is deleted after."""
    queue = f"{prefix}-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": current_database_url(),
        "HOLDFAST_WORKER": "dramatiq",
        "DRAMATIQ_BROKER_URL": settings.DRAMATIQ_BROKER_URL,
        "DRAMATIQ_QUEUE": queue,  # what the worker's own tasks queue (a job fanning out) comes back to it
    }
    try:
        with override_settings(HOLDFAST_WORKER="dramatiq", DRAMATIQ_QUEUE=queue):
            yield queue, env
    finally:
        broker = dramatiq.get_broker()
        with contextlib.suppress(Exception):  # tidying only
            for name in (queue, dq_name(queue), xq_name(queue)):
                broker.channel.queue_delete(name)


def dramatiq_worker_command(queue: str) -> list[str]:
    """django-dramatiq's worker as `make run` starts it: one process, reading this queue only."""
    return [
        sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2",
        "--queues", queue, "--worker-shutdown-timeout", "10000",
    ]  # fmt: skip


@contextlib.contextmanager
def own_celery_queue(folder):
    with own_queue(folder) as (queue, env), override_settings(HOLDFAST_WORKER="celery"):
        yield queue, {**env, "HOLDFAST_WORKER": "celery"}


@contextlib.contextmanager
def real_worker(kind: str, folder: Path):
    """A worker process of `kind` on a queue of its own, this process publishing to it; yield the
    folder its e-mails are written to. Stopped (SIGTERM, as a process manager does) after."""
    mail_folder = folder / "mail"
    mail_folder.mkdir()
    queue_of_its_own = own_celery_queue(folder) if kind == "celery" else own_dramatiq_queue()
    with queue_of_its_own as (queue, env):
        env |= {
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_folder),
        }
        command = worker_command(queue) if kind == "celery" else dramatiq_worker_command(queue)
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env)
        try:
            yield mail_folder
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def broker_down(kind: str):
    """Publish through `kind` for real, to a broker address where nothing listens."""

    def reset_celery_connections():  # the next publish builds its connection from broker_url again
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    if kind == "celery":
        # Celery takes CELERY_BROKER_URL from the environment before its configuration (.ci/run sets it):
        # both are pointed at the closed port, or the tasks would land on the real broker after all.
        saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")
        reset_celery_connections()
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = CLOSED_BROKER_URL
        try:
            with override_settings(HOLDFAST_WORKER="celery"):
                yield
        finally:
            celery_app.conf.task_always_eager, celery_app.conf.broker_url, environment = saved
            if environment is None:
                del os.environ["CELERY_BROKER_URL"]
            else:
                os.environ["CELERY_BROKER_URL"] = environment
            reset_celery_connections()
    else:
        saved_broker = dramatiq.get_broker()
        dramatiq.set_broker(FailFastRabbitmqBroker(url=CLOSED_BROKER_URL.removesuffix("/")))
        try:
            with override_settings(HOLDFAST_WORKER="dramatiq"):
                yield
        finally:
            dramatiq.set_broker(saved_broker)
