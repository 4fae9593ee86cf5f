"""Background jobs, on Celery or Dramatiq (core/jobs.py). Each takes ids (or nothing), calls a service
and is safe to run twice."""

from core.jobs import job
from reservations import notifications, services, webhooks
from reservations.services import channels
from spaces.models import CalendarFeed


@job
def deliver_message(message_id: int) -> bool:
    return notifications.deliver(message_id)


@job
def deliver_pending_messages() -> int:
    return notifications.deliver_due()


@job
def deliver_webhook(delivery_id: int) -> bool:
    return webhooks.deliver(delivery_id)


@job
def deliver_pending_webhooks() -> int:
    return webhooks.deliver_due()


@job
def forget_old_webhook_deliveries() -> int:
    return webhooks.forget_old_deliveries()


@job
def send_reminders() -> int:
    return notifications.create_due_reminders()


@job
def expire_holds() -> int:
    return services.expire_stale_holds()


@job
def complete_past_reservations() -> int:
    return services.complete_past_reservations()


@job
def sync_calendars() -> int:
    """The periodic job: one task per active feed, so a slow channel holds up no other (each fetch
    may take the whole timeout). How many were queued."""
    feeds = list(channels.feeds_to_sync().values_list("pk", flat=True))
    for feed_id in feeds:
        sync_calendar.delay(feed_id)
    return len(feeds)


@job
def sync_calendar(feed_id: int) -> bool:
    """One feed: fetched, read and applied (safe to run twice, or alongside the command)."""
    feed = CalendarFeed.objects.filter(pk=feed_id, is_active=True).first()
    return feed is not None and channels.sync_feed(feed).ok
