"""Celery tasks. Each takes ids (or nothing), calls a service and is safe to run twice."""

from celery import shared_task

from reservations import notifications, services
from reservations.services import channels
from spaces.models import CalendarFeed


@shared_task(ignore_result=True)
def deliver_message(message_id: int) -> bool:
    return notifications.deliver(message_id)


@shared_task(ignore_result=True)
def deliver_pending_messages() -> int:
    return notifications.deliver_due()


@shared_task(ignore_result=True)
def send_reminders() -> int:
    return notifications.create_due_reminders()


@shared_task(ignore_result=True)
def expire_holds() -> int:
    return services.expire_stale_holds()


@shared_task(ignore_result=True)
def complete_past_reservations() -> int:
    return services.complete_past_reservations()


@shared_task(ignore_result=True)
def sync_calendars() -> int:
    """Fetch every channel's calendar feed and apply it; how many feeds synced."""
    return sum(result.ok for result in channels.sync_all())


@shared_task(ignore_result=True)
def sync_calendar(feed_id: int) -> bool:
    """One feed now (the admin's "Sync now" when a worker runs)."""
    feed = CalendarFeed.objects.filter(pk=feed_id).first()
    return feed is not None and channels.sync_feed(feed).ok
