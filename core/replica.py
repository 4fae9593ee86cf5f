"""Reads that tolerate a few seconds' lag may go to a read replica; everything else stays on the primary.

With DATABASE_REPLICA_URL set (settings.READ_REPLICA names its alias), a guest's history, their data
export and the staff's CSV exports read from the replica (streaming replication, usually well under a
second behind). Never availability or anything that leads to a booking, and nothing inside a
transaction: those read the primary, where the exclusion constraint decides.

Read-your-writes: every change to a reservation pins its guest to the primary for
HOLDFAST_REPLICA_PIN_SECONDS (set after the change commits), so a guest who has just booked, changed
or cancelled sees it at once, whatever the replica's lag.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _pin_key(guest_id: int) -> str:
    return f"holdfast:primary-pin:{guest_id}"


def lag_tolerant(*, guest_id: int | None = None) -> str:
    """The alias for a read that may be a little behind: the replica, unless there is none, the read is
    part of a transaction, or `guest_id` changed a reservation moments ago (then the primary)."""
    replica = settings.READ_REPLICA
    if not replica or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if guest_id is not None and cache.get(_pin_key(guest_id)):
        return DEFAULT_DB_ALIAS
    return replica


def pin_to_primary(guest_id: int | None) -> None:
    """After the current transaction commits, `guest_id`'s lag-tolerant reads go to the primary for a while."""
    if settings.READ_REPLICA and guest_id is not None:
        transaction.on_commit(lambda: cache.set(_pin_key(guest_id), True, settings.REPLICA_PIN_SECONDS))
