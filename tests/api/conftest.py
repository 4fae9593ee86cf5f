import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.test import Client

from tests.reservations.conftest import (  # noqa: F401
    always_open,
    guest,
    hotel,
    meeting_rooms,
    other_guest,
    restaurant,
    staff,
    trattoria,
)

PASSWORD = "a-long-test-password"  # what tests.reservations.conftest.make_user gives everyone
APP_LOGIN = "/_allauth/app/v1/auth/login"
APP_SESSION = "/_allauth/app/v1/auth/session"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts log-ins per IP in the cache (30 a minute): every test starts with a clean count.
    cache.clear()
    yield
    cache.clear()


def verify_email(user) -> None:
    """allauth refuses to log in a user whose e-mail address is not verified (verification is mandatory)."""
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


def app_login(client: Client, email: str, password: str = PASSWORD):
    """Log in through allauth's headless app API; the response carries meta.session_token."""
    return client.post(APP_LOGIN, {"email": email, "password": password}, content_type="application/json")


def session_token(user) -> str:
    verify_email(user)
    response = app_login(Client(), user.email)
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
