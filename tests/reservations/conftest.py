"""Venues for the booking-engine tests: a restaurant that assigns tables, a hotel that assigns
rooms, meeting rooms that guests pick. Dates are chosen relative to today, in each venue's zone."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from spaces.models import Closure, Combination, OpeningHours, PacingRule, Shift, Space, TurnTime, Venue


def next_weekday(venue: Venue, weekday: int, weeks_ahead: int = 1) -> date:
    """A date `weeks_ahead` weeks from now that falls on `weekday` (0 = Monday), in the venue's zone."""
    today = timezone.now().astimezone(venue.zone).date()
    ahead = today + timedelta(weeks=weeks_ahead)
    return ahead + timedelta(days=(weekday - ahead.weekday()) % 7)


def at(venue: Venue, day: date, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=venue.zone)


@pytest.fixture
def restaurant(db):
    venue = Venue.objects.create(
        name="Trattoria Test",
        slug="trattoria-test",
        kind=Venue.Kind.RESTAURANT,
        time_zone="Europe/Berlin",
        booking_mode=Venue.BookingMode.SLOTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        slot_interval_minutes=15,
        default_duration_minutes=90,
        allowed_durations=[120],
        min_lead_minutes=60,
        max_advance_days=60,
        cancellation_cutoff_hours=24,
        modification_cutoff_hours=24,
        hold_minutes=10,
    )
    for weekday in range(1, 7):  # closed on Mondays
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(12), closes_at=time(15))
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(18), closes_at=time(23))
    for name, capacity, area in [
        ("Table 1", 2, "Dining room"),
        ("Table 2", 2, "Dining room"),
        ("Table 3", 4, "Dining room"),
        ("Table 4", 4, "Terrace"),
        ("Table 5", 6, "Terrace"),
        ("Table 6", 8, "Dining room"),
    ]:
        Space.objects.create(venue=venue, name=name, capacity=capacity, category=area)
    return venue


@pytest.fixture
def hotel(db):
    venue = Venue.objects.create(
        name="Harbour Test",
        slug="harbour-test",
        kind=Venue.Kind.HOTEL,
        time_zone="Europe/London",
        booking_mode=Venue.BookingMode.NIGHTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        check_in_time=time(15),
        check_out_time=time(11),
        min_lead_minutes=0,
        max_advance_days=365,
        cancellation_cutoff_hours=48,
        modification_cutoff_hours=48,
        currency="GBP",
    )
    for name, category, capacity, price in [
        ("101", "Single", 1, "60"),
        ("102", "Double", 2, "90"),
        ("103", "Double", 2, "90"),
        ("201", "Family", 4, "150"),
    ]:
        Space.objects.create(venue=venue, name=name, category=category, capacity=capacity, price=Decimal(price))
    return venue


@pytest.fixture
def meeting_rooms(db):
    venue = Venue.objects.create(
        name="Foundry Test",
        slug="foundry-test",
        kind=Venue.Kind.OTHER,
        time_zone="America/New_York",
        booking_mode=Venue.BookingMode.SLOTS,
        assignment=Venue.Assignment.GUEST_PICKS,
        slot_interval_minutes=30,
        default_duration_minutes=60,
        allowed_durations=[30, 120],
        min_lead_minutes=0,
        max_advance_days=90,
        cancellation_cutoff_hours=2,
        modification_cutoff_hours=2,
    )
    for weekday in range(0, 5):
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(8), closes_at=time(20))
    Space.objects.create(venue=venue, name="Loft", capacity=12, min_party_size=4, price=Decimal("80"))
    Space.objects.create(venue=venue, name="Booth", capacity=4, price=Decimal("25"))
    return venue


@pytest.fixture
def always_open(db):
    """A Berlin venue open around the clock with hourly slots: its DST days have 23 and 25 of them."""
    venue = Venue.objects.create(
        name="Around the Clock",
        slug="around-the-clock",
        time_zone="Europe/Berlin",
        slot_interval_minutes=60,
        default_duration_minutes=60,
        min_lead_minutes=0,
        max_advance_days=3650,
    )
    for weekday in range(7):
        OpeningHours.objects.create(
            venue=venue, weekday=weekday, opens_at=time(0), closes_at=time(0), closes_next_day=True
        )
    Space.objects.create(venue=venue, name="Desk", capacity=2)
    return venue


def make_user(email: str, **extra) -> User:
    return User.objects.create_user(email=email, password="a-long-test-password", **extra)


@pytest.fixture
def guest(db):
    return make_user("guest@example.com", name="Gina Guest")


@pytest.fixture
def other_guest(db):
    return make_user("other@example.com", name="Otto Other")


def with_authenticator(user: User) -> User:
    """The user as if they had set up an authenticator app: staff powers need one (spaces/powers.py)."""
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.conftest import STAFF_TOTP_SECRET

    TOTP.activate(user, STAFF_TOTP_SECRET)
    return user


@pytest.fixture
def staff(db):
    """A superuser with an authenticator app: every staff power at every venue."""
    return with_authenticator(make_user("staff@example.com", name="Sam Staff", is_staff=True, is_superuser=True))


@pytest.fixture
def trattoria(db):
    """Like the demo's Trattoria Aurora: turn times by party size, a 15-minute buffer, pacing at dinner,
    two combinations, a terrace closed in winter, parties of up to 14 online."""
    venue = Venue.objects.create(
        name="Trattoria Capacity",
        slug="trattoria-capacity",
        time_zone="Europe/Berlin",
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        slot_interval_minutes=15,
        default_duration_minutes=90,
        min_lead_minutes=0,
        max_advance_days=400,
        buffer_minutes=15,
        max_online_party_size=14,
        phone="+49 30 1234567",
    )
    for weekday in range(1, 7):
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(12), closes_at=time(15))
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(18), closes_at=time(23, 59))
    Shift.objects.create(venue=venue, name="Lunch", starts_at=time(12), ends_at=time(15))
    dinner = Shift.objects.create(venue=venue, name="Dinner", starts_at=time(18), ends_at=time(23, 59))
    for low, high, minutes in [(1, 2, 90), (3, 4, 120), (5, 8, 150), (9, 14, 180)]:
        TurnTime.objects.create(venue=venue, min_party_size=low, max_party_size=high, minutes=minutes)
    PacingRule.objects.create(venue=venue, shift=dinner, interval_minutes=15, max_covers=12)
    tables = {}
    for number, capacity, area in [(1, 2, "Dining room"), (2, 4, "Dining room"), (3, 4, "Dining room")]:
        tables[number] = Space.objects.create(venue=venue, name=f"Table {number}", capacity=capacity, category=area)
    for number in (4, 5, 6):
        tables[number] = Space.objects.create(venue=venue, name=f"Table {number}", capacity=4, category="Dining room")
    tables[7] = Space.objects.create(venue=venue, name="Table 7", capacity=6, category="Dining room")
    tables[8] = Space.objects.create(venue=venue, name="Table 8", capacity=8, category="Dining room")
    tables[9] = Space.objects.create(venue=venue, name="Table 9", capacity=4, category="Terrace")
    big = Combination.objects.create(venue=venue, name="Tables 4+5+6", min_party_size=9, max_party_size=12)
    big.spaces.set([tables[4], tables[5], tables[6]])
    long = Combination.objects.create(venue=venue, name="Tables 7+8", min_party_size=9, max_party_size=14)
    long.spaces.set([tables[7], tables[8]])
    Closure.objects.create(
        venue=venue,
        area="Terrace",
        starts_at=datetime(2026, 11, 1, tzinfo=venue.zone),
        ends_at=datetime(2027, 4, 1, tzinfo=venue.zone),
        repeats_yearly=True,
        reason="winter",
    )
    venue.tables = tables
    return venue
