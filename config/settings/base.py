"""Settings shared by every environment. All configuration is read here, from the environment
and an optional `.env` file; the other settings files only change what differs."""

from pathlib import Path

import csp.constants
import environ
from django.core.exceptions import ImproperlyConfigured

from core.db import WatchedConnection

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# The private PostgreSQL that `make run` and `make test` start when DATABASE_URL is not set
# (see config/devdb.py) listens on a Unix socket inside this folder.
EMBEDDED_PGDATA = BASE_DIR / ".pgdata"
EMBEDDED_DATABASE_URL = f"postgresql://postgres:@/holdfast?host={EMBEDDED_PGDATA}"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-never-use-in-production")
# Rotating SECRET_KEY: the old keys here keep sessions and signed links valid until they expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# The site's name and how guests reach the people who run it: in the header, the footer, the page
# titles, the error pages and every e-mail (core/context_processors.py). Empty contact: not shown.
HOLDFAST_SITE_NAME = env("HOLDFAST_SITE_NAME", default="Holdfast")
HOLDFAST_CONTACT_EMAIL = env("HOLDFAST_CONTACT_EMAIL", default="")
HOLDFAST_CONTACT_PHONE = env("HOLDFAST_CONTACT_PHONE", default="")
# The country a phone number typed without its country code is in (accounts/phones.py), ISO 3166 code.
HOLDFAST_PHONE_REGION = env("HOLDFAST_PHONE_REGION", default="GB")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    "django_htmx",
    "django_celery_beat",
    "anymail",
    "django_dramatiq",  # before the apps: it sets Dramatiq's broker before their tasks declare actors
    "core",
    "accounts",
    "spaces",
    "reservations",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.outage.DatabaseUnavailableMiddleware",  # 503 + Retry-After while the database is unreachable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.LanguageMiddleware",  # the guest's language (their saved one, the footer's, the browser's)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # After authentication and messages: staff without two-factor authentication are sent to set it up.
    "staff.two_factor.StaffTwoFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.csp_nonce",
                "core.context_processors.site_identity",
                "core.context_processors.login_next",
            ],
        },
    },
]

# Database: PostgreSQL only. Its exclusion constraints are what make double booking impossible.
# DATABASE_URL may name several hosts, as libpq does, to follow a failover without a restart:
# postgres://holdfast@db1:5432,db2:5432/holdfast?target_session_attrs=read-write (docs/scaling.md).
#
# Connections: each process keeps a pool of at most HOLDFAST_DB_POOL_SIZE (psycopg's pool, through
# Django), whatever the burst: a request that finds every connection busy waits up to
# HOLDFAST_DB_POOL_TIMEOUT seconds for one, then answers "busy, please try again". Size it so that
# processes x pool size stays below the server's max_connections minus headroom (docs/scaling.md).
# HOLDFAST_DB_POOL_SIZE=0 turns the pool off: a connection per thread, kept CONN_MAX_AGE seconds.
DB_POOL_SIZE = env.int("HOLDFAST_DB_POOL_SIZE", default=8)
DB_POOL_TIMEOUT = env.float("HOLDFAST_DB_POOL_TIMEOUT", default=3.0)
# Every wait is bounded: a booking waits at most HOLDFAST_DB_LOCK_TIMEOUT_MS for a lock (then "busy,
# please try again"), and no statement runs longer than HOLDFAST_DB_STATEMENT_TIMEOUT_MS.
DB_LOCK_TIMEOUT_MS = env.int("HOLDFAST_DB_LOCK_TIMEOUT_MS", default=5000)
DB_STATEMENT_TIMEOUT_MS = env.int("HOLDFAST_DB_STATEMENT_TIMEOUT_MS", default=30000)
# HOLDFAST_DB_POOLER=pgbouncer: DATABASE_URL points at pgbouncer in transaction mode, which keeps no
# session state between transactions and refuses startup options: no server-side cursors, and the
# timeouts above are set on the database role instead (`manage.py set_database_timeouts`).
DB_POOLER = env.str("HOLDFAST_DB_POOLER", default="")


def bounded_waits(database: dict) -> dict:
    """The database settings with the lock and statement timeouts set on every connection."""
    options = database.setdefault("OPTIONS", {})
    timeouts = f"-c lock_timeout={DB_LOCK_TIMEOUT_MS} -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
    options["options"] = f"{options.get('options', '')} {timeouts}".strip()
    return database


def database_settings(url: str) -> dict:
    """Django's settings for the PostgreSQL database at `url`: pooled, every wait bounded."""
    database = env.db_url_config(url)
    # Health checks: a connection that died (database restart, failover) is dropped before it is used.
    database["CONN_HEALTH_CHECKS"] = True
    if DB_POOL_SIZE > 0:
        database["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django returns them after each request
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_SIZE,
            "timeout": DB_POOL_TIMEOUT,
            "max_idle": 300,  # connections beyond min_size close after 5 idle minutes
            "max_lifetime": 1800,  # and every connection is renewed within half an hour
            "connection_class": WatchedConnection,  # tells a pool that cannot connect from a busy one
        }
    else:
        # Keep connections open between requests: a new connection per request costs about 6x in throughput.
        database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    if DB_POOLER == "pgbouncer":
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif DB_POOLER:
        raise ImproperlyConfigured(f"HOLDFAST_DB_POOLER must be pgbouncer or empty, not {DB_POOLER!r}.")
    else:
        bounded_waits(database)
    return database


def databases(primary_url: str) -> dict:
    """The primary, and the read replica when DATABASE_REPLICA_URL names one (core/replica.py)."""
    found = {"default": database_settings(primary_url)}
    if env.str("DATABASE_REPLICA_URL", default=""):
        found["replica"] = database_settings(env.str("DATABASE_REPLICA_URL"))
    return found


DATABASES = databases(env.str("DATABASE_URL", default=EMBEDDED_DATABASE_URL))
# Reads that tolerate lag (a guest's history, exports) go to this alias; None: everything on the primary.
READ_REPLICA = "replica" if "replica" in DATABASES else None
# After a guest's booking changes, their own reads stay on the primary this long (read-your-writes).
REPLICA_PIN_SECONDS = env.int("HOLDFAST_REPLICA_PIN_SECONDS", default=30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache that all server processes share: allauth's rate limits count in it.
CACHES = {
    "default": env.cache("CACHE_URL", default="dbcache://django_cache"),
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: e-mail is the log-in, verified before the first log-in.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up also asks the guest's name and (optionally) phone: guest/account_forms.py SignupForm.
ACCOUNT_SIGNUP_FORM_CLASS = "guest.account_forms.SignupForm"
# allauth's e-mails say the site's name (HOLDFAST_SITE_NAME), not the host the request came to.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "change_email": "3/m/user",
    "manage_email": "10/m/user",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{HOLDFAST_SITE_NAME}] "
# allauth's headless API for apps: sign-up, log-in, log-out under /_allauth/app/v1/, answering with
# a session token that our API accepts in the X-Session-Token header. The site's own pages remain.
HEADLESS_ONLY = False
HEADLESS_CLIENTS = ("app", "browser")
# Two-factor authentication (allauth.mfa): any guest may add an authenticator app under "My account";
# staff must, before the admin or the staff pages open (staff/two_factor.py).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Accept the code of the 30-second step before or after too (RFC 6238's allowance for clock drift).
MFA_TOTP_TOLERANCE = 1
MFA_TOTP_ISSUER = "Holdfast"
# "Sessions" under "My account" lists where a guest is logged in (allauth.usersessions). Tracking
# each request's IP and time would cost several queries and a write on every page view: off; the
# list shows where and when each session began.
USERSESSIONS_TRACK_ACTIVITY = env.bool("USERSESSIONS_TRACK_ACTIVITY", default=False)

# Security headers on every response. Scripts and styles come from our own origin, or inline with the
# request's nonce (`csp_nonce` in templates; django-htmx's {% htmx_script %} adds it). The QR code of
# the authenticator app set-up is a data: image. Forms may post to us only, and a booking's payment
# step redirects to Stripe Checkout, which form-action must allow.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp.constants.NONCE],
        "style-src": ["'self'", csp.constants.NONCE],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https://checkout.stripe.com"],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Browser features no page of ours uses, switched off for our pages and anything they might embed
# (core/middleware.py). Stripe Checkout is a page of Stripe's, so `payment` stays off here.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

LANGUAGE_CODE = "en-gb"
# The languages guests and staff may use (catalogues in locale/; English is the source). A guest's
# language: their saved preference, else the footer's choice, else Accept-Language, else a venue's own.
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# E-mail: the console in development, locmem in tests, anymail's provider in production.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Holdfast <bookings@holdfast.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery (config/celery.py): RabbitMQ in production; `filesystem://` needs no server (make run).
# The project's Celery app (config/celery.py), loaded by core.apps so that `.delay()` in any process uses it.
CELERY_APP = "config.celery.app"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(BASE_DIR / ".celery")))
# A web process publishing to a broker that is down gives up at once (one quick retry) rather than
# stalling the guest's request: the message is safe in the outbox and the sweep delivers it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
    }
    for _folder in ("queue", "control"):
        (CELERY_BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the task to another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers log through LOGGING below (and its redaction filter) instead of replacing the root handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# When the broker is down, a booking must not wait for it: fail fast, the outbox sweep delivers later.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The queue the site publishes to and the workers read: another name lets several sites share a broker.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")

# The worker: Celery (above, the default) or Dramatiq, which runs the same @job tasks (core/jobs.py) as
# actors on RabbitMQ: `manage.py rundramatiq` and exactly one `manage.py run_scheduler` (the periodic
# jobs of core.schedule) in place of celery worker and beat. Dramatiq has no file-based broker: its
# RabbitMQ is DRAMATIQ_BROKER_URL, else Celery's broker when that is RabbitMQ, else the local one.
# Either way's URL may name the vhost as kombu does (`//` for `/`).
HOLDFAST_WORKER = env("HOLDFAST_WORKER", default="") or "celery"
if HOLDFAST_WORKER not in ("celery", "dramatiq"):
    raise ImproperlyConfigured(f"HOLDFAST_WORKER must be celery or dramatiq, not {HOLDFAST_WORKER!r}.")


def _pika_url(url: str) -> str:
    """An AMQP URL as pika reads it: amqp(s) scheme, and kombu's `//` (the vhost /) as `/%2F`."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    vhost = path.split("?")[0]
    query = path[len(vhost) :]
    return f"{scheme.removeprefix('py')}://{host}/{'%2F' if vhost in ('', '/') else vhost}{query}"


DRAMATIQ_BROKER_URL = _pika_url(
    env("DRAMATIQ_BROKER_URL", default="")
    or (
        CELERY_BROKER_URL
        if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))
        else "amqp://guest:guest@127.0.0.1:5672/"
    )
)
if not DRAMATIQ_BROKER_URL.startswith(("amqp://", "amqps://")):
    raise ImproperlyConfigured("DRAMATIQ_BROKER_URL must be RabbitMQ's, amqp://user:password@host:5672/ (or amqps://).")
# The queue the site publishes to and `rundramatiq --queues` reads (another name: several sites, or a
# test, on one broker). No results backend: nothing waits for a task's result.
DRAMATIQ_QUEUE = env("DRAMATIQ_QUEUE", default="holdfast")
DRAMATIQ_BROKER = {
    "BROKER": "core.jobs.FailFastRabbitmqBroker",  # a publish to a broker that is down fails at once
    "OPTIONS": {
        "url": DRAMATIQ_BROKER_URL,
        "confirm_delivery": True,
        "connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    },
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.ShutdownNotifications",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",  # our actors have max_retries=0: the outbox and the sweeps retry
        "django_dramatiq.middleware.DbConnectionsMiddleware",  # database connections closed as requests do
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
# django-dramatiq's own actor (deleting its admin's task rows, which we do not keep) stays out of the
# worker, which then reads DRAMATIQ_QUEUE only.
DRAMATIQ_IGNORED_MODULES = ["django_dramatiq.tasks"]

# Stripe. Without a secret key, venues that ask for payment say "pay at the venue" and bookings
# confirm without online payment. STRIPE_API_BASE points the library elsewhere (tests: a fake).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")

# Text messages (core/sms.py): reminders, waitlist offers and, where a venue wants them, confirmations
# and changes, to guests who ask for them. HOLDFAST_SMS_PROVIDER: "" (off), "console" (printed, for
# `make run`), "twilio", or the dotted path of a core.sms.Provider class. Twilio sends from
# TWILIO_FROM_NUMBER (E.164) or through TWILIO_MESSAGING_SERVICE_SID; its webhooks are signed with the
# auth token (or TWILIO_WEBHOOK_SIGNING_KEY where a Webhook Rule signs with a shared key).
# TWILIO_API_BASE points the library elsewhere (tests: a fake).
HOLDFAST_SMS_PROVIDER = env("HOLDFAST_SMS_PROVIDER", default="")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_WEBHOOK_SIGNING_KEY = env("TWILIO_WEBHOOK_SIGNING_KEY", default="")
TWILIO_API_BASE = env("TWILIO_API_BASE", default="")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=10.0)

# Booking rules that are not a venue's own.
HOLDFAST_MAX_ACTIVE_HOLDS = env.int("HOLDFAST_MAX_ACTIVE_HOLDS", default=3)
# The ceiling of a hold: at most the venue's hold length plus this many minutes from when it was made,
# however often checkout is reopened. The default covers one Stripe Checkout (30 minutes at least).
HOLDFAST_HOLD_CEILING_EXTRA_MINUTES = env.int("HOLDFAST_HOLD_CEILING_EXTRA_MINUTES", default=31)
# Calendar sync with the booking channels (reservations/services/channels.py): every feed is fetched every
# HOLDFAST_CALENDAR_SYNC_MINUTES, with a timeout (seconds) and a size limit (bytes); a feed not synced for
# HOLDFAST_CALENDAR_STALE_MINUTES shows as stale. Feeds on private or loopback addresses are refused unless
# HOLDFAST_CALENDAR_ALLOW_PRIVATE (development and tests allow them: the demo serves its own feed).
HOLDFAST_CALENDAR_SYNC_MINUTES = env.int("HOLDFAST_CALENDAR_SYNC_MINUTES", default=15)
HOLDFAST_CALENDAR_STALE_MINUTES = env.int("HOLDFAST_CALENDAR_STALE_MINUTES", default=60)
HOLDFAST_CALENDAR_FETCH_TIMEOUT = env.float("HOLDFAST_CALENDAR_FETCH_TIMEOUT", default=10.0)
HOLDFAST_CALENDAR_MAX_BYTES = env.int("HOLDFAST_CALENDAR_MAX_BYTES", default=5 * 1024 * 1024)
HOLDFAST_CALENDAR_ALLOW_PRIVATE = env.bool("HOLDFAST_CALENDAR_ALLOW_PRIVATE", default=False)
# /demo/channel.ics: a made-up channel's calendar the demo's Harbour Inn syncs (on in development).
HOLDFAST_DEMO_CHANNEL = env.bool("HOLDFAST_DEMO_CHANNEL", default=False)
# How far ahead imported blocks and exported calendars reach (days).
HOLDFAST_CALENDAR_HORIZON_DAYS = env.int("HOLDFAST_CALENDAR_HORIZON_DAYS", default=730)

# Webhooks to partners (reservations/webhooks.py, docs/webhooks.md): each POST waits at most
# HOLDFAST_WEBHOOK_TIMEOUT seconds and reads at most HOLDFAST_WEBHOOK_MAX_RESPONSE_BYTES of the answer; a
# delivery is retried for HOLDFAST_WEBHOOK_RETRY_HOURS. Only https, public addresses unless allowed
# (development and tests allow both: a partner's test server on this machine).
HOLDFAST_WEBHOOK_TIMEOUT = env.float("HOLDFAST_WEBHOOK_TIMEOUT", default=10.0)
HOLDFAST_WEBHOOK_MAX_RESPONSE_BYTES = env.int("HOLDFAST_WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
HOLDFAST_WEBHOOK_RETRY_HOURS = env.float("HOLDFAST_WEBHOOK_RETRY_HOURS", default=24)
HOLDFAST_WEBHOOK_KEEP_DAYS = env.int("HOLDFAST_WEBHOOK_KEEP_DAYS", default=30)  # then deliveries are deleted
HOLDFAST_WEBHOOK_ALLOW_HTTP = env.bool("HOLDFAST_WEBHOOK_ALLOW_HTTP", default=False)
HOLDFAST_WEBHOOK_ALLOW_PRIVATE = env.bool("HOLDFAST_WEBHOOK_ALLOW_PRIVATE", default=False)
# Benchmark-only endpoints under /_bench/ (core/bench.py): `make bench` turns them on for its own
# server and database. Never on a real site.
HOLDFAST_BENCH_ENDPOINTS = env.bool("HOLDFAST_BENCH_ENDPOINTS", default=False)

# Rate limits beyond log-in (core/ratelimit.py), written like ACCOUNT_RATE_LIMITS: "20/m/user,60/m/ip".
# "hold": attempts to hold or book, on the venue pages and POST /api/reservations (hold hoarding);
# "api": every API call, per user (session or token) or, without one, per IP address. Empty: no limit.
HOLDFAST_RATE_LIMITS = {
    "hold": env("HOLDFAST_RATE_LIMIT_HOLD", default="20/m/user,60/m/ip"),
    "api": env("HOLDFAST_RATE_LIMIT_API", default="120/m/user"),
    "account_delete": "5/15m/user",  # password attempts on "Delete my account"
    "waitlist": env("HOLDFAST_RATE_LIMIT_WAITLIST", default="10/m/user,30/m/ip"),  # joining a waitlist
}
# Behind a proxy every request comes from the proxy's address. The number of proxies of ours that add to
# X-Forwarded-For lets allauth's and our limits per IP address count the guest's own address instead.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
# Request size: a larger body is refused before it is read (400; the API answers 413 in JSON).
# 256 KB is far above any form or booking, and above the Stripe webhooks we receive.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A safety net: e-mail addresses and request query strings are blanked in every line (core/logging.py).
    "filters": {"redact_personal_data": {"()": "core.logging.RedactPersonalData"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_personal_data"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # runserver's request lines go through the same handler (Django's own handler would print query strings).
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
