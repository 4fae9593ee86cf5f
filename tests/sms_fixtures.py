"""Fixtures for text messages: the local fake of Twilio (tests/fake_twilio.py) with the site pointed at it.

Import them into a test module (or a conftest) by name: `from tests.sms_fixtures import fake_twilio`.
"""

from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from core import sms
from tests.fake_twilio import FakeTwilio

GUEST_PHONE = "+447400123456"  # a UK mobile (accounts.phones reads it as valid)


def django_transport(client: Client):
    """Twilio's webhooks posted through Django's test client: the request runs in the test's own
    database transaction, as if Twilio had reached SITE_URL."""

    def post(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        response = client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={name: value for name, value in headers.items() if name != "Content-Type"},
        )
        return response.status_code, response.content.decode()

    return post


@pytest.fixture
def fake_twilio(settings):
    """Texts on, through Twilio's library, against the fake; its webhooks come back through the test client."""
    with FakeTwilio() as fake:
        settings.HOLDFAST_SMS_PROVIDER = "twilio"
        settings.TWILIO_ACCOUNT_SID = fake.account_sid
        settings.TWILIO_AUTH_TOKEN = fake.auth_token
        settings.TWILIO_FROM_NUMBER = fake.from_number
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_WEBHOOK_SIGNING_KEY = ""
        settings.TWILIO_API_BASE = fake.url
        settings.TWILIO_TIMEOUT = 5.0
        fake.incoming_url = settings.SITE_URL.rstrip("/") + "/sms/twilio/incoming"
        fake.transport = django_transport(Client())
        yield fake
    sms._cache.clear()  # no client kept for a server that is gone


@pytest.fixture
def texts_on(settings):
    """Texts on, printed by the console provider: for pages that only ask whether texts are on."""
    settings.HOLDFAST_SMS_PROVIDER = "console"
