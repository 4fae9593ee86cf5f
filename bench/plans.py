"""The reservation queries of booking and availability, rebuilt from the same querysets as
reservations/services.py and reservations/selectors.py, and their plans in PostgreSQL.

Used by the benchmark (EXPLAIN ANALYZE at each size) and by tests/test_query_plans.py (no
sequential scan of reservations_reservation). Keep these in step with the services: each function
names the code it mirrors.
"""

import json
from datetime import datetime

from django.contrib.postgres.fields import DateTimeRangeField
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet, Value

from reservations.models import Reservation, TsTzRange
from reservations.selectors import _active
from spaces.models import Space, Venue

RESERVATIONS_TABLE = Reservation._meta.db_table
Status = Reservation.Status


def booking_queries(*, guest_id: int, spaces: list[Space], starts_at: datetime, ends_at: datetime, now: datetime):
    """The reads on reservations inside reservation_hold, in the order it runs them."""
    # reservation_hold: the guest's live holds, counted under the lock on the guest's row.
    held = Reservation.objects.filter(guest_id=guest_id, status=Status.HELD, hold_expires_at__gt=now)
    # _expire_stale_holds_for: lapsed holds in the way.
    stale = (
        Reservation.objects.filter(
            space__in=spaces, status=Status.HELD, hold_expires_at__lte=now, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .select_for_update(skip_locked=True)
        .order_by("pk")
    )
    # _without_overlap: the candidate spaces with nothing active overlapping (one query).
    busy = Reservation.objects.filter(
        space=OuterRef("pk"), starts_at__lt=ends_at, ends_at__gt=starts_at, status__in=Reservation.ACTIVE_STATUSES
    )
    free = (
        Space.objects.filter(pk__in=[space.pk for space in spaces]).exclude(Exists(busy)).values_list("pk", flat=True)
    )
    # _claim: under the space's lock, is the period still free?
    claim = Reservation.objects.filter(
        space=spaces[0], status__in=Reservation.ACTIVE_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    return {
        "held_count": held.query.chain(),
        "expire_stale_holds": stale.query,
        "without_overlap": free.query,
        "claim_exists": claim.query.exists(limit=True),
    }


def availability_query(*, venue: Venue, spaces: list[Space], window_start, window_end, now: datetime):
    """venue_availability's one query for the day's bookings (`taken`)."""
    taken = Reservation.objects.filter(
        _active(now), space__venue=venue, starts_at__lt=window_end, ends_at__gt=window_start, space__in=spaces
    )
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


# ---------------------------------------------------------------------------------------------
# Proposed for reservations/selectors.py and services.py (docs/performance.md): the same questions
# asked as a range overlap, which the exclusion constraint's GiST index
# (space_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE status IN (held, confirmed)
# answers directly, instead of `starts_at < end AND ends_at > start`, which no index bounds on both sides.


PROPOSED_INDEX_SQL = (
    "CREATE INDEX reservation_active_period ON reservations_reservation "
    "USING gist (tstzrange(starts_at, ends_at, '[)')) WHERE status IN ('held', 'confirmed')"
)


def _period():
    return TsTzRange("starts_at", "ends_at", Value("[)"), output_field=DateTimeRangeField())


def proposed_availability_query(*, venue: Venue, spaces: list[Space], window_start, window_end, now: datetime):
    taken = Reservation.objects.alias(period=_period()).filter(
        _active(now),
        status__in=Reservation.ACTIVE_STATUSES,  # the index's predicate, spelled out for the planner
        space__in=spaces,
        period__overlap=(window_start, window_end),
    )
    return taken.values_list("space_id", "starts_at", "ends_at").query


def proposed_claim_query(*, space: Space, starts_at: datetime, ends_at: datetime):
    busy = Reservation.objects.alias(period=_period()).filter(
        space=space, status__in=Reservation.ACTIVE_STATUSES, period__overlap=(starts_at, ends_at)
    )
    return busy.query.exists(limit=True)
