"""Double booking is impossible, shown with real concurrent transactions: every thread has its own
database connection, all start together at a barrier, and the invariant is checked in SQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import OperationalError, connection

from reservations.exceptions import BookingError, SlotUnavailable
from reservations.models import Reservation
from reservations.services import reservation_book, reservation_modify
from spaces.models import Space

from .conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 20


def race(calls):
    """Run the calls at the same moment, each in its own thread and connection; return outcomes."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            return call()
        except BookingError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def overlapping_active_pairs() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM reservations_reservation a
            JOIN reservations_reservation b
              ON a.space_id = b.space_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
            WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
            """
        )
        return cursor.fetchone()[0]


def test_twenty_guests_racing_for_one_room_and_slot_leave_exactly_one_booking(meeting_rooms):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    guests = [make_user(f"racer{i}@example.com") for i in range(THREADS)]

    outcomes = race(
        [
            lambda guest=guest: reservation_book(guest=guest, space=booth, starts_at=start, party_size=2)
            for guest in guests
        ]
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Reservation)]
    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    assert all(isinstance(loser, SlotUnavailable) and "Booth is no longer free" in str(loser) for loser in losers)
    assert Reservation.objects.filter(space=booth).count() == 1
    assert overlapping_active_pairs() == 0


def test_a_modify_racing_creates_for_the_same_slot_has_one_winner(meeting_rooms):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, 1)
    owner = make_user("owner@example.com")
    existing = reservation_book(guest=owner, space=booth, starts_at=at(meeting_rooms, day, "09:00"), party_size=2)
    target = at(meeting_rooms, day, "12:00")
    guests = [make_user(f"racer{i}@example.com") for i in range(THREADS - 1)]

    calls = [lambda: reservation_modify(reservation=existing, actor=owner, starts_at=target)]
    calls += [
        lambda guest=guest: reservation_book(guest=guest, space=booth, starts_at=target, party_size=2)
        for guest in guests
    ]
    outcomes = race(calls)

    assert sum(isinstance(outcome, Reservation) for outcome in outcomes) == 1
    assert all(isinstance(o, SlotUnavailable) for o in outcomes if not isinstance(o, Reservation))
    at_target = Reservation.objects.filter(space=booth, starts_at=target, status__in=["held", "confirmed"])
    assert at_target.count() == 1
    assert overlapping_active_pairs() == 0


def test_twenty_parties_racing_for_five_tables_get_five_different_tables(restaurant):
    Space.objects.filter(venue=restaurant).delete()
    for number in range(1, 6):
        Space.objects.create(venue=restaurant, name=f"Four-top {number}", capacity=4)
    start = at(restaurant, next_weekday(restaurant, 1), "19:30")
    guests = [make_user(f"diner{i}@example.com") for i in range(THREADS)]

    outcomes = race(
        [
            lambda guest=guest: reservation_book(guest=guest, venue=restaurant, starts_at=start, party_size=4)
            for guest in guests
        ]
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    assert len(winners) == 5
    assert len({winner.space_id for winner in winners}) == 5
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Reservation)]
    assert all(isinstance(loser, SlotUnavailable) for loser in losers) and len(losers) == THREADS - 5
    assert overlapping_active_pairs() == 0


def overlapping_claims() -> int:
    """Pairs of active claims of one space whose periods (with buffers) overlap: what the exclusion
    constraint forbids, counted in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM reservations_spaceclaim a
            JOIN reservations_spaceclaim b
              ON a.space_id = b.space_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
            WHERE a.active AND b.active
            """
        )
        return cursor.fetchone()[0]


def covers_per_interval(venue) -> list[tuple]:
    """(interval start, guests, parties) of active bookings, per 15 minutes, counted in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT date_bin('15 minutes', r.starts_at, '2000-01-01'), sum(r.party_size), count(*)
            FROM reservations_reservation r JOIN spaces_space s ON s.id = r.space_id
            WHERE s.venue_id = %s AND r.status IN ('held', 'confirmed')
            GROUP BY 1 ORDER BY 1
            """,
            [venue.pk],
        )
        return cursor.fetchall()


def test_thirty_parties_racing_for_one_evening_never_share_a_table_or_overfill_the_pacing(trattoria):
    """Thirty parties of 2 to 12 race for 19:00 and 19:15 at a restaurant with combined tables and
    pacing of 12 covers per 15 minutes: whatever the interleaving, no table (single or in a
    combination) is taken twice, no interval starts more than 12 guests, and every combination
    booking holds all of its tables."""
    day = next_weekday(trattoria, 4)
    sizes = [2, 4, 6, 10, 12, 3, 8, 2, 11, 4] * 3
    calls = [
        lambda size=size, number=number: reservation_book(
            guest=make_user(f"party{number}@example.com"),
            venue=trattoria,
            starts_at=at(trattoria, day, "19:00" if number % 2 else "19:15"),
            party_size=size,
        )
        for number, size in enumerate(sizes)
    ]

    outcomes = race(calls)

    winners = [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Reservation)]
    assert winners and losers
    assert all(isinstance(loser, SlotUnavailable) for loser in losers), losers
    assert overlapping_claims() == 0
    assert overlapping_active_pairs() == 0
    intervals = covers_per_interval(trattoria)
    assert all(guests <= 12 for _, guests, _ in intervals), intervals
    assert sum(guests for _, guests, _ in intervals) == sum(winner.party_size for winner in winners)
    # Each interval is filled as far as the tables and pacing allow: a loser was refused for a reason.
    assert any("at most 12 guests" in loser.message for loser in losers)
    for winner in Reservation.objects.filter(pk__in=[winner.pk for winner in winners]).prefetch_related("claims"):
        claims = [claim for claim in winner.claims.all() if claim.active]
        assert len(claims) == (1 if winner.party_size <= 8 else len(winner.all_spaces)) >= 1
        if winner.party_size > 8:
            assert len(claims) in (2, 3)


def test_a_loser_after_the_winners_commit_is_told_at_once_without_queueing_on_the_lock(meeting_rooms):
    """The early read (allocation.taken_at): once the winner has committed, a guest asking for the same
    room is refused without waiting for the room's row lock, which a third booking holds right now."""
    from tests.transactions import held_elsewhere, lock_timeout

    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, 1), "10:00")
    winner = reservation_book(guest=make_user("winner@example.com"), space=booth, starts_at=start, party_size=2)
    loser = make_user("loser@example.com")

    def lock_the_room():
        list(Space.objects.select_for_update().filter(pk=booth.pk))

    with held_elsewhere(lock_the_room), lock_timeout(200):
        with pytest.raises(SlotUnavailable, match="no longer free"):
            reservation_book(guest=loser, space=booth, starts_at=start, party_size=2)
        # An hour later the room is free: that booking needs the lock, and waits for it (then gives up).
        with pytest.raises(OperationalError, match="lock timeout"):
            reservation_book(guest=loser, space=booth, starts_at=start + timedelta(hours=1), party_size=2)
    assert Reservation.objects.filter(space=booth, status="confirmed").get() == winner
