"""With 100 thousand reservations, booking and availability read reservations through an index:
the overlap questions through the GiST indexes built for them, never a sequential scan.

The querysets are rebuilt by bench/plans.py from the same filters as reservations/services/
(`allocation.without_overlap`, `allocation.claim`, the hold count, `expire_stale_holds_in_the_way`) and
reservations/selectors.py (`venue_availability`'s bookings of the day). PostgreSQL chooses a plan
from statistics, so the rows are loaded by SQL and ANALYZEd first, as a database in use would be.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from bench import plans
from spaces.models import OpeningHours, Space, Venue

RESERVATIONS = 100_000
SPACES = 100


@pytest.fixture
def loaded(django_user_model):
    """A restaurant of 100 tables with 100,000 reservations: two a day per table over 500 days, a year
    of history (completed, some cancelled) and the future (confirmed), none overlapping."""
    venue = Venue.objects.create(name="Plans", slug="plans", time_zone="UTC", max_advance_days=120)
    OpeningHours.objects.bulk_create(
        OpeningHours(venue=venue, weekday=day, opens_at=time(12), closes_at=time(23)) for day in range(7)
    )
    Space.objects.bulk_create(
        Space(venue=venue, name=f"Table {number}", capacity=2 + number % 4 * 2) for number in range(SPACES)
    )
    guest = django_user_model.objects.create_user(email="plans@example.com", password="x")
    today = datetime.now(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO reservations_reservation (
                reference, guest_id, space_id, starts_at, ends_at, party_size, requested_category, status,
                hold_expires_at, notes, price, amount_due, currency, created_at, updated_at, cancelled_at,
                cancelled_by_id, cancellation_reason)
            SELECT 'P' || lpad(n::text, 13, '0'), %(guest)s, s.id, t.starts_at, t.starts_at + interval '90 minutes',
                   2, '', CASE WHEN n %% 20 = 7 THEN 'cancelled'
                               WHEN t.starts_at > now() THEN 'confirmed' ELSE 'completed' END,
                   NULL, '', 0, 0, 'EUR', now(), now(), NULL, NULL, ''
            FROM generate_series(0, %(total)s - 1) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM spaces_space WHERE venue_id = %(venue)s) s
              ON s.idx = n %% %(spaces)s
            CROSS JOIN LATERAL (
                SELECT (%(first_day)s::date + ((n / %(spaces)s) / 2)::integer
                        + CASE WHEN (n / %(spaces)s) %% 2 = 0 THEN time '12:00' ELSE time '19:00' END)
                       AT TIME ZONE 'UTC' AS starts_at
            ) t
            """,
            {
                "guest": guest.pk,
                "total": RESERVATIONS,
                "venue": venue.pk,
                "spaces": SPACES,
                "first_day": today - timedelta(days=400),
            },
        )
        cursor.execute("ANALYZE reservations_reservation")
        cursor.execute("ANALYZE spaces_space")
    return venue, guest


def _uses_an_index(plan: dict) -> bool:
    return plans.RESERVATIONS_TABLE not in plan["sequential_scans"] and bool(plan["reservation_scans"])


@pytest.mark.django_db
def test_booking_queries_read_reservations_through_an_index(loaded):
    venue, guest = loaded
    now = datetime.now(UTC)
    starts_at = datetime.combine(now.date() + timedelta(days=30), time(15), tzinfo=UTC)
    spaces = list(venue.spaces.order_by("capacity", "name", "pk"))
    for candidates in (spaces[:1], spaces):  # the guest picks a table; the venue assigns one of all
        queries = plans.booking_queries(
            guest_id=guest.pk,
            spaces=candidates,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=90),
            now=now,
        )
        for name, query in queries.items():
            plan = plans.explain(query)
            assert _uses_an_index(plan), f"{name} ({len(candidates)} candidates): {plan['nodes']}"


def _claim_plan(venue) -> dict:
    starts_at = datetime.combine(datetime.now(UTC).date() + timedelta(days=30), time(12), tzinfo=UTC)
    space = venue.spaces.order_by("pk").first()
    return plans.explain(plans.claim_query(space=space, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)))


@pytest.mark.django_db
def test_claim_asks_the_exclusion_constraints_index(loaded):
    """(space, period overlap) among active bookings is exactly what the exclusion constraint's GiST index
    holds. Asked on both columns (bookings_in_the_way types the space id bigint, like the column: btree_gist
    has no bigint = integer operator) it reads the one booking in the way, or none, in one index scan."""
    venue, _ = loaded
    plan = _claim_plan(venue)
    assert _uses_an_index(plan), plan["nodes"]
    assert plans.NO_OVERLAP_INDEX in plan["indexes"] and len(plan["reservation_scans"]) == 1, plan["nodes"]


@pytest.mark.django_db
def test_availability_reads_the_days_bookings_through_the_active_period_index(loaded):
    venue, _ = loaded
    now = datetime.now(UTC)
    day = now.date() + timedelta(days=7)
    spaces = list(venue.spaces.filter(is_active=True, capacity__gte=2, min_party_size__lte=2))
    window_start = datetime.combine(day, time(12), tzinfo=UTC)
    query = plans.availability_query(
        spaces=spaces, window_start=window_start, window_end=window_start + timedelta(hours=11), now=now
    )
    plan = plans.explain(query)
    assert _uses_an_index(plan), plan["nodes"]
    assert plans.ACTIVE_PERIOD_INDEX in plan["indexes"], plan["nodes"]
