"""A real Celery worker runs the periodic calendar sync: the job queues a task per feed on a real
broker, and the worker process fetches each feed over HTTP and blocks its nights."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reservations.models import Block
from reservations.tasks import sync_calendars
from spaces.models import CalendarFeed

from .channel_server import ChannelServer, airbnb
from .test_worker import wait_for, worker  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_real_worker_syncs_every_feed_the_periodic_job_queues(worker, hotel):  # noqa: F811
    today = timezone.now().astimezone(hotel.zone).date()
    first, departure = (today + timedelta(days=days) for days in (10, 14))
    stays = [("w1", f"{first:%Y%m%d}", f"{departure:%Y%m%d}", "Reserved")]
    with ChannelServer() as channel:
        for name in ("102", "103"):
            CalendarFeed.objects.create(
                space=hotel.spaces.get(name=name), name="Airbnb", url=channel.serve(f"/{name}.ics", airbnb(*stays))
            )

        sync_calendars.delay()  # what the scheduler sends; the worker queues a task per feed and runs them
        wait_for(lambda: CalendarFeed.objects.filter(last_success_at__isnull=False).count() == 2)

    assert sorted(Block.objects.values_list("space__name", "starts_on", "ends_on")) == [
        ("102", first, departure),
        ("103", first, departure),
    ]
