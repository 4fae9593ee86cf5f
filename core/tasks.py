from celery import shared_task

from core import ratelimit


@shared_task(ignore_result=True)
def forget_old_rate_windows() -> int:
    return ratelimit.forget_old_windows()
