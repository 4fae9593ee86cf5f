"""A guest's reservations as My reservations lists them, each where a guest looks for it:

- upcoming: held (while the hold lasts) and confirmed bookings that have not ended, soonest first;
- cancelled: cancelled bookings whose date is still ahead (a cancelled dinner next Friday is not
  "past"), soonest first;
- past: everything else — completed, no-shows, holds that ran out, bookings cancelled for a date
  gone by — newest first, a page at a time.

Each part is one query (and one for the tables every booking takes), however many bookings there
are. Read from the replica when there is one, unless the guest has just changed a booking.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.replica import lag_tolerant
from reservations.models import Reservation

Status = Reservation.Status


@dataclass(frozen=True)
class MyReservations:
    upcoming: QuerySet[Reservation]
    cancelled: QuerySet[Reservation]
    past: QuerySet[Reservation]


def _upcoming(now: datetime) -> Q:
    live_hold = Q(status=Status.HELD) & (Q(hold_expires_at__isnull=True) | Q(hold_expires_at__gt=now))
    return Q(ends_at__gt=now) & (Q(status=Status.CONFIRMED) | live_hold)


def _cancelled_ahead(now: datetime) -> Q:
    return Q(status=Status.CANCELLED, starts_at__gt=now)


def my_reservations(*, guest, now: datetime | None = None) -> MyReservations:
    """The guest's bookings in the three parts of My reservations (see the module's docstring); lazy
    querysets: the page evaluates them (and pages through `past`)."""
    now = now or timezone.now()
    database = lag_tolerant(guest_id=guest.pk)
    mine = (
        Reservation.objects.using(database)
        .filter(guest=guest)
        .select_related("space__venue")
        .prefetch_related("claims__space")  # every table a booking takes (all_spaces)
    )
    upcoming, cancelled = _upcoming(now), _cancelled_ahead(now)
    return MyReservations(
        upcoming=mine.filter(upcoming).order_by("starts_at", "pk"),
        cancelled=mine.filter(cancelled).order_by("starts_at", "pk"),
        past=mine.exclude(upcoming).exclude(cancelled).order_by("-starts_at", "-pk"),
    )
