"""Calendar sync with the booking channels: each room's feeds (Airbnb, Booking.com...) become blocks
of the nights they sold, claimed under the same exclusion constraint as bookings.

`sync_feed` fetches one feed (core/fetch.py: http(s) only, a timeout, a size limit, no private
addresses unless allowed) outside any transaction, parses it (reservations/ics.py) and applies it:
blocks follow the feed's events by key (UID), so a new event adds a block, a changed one moves it and
a vanished one releases its nights. A feed that cannot be fetched or read changes no block: its error
is recorded on the feed, which shows as stale once it has not synced for an hour.

Applying claims every night of a block that is free. A night one of our confirmed bookings has is a
conflict: the booking stays, the block lists it and the venue's managers are e-mailed through the
outbox, once per booking. A night held by a guest checking out right now, or blocked by another feed,
is left for the next sync. Every sync claims what has become free since, and a conflict whose booking
moved or was cancelled resolves itself.

Locks, in the global order (docs/architecture.md): the feed's row (two syncs of one feed queue), the
stale holds in the way (expired first, as a booking does), then the room's row, under which the
nights are counted and claimed: a guest booking the same night queues on that lock too, so one of
the two wins and the other sees the night taken.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from core.fetch import FetchError, fetch
from reservations import notifications
from reservations.exceptions import NotAllowed
from reservations.ics import FeedError, Parsed, Stay, parse_feed
from reservations.models import Block, OutgoingMessage, Reservation, SpaceClaim
from reservations.periods import stay_period
from reservations.services import transitions, waitlist
from spaces import powers
from spaces.models import CalendarFeed, Space, Venue, VenueRole
from spaces.powers import Power

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    feed: CalendarFeed
    ok: bool
    error: str = ""
    added: int = 0
    moved: int = 0
    released: int = 0
    conflicts: int = 0  # blocks with nights our bookings have

    def __str__(self):
        if not self.ok:
            return f"{self.feed}: {self.error}"
        return (
            f"{self.feed}: {self.added} added, {self.moved} moved, {self.released} released, "
            f"{self.conflicts} in conflict"
        )


def horizon(today: date) -> date:
    return today + timedelta(days=settings.HOLDFAST_CALENDAR_HORIZON_DAYS)


def sync_feed(feed: CalendarFeed, *, now: datetime | None = None) -> SyncResult:
    """Fetch, read and apply one feed. Never raises for what the feed's server or file does wrong."""
    now = now or timezone.now()
    feed = CalendarFeed.objects.select_related("space__venue").get(pk=feed.pk)
    venue = feed.space.venue
    today = now.astimezone(venue.zone).date()
    try:
        fetched = fetch(
            feed.url,
            timeout=settings.HOLDFAST_CALENDAR_FETCH_TIMEOUT,
            max_bytes=settings.HOLDFAST_CALENDAR_MAX_BYTES,
            allow_private=settings.HOLDFAST_CALENDAR_ALLOW_PRIVATE,
            etag=feed.etag,
            last_modified=feed.last_modified,
        )
        if fetched.not_modified:
            parsed = None  # the channel says nothing changed: keep the events, claim what freed up
        else:
            parsed = parse_feed(
                fetched.body,
                zone=venue.zone,
                check_in=venue.check_in_time,
                check_out=venue.check_out_time,
                today=today,
                horizon=horizon(today),
            )
    except (FetchError, FeedError) as error:
        return _failed(feed, str(error), now=now)
    result = apply_feed(feed, parsed, now=now)
    CalendarFeed.objects.filter(pk=feed.pk).update(
        last_attempt_at=now,
        last_success_at=now,
        last_error="",
        **(
            {}
            if parsed is None
            else {
                "notes": " ".join(parsed.notes),
                "events": len(parsed.stays),
                "etag": fetched.etag[:300],
                "last_modified": fetched.last_modified[:100],
            }
        ),
    )
    return result


def _failed(feed: CalendarFeed, error: str, *, now: datetime) -> SyncResult:
    logger.warning("Calendar feed %s not synced: %s", feed.pk, error)
    CalendarFeed.objects.filter(pk=feed.pk).update(last_attempt_at=now, last_error=error[:2000])
    return SyncResult(feed=feed, ok=False, error=error)


def feeds_to_sync():
    """The active feeds of the rooms of venues taking bookings."""
    return CalendarFeed.objects.filter(is_active=True, space__venue__is_active=True).order_by("pk")


def sync_all(*, now: datetime | None = None) -> list[SyncResult]:
    """Every feed to sync, one after the other (the command; the periodic job queues a task each)."""
    return [sync_feed(feed, now=now) for feed in feeds_to_sync()]


# ---------------------------------------------------------------------------------------------
# Applying a feed


def apply_feed(feed: CalendarFeed, parsed: Parsed | None, *, now: datetime) -> SyncResult:
    """Make the feed's blocks follow `parsed` (None: keep them as they are) and claim their free
    nights; one transaction."""
    result = SyncResult(feed=feed, ok=True)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().select_related("space__venue").get(pk=feed.pk)
        space = feed.space
        venue = space.venue
        blocks = {block.key: block for block in Block.objects.filter(feed=feed)}
        if parsed is not None:
            wanted = {_key(stay): stay for stay in parsed.stays}
            gone = [block.pk for key, block in blocks.items() if key not in wanted]
            result.released = len(gone)
            freed_days = [night for key, block in blocks.items() if key not in wanted for night in _nights(block)]
            Block.objects.filter(pk__in=gone).delete()  # its claims go with it
            changed = []
            for key, stay in wanted.items():
                block = blocks.get(key)
                if block is None:
                    blocks[key] = Block.objects.create(
                        feed=feed,
                        space=space,
                        key=key,
                        summary=stay.summary,
                        starts_on=stay.starts_on,
                        ends_on=stay.ends_on,
                    )
                    result.added += 1
                elif _moved(block, stay, space):
                    freed_days += _nights(block)
                    block.starts_on, block.ends_on, block.space = stay.starts_on, stay.ends_on, space
                    block.summary = stay.summary
                    changed.append(block)
                    result.moved += 1
            for block in changed:
                SpaceClaim.objects.filter(block=block).delete()
                block.save(update_fields=["starts_on", "ends_on", "space", "summary", "updated_at"])
            blocks = {key: block for key, block in blocks.items() if key in wanted}
        else:
            freed_days = []
        if blocks:
            _expire_stale_holds(venue, space, list(blocks.values()), now=now)
            Space.objects.select_for_update().filter(pk=space.pk).exists()
            for block in sorted(blocks.values(), key=lambda block: (block.starts_on, block.pk)):
                if _claim_free_nights(venue, space, block, now=now):
                    result.conflicts += 1
    # Released nights go to the waitlist first: in a transaction of their own, as an offer locks the
    # guest's row, which comes before the room's in the global lock order.
    today = now.astimezone(venue.zone).date()
    for day in sorted({day for day in freed_days if day >= today}):
        with transaction.atomic():
            waitlist.offer_freed(venue=venue, day=day, now=now)
    return result


def _key(stay: Stay) -> str:
    """The event's key as a block keeps it: a UID longer than the column is kept as its hash."""
    if len(stay.key) <= Block._meta.get_field("key").max_length:
        return stay.key
    return "sha256-" + hashlib.sha256(stay.key.encode()).hexdigest()


def _nights(block: Block) -> list[date]:
    return [block.starts_on + timedelta(days=i) for i in range((block.ends_on - block.starts_on).days)]


def _moved(block: Block, stay: Stay, space: Space) -> bool:
    return (block.starts_on, block.ends_on, block.space_id, block.summary) != (
        stay.starts_on,
        stay.ends_on,
        space.pk,
        stay.summary,
    )


def night_period(venue: Venue, night: date) -> tuple[datetime, datetime]:
    """The night's stay: check-in on its date to check-out the next morning."""
    return stay_period(venue, night, 1)


def _reach(venue: Venue, space: Space, blocks: list[Block]) -> tuple[datetime, datetime]:
    start = night_period(venue, min(block.starts_on for block in blocks))[0]
    end = night_period(venue, max(block.ends_on for block in blocks) - timedelta(days=1))[1]
    return start, end + space.buffer(venue)


def _expire_stale_holds(venue: Venue, space: Space, blocks: list[Block], *, now: datetime) -> None:
    """Holds whose time ran out still count for the exclusion constraint: expire those in the way."""
    start, end = _reach(venue, space, blocks)
    in_the_way = SpaceClaim.objects.filter(reservation=OuterRef("pk"), active=True, space=space).overlapping(start, end)
    stale = Reservation.objects.stale_holds(now).filter(Exists(in_the_way))
    for reservation in stale.select_for_update(skip_locked=True, no_key=True).order_by("pk"):
        transitions.expire(reservation, now=now)


def _claim_free_nights(venue: Venue, space: Space, block: Block, *, now: datetime) -> bool:
    """Under the room's lock: claim the block's nights nothing else has, record the nights our
    confirmed bookings have (and tell the managers of a new one). True when it is in conflict."""
    buffer = space.buffer(venue)
    nights = _nights(block)
    start, end = _reach(venue, space, [block])
    others = (
        SpaceClaim.objects.blocking(now)
        .filter(space=space)
        .exclude(block=block)
        .overlapping(start, end)
        .values_list(
            "starts_at",
            "ends_at",
            "reservation__status",
            "reservation__reference",
            "reservation__starts_at",
            "reservation__ends_at",
        )
    )
    others = list(others)
    free, conflicts = [], {}
    for night in nights:
        night_start, night_end = night_period(venue, night)
        meeting = [other for other in others if other[0] < night_end + buffer and night_start < other[1]]
        if not meeting:
            free.append(night)
        for _start, _end, status, reference, arrival, departure in meeting:
            if status == Reservation.Status.CONFIRMED:
                conflicts[reference] = {
                    "reference": reference,
                    "arrival": arrival.astimezone(venue.zone).date().isoformat(),
                    "departure": departure.astimezone(venue.zone).date().isoformat(),
                }
    _write_claims(venue, space, block, free)
    return _record_conflicts(venue, block, sorted(conflicts.values(), key=lambda c: c["arrival"]), now=now)


def _runs(nights: list[date]) -> list[tuple[date, date]]:
    """Consecutive nights as [first, departure) runs."""
    runs = []
    for night in nights:
        if runs and runs[-1][1] == night:
            runs[-1] = (runs[-1][0], night + timedelta(days=1))
        else:
            runs.append((night, night + timedelta(days=1)))
    return runs


def _write_claims(venue: Venue, space: Space, block: Block, free: list[date]) -> None:
    """The block's claims become one per run of free nights (unchanged ones are kept)."""
    buffer = space.buffer(venue)
    runs = _runs(free)
    wanted = []
    for index, (first, departure) in enumerate(runs):
        claim_start = night_period(venue, first)[0]
        claim_end = night_period(venue, departure - timedelta(days=1))[1] + buffer
        if index + 1 < len(runs):  # a long buffer must not reach the block's own next run
            claim_end = min(claim_end, night_period(venue, runs[index + 1][0])[0])
        wanted.append((claim_start, claim_end))
    have = {(claim.starts_at, claim.ends_at): claim.pk for claim in SpaceClaim.objects.filter(block=block)}
    SpaceClaim.objects.filter(pk__in=[pk for period, pk in have.items() if period not in wanted]).delete()
    SpaceClaim.objects.bulk_create(
        SpaceClaim(block=block, space=space, starts_at=claim_start, ends_at=claim_end, active=True)
        for claim_start, claim_end in wanted
        if (claim_start, claim_end) not in have
    )


def _record_conflicts(venue: Venue, block: Block, conflicts: list[dict], *, now: datetime) -> bool:
    known = {conflict["reference"] for conflict in block.conflicts or []}
    new = [conflict for conflict in conflicts if conflict["reference"] not in known]
    fields = {}
    if conflicts != (block.conflicts or []):
        fields["conflicts"] = conflicts
    if conflicts and (new or block.conflict_since is None):
        fields.update(conflict_since=block.conflict_since or now)
        if new:
            fields.update(resolved_at=None, resolved_by=None)  # a new booking in the way reopens it
    elif not conflicts and block.conflict_since is not None:
        fields.update(conflict_since=None, resolved_at=block.resolved_at or now)  # the booking moved away
    if fields:
        for name, value in fields.items():
            setattr(block, name, value)
        block.save(update_fields=[*fields, "updated_at"])
    if new:
        _tell_managers(venue, block, new)
    return bool(conflicts)


def managers_to_tell(venue: Venue) -> list:
    """The venue's managers with an e-mail address."""
    roles = VenueRole.objects.filter(venue=venue, role=VenueRole.Role.MANAGER, user__is_active=True)
    return [role.user for role in roles.select_related("user").order_by("user_id") if role.user.email]


def _tell_managers(venue: Venue, block: Block, new: list[dict]) -> None:
    managers = managers_to_tell(venue)
    if not managers:
        logger.warning("Calendar conflict on block %s, and %s has no manager with an e-mail.", block.pk, venue)
    for conflict in new:
        for manager in managers:
            notifications.enqueue_to_staff(
                manager,
                block,
                OutgoingMessage.Kind.CALENDAR_CONFLICT,
                key=f"calendar-conflict:{block.pk}:{conflict['reference']}:{manager.pk}",
                context={"bookings": [conflict]},
            )


# ---------------------------------------------------------------------------------------------
# Staff


def conflict_resolve(*, block: Block, actor, now: datetime | None = None) -> Block:
    """A manager has sorted the double booking out with the channel or the guest: the conflict is no
    longer listed as open. The block still claims only the free nights; once our booking leaves, the
    next sync claims its nights too."""
    now = now or timezone.now()
    with transaction.atomic():
        block = Block.objects.select_for_update().select_related("space__venue").get(pk=block.pk)
        if not powers.may(actor, Power.MANAGE_VENUE, block.space.venue):
            raise NotAllowed(_("Only the venue's managers resolve calendar conflicts."))
        if block.has_open_conflict:
            Block.objects.filter(pk=block.pk).update(resolved_at=now, resolved_by=actor, updated_at=now)
            block.refresh_from_db()
    return block
