"""The booking engine's periodic jobs (collected by core.schedule): task name -> (every N seconds, description)."""

PERIODIC_TASKS = {
    "reservations.tasks.deliver_pending_messages": (60, "Deliver e-mails still pending (broker down, worker crashed)"),
    "reservations.tasks.send_reminders": (300, "Create the reminders that are due"),
    "reservations.tasks.expire_holds": (60, "Expire holds whose time ran out"),
    "reservations.tasks.complete_past_reservations": (900, "Mark ended bookings as completed"),
}
