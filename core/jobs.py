"""Background jobs, on Celery or Dramatiq (HOLDFAST_WORKER): each task is declared once, with `@job`.

from core.jobs import job

@job
def deliver_message(message_id: int) -> bool: ...

deliver_message.delay(message_id)   # queued for a worker (after commit, by the caller)
deliver_message(message_id)         # run here and now
"""

from celery import shared_task


def job(func):
    return shared_task(ignore_result=True)(func)
