from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _register_periodic_tasks(sender, **kwargs):
    from reservations.schedule import register_periodic_tasks

    register_periodic_tasks()


class ReservationsConfig(AppConfig):
    name = "reservations"

    def ready(self):
        import config.celery  # noqa: F401  (so .delay() in web processes uses our broker settings)

        post_migrate.connect(_register_periodic_tasks, sender=self)
