"""What the database connections remember about themselves.

The connection pool (settings: HOLDFAST_DB_POOL_SIZE) opens its connections in the background; a
request that finds none free waits, then gets psycopg_pool.PoolTimeout. That means two different
things: every connection is busy (a burst: "busy, please try again"), or the pool cannot open one
because the database is out of reach (an outage). WatchedConnection records the outcome of the last
attempt to open a connection, so that core/outage.py can tell them apart.
"""

import psycopg

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
