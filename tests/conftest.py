import pytest


@pytest.fixture(autouse=True)
def _media_and_mail(settings):
    # Every test starts with an empty outbox and a known site address for links in e-mails.
    settings.SITE_URL = "http://testserver"
