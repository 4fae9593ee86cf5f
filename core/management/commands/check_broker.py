"""`manage.py check_broker`: does the broker of HOLDFAST_WORKER take a connection? Exit 1 and say why
if not. `make run` asks before it starts a Dramatiq worker (Dramatiq has no file-based broker)."""

import dramatiq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string
from kombu.utils.url import sanitize_url


class Command(BaseCommand):
    help = "Check that the broker of HOLDFAST_WORKER (Celery's or Dramatiq's) takes a connection."
    requires_system_checks = []  # no database or other check: only the broker

    def handle(self, *args, **options):
        if settings.HOLDFAST_WORKER == "dramatiq":
            url = sanitize_url(settings.DRAMATIQ_BROKER_URL)
            broker = dramatiq.get_broker()
            try:
                broker.connection  # noqa: B018 (opening it is the check)
            except dramatiq.errors.BrokerConnectionError as error:
                raise CommandError(f"Dramatiq's broker at {url} is unreachable: {error}") from None
            del broker.connection
        else:
            url = sanitize_url(settings.CELERY_BROKER_URL)
            try:
                with import_string(settings.CELERY_APP).connection_for_write() as connection:
                    connection.ensure_connection(max_retries=1)
            except Exception as error:  # kombu's errors, by transport
                raise CommandError(f"Celery's broker at {url} is unreachable: {error}") from None
        self.stdout.write(f"{settings.HOLDFAST_WORKER}'s broker at {url} takes connections.")
