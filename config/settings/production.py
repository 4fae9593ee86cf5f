"""Production: everything secret or site-specific must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import databases, env

_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL")
_missing = [name for name in _REQUIRED if not env.str(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need {', '.join(_missing)} in the environment (see .env.example).")
# kombu's file-based transport works only while every worker shares one disk with the site, and loses
# nothing only there: a real site queues its work on RabbitMQ. `make bench` and the fault tests, which
# run the production settings on one machine, say so with HOLDFAST_ALLOW_FILE_BROKER.
if env.str("CELERY_BROKER_URL").startswith("filesystem://") and not env.bool(
    "HOLDFAST_ALLOW_FILE_BROKER", default=False
):
    raise ImproperlyConfigured(
        "Production settings refuse CELERY_BROKER_URL=filesystem:// (the file-based broker): "
        "set CELERY_BROKER_URL to RabbitMQ, for example amqp://user:password@rabbitmq:5672//."
    )
# Dramatiq's broker is RabbitMQ: DRAMATIQ_BROKER_URL, or Celery's broker when that is RabbitMQ. Never
# the development fallback (guest on this machine), which a production site would only mean by mistake.
if (
    env.str("HOLDFAST_WORKER", default="celery") == "dramatiq"
    and not env.str("DRAMATIQ_BROKER_URL", default="")
    and not env.str("CELERY_BROKER_URL").startswith(("amqp://", "amqps://", "pyamqp://"))
):
    raise ImproperlyConfigured(
        "Production settings with HOLDFAST_WORKER=dramatiq need RabbitMQ: set DRAMATIQ_BROKER_URL, for example "
        "amqp://user:password@rabbitmq:5672/ (or make CELERY_BROKER_URL RabbitMQ's, which Dramatiq then shares)."
    )

# RabbitMQ: the queues are quorum queues, replicated across the cluster's nodes by Raft (RabbitMQ 4
# removed classic mirrored queues). A queue's type is fixed when it is declared: a site that ran with
# classic queues drains and deletes them first, or keeps CELERY_QUEUE_TYPE=classic (docs/scaling.md).
# Quorum queues have no global prefetch: workers detect them and prefetch per consumer. Publisher
# confirms: a task the site queues is on the broker (or the publish fails) before the request ends;
# either way the outbox row, written in the booking's transaction, stays the source of truth.
if env.str("CELERY_BROKER_URL").startswith(("amqp://", "amqps://", "pyamqp://")):
    CELERY_TASK_DEFAULT_QUEUE_TYPE = env("CELERY_QUEUE_TYPE", default="quorum")
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = CELERY_TASK_DEFAULT_QUEUE_TYPE  # queues named by `worker --queues`
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "confirm_publish": True}  # noqa: F405

# Text messages: Twilio needs its credentials and a sender; never the console here (texts would be lost).
if env.str("HOLDFAST_SMS_PROVIDER", default="") == "console":
    raise ImproperlyConfigured("Production settings refuse HOLDFAST_SMS_PROVIDER=console: texts would only be printed.")
if env.str("HOLDFAST_SMS_PROVIDER", default="") == "twilio":
    _missing_twilio = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not env.str(name, default="")]
    if not (env.str("TWILIO_FROM_NUMBER", default="") or env.str("TWILIO_MESSAGING_SERVICE_SID", default="")):
        _missing_twilio.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
    if _missing_twilio:
        raise ImproperlyConfigured(
            f"HOLDFAST_SMS_PROVIDER=twilio needs {', '.join(_missing_twilio)} in the environment (see .env.example)."
        )

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
DATABASES = databases(env.str("DATABASE_URL"))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Links in e-mails point here; by default the first allowed host over https.
SITE_URL = env("SITE_URL", default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}")

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Preloading binds the whole registrable domain to https for months and is hard to undo: the
    # owner opts in with SECURE_HSTS_PRELOAD=true. Until then, the check's reminder is not a problem.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# nosniff, X-Frame-Options, Referrer-Policy, COOP, Permissions-Policy and the CSP are set in base.py.
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True

# E-mail through django-anymail. EMAIL_PROVIDER picks the provider; its credentials come from the
# variables listed here (Amazon SES takes the usual AWS_* variables or the instance's role).
# EMAIL_PROVIDER=smtp sends through EMAIL_URL instead. Never the console here: a production site
# must not lose its e-mails silently.
EMAIL_PROVIDERS = {
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", ["SENDGRID_API_KEY"]),
    "amazon_ses": ("anymail.backends.amazon_ses.EmailBackend", []),
    "mailgun": ("anymail.backends.mailgun.EmailBackend", ["MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"]),
    "postmark": ("anymail.backends.postmark.EmailBackend", ["POSTMARK_SERVER_TOKEN"]),
    "brevo": ("anymail.backends.brevo.EmailBackend", ["BREVO_API_KEY"]),
}
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="smtp")
if EMAIL_PROVIDER == "smtp":
    globals().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
elif EMAIL_PROVIDER in EMAIL_PROVIDERS:
    EMAIL_BACKEND, _credentials = EMAIL_PROVIDERS[EMAIL_PROVIDER]
    _missing_credentials = [name for name in _credentials if not env.str(name, default="")]
    if _missing_credentials:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={EMAIL_PROVIDER} needs {', '.join(_missing_credentials)} in the environment."
        )
    ANYMAIL = {name: env(name) for name in _credentials}
else:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER must be smtp or one of {', '.join(sorted(EMAIL_PROVIDERS))}, not {EMAIL_PROVIDER!r}."
    )
