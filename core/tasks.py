from core import ratelimit
from core.jobs import job


@job
def forget_old_rate_windows() -> int:
    return ratelimit.forget_old_windows()
