import pytest
from django.core.cache import cache

# The booking tests' venues and users serve here too (deleting an account cancels its bookings).
from tests.reservations.conftest import guest, hotel, other_guest, restaurant  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts log-ins, sign-ups and e-mails in the cache; a test must not inherit another's attempts.
    cache.clear()
    yield
    cache.clear()
