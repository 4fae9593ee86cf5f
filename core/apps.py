from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.module_loading import import_string


def _register_periodic_tasks(sender, **kwargs):
    from core.schedule import register_periodic_tasks

    register_periodic_tasks()


class CoreConfig(AppConfig):
    """Infrastructure shared by every app: rate limits, outage answers, log redaction, the periodic
    job registry. It imports no domain app."""

    name = "core"

    def ready(self):
        # Web processes and commands queue tasks with `.delay()`: that must use the project's Celery app
        # (configured from the CELERY_* settings), not Celery's unconfigured default. Named by a setting,
        # like ROOT_URLCONF, so that no app imports config.
        import_string(settings.CELERY_APP)
        post_migrate.connect(_register_periodic_tasks, sender=self)
        # django-dramatiq's admin page of tasks stays empty here (its task-recording middleware is not
        # used: the outbox rows are the record), so it is not offered to staff.
        from django.contrib import admin
        from django_dramatiq.models import Task

        if admin.site.is_registered(Task):
            admin.site.unregister(Task)
