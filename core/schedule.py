"""The periodic jobs, declared in code by each app and registered in django-celery-beat's tables.

An app declares its jobs in a `schedule.py` module of its own, as `PERIODIC_TASKS`: a dict of task
name -> (every N seconds, description). `register_periodic_tasks` collects them from every installed
app (the way Celery's autodiscovery finds `tasks.py`), so this module imports no domain app. It runs
after every `migrate` (see CoreConfig.ready) and from `manage.py setup_periodic_tasks`; it is
idempotent, so a fresh database gets the jobs and an existing one is brought in line with the lists.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.db import transaction

# core's own jobs.
PERIODIC_TASKS = {
    "core.tasks.forget_old_rate_windows": (3600, "Delete the counts of rate-limit windows that have ended"),
}


def periodic_tasks() -> dict[str, tuple[int, str]]:
    """Every installed app's PERIODIC_TASKS, in INSTALLED_APPS order."""
    found = {}
    for config in apps.get_app_configs():
        name = f"{config.name}.schedule"
        if find_spec(name) is not None:
            found.update(getattr(import_module(name), "PERIODIC_TASKS", {}))
    return found


def register_periodic_tasks() -> int:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    tasks = periodic_tasks()
    with transaction.atomic():
        for task, (seconds, description) in tasks.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.update_or_create(
                name=description, defaults={"task": task, "interval": interval, "enabled": True}
            )
    return len(tasks)
