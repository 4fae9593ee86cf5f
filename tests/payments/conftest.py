from decimal import Decimal

import pytest

from spaces.models import PaymentMode
from tests.fake_stripe import FakeStripe

# The booking tests' venues and users serve here too.
from tests.reservations.conftest import guest, other_guest, restaurant, staff  # noqa: F401


@pytest.fixture
def fake_stripe(settings):
    """The local stand-in for Stripe's API (tests/fake_stripe.py), with the site's keys pointed at it."""
    with FakeStripe(webhook_secret="whsec_test_holdfast") as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_holdfast"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_test_holdfast"
        settings.STRIPE_API_BASE = fake.url
        yield fake


@pytest.fixture
def deposit_venue(restaurant):  # noqa: F811  (the imported fixture, asked for by name)
    """The test restaurant asking a deposit of 10 EUR per guest."""
    restaurant.payment_mode = PaymentMode.DEPOSIT_PER_GUEST
    restaurant.deposit_per_guest = Decimal("10.00")
    restaurant.save()
    return restaurant
