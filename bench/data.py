"""The benchmark's data, written into its own database (holdfast_bench) with Django set up.

Few rows by the ORM (venues, spaces, the users who book), many by SQL: the reservations are one
INSERT ... SELECT over generate_series per size step, each with its claim of its space written by
the same statement (as allocation.claim writes them: the booking's period plus the space's buffer,
active while the booking is held or confirmed), laid out so that no two active claims of a space
overlap (the exclusion constraint claim_no_overlap stays on and would refuse them):

- the bulk: two 90-minute bookings per space per day, 11:00 and 18:00 UTC, on a shuffled list of days
  from a year ago to 90 days ahead (the measured day left out), so every size mixes history
  (completed, some cancelled or no-show) with future confirmed bookings in the same proportions;
- the measured day of the availability venues: the same ~800 bookings at every size, so what grows
  from one size to the next is only the rest of the table;
- the history guest: 1,000 past reservations and a few upcoming ones (21:00 UTC, no booking hour).
"""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connection, transaction
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils import timezone
from django.utils.crypto import get_random_string

from core.bench import PING_TABLE

AVAILABILITY_SIZES = (10, 100, 1000)  # spaces of the venues whose availability is measured
BOOKING_SPACES = 100
SEARCH_VENUES = 1000  # small restaurants more, for the search across venues (4 tables each)
SEARCH_TABLES = 4
BOOKING_HOURS = (
    6,
    7,
    8,
    9,
    10,
    13,
    14,
    15,
    16,
    17,
)  # UTC starts of 60-minute bookings; the bulk uses 11-12:30, 18-19:30
CONTENTION_HOUR = 10
BULK_GUESTS = 10_000
HISTORY_PAST = 1_000
HISTORY_UPCOMING = 5
CATEGORIES = ("Main room", "Terrace", "Window", "Bar")
SESSION_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


@dataclass
class Fixtures:
    today: date
    measured_day: date
    availability_venues: dict[int, str] = field(default_factory=dict)  # spaces -> slug
    booking_venue: str = ""
    booking_space_ids: list[int] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)  # {"session", "csrf"} per booking user
    history_user: dict = field(default_factory=dict)
    fixed_reservations: int = 0
    search_venues: int = 0  # venues in all, for the search across them
    bulk_loaded: int = 0
    bulk_capacity: int = 0


def _execute(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def reservation_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reservations_reservation")
        return cursor.fetchone()[0]


def create_fixtures(*, users: int) -> Fixtures:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from spaces.models import OpeningHours, Space, Venue

    User = get_user_model()
    today = timezone.now().astimezone(UTC).date()
    fixtures = Fixtures(today=today, measured_day=today + timedelta(days=7))
    _execute(f"CREATE TABLE {PING_TABLE} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL)")

    with transaction.atomic():
        for size in AVAILABILITY_SIZES:
            venue = Venue.objects.create(
                name=f"Bench restaurant {size}",
                slug=f"bench-restaurant-{size}",
                kind=Venue.Kind.RESTAURANT,
                time_zone="Europe/Berlin",
                booking_mode=Venue.BookingMode.SLOTS,
                assignment=Venue.Assignment.VENUE_ASSIGNS,
                slot_interval_minutes=30,
                default_duration_minutes=90,
                max_advance_days=120,
            )
            OpeningHours.objects.bulk_create(
                OpeningHours(venue=venue, weekday=day, opens_at=time(12), closes_at=time(23)) for day in range(7)
            )
            Space.objects.bulk_create(
                Space(
                    venue=venue,
                    name=f"Table {number + 1:04d}",
                    category=CATEGORIES[number % len(CATEGORIES)],
                    capacity=2 + 2 * (number % 4),
                )
                for number in range(size)
            )
            fixtures.availability_venues[size] = venue.slug
        booking = Venue.objects.create(
            name="Bench rooms",
            slug="bench-rooms",
            kind=Venue.Kind.OTHER,
            time_zone="UTC",
            booking_mode=Venue.BookingMode.SLOTS,
            assignment=Venue.Assignment.GUEST_PICKS,
            slot_interval_minutes=60,
            default_duration_minutes=60,
            max_advance_days=120,
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(venue=booking, weekday=day, opens_at=time(6), closes_at=time(22)) for day in range(7)
        )
        Space.objects.bulk_create(
            Space(venue=booking, name=f"Room {number + 1:03d}", capacity=6) for number in range(BOOKING_SPACES)
        )
        fixtures.booking_venue = booking.slug
        # The search across venues looks at every venue: a thousand more, small, as a city's worth.
        small = Venue.objects.bulk_create(
            Venue(
                name=f"Bench bistro {number:04d}",
                slug=f"bench-bistro-{number:04d}",
                kind=Venue.Kind.RESTAURANT,
                time_zone="Europe/Berlin",
                booking_mode=Venue.BookingMode.SLOTS,
                assignment=Venue.Assignment.VENUE_ASSIGNS,
                slot_interval_minutes=30,
                default_duration_minutes=90,
                max_advance_days=120,
            )
            for number in range(SEARCH_VENUES)
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(venue=venue, weekday=day, opens_at=time(12), closes_at=time(23))
            for venue in small
            for day in range(7)
        )
        Space.objects.bulk_create(
            Space(venue=venue, name=f"Table {number + 1}", category=CATEGORIES[0], capacity=2 + 2 * number)
            for venue in small
            for number in range(SEARCH_TABLES)
        )
        fixtures.search_venues = Venue.objects.count()
        fixtures.booking_space_ids = list(booking.spaces.order_by("pk").values_list("pk", flat=True))

        # One password hash for everyone: PBKDF2 is slow on purpose, and nobody logs in with it.
        password = make_password("bench-not-a-secret")
        guests = User.objects.bulk_create(
            User(email=f"guest{number:04d}@bench.invalid", password=password) for number in range(users)
        )
        history = User.objects.create(email="history@bench.invalid", password=password)
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in [*guests, history]
        )
        fixtures.users = _sessions(guests)
        fixtures.history_user = _sessions([history])[0]
        _bulk_guests()

    _fixed_reservations(fixtures, history.pk)
    fixtures.fixed_reservations = reservation_count()
    _layout_tables(fixtures)
    return fixtures


def _sessions(users) -> list[dict]:
    """A logged-in session per user, written as allauth's log-in would write it, and a CSRF secret."""
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    credentials, rows = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: SESSION_BACKEND,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        credentials.append({"session": key, "csrf": get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)})
    Session.objects.bulk_create(rows)
    return credentials


def _bulk_guests():
    _execute(
        """
        INSERT INTO accounts_user (password, is_superuser, is_staff, is_active, date_joined, email, name, phone)
        SELECT '!', false, false, true, now(), 'bulk' || n || '@bench.invalid', '', ''
        FROM generate_series(1, %s) AS n
        """,
        [BULK_GUESTS],
    )
    _execute(
        """
        INSERT INTO account_emailaddress (user_id, email, verified, "primary")
        SELECT id, email, true, true FROM accounts_user WHERE email LIKE 'bulk%%@bench.invalid'
        """
    )


INSERT_COLUMNS = """
    INSERT INTO reservations_reservation (
        reference, guest_id, space_id, starts_at, ends_at, party_size, requested_category, status,
        hold_expires_at, notes, price, amount_due, currency, created_at, updated_at, cancelled_at,
        cancelled_by_id, cancellation_reason)
"""
# What follows an `INSERT_COLUMNS + SELECT ...` in _with_claims: one claim of its space per
# reservation added, for its period plus the space's buffer (its own, else the venue's).
CLAIMS_OF_ADDED = """
    RETURNING id, space_id, starts_at, ends_at, status
)
INSERT INTO reservations_spaceclaim (reservation_id, space_id, starts_at, ends_at, active)
SELECT added.id, added.space_id, added.starts_at,
       added.ends_at + make_interval(mins => coalesce(s.buffer_minutes, v.buffer_minutes)),
       added.status IN ('held', 'confirmed')
FROM added
JOIN spaces_space s ON s.id = added.space_id
JOIN spaces_venue v ON v.id = s.venue_id
"""


def _with_claims(insert: str) -> str:
    """One statement for the reservations an INSERT ... SELECT adds and their claims (its row count:
    the claims', one per reservation)."""
    return "WITH added AS (" + insert + CLAIMS_OF_ADDED


def _fixed_reservations(fixtures: Fixtures, history_user_id: int):
    # The measured day: in every availability venue, 40 % of the tables booked at lunch and 30 % at
    # dinner (a tenth of them holds still running), local time.
    day = fixtures.measured_day.isoformat()
    _execute(
        _with_claims(
            INSERT_COLUMNS  # noqa: S608 (constants of this module; values are parameters)
            + """
        SELECT 'D' || lpad(row_number() OVER ()::text, 13, '0'), NULL, s.id, b.starts_at,
               b.starts_at + interval '90 minutes', 2, '', CASE WHEN s.id %% 10 = 3 THEN 'held' ELSE 'confirmed' END,
               CASE WHEN s.id %% 10 = 3 THEN now() + interval '1 day' END, '', 0, 0, 'EUR',
               now(), now(), NULL, NULL, ''
        FROM spaces_space s
        JOIN spaces_venue v ON v.id = s.venue_id AND v.slug LIKE 'bench-restaurant-%%'
        CROSS JOIN LATERAL (
            SELECT (%s::date + time '13:00') AT TIME ZONE 'Europe/Berlin' AS starts_at WHERE s.id %% 10 < 4
            UNION ALL
            SELECT (%s::date + time '19:00') AT TIME ZONE 'Europe/Berlin' WHERE s.id %% 10 BETWEEN 4 AND 6
        ) b
        """
        ),
        [day, day],
    )
    # The history guest: 1,000 past reservations (one a day, rooms in turn) and a few upcoming.
    _execute(
        _with_claims(
            INSERT_COLUMNS  # noqa: S608 (constants of this module; values are parameters)
            + """
        SELECT 'H' || lpad(n::text, 13, '0'), %s, r.id, b.starts_at, b.starts_at + interval '1 hour', 2, '',
               CASE WHEN n > 0 THEN 'completed' ELSE 'confirmed' END, NULL, '', 0, 0, 'EUR',
               b.starts_at - interval '14 days', b.starts_at - interval '14 days', NULL, NULL, ''
        FROM generate_series(-%s, %s) AS n
        JOIN LATERAL (
            SELECT id FROM spaces_space WHERE venue_id = (SELECT id FROM spaces_venue WHERE slug = %s)
            ORDER BY id OFFSET (abs(n) %% %s) LIMIT 1
        ) r ON true
        CROSS JOIN LATERAL (SELECT (%s::date - n + time '21:00') AT TIME ZONE 'UTC' AS starts_at) b
        WHERE n <> 0
        """
        ),
        [
            history_user_id,
            HISTORY_UPCOMING,
            HISTORY_PAST,
            fixtures.booking_venue,
            BOOKING_SPACES,
            fixtures.today.isoformat(),
        ],
    )


def _layout_tables(fixtures: Fixtures):
    """bench_space, bench_day and bench_guest number what the bulk INSERT spreads its rows over."""
    days = [
        fixtures.today + timedelta(days=offset)
        for offset in range(-365, 91)
        if offset != 0 and fixtures.today + timedelta(days=offset) != fixtures.measured_day
    ]
    # A fixed shuffle (a multiplicative permutation): every prefix mixes past and future days.
    order = sorted(range(len(days)), key=lambda index: (index * 7919) % len(days))
    _execute("CREATE TABLE bench_day (idx integer PRIMARY KEY, day date NOT NULL)")
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_day (idx, day) VALUES (%s, %s)", [(i, days[j]) for i, j in enumerate(order)]
        )
    _execute(
        """
        CREATE TABLE bench_space AS
        SELECT (row_number() OVER (ORDER BY s.id) - 1)::integer AS idx, s.id AS space_id
        FROM spaces_space s JOIN spaces_venue v ON v.id = s.venue_id WHERE v.slug LIKE 'bench-%%'
        """
    )
    _execute(
        """
        CREATE TABLE bench_guest AS
        SELECT (row_number() OVER (ORDER BY id) - 1)::integer AS idx, id AS user_id
        FROM accounts_user WHERE email LIKE 'bulk%%@bench.invalid'
        """
    )
    _execute("ALTER TABLE bench_space ADD PRIMARY KEY (idx)")
    _execute("ALTER TABLE bench_guest ADD PRIMARY KEY (idx)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_space")
        spaces = cursor.fetchone()[0]
    fixtures.bulk_capacity = spaces * 2 * len(days)


def load_until(fixtures: Fixtures, total: int) -> int:
    """Add bulk reservations (and their claims) until the table holds `total` rows; returns how many
    were added."""
    wanted = total - fixtures.fixed_reservations
    if wanted > fixtures.bulk_capacity:
        raise SystemExit(f"The layout holds {fixtures.bulk_capacity} bulk reservations, not {wanted}.")
    first, last = fixtures.bulk_loaded, wanted
    if last <= first:
        return 0
    added = _execute(
        _with_claims(
            INSERT_COLUMNS  # noqa: S608 (constants of this module; values are parameters)
            + """
        SELECT 'B' || lpad(n::text, 13, '0'), g.user_id, s.space_id, t.starts_at, t.starts_at + interval '90 minutes',
               2, '', t.status, NULL, '', 0, 0, 'EUR',
               t.starts_at - interval '10 days', t.starts_at - interval '10 days',
               CASE WHEN t.status = 'cancelled' THEN t.starts_at - interval '2 days' END, NULL, ''
        FROM generate_series(%(first)s::bigint, %(last)s::bigint - 1) AS n
        JOIN bench_space s ON s.idx = n %% %(spaces)s
        JOIN bench_day d ON d.idx = (n / %(spaces)s) / 2
        JOIN bench_guest g ON g.idx = n %% %(guests)s
        CROSS JOIN LATERAL (
            SELECT (d.day + CASE WHEN (n / %(spaces)s) %% 2 = 0 THEN time '11:00' ELSE time '18:00' END)
                   AT TIME ZONE 'UTC' AS starts_at,
                   CASE WHEN n %% 20 = 7 THEN 'cancelled'
                        WHEN d.day > %(today)s THEN 'confirmed'
                        WHEN n %% 50 = 3 THEN 'no_show'
                        ELSE 'completed' END AS status
        ) t
        """
        ),
        {
            "first": first,
            "last": last,
            "spaces": _count("bench_space"),
            "guests": _count("bench_guest"),
            "today": fixtures.today,
        },
    )
    fixtures.bulk_loaded = last
    return added


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (a constant of this module)
        return cursor.fetchone()[0]


def analyze():
    """What a database that grew to this size over months would have: fresh statistics, a visibility map."""
    _execute("VACUUM ANALYZE reservations_reservation")
    _execute("VACUUM ANALYZE reservations_spaceclaim")
    _execute("ANALYZE")
    # So the next measurement does not pay for the load's dirty pages. Needs superuser or
    # pg_checkpoint: without them, only a nicety is lost.
    with contextlib.suppress(DatabaseError):
        _execute("CHECKPOINT")


# A space is taken by its active claims (a booking's period plus the buffer, one per table of it).
DOUBLE_BOOKING_SQL = """
    SELECT count(*) FROM (
        SELECT starts_at,
               max(ends_at) OVER (PARTITION BY space_id ORDER BY starts_at, id
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
        FROM reservations_spaceclaim
        WHERE active
    ) AS ordered
    WHERE previous_end > starts_at
"""
# Claims out of step with their bookings: an active booking without an active claim of its own
# space covering its period, or an active claim of a booking that is not active.
UNCLAIMED_SQL = """
    SELECT (SELECT count(*) FROM reservations_reservation r
            WHERE r.status IN ('held', 'confirmed')
              AND NOT EXISTS (SELECT 1 FROM reservations_spaceclaim c
                              WHERE c.reservation_id = r.id AND c.space_id = r.space_id AND c.active
                                AND c.starts_at <= r.starts_at AND c.ends_at >= r.ends_at))
         + (SELECT count(*) FROM reservations_spaceclaim c JOIN reservations_reservation r ON r.id = c.reservation_id
            WHERE c.active AND r.status NOT IN ('held', 'confirmed'))
"""


def double_bookings() -> tuple[int, int, int]:
    """(overlapping pairs, active claims checked, claims out of step with their bookings): sorted by
    start per space, a claim that starts before an earlier one of the same space has ended overlaps it."""
    with connection.cursor() as cursor:
        cursor.execute(DOUBLE_BOOKING_SQL)
        overlapping = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM reservations_spaceclaim WHERE active")
        active = cursor.fetchone()[0]
        cursor.execute(UNCLAIMED_SQL)
        return overlapping, active, cursor.fetchone()[0]


def utc_start(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()
