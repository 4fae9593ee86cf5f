import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts log-ins, sign-ups and e-mails in the cache; a test must not inherit another's attempts.
    cache.clear()
    yield
    cache.clear()
