"""The booking engine's periodic jobs (collected by core.schedule): task name -> (every N seconds, description)."""

from django.conf import settings

PERIODIC_TASKS = {
    "reservations.tasks.deliver_pending_messages": (60, "Deliver e-mails still pending (broker down, worker crashed)"),
    "reservations.tasks.deliver_pending_webhooks": (60, "Deliver partners' webhooks still pending or retried"),
    "reservations.tasks.forget_old_webhook_deliveries": (86400, "Delete partners' webhook deliveries past keeping"),
    "reservations.tasks.send_reminders": (300, "Create the reminders that are due"),
    "reservations.tasks.expire_holds": (60, "Expire holds whose time ran out"),
    "reservations.tasks.complete_past_reservations": (900, "Mark ended bookings as completed"),
    "reservations.tasks.sync_calendars": (
        settings.HOLDFAST_CALENDAR_SYNC_MINUTES * 60,
        "Sync the booking channels' calendar feeds",
    ),
}
