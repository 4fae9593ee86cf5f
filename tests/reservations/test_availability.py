from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.periods import stay_period
from reservations.selectors import Option, category_prices, venue_availability
from reservations.services import reservation_book, reservation_hold
from spaces.models import Closure, OpeningHours, Space, Venue
from tests.booked import write_directly

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
MONDAY, TUESDAY, FRIDAY = 0, 1, 4


def clocks(slots, venue):
    return [slot.starts_at.astimezone(venue.zone).strftime("%H:%M") for slot in slots]


def grid(first: str, last: str, minutes: int) -> list[str]:
    start = datetime.combine(date(2000, 1, 1), time.fromisoformat(first))
    end = datetime.combine(date(2000, 1, 1), time.fromisoformat(last))
    times = []
    while start <= end:
        times.append(start.strftime("%H:%M"))
        start += timedelta(minutes=minutes)
    return times


def slots_of(availability, name):
    return next(entry.slots for entry in availability.spaces if entry.space.name == name)


def free(availability, category, venue, clock):
    return next(
        option.free
        for option in availability.options
        if option.category == category and option.starts_at.astimezone(venue.zone).strftime("%H:%M") == clock
    )


LUNCH_AND_DINNER = grid("12:00", "13:30", 15) + grid("18:00", "21:30", 15)


# --- Restaurant: slot mode, the venue assigns ---------------------------------------------------


def test_restaurant_lists_every_grid_start_whose_booking_ends_by_closing(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)

    assert clocks(availability.start_times, restaurant) == LUNCH_AND_DINNER
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=90) for slot in availability.start_times)
    assert availability.duration == 90
    assert all(clocks(entry.slots, restaurant) == LUNCH_AND_DINNER for entry in availability.spaces)


def test_restaurant_closed_on_monday_offers_nothing(restaurant):
    availability = venue_availability(venue=restaurant, day=next_weekday(restaurant, MONDAY), party_size=2)
    assert availability.start_times == []
    assert availability.is_empty


def test_a_longer_allowed_duration_shortens_each_period(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2, duration=120)
    assert clocks(availability.start_times, restaurant) == grid("12:00", "13:00", 15) + grid("18:00", "21:00", 15)


def test_a_confirmed_booking_removes_overlapping_starts_for_its_table_only(restaurant, guest):
    tuesday = next_weekday(restaurant, TUESDAY)
    booking = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday, "19:00"), party_size=2)
    assert booking.space.name == "Table 1"

    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)

    blocked = grid("17:45", "20:15", 15)  # a 90-minute booking from these starts would overlap 19:00-20:30
    assert clocks(slots_of(availability, "Table 1"), restaurant) == [t for t in LUNCH_AND_DINNER if t not in blocked]
    assert clocks(slots_of(availability, "Table 2"), restaurant) == LUNCH_AND_DINNER
    assert clocks(availability.start_times, restaurant) == LUNCH_AND_DINNER  # other tables are still free


def test_a_live_hold_blocks_its_table_but_an_expired_hold_does_not(restaurant, guest, other_guest, staff):
    tuesday = next_weekday(restaurant, TUESDAY)
    table1, table2 = restaurant.spaces.get(name="Table 1"), restaurant.spaces.get(name="Table 2")
    # Staff hold particular tables for the guests (the restaurant assigns: guests cannot choose them).
    reservation_hold(guest=guest, space=table1, starts_at=at(restaurant, tuesday, "12:00"), party_size=2, actor=staff)
    past = timezone.now() - timedelta(minutes=restaurant.hold_minutes + 5)
    stale = reservation_hold(
        guest=other_guest, space=table2, starts_at=at(restaurant, tuesday, "12:00"), party_size=2, now=past, actor=staff
    )
    assert stale.status == Reservation.Status.HELD and stale.hold_expires_at < timezone.now()

    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)

    assert clocks(slots_of(availability, "Table 1"), restaurant) == grid("13:30", "13:30", 15) + grid(
        "18:00", "21:30", 15
    )
    assert clocks(slots_of(availability, "Table 2"), restaurant) == LUNCH_AND_DINNER


def test_options_count_free_tables_per_start_and_area(restaurant, guest, other_guest):
    tuesday = next_weekday(restaurant, TUESDAY)
    reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday, "19:00"), party_size=2)
    reservation_book(
        guest=other_guest,
        venue=restaurant,
        starts_at=at(restaurant, tuesday, "19:30"),
        party_size=2,
        category="Terrace",
    )

    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)

    assert {option.category for option in availability.options} == {"Dining room", "Terrace"}
    assert len(availability.options) == 2 * len(LUNCH_AND_DINNER)  # one per start and area
    assert (
        free(availability, "Dining room", restaurant, "12:00"),
        free(availability, "Terrace", restaurant, "12:00"),
    ) == (4, 2)
    assert (
        free(availability, "Dining room", restaurant, "18:00"),
        free(availability, "Terrace", restaurant, "18:00"),
    ) == (3, 2)
    assert (
        free(availability, "Dining room", restaurant, "18:15"),
        free(availability, "Terrace", restaurant, "18:15"),
    ) == (3, 1)
    assert (
        free(availability, "Dining room", restaurant, "20:30"),
        free(availability, "Terrace", restaurant, "20:30"),
    ) == (4, 1)
    assert (
        free(availability, "Dining room", restaurant, "21:00"),
        free(availability, "Terrace", restaurant, "21:00"),
    ) == (4, 2)
    option = availability.options[0]
    assert isinstance(option, Option) and option.ends_at - option.starts_at == timedelta(minutes=90)


def test_a_start_disappears_only_when_every_fitting_table_is_taken(restaurant, guest, other_guest):
    tuesday = next_weekday(restaurant, TUESDAY)
    for user in (guest, other_guest):  # the two tables that take 6 or more
        reservation_book(guest=user, venue=restaurant, starts_at=at(restaurant, tuesday, "19:00"), party_size=6)

    availability = venue_availability(venue=restaurant, day=tuesday, party_size=5)

    assert [entry.space.name for entry in availability.spaces] == ["Table 5", "Table 6"]
    blocked = grid("17:45", "20:15", 15)
    assert clocks(availability.start_times, restaurant) == [t for t in LUNCH_AND_DINNER if t not in blocked]
    assert free(availability, "Terrace", restaurant, "19:00") == 0


def test_lead_time_hides_starts_that_are_too_soon(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    availability = venue_availability(
        venue=restaurant, day=tuesday, party_size=2, now=at(restaurant, tuesday, "11:30")
    )  # at least 60 minutes ahead: 12:30 is the first start
    assert clocks(availability.start_times, restaurant) == grid("12:30", "13:30", 15) + grid("18:00", "21:30", 15)

    evening = venue_availability(venue=restaurant, day=tuesday, party_size=2, now=at(restaurant, tuesday, "20:00"))
    assert clocks(evening.start_times, restaurant) == ["21:00", "21:15", "21:30"]


def test_booking_window_hides_days_and_starts_too_far_ahead(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    too_far = venue_availability(
        venue=restaurant, day=tuesday, party_size=2, now=at(restaurant, tuesday, "20:00") - timedelta(days=61)
    )
    assert too_far.start_times == []

    edge = venue_availability(
        venue=restaurant, day=tuesday, party_size=2, now=at(restaurant, tuesday, "19:00") - timedelta(days=60)
    )
    assert clocks(edge.start_times, restaurant) == grid("12:00", "13:30", 15) + grid("18:00", "19:00", 15)


def test_a_venue_wide_closure_empties_the_day(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    Closure.objects.create(
        venue=restaurant,
        starts_at=at(restaurant, tuesday, "00:00"),
        ends_at=at(restaurant, tuesday + timedelta(days=1), "00:00"),
        reason="Holiday",
    )
    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)
    assert availability.start_times == []
    assert availability.is_empty
    assert not any(option.free for option in availability.options)
    wednesday = venue_availability(venue=restaurant, day=tuesday + timedelta(days=1), party_size=2)
    assert clocks(wednesday.start_times, restaurant) == LUNCH_AND_DINNER


def test_a_space_closure_blocks_only_that_space(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    table3 = restaurant.spaces.get(name="Table 3")
    Closure.objects.create(
        venue=restaurant,
        space=table3,
        starts_at=at(restaurant, tuesday, "18:00"),
        ends_at=at(restaurant, tuesday, "23:00"),
    )
    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2)

    assert clocks(slots_of(availability, "Table 3"), restaurant) == grid("12:00", "13:30", 15)
    assert clocks(slots_of(availability, "Table 4"), restaurant) == LUNCH_AND_DINNER
    assert free(availability, "Dining room", restaurant, "19:00") == 3


def test_party_size_keeps_only_spaces_that_fit(restaurant, meeting_rooms):
    tuesday = next_weekday(restaurant, TUESDAY)
    names = [entry.space.name for entry in venue_availability(venue=restaurant, day=tuesday, party_size=5).spaces]
    assert names == ["Table 5", "Table 6"]
    assert venue_availability(venue=restaurant, day=tuesday, party_size=9).start_times == []

    rooms_day = next_weekday(meeting_rooms, TUESDAY)
    small = venue_availability(venue=meeting_rooms, day=rooms_day, party_size=2)
    assert [entry.space.name for entry in small.spaces] == ["Booth"]  # the Loft takes 4 or more
    large = venue_availability(venue=meeting_rooms, day=rooms_day, party_size=6)
    assert [entry.space.name for entry in large.spaces] == ["Loft"]  # the Booth seats 4


def test_a_category_limits_the_spaces(restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    availability = venue_availability(venue=restaurant, day=tuesday, party_size=2, category="Terrace")
    assert [entry.space.name for entry in availability.spaces] == ["Table 4", "Table 5"]
    assert {option.category for option in availability.options} == {"Terrace"}


@pytest.mark.parametrize("party_size", [0, -1, 10000])
def test_invalid_party_size_is_refused(restaurant, party_size):
    with pytest.raises(PolicyViolation) as refused:
        venue_availability(venue=restaurant, day=next_weekday(restaurant, TUESDAY), party_size=party_size)
    assert refused.value.field == "party_size"


@pytest.mark.parametrize("duration", [0, 45, 100])
def test_a_duration_the_venue_does_not_offer_is_refused(restaurant, duration):
    with pytest.raises(PolicyViolation) as refused:
        venue_availability(venue=restaurant, day=next_weekday(restaurant, TUESDAY), party_size=2, duration=duration)
    assert refused.value.field == "duration"


@pytest.mark.parametrize("nights", [0, 31, 40])
def test_a_stay_of_no_or_too_many_nights_is_refused(hotel, nights):
    with pytest.raises(PolicyViolation) as refused:
        venue_availability(venue=hotel, day=next_weekday(hotel, FRIDAY), party_size=2, nights=nights)
    assert refused.value.field == "nights"


# --- Hotel: night mode ------------------------------------------------------------------------


def test_hotel_rooms_are_free_or_not_for_the_whole_stay(hotel, guest, other_guest):
    arrival = next_weekday(hotel, FRIDAY)
    starts_at, ends_at = stay_period(hotel, arrival + timedelta(days=1), 1)  # overlaps the second night only
    booked = reservation_book(guest=guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=2)
    assert booked.space.name == "102"
    starts_at, ends_at = stay_period(hotel, arrival + timedelta(days=2), 1)  # arrives as ours departs: no clash
    reservation_book(guest=other_guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=2)

    availability = venue_availability(venue=hotel, day=arrival, party_size=2, nights=2)

    stay_start, stay_end = stay_period(hotel, arrival, 2)
    assert availability.nights == 2
    assert [entry.space.name for entry in availability.spaces] == ["102", "103", "201"]  # 101 is a single
    assert slots_of(availability, "102") == []
    for name in ("103", "201"):
        (slot,) = slots_of(availability, name)
        assert (slot.starts_at, slot.ends_at) == (stay_start, stay_end)
        assert slot.starts_at.astimezone(hotel.zone).time() == time(15)
        assert slot.ends_at.astimezone(hotel.zone).time() == time(11)


def test_hotel_categories_count_free_rooms_and_price_the_whole_stay(hotel, guest):
    arrival = next_weekday(hotel, FRIDAY)
    starts_at, ends_at = stay_period(hotel, arrival, 3)
    reservation_book(guest=guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=2, category="Double")

    availability = venue_availability(venue=hotel, day=arrival, party_size=2, nights=3)

    assert {option.category: option.free for option in availability.categories} == {"Double": 1, "Family": 1}
    assert category_prices(availability) == {"Double": Decimal("270"), "Family": Decimal("450")}
    one = venue_availability(venue=hotel, day=arrival, party_size=1, nights=1)
    assert {option.category: option.free for option in one.categories} == {"Single": 1, "Double": 1, "Family": 1}
    assert category_prices(one) == {"Single": Decimal("60"), "Double": Decimal("90"), "Family": Decimal("150")}


def test_a_fully_booked_category_is_not_offered(hotel, guest, other_guest):
    arrival = next_weekday(hotel, FRIDAY)
    starts_at, ends_at = stay_period(hotel, arrival, 1)
    for user in (guest, other_guest):
        reservation_book(guest=user, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=2, category="Double")

    availability = venue_availability(venue=hotel, day=arrival, party_size=2)

    assert [option.category for option in availability.categories] == ["Family"]
    assert category_prices(availability) == {"Family": Decimal("150")}


# --- Meeting rooms: the guest picks ---------------------------------------------------------------


def test_meeting_rooms_list_each_room_with_its_own_free_starts(meeting_rooms, guest):
    day = next_weekday(meeting_rooms, TUESDAY)
    booth = meeting_rooms.spaces.get(name="Booth")
    reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)

    availability = venue_availability(venue=meeting_rooms, day=day, party_size=4)

    assert availability.options == []  # nothing to assign: the guest chooses a room
    all_day = grid("08:00", "19:00", 30)
    assert clocks(slots_of(availability, "Loft"), meeting_rooms) == all_day
    assert clocks(slots_of(availability, "Booth"), meeting_rooms) == [
        t for t in all_day if t not in ("09:30", "10:00", "10:30")
    ]
    assert {entry.space.name: entry.price for entry in availability.spaces} == {
        "Booth": Decimal("25"),
        "Loft": Decimal("80"),
    }


# --- Clock changes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "starts"),
    [(date(2027, 3, 28), 23), (date(2027, 10, 31), 25), (date(2027, 3, 29), 24), (date(2027, 10, 30), 24)],
)
def test_hourly_starts_follow_the_clock_change(always_open, day, starts):
    now = datetime(2027, 1, 4, 12, tzinfo=UTC)
    availability = venue_availability(venue=always_open, day=day, party_size=2, now=now)

    times = availability.start_times
    instants = [slot.starts_at.astimezone(UTC) for slot in times]
    assert len(times) == starts
    assert instants == sorted(set(instants))  # every start a distinct real instant, in order
    assert all(b - a == timedelta(hours=1) for a, b in zip(instants, instants[1:], strict=False))
    assert all(slot.ends_at.astimezone(UTC) - slot.starts_at.astimezone(UTC) == timedelta(hours=1) for slot in times)
    assert all(option.free == 1 for option in availability.options)
    first, last = times[0].starts_at.astimezone(always_open.zone), times[-1].starts_at.astimezone(always_open.zone)
    assert (first.date(), first.time()) == (day, time(0))
    assert (last.date(), last.time()) == (day, time(23))


@pytest.mark.parametrize(("day", "offset"), [(date(2027, 3, 28), 2), (date(2027, 10, 31), 1)])
def test_a_restaurant_start_on_a_clock_change_day_is_local_wall_time(restaurant, day, offset):
    now = datetime.combine(day - timedelta(days=30), time(12), tzinfo=UTC)
    availability = venue_availability(venue=restaurant, day=day, party_size=2, now=now)
    seven = next(slot for slot in availability.start_times if clocks([slot], restaurant) == ["19:00"])
    assert seven.starts_at.utcoffset() == timedelta(hours=offset)
    assert seven.starts_at.astimezone(UTC).time() == time(19 - offset)
    assert seven.ends_at.astimezone(UTC) - seven.starts_at.astimezone(UTC) == timedelta(minutes=90)


# --- Query count ------------------------------------------------------------------------------------


def build_venue(slug: str, spaces: int, bookings_per_space: int, day: date, guest) -> Venue:
    venue = Venue.objects.create(
        name=slug, slug=slug, time_zone="Europe/Berlin", min_lead_minutes=0, max_advance_days=365
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(venue=venue, weekday=day.weekday(), opens_at=opens, closes_at=closes)
        for opens, closes in [(time(12), time(15)), (time(18), time(23))]
    )
    created = Space.objects.bulk_create(
        Space(venue=venue, name=f"Table {number}", capacity=4, category="Terrace" if number % 2 else "Inside")
        for number in range(spaces)
    )
    starts = ["12:00", "13:30", "18:00", "19:30", "21:00"][:bookings_per_space]
    write_directly(
        *(
            Reservation(
                guest=guest,
                space=space,
                starts_at=at(venue, day, clock),
                ends_at=at(venue, day, clock) + timedelta(minutes=90),
                party_size=2,
                status=Reservation.Status.CONFIRMED,
            )
            for space in created
            for clock in starts
        )
    )
    Closure.objects.create(
        venue=venue, space=created[0], starts_at=at(venue, day, "22:00"), ends_at=at(venue, day, "23:00")
    )
    return venue


def test_availability_runs_the_same_queries_for_200_busy_spaces_as_for_5_empty_ones(guest, django_assert_num_queries):
    day = next_weekday(Venue(time_zone="Europe/Berlin"), TUESDAY)
    small = build_venue("small", spaces=5, bookings_per_space=0, day=day, guest=guest)
    big = build_venue("big", spaces=200, bookings_per_space=4, day=day, guest=guest)
    assert Reservation.objects.filter(space__venue=big).count() == 800

    with CaptureQueriesContext(connection) as small_queries:
        small_availability = venue_availability(venue=small, day=day, party_size=2)
    assert len(small_availability.start_times) == 22

    with django_assert_num_queries(len(small_queries.captured_queries)):
        big_availability = venue_availability(venue=big, day=day, party_size=2)

    assert len(big_availability.spaces) == 200
    assert clocks(slots_of(big_availability, "Table 1"), big) == ["21:00", "21:15", "21:30"]  # the only gap left
    assert slots_of(big_availability, "Table 0") == []  # and that table is closed then
    assert len(big_availability.options) == 2 * 22
