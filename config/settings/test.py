"""The test suite: real PostgreSQL, e-mail kept in memory, fast password hashing."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
# The read replica's alias: a second connection to the test database. READ_REPLICA stays None (every
# read on the primary) except in the tests that turn it on to see which reads go there.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
READ_REPLICA = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory; a worker started by a test writes its e-mails to files the test reads instead.
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=None)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the apps' folders, as runserver does: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run in the test process; tests that need a real worker start one (tests/notifications).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Tests serve calendar feeds from a local HTTP server.
HOLDFAST_CALENDAR_ALLOW_PRIVATE = True
# Tests' partners listen on 127.0.0.1 over http (tests/fake_partner.py); the tests of the refusals turn these off.
HOLDFAST_WEBHOOK_ALLOW_HTTP = True
HOLDFAST_WEBHOOK_ALLOW_PRIVATE = True
# Text messages are off unless a test turns them on with its fake Twilio (tests/sms_fixtures.py).
HOLDFAST_SMS_PROVIDER = ""
