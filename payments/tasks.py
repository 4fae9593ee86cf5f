from core.jobs import job
from payments import services


@job
def submit_refund(refund_id: int) -> bool:
    return services.submit_refund(refund_id)


@job
def retry_refunds() -> int:
    return services.retry_refunds()
