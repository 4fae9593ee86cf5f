"""The demo's Harbour Inn: a summer season, a two-night weekend minimum in July and August, and a
room on a channel whose calendar the site serves itself, so `make run` shows a synced block."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.views import DEMO_CHANNEL_STAYS
from reservations.models import Block
from reservations.services.channels import sync_feed
from spaces.models import CalendarFeed, Venue

pytestmark = pytest.mark.django_db


def test_harbour_inn_has_a_summer_rate_a_weekend_minimum_and_a_channel_feed(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("seed_demo", stdout=StringIO())
    inn = Venue.objects.get(slug="harbour-inn")

    summer = {rate.category: rate for rate in inn.rates.all()}
    assert set(summer) == {"Single", "Double", "Family"}
    assert summer["Double"].applies(date(2027, 7, 15), "Double") and not summer["Double"].applies(
        date(2027, 9, 15), "Double"
    )
    (weekends,) = inn.stay_limits.all()
    assert weekends.min_nights == 2 and weekends.applies(date(2027, 7, 17), "Double")  # a Saturday in July
    assert not weekends.applies(date(2027, 7, 14), "Double")  # a Wednesday
    (feed,) = CalendarFeed.objects.filter(space__venue=inn)
    assert (feed.space.name, feed.url) == ("Room 205", "http://127.0.0.1:8000/demo/channel.ics")


def test_the_demo_channel_is_served_only_where_it_is_turned_on(client, settings):
    settings.HOLDFAST_DEMO_CHANNEL = False
    assert client.get("/demo/channel.ics").status_code == 404
    settings.HOLDFAST_DEMO_CHANNEL = True
    response = client.get("/demo/channel.ics")
    assert response.status_code == 200 and b"BEGIN:VEVENT" in response.content


@pytest.mark.django_db(transaction=True)
def test_syncing_the_demo_feed_blocks_the_demo_channels_stays(live_server, settings):
    settings.HOLDFAST_DEMO_CHANNEL = True
    settings.SITE_URL = live_server.url
    call_command("seed_demo", stdout=StringIO())
    feed = CalendarFeed.objects.get(space__name="Room 205")

    assert sync_feed(feed).ok

    today = timezone.localdate()
    assert sorted(Block.objects.filter(feed=feed).values_list("starts_on", "ends_on")) == [
        (today + timedelta(days=offset), today + timedelta(days=offset + nights))
        for offset, nights in DEMO_CHANNEL_STAYS
    ]
