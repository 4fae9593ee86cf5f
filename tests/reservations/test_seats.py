"""Spaces sold by the seat (a class, a tour, a tasting menu): a party takes a seat per guest in a
session, and the seats taken never exceed the seats offered, however many book at once."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from reservations.exceptions import PolicyViolation, SlotUnavailable
from reservations.models import Reservation, SpaceClaim
from reservations.selectors import venue_availability
from reservations.services import reservation_book, reservation_cancel, reservation_hold, reservation_modify
from spaces.models import Session, Space

from .conftest import at, make_user, next_weekday
from .test_concurrency import race

SATURDAY = 5


@pytest.fixture
def pasta_class(meeting_rooms):
    """The Foundry's pasta class: 12 seats on Saturdays 10:00-13:00, 35 a seat (the venue is closed at weekends)."""
    space = Space.objects.create(
        venue=meeting_rooms, name="Pasta class", capacity=12, price=Decimal("35"), sold_by_seat=True
    )
    Session.objects.create(space=space, weekday=SATURDAY, starts_at=time(10), minutes=180, seats=12)
    return space


def saturday(venue):
    return next_weekday(venue, SATURDAY)


def book_seats(space, party, clock="10:00", day=None, **extra):
    return reservation_book(
        guest=extra.pop("guest", None) or make_user(f"seat{Reservation.objects.count()}-{party}@example.com"),
        space=space,
        starts_at=at(space.venue, day or saturday(space.venue), clock),
        party_size=party,
        **extra,
    )


def seats_taken(space) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(party_size), 0) FROM reservations_reservation"
            " WHERE space_id = %s AND status IN ('held', 'confirmed')",
            [space.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_parties_share_a_session_a_seat_per_guest_at_the_price_per_seat(pasta_class):
    first = book_seats(pasta_class, 4)
    second = book_seats(pasta_class, 6)

    assert (first.ends_at - first.starts_at) == timedelta(hours=3)
    assert first.price == Decimal("140.00") and second.price == Decimal("210.00")
    assert not SpaceClaim.objects.filter(space=pasta_class).exists()
    with pytest.raises(SlotUnavailable) as refused:
        book_seats(pasta_class, 3)
    assert refused.value.message.endswith("is sold out for your party: 2 seats left.")
    book_seats(pasta_class, 2)
    with pytest.raises(SlotUnavailable, match="is sold out.$"):
        book_seats(pasta_class, 1)
    assert seats_taken(pasta_class) == 12


@pytest.mark.django_db
def test_the_availability_shows_each_sessions_seats_left(pasta_class):
    book_seats(pasta_class, 5)
    found = venue_availability(venue=pasta_class.venue, day=saturday(pasta_class.venue), party_size=2)
    (entry,) = [entry for entry in found.spaces if entry.space == pasta_class]
    (slot,) = entry.slots
    assert slot.seats_left == 7
    assert slot.starts_at.strftime("%H:%M") == "10:00" and slot.ends_at.strftime("%H:%M") == "13:00"
    assert entry.price == Decimal("70")
    too_many = venue_availability(venue=pasta_class.venue, day=saturday(pasta_class.venue), party_size=8)
    assert [entry.slots for entry in too_many.spaces if entry.space == pasta_class] == [[]]


@pytest.mark.django_db
def test_a_time_without_a_session_or_a_party_over_the_seats_is_refused(pasta_class):
    with pytest.raises(PolicyViolation, match="Pasta class has no session at"):
        book_seats(pasta_class, 2, clock="11:00")
    with pytest.raises(PolicyViolation, match="Pasta class has 12 seats a session."):
        book_seats(pasta_class, 13)
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_cancelling_and_changing_the_party_give_seats_back_and_take_them_under_the_same_rule(pasta_class):
    big = book_seats(pasta_class, 8)
    small = book_seats(pasta_class, 4)
    with pytest.raises(SlotUnavailable):
        reservation_modify(reservation=small, actor=small.guest, party_size=5)
    smaller = reservation_modify(reservation=big, actor=big.guest, party_size=6)
    assert smaller.price == Decimal("210.00")
    assert reservation_modify(reservation=small, actor=small.guest, party_size=6).party_size == 6
    reservation_cancel(reservation=smaller, actor=smaller.guest)
    assert book_seats(pasta_class, 6).party_size == 6
    assert seats_taken(pasta_class) == 12


@pytest.mark.django_db
def test_a_table_is_never_assigned_from_a_space_sold_by_the_seat(restaurant):
    tasting = Space.objects.create(venue=restaurant, name="Chef's table", capacity=10, sold_by_seat=True)
    Session.objects.create(space=tasting, weekday=1, starts_at=time(19), minutes=150, seats=10)
    guest = make_user("tasting@example.com")
    seat = reservation_hold(
        guest=guest, space=tasting, starts_at=at(restaurant, next_weekday(restaurant, 1), "19:00"), party_size=2
    )
    assert seat.space == tasting  # a guest may pick a session even where the venue assigns its tables
    with pytest.raises(PolicyViolation):
        reservation_book(
            guest=guest, venue=restaurant, starts_at=at(restaurant, next_weekday(restaurant, 1), "19:00"), party_size=10
        )


@pytest.mark.django_db(transaction=True)
def test_forty_parties_racing_for_a_twelve_seat_session_never_take_more_than_twelve(meeting_rooms):
    space = Space.objects.create(venue=meeting_rooms, name="Pasta class", capacity=12, sold_by_seat=True)
    Session.objects.create(space=space, weekday=SATURDAY, starts_at=time(10), minutes=180, seats=12)
    start = at(meeting_rooms, saturday(meeting_rooms), "10:00")
    guests = [make_user(f"racer{i}@example.com") for i in range(40)]
    sizes = [1 + i % 4 for i in range(40)]

    outcomes = race(
        [
            lambda guest=guest, size=size: reservation_book(guest=guest, space=space, starts_at=start, party_size=size)
            for guest, size in zip(guests, sizes, strict=True)
        ]
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Reservation)]
    assert seats_taken(space) == sum(winner.party_size for winner in winners) <= 12
    assert seats_taken(space) >= 12 - 3  # filled as far as the parties asking allow
    assert losers and all(isinstance(loser, SlotUnavailable) and "sold out" in loser.message for loser in losers)
