"""The production settings and text messages: Twilio without its credentials or a sender refuses to
start, and so does the console provider (texts would only be printed)."""

import pytest

from tests.test_settings import REALISTIC, import_production_settings, run_with_production_settings

TWILIO = {
    "HOLDFAST_SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "a-twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
}


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ("TWILIO_ACCOUNT_SID", "needs TWILIO_ACCOUNT_SID"),
        ("TWILIO_AUTH_TOKEN", "needs TWILIO_AUTH_TOKEN"),
        ("TWILIO_FROM_NUMBER", "needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"),
    ],
)
def test_twilio_without_its_credentials_or_a_sender_refuses_to_start(missing, words):
    result = import_production_settings(**REALISTIC, **{**TWILIO, missing: ""})

    assert result.returncode != 0
    assert f"HOLDFAST_SMS_PROVIDER=twilio {words}" in result.stderr


def test_twilio_starts_with_a_messaging_service_instead_of_a_number():
    environment = {**REALISTIC, **TWILIO, "TWILIO_FROM_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}
    result = run_with_production_settings(
        ["-c", "import django; django.setup(); from core import sms; print(type(sms.get_provider()).__name__)"],
        **environment,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "TwilioProvider"


def test_the_console_provider_is_refused_in_production():
    result = import_production_settings(**REALISTIC, HOLDFAST_SMS_PROVIDER="console")

    assert result.returncode != 0 and "refuse HOLDFAST_SMS_PROVIDER=console" in result.stderr


def test_texts_are_off_unless_chosen():
    result = run_with_production_settings(
        ["-c", "import django; django.setup(); from core import sms; print(sms.configured())"], **REALISTIC
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
