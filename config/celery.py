"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Broker from CELERY_BROKER_URL: RabbitMQ in production (amqp://...), Redis works too, and
`filesystem://` (kombu's file-based transport, the default) needs no server for `make run`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("holdfast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
