"""The queries of booking and availability on claims and reservations, rebuilt from the same
querysets as reservations/services/ and reservations/selectors.py, and their plans in PostgreSQL.

Used by the benchmark (EXPLAIN ANALYZE at each size) and by tests/test_query_plans.py (which index
each query reads the claims or the reservations through). Keep these in step with the services: each
query names the code it mirrors, and is built with the same methods (`SpaceClaim.objects.blocking()`,
`overlapping()`, `allocation.claims_in_the_way()`; `Reservation.objects.blocking()`, `stale_holds()`).
"""

import json
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from reservations import capacity
from reservations.models import Reservation, SpaceClaim
from reservations.services import rules
from reservations.services.allocation import claims_in_the_way
from spaces.models import Space, Venue

RESERVATIONS_TABLE = Reservation._meta.db_table
CLAIMS_TABLE = SpaceClaim._meta.db_table
BIG_TABLES = (CLAIMS_TABLE, RESERVATIONS_TABLE)  # what grows with the bookings: never read whole
Status = Reservation.Status
# The GiST indexes the overlap questions are meant to use (reservations/models.py, SpaceClaim).
NO_OVERLAP_INDEX = "claim_no_overlap"  # the exclusion constraint's: (space_id, period) of active claims
ACTIVE_PERIOD_INDEX = "claim_active_period"  # period of active claims, any space (a venue's day)
PACING_INTERVAL = timedelta(minutes=15)  # PacingRule's default interval


def _reach(venue: Venue, spaces, ends_at: datetime) -> datetime:
    """allocation._longest_buffer: how far past the end the spaces stay taken."""
    return ends_at + max((space.buffer(venue) for space in spaces), default=timedelta(0))


def booking_queries(
    *, guest_id: int, venue: Venue, spaces: list[Space], starts_at: datetime, ends_at: datetime, now: datetime
):
    """The reads on claims and reservations inside reservation_hold, in the order it runs them
    (`spaces`: the candidates' tables, for a single table each; the claim check asks for the first)."""
    space_ids = [space.pk for space in spaces]
    reach = _reach(venue, spaces, ends_at)
    # reservation_hold: the guest's live holds, counted under the lock on the guest's row.
    held = Reservation.objects.filter(guest_id=guest_id, status=Status.HELD, hold_expires_at__gt=now)
    # allocation.expire_stale_holds_in_the_way: lapsed holds with an active claim in the way.
    in_the_way = SpaceClaim.objects.filter(reservation=OuterRef("pk"), active=True, space_id__in=space_ids).overlapping(
        starts_at, reach
    )
    stale = (
        Reservation.objects.stale_holds(now)
        .filter(Exists(in_the_way))
        .select_for_update(skip_locked=True, no_key=True)
        .order_by("pk")
    )
    # allocation.without_overlap -> busy_spaces: the blocking claims of the candidates (one query).
    busy = (
        SpaceClaim.objects.blocking(now)
        .filter(space_id__in=space_ids)
        .overlapping(starts_at, reach)
        .values_list("space_id", "starts_at", "ends_at")
    )
    return {
        "held_count": held.query.chain(),
        "expire_stale_holds": stale.query,
        "without_overlap": busy.query,
        "claim_exists": claim_query(venue=venue, space=spaces[0], starts_at=starts_at, ends_at=ends_at),
        "pacing_starts": pacing_query(
            venue=venue, starts_from=starts_at, starts_until=starts_at + PACING_INTERVAL, now=now
        ),
    }


def claim_query(*, venue: Venue, space: Space, starts_at: datetime, ends_at: datetime):
    """allocation.claim: under the space's lock, is the period plus its buffer still free? What the
    exclusion constraint will ask (allocation.claims_in_the_way, `.exists()`)."""
    busy = claims_in_the_way(space, starts_at, ends_at + space.buffer(venue))
    return busy.query.exists(limit=True)


def pacing_query(*, venue: Venue, starts_from: datetime, starts_until: datetime, now: datetime):
    """allocation.Pacing.lock (one booking's intervals) and selectors._paced_starts (the day's): the
    venue's blocking bookings starting in [starts_from, starts_until), read under the rules' locks."""
    starting = Reservation.objects.blocking(now).filter(
        space__venue=venue, starts_at__gte=starts_from, starts_at__lt=starts_until
    )
    return starting.values_list("starts_at", "party_size", "space__category").query


def availability_spaces(venue: Venue, party_size: int) -> list[Space]:
    """The spaces whose claims venue_availability reads: every table of the seatings that fit."""
    bookable = list(venue.spaces.filter(is_active=True))
    seatings = capacity.seatings(rules.setup(venue), bookable, party_size=party_size, combine=venue.assigns_spaces)
    return list({space.pk: space for seating in seatings for space in seating.spaces}.values())


def availability_query(*, venue: Venue, spaces: list[Space], window_start, window_end, now: datetime):
    """venue_availability's one query for the day's claims: the blocking claims of the seatings'
    spaces overlapping the day's window and the longest buffer after it (no `exclude` here: that is
    only for a guest moving a booking)."""
    claims = (
        SpaceClaim.objects.blocking(now)
        .filter(space_id__in=[space.pk for space in spaces])
        .overlapping(window_start, _reach(venue, spaces, window_end))
    )
    return claims.values_list("space_id", "starts_at", "ends_at").query


def explain(query, *, analyze: bool = False) -> dict:
    """The JSON plan of a Query (or QuerySet), flattened into what the checks and the report need."""
    if isinstance(query, QuerySet):
        query = query.query
    options = {"analyze": True, "buffers": True} if analyze else {}
    with transaction.atomic():  # SELECT ... FOR UPDATE is only allowed in one; its locks end with it
        raw = query.explain(using=connection.alias, format="json", **options)
    plan = json.loads(raw)[0] if isinstance(raw, str) else raw[0]
    nodes = list(_walk(plan["Plan"]))
    return {
        "nodes": [_describe(node) for node in nodes],
        "sequential_scans": sorted({node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}),
        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        # table -> its scans, for the tables that grow with the bookings
        "scans": {
            table: [
                _describe(node) for node in nodes if node.get("Relation Name") == table and "Scan" in node["Node Type"]
            ]
            for table in BIG_TABLES
        },
        "execution_ms": plan.get("Execution Time"),
        "rows_read": sum(
            node.get("Actual Rows", 0) * node.get("Actual Loops", 1) for node in nodes if "Scan" in node["Node Type"]
        )
        if analyze
        else None,
    }


def _walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _describe(node) -> str:
    words = node["Node Type"]
    if "Index Name" in node:
        words += f" using {node['Index Name']}"
    if "Relation Name" in node:
        words += f" on {node['Relation Name']}"
    if "Actual Rows" in node:
        words += f" (rows {node['Actual Rows']} x{node.get('Actual Loops', 1)})"
    return words
