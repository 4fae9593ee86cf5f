"""Production settings, checked in fresh interpreters with a controlled environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRED = ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL"]
REALISTIC = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://holdfast:a-database-password@db.internal:5432/holdfast",
    "ALLOWED_HOSTS": "holdfast.example.com",
    "CELERY_BROKER_URL": "amqp://holdfast:a-broker-password@rabbitmq.internal:5672//",
}


def run_with_production_settings(args, **environment):
    # Only PATH is inherited. The empty values also shadow any developer's .env file, which
    # django-environ reads without overriding what the environment already holds.
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    env |= {name: "" for name in REQUIRED} | environment
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def import_production_settings(**environment):
    return run_with_production_settings(["-c", "import django; django.setup()"], **environment)


def test_production_settings_refuse_to_start_without_any_required_variable():
    result = import_production_settings()
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: Production settings need SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, CELERY_BROKER_URL "
        "in the environment" in result.stderr
    )


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_settings_name_the_one_missing_variable(missing):
    environment = {name: value for name, value in REALISTIC.items() if name != missing}

    result = import_production_settings(**environment)

    assert result.returncode != 0
    assert f"Production settings need {missing} in the environment" in result.stderr


def test_production_settings_refuse_the_file_based_broker_and_say_which_setting():
    result = import_production_settings(**{**REALISTIC, "CELERY_BROKER_URL": "filesystem://"})

    assert result.returncode != 0
    assert "refuse CELERY_BROKER_URL=filesystem://" in result.stderr


def test_production_settings_start_with_the_required_variables():
    result = import_production_settings(**REALISTIC)
    assert result.returncode == 0, result.stderr


def test_deployment_checks_pass_without_warnings_in_a_realistic_environment():
    result = run_with_production_settings(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **REALISTIC)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_deployment_checks_warn_about_a_weak_secret_key():
    # The check above must be able to fail: a short key is reported.
    result = run_with_production_settings(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **(REALISTIC | {"SECRET_KEY": "short"})
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def email_backend_with(**environment):
    script = "import django; django.setup(); from django.conf import settings as s; print(s.EMAIL_BACKEND, s.ANYMAIL)"
    return run_with_production_settings(["-c", script], **REALISTIC, **environment)


@pytest.mark.parametrize(
    ("provider", "credentials", "backend"),
    [
        ("postmark", {"POSTMARK_SERVER_TOKEN": "pm-token"}, "anymail.backends.postmark.EmailBackend"),
        (
            "mailgun",
            {"MAILGUN_API_KEY": "mg-key", "MAILGUN_SENDER_DOMAIN": "mg.example.com"},
            "anymail.backends.mailgun.EmailBackend",
        ),
        ("sendgrid", {"SENDGRID_API_KEY": "sg-key"}, "anymail.backends.sendgrid.EmailBackend"),
        ("amazon_ses", {}, "anymail.backends.amazon_ses.EmailBackend"),
    ],
)
def test_the_email_provider_is_chosen_by_environment(provider, credentials, backend):
    result = email_backend_with(EMAIL_PROVIDER=provider, **credentials)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(backend)
    for value in credentials.values():
        assert value in result.stdout


def test_a_provider_without_its_credentials_refuses_to_start():
    result = email_backend_with(EMAIL_PROVIDER="postmark")
    assert result.returncode != 0
    assert "EMAIL_PROVIDER=postmark needs POSTMARK_SERVER_TOKEN" in result.stderr


def test_smtp_is_configured_from_one_url():
    script = "import django; django.setup(); from django.conf import settings as s; print(s.EMAIL_HOST, s.EMAIL_PORT)"
    result = run_with_production_settings(
        ["-c", script], **REALISTIC, EMAIL_PROVIDER="smtp", EMAIL_URL="smtp+tls://user:pw@mail.example.com:587"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["mail.example.com", "587"]


def production_databases(**environment) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'databases': s.DATABASES, 'replica': s.READ_REPLICA, "
        "'queue_type': getattr(s, 'CELERY_TASK_DEFAULT_QUEUE_TYPE', None)}, default=str))"
    )
    result = run_with_production_settings(["-c", script], **REALISTIC | environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_process_keeps_a_bounded_pool_of_connections_with_every_wait_bounded():
    found = production_databases(HOLDFAST_DB_POOL_SIZE="6", HOLDFAST_DB_POOL_TIMEOUT="2.5")
    default = found["databases"]["default"]

    assert default["CONN_MAX_AGE"] == 0  # the pool keeps them, not Django
    assert {key: default["OPTIONS"]["pool"][key] for key in ("min_size", "max_size", "timeout")} == {
        "min_size": 1,
        "max_size": 6,
        "timeout": 2.5,
    }
    assert default["OPTIONS"]["options"] == "-c lock_timeout=5000 -c statement_timeout=30000"
    assert found["replica"] is None and "replica" not in found["databases"]
    assert found["queue_type"] == "quorum"  # amqp:// in production: RabbitMQ quorum queues


def test_several_hosts_in_the_database_url_reach_libpq_as_they_are_written():
    url = "postgres://holdfast:pw@db1.internal:5432,db2.internal:5433/holdfast?target_session_attrs=read-write"
    default = production_databases(DATABASE_URL=url)["databases"]["default"]

    assert (default["HOST"], default["PORT"]) == ("db1.internal,db2.internal", "5432,5433")
    assert default["OPTIONS"]["target_session_attrs"] == "read-write"


def test_behind_pgbouncer_no_startup_options_and_no_server_side_cursors():
    default = production_databases(HOLDFAST_DB_POOLER="pgbouncer")["databases"]["default"]

    assert "options" not in default["OPTIONS"]  # pgbouncer refuses them: the role carries the timeouts
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True
    refused = run_with_production_settings(
        ["-c", "import django; django.setup()"], **REALISTIC, HOLDFAST_DB_POOLER="pgpool"
    )
    assert refused.returncode != 0 and "HOLDFAST_DB_POOLER must be pgbouncer or empty" in refused.stderr


def test_a_replica_url_adds_the_replica_for_lag_tolerant_reads():
    found = production_databases(DATABASE_REPLICA_URL="postgres://holdfast:pw@replica.internal:5432/holdfast")

    assert found["replica"] == "replica"
    assert found["databases"]["replica"]["HOST"] == "replica.internal"
    assert found["databases"]["replica"]["OPTIONS"]["pool"]["max_size"] == 8
