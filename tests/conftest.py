import socket

import pytest
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import connection, connections


@pytest.fixture(scope="session", autouse=True)
def _pools_closed_before_the_test_databases_go(django_db_setup, django_db_blocker):
    """Each alias keeps a pool of connections; close them all before pytest-django drops the test
    database (Django closes only the pool of the connection that drops it, not the replica's)."""
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
            connections[alias].close_pool()


@pytest.fixture(autouse=True)
def _media_and_mail(settings):
    # Every test starts with an empty outbox and a known site address for links in e-mails.
    settings.SITE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate limits (allauth's and core/ratelimit.py's) count in the cache, and every test client has the
    # same IP address: no test may inherit another's attempts.
    cache.clear()
    yield
    cache.clear()


# Every member of staff who logs in during a test gets an authenticator app with this secret, as if they
# had set it up: staff reach the admin and the staff pages only with one (staff/two_factor.py), and
# most tests of those pages are not about two-factor authentication. Production has no such shortcut.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
_STAFF_TOTP_RECEIVER = "tests.conftest.give_staff_an_authenticator"


def _give_staff_an_authenticator(sender, request, user, **kwargs):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if user.is_staff and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, STAFF_TOTP_SECRET)


@pytest.fixture(autouse=True)
def _staff_have_an_authenticator():
    # On log-in (force_login or the form, also in the browser tests' live server): allauth has asked for a
    # code already if the user had an authenticator, so a form log-in needs none the first time.
    user_logged_in.connect(_give_staff_an_authenticator, dispatch_uid=_STAFF_TOTP_RECEIVER)
    yield
    user_logged_in.disconnect(dispatch_uid=_STAFF_TOTP_RECEIVER)


def _record_a_forced_login_session(sender, request, user, **kwargs):
    from allauth.usersessions.models import UserSession

    if "REMOTE_ADDR" in request.META:  # a real request: allauth's log-in records its session itself
        return
    UserSession.objects.get_or_create(
        session_key=request.session.session_key, defaults={"user": user, "ip": "127.0.0.1", "user_agent": ""}
    )


@pytest.fixture(autouse=True)
def _forced_logins_record_their_session():
    # allauth's log-in records the session for the "Sessions" page (allauth.usersessions); force_login's
    # bare request does not, so a test's first request would record it and differ from every later one.
    user_logged_in.connect(_record_a_forced_login_session, dispatch_uid="tests.conftest.record_session")
    yield
    user_logged_in.disconnect(dispatch_uid="tests.conftest.record_session")


@pytest.fixture
def staff_without_authenticator(_staff_have_an_authenticator):
    """For tests of the two-factor requirement itself: staff who log in keep exactly what they have."""
    user_logged_in.disconnect(dispatch_uid=_STAFF_TOTP_RECEIVER)


@pytest.fixture
def unreachable_database():
    """Point the default connection at a port where nothing listens, for real, and put it back afterwards.

    Holding the port bound (without listening) guarantees nothing else answers there during the test.
    The connection pool is made anew for the unreachable address (waiting two seconds for a connection
    instead of the usual limit), and again for the real one afterwards."""
    original = connection.settings_dict.copy()
    options = {**original.get("OPTIONS", {}), "connect_timeout": 2}
    if options.get("pool"):
        options["pool"] = {**options["pool"], "timeout": 2}
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        connection.close()
        connection.close_pool()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(placeholder.getsockname()[1]), OPTIONS=options)
        try:
            yield
        finally:
            connection.close()
            connection.close_pool()
            connection.settings_dict.clear()
            connection.settings_dict.update(original)
    # The real database answers again for the tests that follow.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def pytest_sessionstart(session):
    # The translations as Django reads them (.mo, build output) from the catalogues (locale/*.po).
    from django.core.management import call_command

    call_command("compile_catalogues", verbosity=0)


# Text messages: the local fake of Twilio with the site pointed at it, and texts on through the console
# provider (tests/sms_fixtures.py), for any test that asks for them by name.
from tests.sms_fixtures import fake_twilio, texts_on  # noqa: E402, F401
