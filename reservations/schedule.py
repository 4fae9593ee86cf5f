"""The periodic jobs, declared in code and registered in django-celery-beat's tables.

`register_periodic_tasks` runs after every `migrate` (see ReservationsConfig.ready) and from
`manage.py setup_periodic_tasks`; it is idempotent, so a fresh database gets the jobs and an
existing one is brought in line with this list.
"""

from django.db import transaction

# task name -> (every N seconds, description)
PERIODIC_TASKS = {
    "reservations.tasks.deliver_pending_messages": (60, "Deliver e-mails still pending (broker down, worker crashed)"),
    "reservations.tasks.send_reminders": (300, "Create the reminders that are due"),
    "reservations.tasks.expire_holds": (60, "Expire holds whose time ran out"),
    "reservations.tasks.complete_past_reservations": (900, "Mark ended bookings as completed"),
    "payments.tasks.retry_refunds": (300, "Send refunds still waiting to Stripe"),
    "accounts.tasks.forget_old_rate_windows": (3600, "Delete the counts of rate-limit windows that have ended"),
}


def register_periodic_tasks() -> int:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    with transaction.atomic():
        for task, (seconds, description) in PERIODIC_TASKS.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.update_or_create(
                name=description, defaults={"task": task, "interval": interval, "enabled": True}
            )
    return len(PERIODIC_TASKS)
