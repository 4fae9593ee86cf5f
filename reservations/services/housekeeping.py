"""Housekeeping: the periodic tasks and management commands that keep reservations tidy. Each is
idempotent and safe to run twice or in parallel, and returns what it did."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from reservations import hooks
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation, ReservationEvent
from reservations.services import transitions, waitlist

Status = Reservation.Status
FINISHED_STATUSES = (Status.CANCELLED, Status.EXPIRED, Status.COMPLETED, Status.NO_SHOW)


def expire_stale_holds(*, now: datetime | None = None) -> int:
    """Expire every hold whose time ran out. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Reservation.objects.stale_holds(now)
            .select_related("space__venue")
            .select_for_update(skip_locked=True, no_key=True, of=("self",))
            .order_by("pk")
        )
        for reservation in expired:
            transitions.expire(reservation, now=now)
        days = {}
        for reservation in expired:
            venue = reservation.space.venue
            days[(venue.pk, reservation.starts_at.astimezone(venue.zone).date())] = reservation
        for reservation in days.values():  # each freed day once: its waitlist is offered what is free
            waitlist.offer_after(reservation, now=now)
    return len(expired)


def complete_past_reservations(*, now: datetime | None = None) -> int:
    """Confirmed bookings that have ended become completed. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        ended = list(
            Reservation.objects.filter(status=Status.CONFIRMED, ends_at__lte=now)
            .select_for_update(skip_locked=True, no_key=True)
            .values_list("pk", flat=True)
        )
        return transitions.complete_all(ended, now=now)


def purge_reservations(*, older_than_days: int, dry_run: bool = False, now: datetime | None = None) -> dict:
    """Delete finished reservations (and their history) that ended more than `older_than_days` ago.

    Bookings that an app above keeps (the `retained` hook: money was involved, and the accounts keep
    it) stay whatever their age."""
    if older_than_days < 1:
        raise PolicyViolation("The retention period must be at least one day.", field="older_than_days")
    now = now or timezone.now()
    old = Reservation.objects.filter(status__in=FINISHED_STATUSES, ends_at__lt=now - timedelta(days=older_than_days))
    for kept in hooks.retained.call():
        old = old.exclude(pk__in=kept)
    counts = {
        "reservations": old.count(),
        "events": ReservationEvent.objects.filter(reservation__in=old).count(),
    }
    if not dry_run:
        with transaction.atomic():
            ReservationEvent.objects.filter(reservation__in=old).delete()
            old.delete()
    return counts
