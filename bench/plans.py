"""The reservation queries of booking and availability, rebuilt from the same querysets as
reservations/services/ and reservations/selectors.py, and their plans in PostgreSQL.

Used by the benchmark (EXPLAIN ANALYZE at each size) and by tests/test_query_plans.py (which index
each query reads reservations through). Keep these in step with the services: each query names the
code it mirrors, and is built with the same `Reservation.objects` methods (`active()`, `blocking()`,
`stale_holds()`, `overlapping()`).
"""

import json
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from reservations.models import Reservation
from reservations.services.allocation import bookings_in_the_way
from spaces.models import Space

RESERVATIONS_TABLE = Reservation._meta.db_table
Status = Reservation.Status
# The GiST indexes the overlap questions are meant to use (reservations/models.py).
NO_OVERLAP_INDEX = "reservation_no_overlap"  # the exclusion constraint's: (space_id, period) of active bookings
ACTIVE_PERIOD_INDEX = "reservation_active_period"  # period of active bookings, any space (a venue's day)


def booking_queries(*, guest_id: int, spaces: list[Space], starts_at: datetime, ends_at: datetime, now: datetime):
    """The reads on reservations inside reservation_hold, in the order it runs them."""
    # reservation_hold: the guest's live holds, counted under the lock on the guest's row.
    held = Reservation.objects.filter(guest_id=guest_id, status=Status.HELD, hold_expires_at__gt=now)
    # allocation.expire_stale_holds_in_the_way: lapsed holds in the way.
    stale = (
        Reservation.objects.stale_holds(now)
        .filter(space__in=spaces)
        .overlapping(starts_at, ends_at)
        .select_for_update(skip_locked=True)
        .order_by("pk")
    )
    # allocation.without_overlap: the candidate spaces with nothing blocking the period (one query).
    busy = Reservation.objects.blocking(now).filter(space=OuterRef("pk")).overlapping(starts_at, ends_at)
    free = (
        Space.objects.filter(pk__in=[space.pk for space in spaces]).exclude(Exists(busy)).values_list("pk", flat=True)
    )
    return {
        "held_count": held.query.chain(),
        "expire_stale_holds": stale.query,
        "without_overlap": free.query,
        "claim_exists": claim_query(space=spaces[0], starts_at=starts_at, ends_at=ends_at),
    }


def claim_query(*, space: Space, starts_at: datetime, ends_at: datetime):
    """allocation.claim: under the space's lock, is the period still free? (`busy.exists()`)"""
    busy = bookings_in_the_way(space, starts_at, ends_at)
    return busy.query.exists(limit=True)


def availability_query(*, spaces: list[Space], window_start, window_end, now: datetime):
    """venue_availability's one query for the day's bookings (`taken`): the venue's fitting spaces' active
    bookings overlapping the day's window (no `exclude` here: that is only for a guest moving a booking)."""
    space_ids = [space.pk for space in spaces]
    taken = Reservation.objects.blocking(now).filter(space_id__in=space_ids).overlapping(window_start, window_end)
    return taken.values_list("space_id", "starts_at", "ends_at").query


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
        "reservation_scans": [
            _describe(node)
            for node in nodes
            if node.get("Relation Name") == RESERVATIONS_TABLE and "Scan" in node["Node Type"]
        ],
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
