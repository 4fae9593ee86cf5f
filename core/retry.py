"""Retrying a transaction that lost a deadlock or a serialization conflict.

PostgreSQL resolves a deadlock by failing one of the transactions in it (SQLSTATE 40P01), and a
serializable transaction that conflicts fails with 40001. Both are safe to run again from the start.
`retry_on_conflict` does that a few times, with a random pause that grows (jitter, so two retries do not
collide again), logging each retry; what is still failing then reaches the caller, which answers
"busy, please try again" (core/outage.py). Only the outermost transaction can be retried: inside an
atomic block the decorator leaves the error to the block's owner.
"""

import logging
import random
import time
from functools import wraps

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)
RETRYABLE = {"40P01": "deadlock", "40001": "serialization failure"}
ATTEMPTS = 3
BASE_PAUSE = 0.02  # seconds; doubled for each retry, times a random factor


def _conflict(error: OperationalError) -> str | None:
    return RETRYABLE.get(getattr(error.__cause__, "sqlstate", None))


def retry_on_conflict(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as error:
                conflict = _conflict(error)
                if conflict is None or attempt == ATTEMPTS:
                    raise
                logger.warning("Retrying %s after a %s (attempt %s of %s).", func.__name__, conflict, attempt, ATTEMPTS)
                time.sleep(random.uniform(0.5, 1.5) * BASE_PAUSE * 2 ** (attempt - 1))  # noqa: S311
        raise AssertionError("unreachable")

    return wrapper
