"""What the database connections remember about themselves.

The connection pool (settings: HOLDFAST_DB_POOL_SIZE) opens its connections in the background; a
request that finds none free waits, then gets psycopg_pool.PoolTimeout. That means two different
things: every connection is busy (a burst: "busy, please try again"), or the pool cannot open one
because the database is out of reach (an outage). WatchedConnection records the outcome of the last
attempt to open a connection, so that core/outage.py can tell them apart.
"""

import psycopg
from psycopg_pool.base import AttemptWithBackoff

_last_attempt: dict[str, psycopg.OperationalError | None] = {"error": None}


class WatchedConnection(psycopg.Connection):
    """psycopg's connection, noting whether the latest attempt to open one (in this process) failed."""

    @classmethod
    def connect(cls, *args, **kwargs):
        try:
            opened = super().connect(*args, **kwargs)
        except psycopg.OperationalError as error:
            _last_attempt["error"] = error
            raise
        _last_attempt["error"] = None
        return opened


def last_connect_error() -> psycopg.OperationalError | None:
    """The error of the latest attempt to open a connection, None when it succeeded (or none was made)."""
    return _last_attempt["error"]


# psycopg's pool retries a connection it could not open after 1 s, then 2, 4, 8 … seconds: after a
# minute's outage a process would wait half a minute more before trying again, answering 503 while the
# database is back. Retry every second instead (with the pool's 10 % jitter), until its
# reconnect_timeout: a connection attempt a second per process is nothing to a server that is down.
AttemptWithBackoff.DELAY_BACKOFF = 1.0
