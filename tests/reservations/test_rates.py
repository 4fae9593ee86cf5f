"""Hotels: nightly rates (a season, weekends, a room type) and stay limits, as the booking services
price and refuse stays, and as the availability offers them (issue 18)."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations import pricing
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.periods import stay_period
from reservations.selectors import venue_availability
from reservations.services import reservation_book, reservation_hold, reservation_modify, rules
from spaces.models import PaymentMode, Rate, Space, StayLimit, Venue
from tests.reservations.conftest import make_user, next_weekday

pytestmark = pytest.mark.django_db

THURSDAY, FRIDAY, SATURDAY, SUNDAY = 3, 4, 5, 6


def hold_stay(guest, venue, arrival: date, nights: int, *, party_size: int = 2, **extra) -> Reservation:
    starts_at, ends_at = stay_period(venue, arrival, nights)
    return reservation_hold(
        guest=guest, venue=venue, starts_at=starts_at, ends_at=ends_at, party_size=party_size, **extra
    )


def today(venue: Venue) -> date:
    return timezone.now().astimezone(venue.zone).date()


def next_date(venue: Venue, month: int, day: int, *, at_least_days: int = 3) -> date:
    """The next `day`.`month` at least `at_least_days` from today in the venue's zone."""
    earliest = today(venue) + timedelta(days=at_least_days)
    found = date(earliest.year, month, day)
    return found if found >= earliest else date(earliest.year + 1, month, day)


def last_sunday_of_october(year: int) -> date:
    day = date(year, 10, 31)
    return day - timedelta(days=(day.weekday() - SUNDAY) % 7)


# ---------------------------------------------------------------------------------------------
# Rates


def test_without_rates_a_night_costs_the_rooms_price(hotel, guest):
    arrival = next_weekday(hotel, THURSDAY, 2)

    reservation = hold_stay(guest, hotel, arrival, 3, category="Double")

    assert reservation.price == Decimal("270.00")  # 3 × 90


def test_a_stay_across_the_start_of_a_season_pays_each_night_at_its_rate(hotel, guest):
    arrival = next_weekday(hotel, THURSDAY, 3)
    season = arrival + timedelta(days=2)  # the season starts on the stay's third night
    Rate.objects.create(
        venue=hotel,
        name="High season",
        starts_on=season,
        ends_on=season + timedelta(days=30),
        repeats_yearly=False,
        nightly_price=Decimal("120"),
    )

    reservation = hold_stay(guest, hotel, arrival, 4, category="Double")

    assert reservation.price == Decimal("420.00")  # 90 + 90 + 120 + 120
    assert Reservation.objects.get(pk=reservation.pk).price == Decimal("420.00")


def test_a_stay_across_the_end_of_a_season_goes_back_to_the_rooms_price(hotel, guest):
    arrival = next_weekday(hotel, THURSDAY, 3)
    Rate.objects.create(
        venue=hotel,
        starts_on=arrival - timedelta(days=10),
        ends_on=arrival,  # the last night of the season is the first of the stay
        repeats_yearly=False,
        nightly_price=Decimal("120"),
    )

    assert hold_stay(guest, hotel, arrival, 3, category="Double").price == Decimal("300.00")  # 120 + 90 + 90


def test_weekend_nights_cost_the_weekend_rate(hotel, guest):
    arrival = next_weekday(hotel, THURSDAY, 2)
    Rate.objects.create(
        venue=hotel,
        name="Weekends",
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 12, 31),
        weekdays=[FRIDAY, SATURDAY],
        nightly_price=Decimal("150"),
    )

    reservation = hold_stay(guest, hotel, arrival, 4, category="Double")  # Thursday to Sunday night

    assert reservation.price == Decimal("480.00")  # 90 + 150 + 150 + 90


def test_a_yearly_season_across_new_year_applies_in_both_years(hotel, guest, other_guest):
    Rate.objects.create(
        venue=hotel,
        name="Christmas",
        starts_on=date(2019, 12, 20),  # the year is ignored: every year from 20 December to 6 January
        ends_on=date(2020, 1, 6),
        nightly_price=Decimal("200"),
    )
    arrival = next_date(hotel, 12, 30)

    across = hold_stay(guest, hotel, arrival, 4, category="Double")  # 30 Dec, 31 Dec, 1 Jan, 2 Jan
    after = hold_stay(other_guest, hotel, date(arrival.year + 1, 1, 5), 3, category="Double")  # 5, 6 Jan; 7 Jan

    assert across.price == Decimal("800.00")
    assert after.price == Decimal("490.00")  # 200 + 200 + 90


def test_the_most_specific_rate_wins(hotel):
    double = hotel.spaces.filter(category="Double").first()
    saturday = next_weekday(hotel, SATURDAY, 4)
    friday = saturday - timedelta(days=1)
    whole_year = {"starts_on": date(2000, 1, 1), "ends_on": date(2000, 12, 31)}
    season = {"starts_on": saturday - timedelta(days=20), "ends_on": saturday + timedelta(days=20)}
    narrow = {"starts_on": saturday - timedelta(days=3), "ends_on": saturday + timedelta(days=3)}
    everything = Rate.objects.create(venue=hotel, nightly_price=Decimal("100"), **whole_year)
    weekends = Rate.objects.create(venue=hotel, nightly_price=Decimal("130"), weekdays=[SATURDAY], **whole_year)
    summer = Rate.objects.create(venue=hotel, nightly_price=Decimal("110"), **season)
    rates = [everything, weekends, summer]

    def price(night, category="Double"):
        found = pricing.rate_for(rates, night, category)
        return found.nightly_price if found else None

    assert price(friday) == Decimal("110")  # the narrower dates win over every day of the year
    assert price(saturday) == Decimal("130")  # given nights of the week win over narrower dates
    assert price(saturday + timedelta(weeks=9)) == Decimal("130")
    assert price(friday + timedelta(weeks=9)) == Decimal("100")

    rates.append(Rate.objects.create(venue=hotel, category="Double", nightly_price=Decimal("95"), **whole_year))
    assert price(saturday) == Decimal("95")  # a room type's own rate wins over everything else
    assert price(saturday, "Family") == Decimal("130")

    rates.append(Rate.objects.create(venue=hotel, category="Double", nightly_price=Decimal("97"), **narrow))
    assert price(saturday) == Decimal("97")  # of the room type's, the narrower
    rates.append(Rate.objects.create(venue=hotel, category="Double", nightly_price=Decimal("99"), **narrow))
    assert price(saturday) == Decimal("99")  # of two alike, the later one
    assert pricing.booking_price(double, *stay_period(hotel, friday, 2)) == Decimal("198.00")  # read here: 99 + 99


def test_the_nights_of_a_stay_in_words(hotel):
    arrival = next_weekday(hotel, THURSDAY, 2)
    weekends = Rate.objects.create(
        venue=hotel,
        name="Weekends",
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 12, 31),
        weekdays=[FRIDAY, SATURDAY],
        nightly_price=Decimal("150"),
    )
    double = hotel.spaces.filter(category="Double").first()
    nights = pricing.nights_of(hotel, *stay_period(hotel, arrival, 5))

    prices = pricing.night_prices([double], nights, [weekends])

    assert pricing.breakdown_words(prices, "GBP") == "3 nights × £90, 2 nights × £150 (Weekends)"
    assert pricing.breakdown_words(prices[:1], "GBP") == "1 night × £90"


def test_the_stored_price_follows_a_change_of_dates(hotel, guest):
    arrival = next_weekday(hotel, THURSDAY, 2)
    Rate.objects.create(
        venue=hotel,
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 12, 31),
        weekdays=[FRIDAY, SATURDAY],
        nightly_price=Decimal("150"),
    )
    starts_at, ends_at = stay_period(hotel, arrival - timedelta(days=2), 2)  # Tuesday and Wednesday nights
    reservation = reservation_book(
        guest=guest, venue=hotel, category="Double", starts_at=starts_at, ends_at=ends_at, party_size=2
    )
    assert reservation.price == Decimal("180.00")

    new_start, new_end = stay_period(hotel, arrival, 3)  # Thursday, Friday, Saturday
    changed = reservation_modify(reservation=reservation, actor=guest, starts_at=new_start, ends_at=new_end)

    assert changed.price == Decimal("390.00")  # 90 + 150 + 150
    assert Reservation.objects.get(pk=reservation.pk).price == Decimal("390.00")  # the row is the truth


def test_the_first_night_up_front_is_that_nights_rate(hotel, guest, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_rates"  # payments collects: an amount is due on holding
    hotel.payment_mode = PaymentMode.FIRST_NIGHT
    hotel.save()
    Rate.objects.create(
        venue=hotel,
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 12, 31),
        weekdays=[SATURDAY],
        nightly_price=Decimal("150"),
    )
    saturday = next_weekday(hotel, SATURDAY, 2)

    reservation = hold_stay(guest, hotel, saturday, 2, category="Double")

    assert (reservation.price, reservation.amount_due) == (Decimal("240.00"), Decimal("150.00"))
    assert pricing.up_front(hotel, space=reservation.space, price=Decimal("240"), party_size=2) == Decimal("90.00")

    starts_at, ends_at = stay_period(hotel, saturday + timedelta(days=1), 2)  # Sunday first: the room's price
    changed = reservation_modify(reservation=reservation, actor=guest, starts_at=starts_at, ends_at=ends_at)
    assert (changed.price, changed.amount_due) == (Decimal("180.00"), Decimal("90.00"))


@pytest.fixture
def berlin_hotel(db):
    venue = Venue.objects.create(
        name="Spree Test",
        slug="spree-test",
        kind=Venue.Kind.HOTEL,
        time_zone="Europe/Berlin",
        booking_mode=Venue.BookingMode.NIGHTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        check_in_time=time(15),
        check_out_time=time(11),
        min_lead_minutes=0,
        max_advance_days=400,
    )
    Space.objects.create(venue=venue, name="1", category="Double", capacity=2, price=Decimal("100"))
    return venue


def test_a_stay_across_the_autumn_clock_change_has_its_nights_at_their_rates(berlin_hotel, guest, other_guest):
    soonest = today(berlin_hotel) + timedelta(days=3)
    change = last_sunday_of_october(soonest.year)
    change = change if change - timedelta(days=1) >= soonest else last_sunday_of_october(soonest.year + 1)
    saturday = change - timedelta(days=1)  # the night from Saturday to Sunday is an hour longer
    Rate.objects.create(
        venue=berlin_hotel,
        name="Autumn weekends",
        starts_on=date(2000, 10, 20),
        ends_on=date(2000, 10, 31),
        weekdays=[SATURDAY],
        nightly_price=Decimal("160"),
    )
    StayLimit.objects.create(
        venue=berlin_hotel, starts_on=date(2000, 10, 20), ends_on=date(2000, 10, 31), weekdays=[SATURDAY], min_nights=2
    )

    with pytest.raises(PolicyViolation) as refused:
        hold_stay(guest, berlin_hotel, saturday, 1)  # 15:00 CEST to 11:00 CET: one night, 21 hours
    reservation = hold_stay(other_guest, berlin_hotel, saturday, 3)

    assert refused.value.field == "ends_at"
    assert "last at least 2 nights" in refused.value.message
    assert reservation.nights == 3
    assert reservation.ends_at - reservation.starts_at == timedelta(days=2, hours=21)  # 69 hours, not 68
    assert reservation.local_starts_at.utcoffset() == timedelta(hours=2)
    assert reservation.local_ends_at.utcoffset() == timedelta(hours=1)
    assert reservation.price == Decimal("360.00")  # Saturday 160, Sunday and Monday 100


# ---------------------------------------------------------------------------------------------
# Stay limits


@pytest.fixture
def summer_weekends(hotel):
    """Saturday nights from six weeks ahead for a month: stays that include one last two nights."""
    first = next_weekday(hotel, SATURDAY, 6) - timedelta(days=10)
    return StayLimit.objects.create(
        venue=hotel,
        name="Summer weekends",
        starts_on=first,
        ends_on=first + timedelta(days=30),
        repeats_yearly=False,
        weekdays=[SATURDAY],
        min_nights=2,
    )


def test_a_stay_with_a_limited_night_lasts_at_least_its_minimum(hotel, guest, summer_weekends):
    saturday = next_weekday(hotel, SATURDAY, 6)

    with pytest.raises(PolicyViolation) as refused:
        hold_stay(guest, hotel, saturday, 1, category="Double")

    first, last = summer_weekends.starts_on, summer_weekends.ends_on
    assert refused.value.field == "ends_at"
    assert refused.value.message == (
        f"Stays that include a Saturday night from {first.day} {first:%b} {first.year} to "
        f"{last.day} {last:%b} {last.year} (Summer weekends) last at least 2 nights."
    )
    assert hold_stay(guest, hotel, saturday - timedelta(days=1), 1, category="Double").nights == 1  # a Friday
    assert hold_stay(guest, hotel, saturday - timedelta(days=1), 2, category="Double").nights == 2  # Friday, Saturday


def test_a_yearly_limit_is_worded_without_the_year(hotel):
    limit = StayLimit(
        venue=hotel, starts_on=date(2000, 7, 1), ends_on=date(2000, 8, 31), weekdays=[FRIDAY, SATURDAY], min_nights=3
    )
    capped = StayLimit(venue=hotel, category="Family", starts_on=date(2000, 12, 31), ends_on=date(2000, 12, 31))
    capped.max_nights = 7

    assert rules.stay_limit_words(limit) == (
        "Stays that include a Friday or Saturday night from 1 Jul to 31 Aug last at least 3 nights."
    )
    assert rules.stay_limit_words(capped) == "Family: stays that include the night of 31 Dec last at most 7 nights."


def test_of_two_limits_the_strictest_holds(hotel, guest, summer_weekends):
    saturday = next_weekday(hotel, SATURDAY, 6)
    StayLimit.objects.create(
        venue=hotel,
        name="Festival",
        starts_on=saturday - timedelta(days=1),
        ends_on=saturday + timedelta(days=1),
        repeats_yearly=False,
        min_nights=3,
        max_nights=5,
    )
    StayLimit.objects.create(
        venue=hotel, starts_on=date(2000, 1, 1), ends_on=date(2000, 12, 31), min_nights=1, max_nights=10
    )

    with pytest.raises(PolicyViolation) as too_short:
        hold_stay(guest, hotel, saturday - timedelta(days=1), 2, category="Double")  # 2 >= 2, but not >= 3
    with pytest.raises(PolicyViolation) as too_long:
        hold_stay(guest, hotel, saturday - timedelta(days=2), 6, category="Double")  # 6 <= 10, but not <= 5

    assert "(Festival) last 3 to 5 nights." in too_short.value.message
    assert "(Festival) last 3 to 5 nights." in too_long.value.message
    assert hold_stay(guest, hotel, saturday - timedelta(days=1), 3, category="Double").nights == 3


def test_a_limit_of_one_room_type_refuses_only_that_type_and_only_for_its_nights(hotel, guest, other_guest):
    saturday = next_weekday(hotel, SATURDAY, 3)
    StayLimit.objects.create(
        venue=hotel,
        category="Double",
        starts_on=date(2000, 1, 1),
        ends_on=date(2000, 12, 31),
        weekdays=[SATURDAY],
        min_nights=3,
    )

    with pytest.raises(PolicyViolation) as refused:
        hold_stay(guest, hotel, saturday, 1, category="Double")
    family = hold_stay(guest, hotel, saturday, 1)  # any room for two: the Doubles are not offered, the Family is
    friday = hold_stay(other_guest, hotel, saturday - timedelta(days=1), 1, category="Double")

    assert refused.value.message.startswith("Double: stays that include a Saturday night")
    assert family.space.category == "Family"
    assert friday.space.category == "Double"

    availability = venue_availability(venue=hotel, day=saturday, party_size=2, nights=1)
    double = next(option for option in availability.options if option.category == "Double")
    offered = next(option for option in availability.options if option.category == "Family")
    assert double.free == 0 and "last at least 3 nights" in double.unavailable_reason
    assert offered.unavailable_reason == ""  # taken by `family` above: sold out, not refused
    assert availability.refusals == {"Double": double.unavailable_reason}
    assert venue_availability(venue=hotel, day=saturday, party_size=2, nights=3).refusals == {}


def test_a_changed_stay_is_held_to_the_limits_but_a_change_of_notes_is_not(hotel, guest, summer_weekends):
    saturday = next_weekday(hotel, SATURDAY, 6)
    reservation = hold_stay(guest, hotel, saturday, 2, category="Double")
    starts_at, ends_at = stay_period(hotel, saturday, 1)

    with pytest.raises(PolicyViolation) as refused:
        reservation_modify(reservation=reservation, actor=guest, starts_at=starts_at, ends_at=ends_at)
    summer_weekends.min_nights = 4
    summer_weekends.save()
    noted = reservation_modify(reservation=reservation, actor=guest, notes="Late arrival")

    assert refused.value.field == "ends_at"
    assert (noted.notes, noted.nights) == ("Late arrival", 2)


def test_restaurants_read_no_rates_or_stay_limits(restaurant, hotel):
    with CaptureQueriesContext(connection) as restaurant_queries:
        rules.setup(restaurant)
    with CaptureQueriesContext(connection) as hotel_queries:
        found = rules.setup(hotel)

    assert not any("spaces_rate" in query["sql"] or "spaces_staylimit" in query["sql"] for query in restaurant_queries)
    assert len(hotel_queries) == len(restaurant_queries) + 2
    assert found.rates == [] and found.stay_limits == []


def build_hotel(slug: str, rooms: int, day: date) -> Venue:
    venue = Venue.objects.create(
        name=slug,
        slug=slug,
        kind=Venue.Kind.HOTEL,
        time_zone="Europe/Berlin",
        booking_mode=Venue.BookingMode.NIGHTS,
        check_in_time=time(15),
        check_out_time=time(11),
        min_lead_minutes=0,
        max_advance_days=365,
    )
    categories = ["Single", "Double", "Suite"]
    created = Space.objects.bulk_create(
        Space(venue=venue, name=f"Room {number}", category=categories[number % 3], capacity=2, price=Decimal("80"))
        for number in range(rooms)
    )
    Rate.objects.create(venue=venue, starts_on=day, ends_on=day, repeats_yearly=False, nightly_price=Decimal("99"))
    Rate.objects.create(
        venue=venue, category="Suite", starts_on=date(2000, 1, 1), ends_on=date(2000, 12, 31), nightly_price=200
    )
    StayLimit.objects.create(
        venue=venue, category="Single", starts_on=day, ends_on=day, repeats_yearly=False, min_nights=3
    )
    guest = make_user(f"{slug}@example.com")
    starts_at, ends_at = stay_period(venue, day + timedelta(days=1), 1)
    for _ in range(max(1, rooms // 3)):  # a third of the rooms taken on the second night
        reservation_book(guest=guest, venue=venue, starts_at=starts_at, ends_at=ends_at, party_size=1)
    assert len(created) == rooms
    return venue


def test_hotel_availability_runs_the_same_queries_for_30_rooms_as_for_3(django_assert_num_queries):
    day = next_weekday(Venue(time_zone="Europe/Berlin"), FRIDAY, 2)
    small = build_hotel("three-rooms", 3, day)
    big = build_hotel("thirty-rooms", 30, day)

    with CaptureQueriesContext(connection) as small_queries:
        small_availability = venue_availability(venue=small, day=day, party_size=2, nights=2)

    with django_assert_num_queries(len(small_queries.captured_queries)):
        big_availability = venue_availability(venue=big, day=day, party_size=2, nights=2)

    assert len(small_availability.spaces) == 3 and len(big_availability.spaces) == 30
    suite = next(entry for entry in big_availability.spaces if entry.space.category == "Suite")
    double = next(entry for entry in big_availability.spaces if entry.space.category == "Double")
    assert (suite.price, double.price) == (Decimal("400"), Decimal("179"))  # 200 + 200; 99 + 80
    assert "last at least 3 nights" in big_availability.refusals["Single"]
