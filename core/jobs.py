"""Background jobs, on Celery or Dramatiq (HOLDFAST_WORKER): each task is declared once, with `@job`.

from core.jobs import job

@job
def deliver_message(message_id: int) -> bool: ...

deliver_message.delay(message_id)   # queued for a worker (after commit, by the caller)
deliver_message(message_id)         # run here and now

`@job` registers the function twice under one name, `module.function`: as a Celery task (what
`celery -A config.celery worker` runs and beat sends) and as a Dramatiq actor (what `manage.py
rundramatiq` runs and `manage.py run_scheduler` sends). `.delay()` publishes through the worker that
HOLDFAST_WORKER names, read at each call. Neither retries a task: every task is safe to run twice and
the outbox (and each periodic job) is what tries again, so a Dramatiq actor has max_retries=0.

`.delay()` raises when the broker cannot take the message, and raises at once: the callers catch it
and leave the row for the periodic sweep, and a guest's request must not wait on a broker that is down
(CELERY_BROKER_TRANSPORT_OPTIONS for Celery, FailFastRabbitmqBroker below for Dramatiq).
"""

import functools
import logging

import dramatiq
import pika.exceptions
from celery import shared_task
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.errors import ConnectionClosed


class Job:
    """A task function with its Celery task and its Dramatiq actor. Calling it runs the function here."""

    def __init__(self, func):
        functools.update_wrapper(self, func)
        self.func = func
        self.name = f"{func.__module__}.{func.__name__}"
        self.celery = shared_task(name=self.name, ignore_result=True)(func)
        self.actor = dramatiq.actor(
            _without_result(func), actor_name=self.name, queue_name=settings.DRAMATIQ_QUEUE, max_retries=0
        )

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def delay(self, *args, **kwargs):
        """Queue the task for a worker of HOLDFAST_WORKER's kind; raises if the broker refuses it."""
        if settings.HOLDFAST_WORKER == "dramatiq":
            return self.send(*args, **kwargs)
        return self.celery.delay(*args, **kwargs)

    def send(self, *args, **kwargs) -> dramatiq.Message:
        """Publish to Dramatiq: on DRAMATIQ_QUEUE as it is now (a test may point it at a queue of its
        own), through the broker set now (django-dramatiq's, from DRAMATIQ_BROKER)."""
        message = self.actor.message_with_options(args=args, kwargs=kwargs)
        if message.queue_name != settings.DRAMATIQ_QUEUE:
            message = message.copy(queue_name=settings.DRAMATIQ_QUEUE)
        return dramatiq.get_broker().enqueue(message)

    def __repr__(self):
        return f"<job {self.name}>"


def _without_result(func):
    """What the actor runs: the function, its result dropped (no results backend keeps it, and
    Dramatiq warns of every value it has to discard), as Celery's ignore_result does."""

    @functools.wraps(func)
    def run(*args, **kwargs) -> None:
        func(*args, **kwargs)

    return run


def job(func) -> Job:
    return Job(func)


class FailFastRabbitmqBroker(RabbitmqBroker):
    """Dramatiq's RabbitMQ broker (DRAMATIQ_BROKER), made to give up at once when RabbitMQ is away.

    RabbitmqBroker retries a failed publish up to six times, each time opening a new connection with
    pika's timeouts (ten seconds and more to connect): a booking would wait a minute for a broker that
    is down. Here a connection is tried once, with short timeouts, and a connection that cannot be
    opened ends the publish (ConnectionClosed) instead of being retried; a connection that went stale
    is still replaced once. Workers are not slowed by it: their consumers reconnect every few seconds
    on their own. `blocked_connection_timeout` bounds a publish that RabbitMQ holds back (a resource
    alarm) in the same way.

    pika logs each step of every connection (INFO) and each failed one with its traceback (ERROR):
    unless LOGGING says otherwise for "pika", that is left out, since every failure reaches us as an
    exception that the caller (or Dramatiq's worker) logs in one line.
    """

    def __init__(self, *, connect_timeout: float = 3, **kwargs):
        super().__init__(**kwargs)
        for parameters in self.parameters if isinstance(self.parameters, list) else [self.parameters]:
            parameters.connection_attempts = 1
            parameters.retry_delay = 0
            parameters.socket_timeout = connect_timeout
            parameters.stack_timeout = connect_timeout * 2
            parameters.blocked_connection_timeout = connect_timeout * 2
        if logging.getLogger("pika").level == logging.NOTSET:
            logging.getLogger("pika").setLevel(logging.CRITICAL)

    @property
    def connection(self):
        try:
            return RabbitmqBroker.connection.fget(self)
        except pika.exceptions.AMQPConnectionError as error:  # refused, timed out, wrong credentials
            raise ConnectionClosed(error) from None

    @connection.deleter
    def connection(self):
        RabbitmqBroker.connection.fdel(self)
