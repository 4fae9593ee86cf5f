"""Another transaction, for tests that need one to hold a lock or a connection while they act."""

import contextlib
import threading

from django.db import connection, connections, transaction


@contextlib.contextmanager
def held_elsewhere(work):
    """Run `work()` in a transaction of another thread (its own connection) and keep that transaction
    open, with whatever locks and connection it holds, until the block ends."""
    ready, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                work()
                ready.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        ready.wait(timeout=30)
        yield
    finally:
        release.set()
        holder.join()


@contextlib.contextmanager
def lock_timeout(milliseconds: int):
    """This test's connection waits at most `milliseconds` for a lock; put back as it came afterwards
    (the connection returns to the pool)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{int(milliseconds)}ms'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
