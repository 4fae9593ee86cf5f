"""Production settings, checked in fresh interpreters with a controlled environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRED = ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"]
REALISTIC = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://holdfast:a-database-password@db.internal:5432/holdfast",
    "ALLOWED_HOSTS": "holdfast.example.com",
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
        "ImproperlyConfigured: Production settings need SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS in the environment"
        in result.stderr
    )


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_settings_name_the_one_missing_variable(missing):
    environment = {name: value for name, value in REALISTIC.items() if name != missing}

    result = import_production_settings(**environment)

    assert result.returncode != 0
    assert f"Production settings need {missing} in the environment" in result.stderr


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
