"""Taking a space for a period without ever double-booking it.

Double booking is made impossible by the database (the exclusion constraint on Reservation); this
module decides what to try, in which order, and under which lock, so that concurrent bookings queue
instead of deadlocking, and turns the constraint's refusal into "taken".

What blocks a space is one rule (ReservationQuerySet.blocking): confirmed bookings, and holds that
have not run out. A stale hold still counts for the exclusion constraint until its status changes,
so a booking first expires the stale holds in its way (expire_stale_holds_in_the_way), and the claim
under the space's lock asks what the constraint will ask.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Value
from django.db.models.functions import Cast

from reservations.models import Reservation
from reservations.services import transitions
from spaces.models import Space

NO_OVERLAP_CONSTRAINT = "reservation_no_overlap"


def expire_stale_holds_in_the_way(
    spaces: list[Space], starts_at, ends_at, *, now, exclude: Reservation | None = None
) -> None:
    """Expired holds never block anyone: expire those in the way inside the booking's transaction."""
    stale = Reservation.objects.stale_holds(now).filter(space__in=spaces).overlapping(starts_at, ends_at)
    if exclude is not None:
        stale = stale.exclude(pk=exclude.pk)
    for reservation in stale.select_for_update(skip_locked=True, no_key=True).order_by("pk"):
        transitions.expire(reservation, now=now)


def without_overlap(spaces: list[Space], starts_at, ends_at, *, now, exclude: Reservation | None = None):
    """The spaces with no booking blocking the period (one query), in the same order.

    A pre-filter that saves locking spaces that are plainly taken; with one candidate, claim asks
    the same question under the lock anyway, so it is skipped.
    """
    if len(spaces) <= 1:
        return spaces
    busy = Reservation.objects.blocking(now).filter(space=OuterRef("pk")).overlapping(starts_at, ends_at)
    if exclude is not None:
        busy = busy.exclude(pk=exclude.pk)
    free = set(
        Space.objects.filter(pk__in=[space.pk for space in spaces]).exclude(Exists(busy)).values_list("pk", flat=True)
    )
    return [space for space in spaces if space.pk in free]


def bookings_in_the_way(space: Space, starts_at: datetime, ends_at: datetime):
    """The bookings of `space` that the exclusion constraint counts against the period.

    The id is typed as bigint, like the column: btree_gist has no bigint = integer operator, and
    only then can the exclusion constraint's index answer for space and period at once.
    """
    same_space = Cast(Value(space.pk), BigIntegerField())
    return Reservation.objects.active().filter(space_id=same_space).overlapping(starts_at, ends_at)


class _Taken(Exception):
    pass


def claim(space: Space, starts_at: datetime, ends_at: datetime, write, *, exclude: Reservation | None = None):
    """Lock `space`, check under the lock that the period is still free, then `write()`.

    Concurrent bookings of one space queue on its row lock instead of racing into the exclusion
    constraint, where PostgreSQL would detect a deadlock between two conflicting inserts. Each
    attempt is a savepoint: rolling it back releases the lock of a space we could not use, so a
    transaction never waits for a space while holding another (no lock-order deadlocks).

    The check counts what the constraint counts (a stale hold too): one that another transaction is
    expiring right now must read as taken, not be waited for while we hold this space's lock.
    Returns what `write()` returned, or None when the space is taken.
    """
    try:
        with transaction.atomic():
            Space.objects.select_for_update().filter(pk=space.pk).exists()
            busy = bookings_in_the_way(space, starts_at, ends_at)
            if exclude is not None:
                busy = busy.exclude(pk=exclude.pk)
            if busy.exists():
                raise _Taken
            return write()
    except _Taken:
        return None
    except IntegrityError as error:
        if _is_overlap_violation(error):  # the database's last word, e.g. against a direct write
            return None
        raise


def _is_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == NO_OVERLAP_CONSTRAINT
