"""Taking tables or rooms for a period without ever double-booking them, and within pacing.

Double booking is made impossible by the database: a booking claims every space it takes (one
table, or each table of a combination) for its period plus the space's buffer, and the exclusion
constraint on SpaceClaim refuses two active claims of one space that overlap. This module decides
what to try, in which order and under which locks, so that concurrent bookings queue instead of
deadlocking, and turns the constraint's refusal into "taken".

Locks are taken in one global order (docs/architecture.md): the guest's row, the reservation, its
payments, the venue's pacing rules, the spaces (by id). A booking with pacing locks the rules that
apply at its start before it counts the covers there, so two bookings can never both take the last
covers of an interval.

What blocks a space is one rule (SpaceClaimQuerySet.blocking): claims of confirmed bookings, and of
holds that have not run out. A stale hold still counts for the exclusion constraint until its status
changes, so a booking first expires the stale holds in its way (expire_stale_holds_in_the_way), and
the claim under the spaces' locks asks what the constraint will ask.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Cast

from reservations import capacity
from reservations.capacity import PacingWindow, Seating, Setup
from reservations.models import Reservation, SpaceClaim, period
from reservations.services import transitions
from spaces.models import PacingRule, Space, Venue

NO_OVERLAP_CONSTRAINTS = {"claim_no_overlap"}


def _longest_buffer(venue: Venue, spaces) -> timedelta:
    return max((space.buffer(venue) for space in spaces), default=timedelta(0))


def expire_stale_holds_in_the_way(
    venue: Venue, seatings: list[Seating], starts_at, ends_at, *, now, exclude: Reservation | None = None
) -> None:
    """Expired holds never block anyone: expire those in the way inside the booking's transaction."""
    spaces = {space.pk: space for seating in seatings for space in seating.spaces}
    reach = ends_at + _longest_buffer(venue, spaces.values())
    in_the_way = SpaceClaim.objects.filter(
        reservation=OuterRef("pk"), active=True, space_id__in=list(spaces)
    ).overlapping(starts_at, reach)
    stale = Reservation.objects.stale_holds(now).filter(Exists(in_the_way))
    if exclude is not None:
        stale = stale.exclude(pk=exclude.pk)
    for reservation in stale.select_for_update(skip_locked=True, no_key=True).order_by("pk"):
        transitions.expire(reservation, now=now)


def busy_spaces(venue: Venue, spaces, starts_at, ends_at, *, now, exclude: Reservation | None = None) -> set[int]:
    """Of `spaces`, the ids of those a blocking claim takes during [starts_at, ends_at + their buffer)."""
    by_id = {space.pk: space for space in spaces}
    reach = ends_at + _longest_buffer(venue, by_id.values())
    claims = SpaceClaim.objects.blocking(now).filter(space_id__in=list(by_id)).overlapping(starts_at, reach)
    if exclude is not None:
        claims = claims.exclude(reservation=exclude)
    return {
        space_id
        for space_id, claim_start, claim_end in claims.values_list("space_id", "starts_at", "ends_at")
        if claim_start < ends_at + by_id[space_id].buffer(venue) and starts_at < claim_end
    }


def without_overlap(
    venue: Venue, seatings: list[Seating], starts_at, ends_at, *, now, exclude: Reservation | None = None
) -> list[Seating]:
    """The seatings none of whose spaces is taken for the period (one query), in the same order.

    A pre-filter that saves locking spaces that are plainly taken; with one candidate, claim asks
    the same question under the locks anyway, so it is skipped.
    """
    if len(seatings) <= 1:
        return seatings
    spaces = {space.pk: space for seating in seatings for space in seating.spaces}
    busy = busy_spaces(venue, spaces.values(), starts_at, ends_at, now=now, exclude=exclude)
    return [seating for seating in seatings if not any(space.pk in busy for space in seating.spaces)]


def taken_at(space: Space, instant: datetime, *, now: datetime) -> bool:
    """Is `space` plainly taken at `instant` by a committed claim that blocks it (a confirmed booking, a
    hold that has not run out, a channel's block)? Any booking starting then would need that instant.

    One read, without a lock, before any rule is worked out: when 200 guests ask for one slot at once,
    the losers that come after the winner's commit hear "no longer free" without queueing on the
    space's lock behind each other. It only ever refuses what `claim` would refuse: the lock and the
    exclusion constraint still decide every win (a loser that reads before the commit goes on to them).
    """
    same_space = Cast(Value(space.pk), BigIntegerField())
    return (
        SpaceClaim.objects.blocking(now)
        .filter(space_id=same_space)
        .overlapping(instant, instant + timedelta(microseconds=1))
        .exists()
    )


def claims_in_the_way(space: Space, starts_at: datetime, ends_at: datetime):
    """The claims of `space` that the exclusion constraint counts against [starts_at, ends_at).

    The id is typed as bigint, like the column: btree_gist has no bigint = integer operator, and
    only then can the exclusion constraint's index answer for space and period at once.
    """
    same_space = Cast(Value(space.pk), BigIntegerField())
    return SpaceClaim.objects.filter(active=True, space_id=same_space).overlapping(starts_at, ends_at)


class _Taken(Exception):
    pass


def claim(
    seating: Seating,
    starts_at: datetime,
    ends_at: datetime,
    write,
    *,
    venue: Venue,
    exclude: Reservation | None = None,
    remember_claims: bool = False,
):
    """Lock the seating's spaces, check under the locks that each is still free for the period plus
    its buffer, then `write()` and claim them for the booking `write()` made or changed.

    Concurrent bookings of a space queue on its row lock instead of racing into the exclusion
    constraint, where PostgreSQL would detect a deadlock between two conflicting inserts; the
    spaces of a combination are locked in id order, like everywhere. Each attempt is a savepoint:
    rolling it back releases the locks of spaces we could not use, so a transaction never waits for
    a space while holding another it has given up on (no lock-order deadlocks).

    The check counts what the constraint counts (a stale hold too): one that another transaction is
    expiring right now must read as taken, not be waited for while we hold the spaces' locks.
    `write()` returns the new reservation, or None having changed `exclude`. Returns the
    reservation written, or None when a space is taken. `remember_claims`: the claims written are
    the reservation's `claims` as if prefetched (what its answer lists, without reading them back).
    """
    spaces = sorted(seating.spaces, key=lambda space: space.pk)
    try:
        with transaction.atomic():
            list(Space.objects.select_for_update().filter(pk__in=[space.pk for space in spaces]).order_by("pk"))
            in_the_way = Q()
            for space in spaces:
                in_the_way |= Q(
                    space_id=Cast(Value(space.pk), BigIntegerField()),
                    claimed__overlap=DateTimeTZRange(starts_at, ends_at + space.buffer(venue), "[)"),
                )
            busy = SpaceClaim.objects.filter(active=True).alias(claimed=period()).filter(in_the_way)
            if exclude is not None:
                busy = busy.exclude(reservation=exclude)
            if busy.exists():
                raise _Taken
            reservation = write() or exclude
            if exclude is not None:  # a booking that moves lets its old claims go (a new one has none)
                SpaceClaim.objects.filter(reservation=reservation).delete()
            claims = SpaceClaim.objects.bulk_create(
                SpaceClaim(
                    reservation=reservation,
                    space=space,
                    starts_at=starts_at,
                    ends_at=ends_at + space.buffer(venue),
                    active=True,
                )
                for space in spaces
            )
            if remember_claims:
                _remember_claims(reservation, claims)
            return reservation
    except _Taken:
        return None
    except IntegrityError as error:
        if _is_overlap_violation(error):  # the database's last word, e.g. against a direct write
            return None
        raise


def _remember_claims(reservation: Reservation, claims: list[SpaceClaim]) -> None:
    """`reservation.claims.all()` answers `claims` without a query, as prefetch_related leaves it."""
    found = reservation.claims.all()
    found._result_cache = list(claims)
    found._prefetch_done = True
    reservation._prefetched_objects_cache = {**getattr(reservation, "_prefetched_objects_cache", {}), "claims": found}


def _is_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) in NO_OVERLAP_CONSTRAINTS


# ---------------------------------------------------------------------------------------------
# Seats


def seats_taken(space: Space, starts_at: datetime, *, now, exclude: Reservation | None = None) -> int:
    """The seats of the session of `space` at `starts_at` that held and confirmed bookings take."""
    taken = Reservation.objects.blocking(now).filter(space=space, starts_at=starts_at)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    return taken.aggregate(seats=Sum("party_size"))["seats"] or 0


def take_seats(space: Space, seats: int, starts_at: datetime, party_size: int, write, *, now, exclude=None):
    """Lock the space sold by the seat, count the seats its session at `starts_at` has left under
    the lock, and `write()` when the party's seats are among them. Every booking of the space's
    sessions queues on that one row lock, so the seats taken never exceed `seats`, however many book
    at once. Returns the reservation written (or `exclude`, changed), or None when sold out."""
    with transaction.atomic():
        list(Space.objects.select_for_update().filter(pk=space.pk).values_list("pk"))
        if seats_taken(space, starts_at, now=now, exclude=exclude) + party_size > seats:
            return None
        return write() or exclude


# ---------------------------------------------------------------------------------------------
# Pacing


class Pacing:
    """The pacing a booking starting at `starts_at` must keep, counted under the rules' locks.

    `lock()` takes the row locks of the venue's pacing rules that apply at that start (whatever the
    area: one set, in id order, so every booking takes them in the same order) in the caller's
    transaction, outside any candidate's savepoint, and reads the bookings already starting in
    their intervals; `refusal(area, party_size)` is the window the booking would overfill."""

    def __init__(self, rules: Setup, starts_at: datetime, *, now: datetime, exclude: Reservation | None = None):
        self.windows = capacity.pacing_windows(rules, starts_at)
        self.venue = rules.venue
        self.now = now
        self.exclude = exclude
        self.starts: list[tuple[datetime, int, str]] = []

    def lock(self) -> "Pacing":
        if not self.windows:
            return self
        ids = sorted({window.rule.pk for window in self.windows})
        list(PacingRule.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
        earliest = min(window.starts_at for window in self.windows)
        latest = max(window.ends_at for window in self.windows)
        starting = Reservation.objects.blocking(self.now).filter(
            space__venue=self.venue, starts_at__gte=earliest, starts_at__lt=latest
        )
        if self.exclude is not None:
            starting = starting.exclude(pk=self.exclude.pk)
        self.starts = list(starting.values_list("starts_at", "party_size", "space__category"))
        return self

    def refusal(self, area: str, party_size: int) -> PacingWindow | None:
        return capacity.pacing_refusal(self.windows, area, party_size, self.starts)
