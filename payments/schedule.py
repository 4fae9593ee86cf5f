"""The payments' periodic jobs (collected by core.schedule): task name -> (every N seconds, description)."""

PERIODIC_TASKS = {
    "payments.tasks.retry_refunds": (300, "Send refunds still waiting to Stripe"),
}
