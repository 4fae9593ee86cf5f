from celery import shared_task

from payments import services


@shared_task(ignore_result=True)
def submit_refund(refund_id: int) -> bool:
    return services.submit_refund(refund_id)


@shared_task(ignore_result=True)
def retry_refunds() -> int:
    return services.retry_refunds()
