"""`manage.py run_scheduler`: the periodic jobs for Dramatiq, as celery beat is for Celery.

The jobs are core.schedule.periodic_tasks() (each app's PERIODIC_TASKS, the list beat's tables are
made from): each is `.delay()`ed every N seconds through the worker HOLDFAST_WORKER names, by an
APScheduler BlockingScheduler in this process. Every job also runs once as the scheduler starts: the
schedule is kept in memory only, and a scheduler restarted more often than a job's interval (a deploy
every ten minutes, a job every hour) would otherwise never run it.

Run exactly one, like beat. A second one does no harm, since every job is safe to run twice, but each
job then runs twice as often. SIGTERM or Ctrl-C stops it once the jobs being queued are queued.
"""

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from core.schedule import periodic_tasks

logger = logging.getLogger("core.scheduler")


def queue_task(name: str) -> None:
    """One run of a periodic job: the task queued for a worker. A broker that is down is said once;
    the next run tries again."""
    try:
        import_string(name).delay()
    except Exception as error:  # the broker is away: the next run tries again
        logger.warning("Could not queue %s (%s); the next run will.", name, error)


def build_scheduler(scheduler_class=BlockingScheduler, *, now: datetime | None = None):
    """The scheduler with one job per periodic task, id = the task's name, not yet started."""
    scheduler = scheduler_class(timezone=UTC)
    now = now or datetime.now(UTC)
    for name, (seconds, description) in periodic_tasks().items():
        scheduler.add_job(
            queue_task,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            args=[name],
            id=name,
            name=description,
            next_run_time=now,  # once at start, then every `seconds`
            coalesce=True,  # runs missed while busy or asleep: one, not a burst
            max_instances=1,
            misfire_grace_time=seconds,
        )
    return scheduler


class Command(BaseCommand):
    help = "Queue the periodic jobs (core.schedule) for the workers, as celery beat does: run exactly one."

    def handle(self, *args, **options):
        if logging.getLogger("apscheduler").level == logging.NOTSET:
            # Unless LOGGING says otherwise: not a line per job added and per run, only what goes wrong
            # (a run missed, a job that raised); what is scheduled is said below.
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = build_scheduler()
        for job in scheduler.get_jobs():
            seconds = int(job.trigger.interval.total_seconds())
            self.stdout.write(f"Scheduling {job.id} every {seconds} s: {job.name}")
        if settings.HOLDFAST_WORKER != "dramatiq":
            self.stdout.write("HOLDFAST_WORKER is celery: celery beat is the usual scheduler for it.")
        self.stdout.write(f"Queuing for {settings.HOLDFAST_WORKER}; SIGTERM or Ctrl-C stops.")
        self.stdout.flush()
        # Not in the signal handler itself: shutting down takes locks the interrupted loop may hold. It
        # waits for the jobs being queued; the loop ends once it has begun.
        shutdown = threading.Thread(target=scheduler.shutdown, name="scheduler-shutdown")

        def stop(signum, frame):
            if shutdown.ident is not None:  # once, however many signals come
                return
            if not scheduler.running:  # not started yet: nothing to wait for
                raise SystemExit(0)
            shutdown.start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.start()
        shutdown.join()
        self.stdout.write("Scheduler stopped.")
