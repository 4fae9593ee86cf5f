"""Each task declared once (core/jobs.py) is a Celery task and a Dramatiq actor under one name;
`.delay()` publishes through HOLDFAST_WORKER's worker, and fails at once when its broker is down; the
Dramatiq scheduler (`manage.py run_scheduler`) runs every periodic job of core.schedule.

None of this needs RabbitMQ: Dramatiq's stub broker stands in for it, and a broker that is down is a
port where nothing listens. tests/reservations/test_worker*.py run real workers of both kinds.
"""

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import dramatiq
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from celery import current_app
from django.test import override_settings
from django.utils.module_loading import import_string
from dramatiq.brokers.stub import StubBroker

from config.settings.base import _pika_url
from core.jobs import Job
from core.management.commands.run_scheduler import build_scheduler, queue_task
from core.schedule import periodic_tasks
from core.tasks import forget_old_rate_windows
from reservations.tasks import deliver_message
from tests.workers import broker_down

BASE_DIR = Path(__file__).resolve().parent.parent


def test_a_job_is_a_celery_task_and_a_dramatiq_actor_of_one_name_that_never_retries(settings):
    assert deliver_message.name == "reservations.tasks.deliver_message"
    assert current_app.tasks[deliver_message.name].ignore_result
    actor = dramatiq.get_broker().get_actor(deliver_message.name)
    assert actor is deliver_message.actor
    assert (actor.queue_name, actor.options["max_retries"]) == (settings.DRAMATIQ_QUEUE, 0)


@pytest.mark.django_db
def test_a_job_runs_here_when_called_and_celery_is_the_default_worker_eager_in_tests(settings):
    assert settings.HOLDFAST_WORKER == "celery"
    assert forget_old_rate_windows() == 0
    assert forget_old_rate_windows.delay().get() == 0  # Celery, eagerly (the test settings)


def test_with_dramatiq_delay_publishes_on_the_queue_set_at_the_time():
    stub = StubBroker()
    stub.declare_queue("holdfast-stub")
    saved = dramatiq.get_broker()
    dramatiq.set_broker(stub)
    try:
        with override_settings(HOLDFAST_WORKER="dramatiq", DRAMATIQ_QUEUE="holdfast-stub"):
            message = deliver_message.delay(42)
    finally:
        dramatiq.set_broker(saved)

    assert (message.actor_name, message.queue_name, message.args) == (
        "reservations.tasks.deliver_message",
        "holdfast-stub",
        (42,),
    )
    assert stub.queues["holdfast-stub"].qsize() == 1


@pytest.mark.parametrize("kind", ["celery", "dramatiq"])
def test_delay_raises_when_the_broker_is_down_so_that_callers_keep_the_row(kind):
    with broker_down(kind), pytest.raises(Exception) as raised:
        deliver_message.delay(1)

    if kind == "dramatiq":
        assert isinstance(raised.value, dramatiq.errors.BrokerConnectionError)  # one attempt, not six retried ones


def test_the_scheduler_runs_every_periodic_job_at_its_interval_and_once_at_start():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    scheduler = build_scheduler(BackgroundScheduler, now=now)  # not started: nothing runs, nothing waits

    jobs = {job.id: job for job in scheduler.get_jobs()}
    declared = periodic_tasks()
    assert list(jobs) == list(declared)  # each app's PERIODIC_TASKS, the lists beat's tables are made from
    for name, (seconds, description) in declared.items():
        job = jobs[name]
        assert (job.func, job.args, job.name) == (queue_task, (name,), description)
        assert job.trigger.interval.total_seconds() == seconds
        assert (job.coalesce, job.max_instances, job.next_run_time) == (True, 1, now)
        assert isinstance(import_string(name), Job)  # a declared name that is a real task


def test_a_scheduled_run_queues_its_task_through_dramatiq():
    stub = StubBroker()
    stub.declare_queue("holdfast-stub")
    saved = dramatiq.get_broker()
    dramatiq.set_broker(stub)
    try:
        with override_settings(HOLDFAST_WORKER="dramatiq", DRAMATIQ_QUEUE="holdfast-stub"):
            queue_task("reservations.tasks.deliver_pending_messages")
    finally:
        dramatiq.set_broker(saved)

    (queued,) = list(stub.queues["holdfast-stub"].queue)
    assert dramatiq.Message.decode(queued).actor_name == "reservations.tasks.deliver_pending_messages"


def test_run_scheduler_says_what_it_schedules_survives_a_broker_that_is_down_and_stops_on_sigterm():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "HOLDFAST_WORKER": "dramatiq",
        "DRAMATIQ_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",  # every job's first run fails to queue
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler"],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(60, process.kill)  # a scheduler that never says it is up fails the test
    watchdog.start()
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "Could not queue" in line:  # the runs at start, with the broker away
                break
        process.send_signal(signal.SIGTERM)
        output = "".join(seen) + process.stdout.read()
        assert process.wait(timeout=30) == 0
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()

    for name in periodic_tasks():
        assert f"Scheduling {name} every " in output
    assert "the next run will" in output
    assert output.rstrip().endswith("Scheduler stopped.")  # after the runs it had begun


@pytest.mark.parametrize(
    ("url", "pika"),
    [
        ("amqp://user:pw@rabbit:5672//", "amqp://user:pw@rabbit:5672/%2F"),  # kombu's way of writing the vhost /
        ("amqp://user:pw@rabbit:5672/", "amqp://user:pw@rabbit:5672/%2F"),
        ("amqp://user:pw@rabbit:5672", "amqp://user:pw@rabbit:5672/%2F"),
        ("pyamqp://user:pw@rabbit:5672/site?heartbeat=30", "amqp://user:pw@rabbit:5672/site?heartbeat=30"),
        ("amqps://user:pw@rabbit:5671//?heartbeat=30", "amqps://user:pw@rabbit:5671/%2F?heartbeat=30"),
    ],
)
def test_dramatiq_reads_a_broker_url_written_for_celery(url, pika):
    assert _pika_url(url) == pika


def django_setup(settings_module: str, **environment) -> subprocess.CompletedProcess:
    """Settings loaded in a fresh interpreter with only these variables (and PATH); the empty values
    shadow a developer's .env, which django-environ reads without overriding the environment."""
    names = (
        "SECRET_KEY",
        "DATABASE_URL",
        "ALLOWED_HOSTS",
        "CELERY_BROKER_URL",
        "DRAMATIQ_BROKER_URL",
        "HOLDFAST_WORKER",
    )
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": settings_module}
    env |= {name: "" for name in [*names, "HOLDFAST_WORKER"]} | environment
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_holdfast_worker_is_celery_or_dramatiq_and_says_so():
    result = django_setup("config.settings.test", DATABASE_URL="postgres://x@127.0.0.1/x", HOLDFAST_WORKER="rq")

    assert result.returncode != 0
    assert "ImproperlyConfigured: HOLDFAST_WORKER must be celery or dramatiq, not 'rq'." in result.stderr


def test_production_with_dramatiq_needs_rabbitmq_named():
    production = {
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://holdfast:pw@db.internal:5432/holdfast",
        "ALLOWED_HOSTS": "holdfast.example.com",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",  # Celery's broker, not one Dramatiq can use
        "HOLDFAST_WORKER": "dramatiq",
    }

    refused = django_setup("config.settings.production", **production)
    named = django_setup("config.settings.production", **production, DRAMATIQ_BROKER_URL="amqp://u:pw@rabbit:5672/")
    shared = django_setup("config.settings.production", **production | {"CELERY_BROKER_URL": "amqp://u:pw@rabbit//"})

    assert refused.returncode != 0
    assert "Production settings with HOLDFAST_WORKER=dramatiq need RabbitMQ: set DRAMATIQ_BROKER_URL" in refused.stderr
    assert (named.returncode, shared.returncode) == (0, 0), named.stderr + shared.stderr
