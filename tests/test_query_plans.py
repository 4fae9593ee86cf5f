"""With 100 thousand reservations and their claims, booking and availability read both through an
index: the overlap questions on the claims through the GiST indexes built for them, never a
sequential scan of the claims or the reservations.

The querysets are rebuilt by bench/plans.py from the same filters as reservations/services/
(`allocation.busy_spaces` for without_overlap, `allocation.claims_in_the_way` for claim, the hold
count, `expire_stale_holds_in_the_way`, `Pacing.lock`'s count) and reservations/selectors.py
(`venue_availability`'s claims of the day, `_paced_starts`). PostgreSQL chooses a plan from
statistics, so the rows are loaded by SQL and ANALYZEd first, as a database in use would be.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from bench import plans
from spaces.models import OpeningHours, Space, Venue

RESERVATIONS = 100_000
SPACES = 100
BUFFER_MINUTES = 15  # the venue's; every tenth table has 30 of its own
GUESTS = 1_000  # who booked them, in turn: an index led by the guest is no way to a day's bookings


@pytest.fixture
def loaded(django_user_model):
    """A restaurant of 100 tables with 100,000 reservations by 1,000 guests: two a day per table over
    500 days, a year of history (completed, some cancelled) and the future (confirmed), none
    overlapping, each with its claim of its table (its period and the table's buffer; active while it is)."""
    venue = Venue.objects.create(
        name="Plans", slug="plans", time_zone="UTC", max_advance_days=120, buffer_minutes=BUFFER_MINUTES
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(venue=venue, weekday=day, opens_at=time(12), closes_at=time(23)) for day in range(7)
    )
    Space.objects.bulk_create(
        Space(
            venue=venue,
            name=f"Table {number}",
            capacity=2 + number % 4 * 2,
            buffer_minutes=2 * BUFFER_MINUTES if number % 10 == 0 else None,
        )
        for number in range(SPACES)
    )
    guest = django_user_model.objects.create_user(email="plans@example.com", password="x")
    today = datetime.now(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, is_staff, is_active, date_joined, email, name, phone)
            SELECT '!', false, false, true, now(), 'plans' || n || '@example.com', '', ''
            FROM generate_series(1, %s - 1) AS n
            """,
            [GUESTS],
        )
        cursor.execute(
            """
            INSERT INTO reservations_reservation (
                reference, guest_id, space_id, starts_at, ends_at, party_size, requested_category, status,
                hold_expires_at, notes, price, amount_due, currency, created_at, updated_at, cancelled_at,
                cancelled_by_id, cancellation_reason)
            SELECT 'P' || lpad(n::text, 13, '0'), g.id, s.id, t.starts_at, t.starts_at + interval '90 minutes',
                   2, '', CASE WHEN n %% 20 = 7 THEN 'cancelled'
                               WHEN t.starts_at > now() THEN 'confirmed' ELSE 'completed' END,
                   NULL, '', 0, 0, 'EUR', now(), now(), NULL, NULL, ''
            FROM generate_series(0, %(total)s - 1) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM spaces_space WHERE venue_id = %(venue)s) s
              ON s.idx = n %% %(spaces)s
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM accounts_user
                  WHERE email LIKE 'plans%%@example.com') g
              ON g.idx = n %% %(guests)s
            CROSS JOIN LATERAL (
                SELECT (%(first_day)s::date + ((n / %(spaces)s) / 2)::integer
                        + CASE WHEN (n / %(spaces)s) %% 2 = 0 THEN time '12:00' ELSE time '19:00' END)
                       AT TIME ZONE 'UTC' AS starts_at
            ) t
            """,
            {
                "guests": GUESTS,
                "total": RESERVATIONS,
                "venue": venue.pk,
                "spaces": SPACES,
                "first_day": today - timedelta(days=400),
            },
        )
        # One claim per reservation, as the services write them: the period and the table's buffer.
        cursor.execute(
            """
            INSERT INTO reservations_spaceclaim (reservation_id, space_id, starts_at, ends_at, active)
            SELECT r.id, r.space_id, r.starts_at,
                   r.ends_at + make_interval(mins => coalesce(s.buffer_minutes, v.buffer_minutes)),
                   r.status IN ('held', 'confirmed')
            FROM reservations_reservation r
            JOIN spaces_space s ON s.id = r.space_id
            JOIN spaces_venue v ON v.id = s.venue_id
            WHERE v.id = %(venue)s
            """,
            {"venue": venue.pk},
        )
        cursor.execute("ANALYZE reservations_reservation")
        cursor.execute("ANALYZE reservations_spaceclaim")
        cursor.execute("ANALYZE spaces_space")
        cursor.execute("ANALYZE accounts_user")
    return venue, guest


def _uses_an_index(plan: dict, table: str) -> bool:
    """No sequential scan of the claims or the reservations, and `table` read (through an index)."""
    return not set(plans.BIG_TABLES) & set(plan["sequential_scans"]) and bool(plan["scans"][table])


# The table each booking query is asked of (the others it may join, through an index too).
BOOKING_READS = {
    "held_count": plans.RESERVATIONS_TABLE,
    "expire_stale_holds": plans.RESERVATIONS_TABLE,
    "without_overlap": plans.CLAIMS_TABLE,
    "claim_exists": plans.CLAIMS_TABLE,
    "pacing_starts": plans.RESERVATIONS_TABLE,
}


@pytest.mark.django_db
def test_booking_queries_read_claims_and_reservations_through_an_index(loaded):
    venue, guest = loaded
    now = datetime.now(UTC)
    starts_at = datetime.combine(now.date() + timedelta(days=30), time(15), tzinfo=UTC)
    spaces = list(venue.spaces.order_by("capacity", "name", "pk"))
    for candidates in (spaces[:1], spaces):  # the guest picks a table; the venue assigns one of all
        queries = plans.booking_queries(
            guest_id=guest.pk,
            venue=venue,
            spaces=candidates,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=90),
            now=now,
        )
        assert set(queries) == set(BOOKING_READS)
        for name, query in queries.items():
            plan = plans.explain(query)
            assert _uses_an_index(plan, BOOKING_READS[name]), f"{name} ({len(candidates)} candidates): {plan['nodes']}"


def _claim_plan(venue) -> dict:
    starts_at = datetime.combine(datetime.now(UTC).date() + timedelta(days=30), time(12), tzinfo=UTC)
    space = venue.spaces.order_by("pk").first()
    return plans.explain(
        plans.claim_query(venue=venue, space=space, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    )


@pytest.mark.django_db
def test_claim_asks_the_exclusion_constraints_index(loaded):
    """(space, period overlap) among active claims is exactly what the exclusion constraint's GiST index
    holds. Asked on both columns (claims_in_the_way types the space id bigint, like the column: btree_gist
    has no bigint = integer operator) it reads the one claim in the way, or none, in one index scan."""
    venue, _ = loaded
    plan = _claim_plan(venue)
    assert _uses_an_index(plan, plans.CLAIMS_TABLE), plan["nodes"]
    assert plans.NO_OVERLAP_INDEX in plan["indexes"] and len(plan["scans"][plans.CLAIMS_TABLE]) == 1, plan["nodes"]
    assert not plan["scans"][plans.RESERVATIONS_TABLE], plan["nodes"]  # what the constraint counts: claims alone


def _day_window(now: datetime) -> tuple[datetime, datetime]:
    window_start = datetime.combine(now.date() + timedelta(days=7), time(12), tzinfo=UTC)
    return window_start, window_start + timedelta(hours=11)


@pytest.mark.django_db
def test_availability_reads_the_days_claims_through_the_active_period_index(loaded):
    venue, _ = loaded
    now = datetime.now(UTC)
    spaces = plans.availability_spaces(venue, party_size=2)
    window_start, window_end = _day_window(now)
    query = plans.availability_query(
        venue=venue, spaces=spaces, window_start=window_start, window_end=window_end, now=now
    )
    plan = plans.explain(query)
    assert _uses_an_index(plan, plans.CLAIMS_TABLE), plan["nodes"]
    assert plans.ACTIVE_PERIOD_INDEX in plan["indexes"], plan["nodes"]


@pytest.mark.django_db
def test_availability_counts_the_days_starts_through_an_index(loaded):
    """selectors._paced_starts: the bookings starting anywhere in the day's pacing intervals, one query."""
    venue, _ = loaded
    now = datetime.now(UTC)
    window_start, window_end = _day_window(now)
    plan = plans.explain(plans.pacing_query(venue=venue, starts_from=window_start, starts_until=window_end, now=now))
    assert _uses_an_index(plan, plans.RESERVATIONS_TABLE), plan["nodes"]


@pytest.mark.django_db
def test_pacing_counts_read_only_the_starts_in_their_window(loaded):
    """Pacing.lock (a booking's 15 minutes) and _paced_starts (the day's): the rows read are about those
    starting in the window (a few hundred at most here), not a pass over an index of all 100,000: the
    index reservation_active_start leads with the start."""
    venue, _ = loaded
    now = datetime.now(UTC)
    window_start, window_end = _day_window(now)
    for starts_from, starts_until in (
        (window_start + timedelta(hours=7), window_start + timedelta(hours=7) + plans.PACING_INTERVAL),
        (window_start, window_end),
    ):
        query = plans.pacing_query(venue=venue, starts_from=starts_from, starts_until=starts_until, now=now)
        plan = plans.explain(query, analyze=True)
        assert plan["rows_read"] < 1_000, f"{starts_until - starts_from}: {plan['rows_read']:,} rows, {plan['nodes']}"
