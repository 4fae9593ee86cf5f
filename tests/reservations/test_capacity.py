"""Restaurant capacity as restaurants run it: turn times by party size, buffers, pacing, combined
tables, seasonal areas, the online maximum — in the services and in the availability alike."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reservations.exceptions import PolicyViolation, SlotUnavailable
from reservations.models import Reservation, SpaceClaim
from reservations.selectors import venue_availability
from reservations.services import reservation_book, reservation_cancel, reservation_hold, reservation_modify
from spaces.models import OpeningHours, PacingRule, Shift, Space, TurnTime, Venue

from .conftest import at, make_user, next_weekday

FRIDAY = 4


def friday(venue: Venue) -> date:
    return next_weekday(venue, FRIDAY)


def summer_friday(venue: Venue) -> date:
    """A Friday in June, when the terrace is open."""
    today = timezone.now().astimezone(venue.zone).date()
    june = date(today.year + (today.month >= 6), 6, 1)
    return june + timedelta(days=(FRIDAY - june.weekday()) % 7)


def book(venue, clock, party, day=None, guest=None, **extra):
    guest = guest or make_user(f"guest{Reservation.objects.count()}-{party}-{clock}@example.com")
    return reservation_book(
        guest=guest, venue=venue, starts_at=at(venue, day or friday(venue), clock), party_size=party, **extra
    )


def minutes(reservation: Reservation) -> int:
    return int((reservation.ends_at - reservation.starts_at) / timedelta(minutes=1))


def names(reservation: Reservation) -> list[str]:
    return [space.name for space in Reservation.objects.get(pk=reservation.pk).all_spaces]


def free_starts(venue, party, day=None, **extra) -> list[str]:
    found = venue_availability(venue=venue, day=day or friday(venue), party_size=party, **extra)
    return [slot.starts_at.astimezone(venue.zone).strftime("%H:%M") for slot in found.start_times]


# --- Turn times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("party", "expected"), [(2, 90), (4, 120), (6, 150), (11, 180)])
def test_a_booking_lasts_the_turn_time_of_its_party_size(trattoria, party, expected):
    assert minutes(book(trattoria, "12:00", party)) == expected


def test_the_availability_offers_each_party_its_turn_time_within_opening_hours(trattoria):
    found = venue_availability(venue=trattoria, day=friday(trattoria), party_size=4)
    lunch = [slot for slot in found.start_times if slot.starts_at.hour < 15]
    assert all(slot.minutes == 120 for slot in found.start_times)
    # Lunch closes at 15:00: a two-hour table starts by 13:00.
    assert lunch[-1].starts_at.strftime("%H:%M") == "13:00"


def test_a_shifts_own_turn_time_comes_before_the_venues(trattoria):
    dinner = trattoria.shifts.get(name="Dinner")
    TurnTime.objects.create(venue=trattoria, shift=dinner, min_party_size=1, max_party_size=2, minutes=120)
    assert minutes(book(trattoria, "12:00", 2)) == 90
    assert minutes(book(trattoria, "19:00", 2)) == 120


def test_a_booking_of_another_length_than_the_turn_time_is_refused_in_words(trattoria):
    start = at(trattoria, friday(trattoria), "12:00")
    with pytest.raises(PolicyViolation) as refused:
        reservation_book(
            guest=make_user("long@example.com"),
            venue=trattoria,
            starts_at=start,
            ends_at=start + timedelta(minutes=90),
            party_size=4,
        )
    assert refused.value.message == "At Trattoria Capacity a table for 4 is booked for 2 hours."
    assert refused.value.field == "ends_at"
    assert not Reservation.objects.exists()


def test_a_bigger_party_on_modify_gets_its_longer_turn_time(trattoria):
    booking = book(trattoria, "12:00", 2)
    changed = reservation_modify(reservation=booking, actor=booking.guest, party_size=4)
    assert minutes(changed) == 120
    assert SpaceClaim.objects.get(reservation=changed).ends_at == changed.ends_at + timedelta(minutes=15)


# --- Buffers --------------------------------------------------------------------------------------


def only_table(venue: Venue) -> Space:
    """Leave one two-top bookable, to see what the buffer does to it."""
    venue.spaces.exclude(name="Table 1").update(is_active=False)
    return venue.spaces.get(name="Table 1")


def test_a_table_is_kept_for_its_buffer_after_each_booking(trattoria):
    only_table(trattoria)
    book(trattoria, "18:00", 2)  # 18:00-19:30, reset until 19:45

    assert "19:30" not in free_starts(trattoria, 2)
    assert "19:45" in free_starts(trattoria, 2)
    with pytest.raises(SlotUnavailable):
        book(trattoria, "19:30", 2)
    assert book(trattoria, "19:45", 2).space.name == "Table 1"


def test_the_buffer_also_keeps_a_booking_from_ending_into_the_next(trattoria):
    only_table(trattoria)
    book(trattoria, "19:30", 2)  # a booking from 18:00 would end at 19:30 and need the table until 19:45
    assert "18:00" not in free_starts(trattoria, 2)
    assert "17:45" not in free_starts(trattoria, 2)
    with pytest.raises(SlotUnavailable):
        book(trattoria, "18:00", 2)


def test_a_spaces_own_buffer_overrides_the_venues(trattoria):
    table = only_table(trattoria)
    table.buffer_minutes = 0
    table.save()
    book(trattoria, "18:00", 2)
    assert book(trattoria, "19:30", 2).space == table


def test_a_hotels_cleaning_time_is_its_buffer(hotel):
    hotel.buffer_minutes = 5 * 60  # longer than the 11:00-15:00 gap between check-out and check-in
    hotel.save()
    hotel.spaces.exclude(name="101").update(is_active=False)
    guest = make_user("stay@example.com")
    arrival = timezone.now().astimezone(hotel.zone).date() + timedelta(days=10)
    first = reservation_book(
        guest=guest,
        venue=hotel,
        starts_at=at(hotel, arrival, "15:00"),
        ends_at=at(hotel, arrival + timedelta(days=2), "11:00"),
        party_size=1,
    )
    assert first.space.name == "101"
    with pytest.raises(SlotUnavailable):
        reservation_book(
            guest=guest,
            venue=hotel,
            starts_at=at(hotel, arrival + timedelta(days=2), "15:00"),
            ends_at=at(hotel, arrival + timedelta(days=3), "11:00"),
            party_size=1,
        )
    found = venue_availability(venue=hotel, day=arrival + timedelta(days=2), party_size=1)
    assert not found.categories


# --- Pacing ---------------------------------------------------------------------------------------


def test_pacing_caps_the_covers_starting_in_an_interval(trattoria):
    book(trattoria, "19:00", 6)
    book(trattoria, "19:00", 4)  # 10 of 12 covers start between 19:00 and 19:15

    with pytest.raises(SlotUnavailable) as refused:
        book(trattoria, "19:00", 4)
    assert refused.value.message == (
        f"Dinner at Trattoria Capacity is full at {at(trattoria, friday(trattoria), '19:00'):%a %-d %b %H:%M}: "
        "at most 12 guests start between 19:00 and 19:15. Please choose another time."
    )
    assert book(trattoria, "19:00", 2).party_size == 2  # exactly 12
    assert book(trattoria, "19:15", 4).party_size == 4  # the next interval
    assert Reservation.objects.filter(status="confirmed").count() == 4


def test_a_pacing_full_time_is_simply_not_offered(trattoria):
    book(trattoria, "19:00", 6)
    book(trattoria, "19:00", 4)
    assert "19:00" in free_starts(trattoria, 2)
    assert "19:00" not in free_starts(trattoria, 4)
    assert "19:15" in free_starts(trattoria, 4)
    assert "13:00" in free_starts(trattoria, 4)  # lunch has no pacing


def test_pacing_may_limit_parties_and_one_area_only(trattoria):
    PacingRule.objects.all().delete()
    PacingRule.objects.create(venue=trattoria, area="Dining room", max_parties=2)
    book(trattoria, "12:00", 2)
    book(trattoria, "12:00", 2)
    with pytest.raises(SlotUnavailable):
        book(trattoria, "12:00", 2)
    assert "12:00" not in free_starts(trattoria, 2)


def test_cancelling_gives_the_covers_back(trattoria):
    first = book(trattoria, "19:00", 8)
    book(trattoria, "19:00", 4)
    assert "19:00" not in free_starts(trattoria, 2)
    reservation_cancel(reservation=first, actor=first.guest)
    assert "19:00" in free_starts(trattoria, 2)


def test_moving_a_booking_into_a_full_interval_is_refused(trattoria):
    book(trattoria, "19:00", 8)
    book(trattoria, "19:00", 4)
    later = book(trattoria, "20:00", 2)
    with pytest.raises(SlotUnavailable, match="at most 12 guests start between 19:00 and 19:15"):
        reservation_modify(reservation=later, actor=later.guest, starts_at=at(trattoria, friday(trattoria), "19:00"))
    assert Reservation.objects.get(pk=later.pk).starts_at == at(trattoria, friday(trattoria), "20:00")


# --- Combined tables ------------------------------------------------------------------------------


def test_a_party_too_big_for_any_table_gets_the_smallest_combination(trattoria):
    eleven = book(trattoria, "12:00", 11)
    assert names(eleven) == ["Table 4", "Table 5", "Table 6"]
    assert eleven.space.name == "Table 4"
    assert SpaceClaim.objects.filter(reservation=eleven, active=True).count() == 3
    thirteen = book(trattoria, "12:00", 13)
    assert names(thirteen) == ["Table 7", "Table 8"]


def test_a_combination_blocks_every_table_in_it(trattoria):
    book(trattoria, "12:00", 10)  # 12:00-15:00 on 4+5+6: lunch is theirs
    found = venue_availability(venue=trattoria, day=friday(trattoria), party_size=4)
    slots = {entry.space.name: [s.starts_at.strftime("%H:%M") for s in entry.slots] for entry in found.spaces}
    assert slots["Table 2"][:2] == ["12:00", "12:15"]
    for name in ("Table 4", "Table 5", "Table 6"):
        assert slots[name][0] == "18:00", name


def test_a_single_table_is_preferred_to_breaking_up_a_combination(trattoria):
    first = book(trattoria, "12:00", 4)
    second = book(trattoria, "12:00", 4)
    third = book(trattoria, "12:00", 4)
    assert [first.space.name, second.space.name] == ["Table 2", "Table 3"]
    assert third.space.name == "Table 4"  # only when the free four-tops are gone


def test_a_combination_is_not_given_while_one_of_its_tables_is_taken(trattoria):
    book(trattoria, "12:00", 4)
    book(trattoria, "12:00", 4)
    book(trattoria, "12:00", 4)  # Table 4, part of 4+5+6
    eleven = book(trattoria, "12:00", 11)
    assert names(eleven) == ["Table 7", "Table 8"]
    with pytest.raises(SlotUnavailable):
        book(trattoria, "12:00", 9)


def test_the_database_refuses_a_claim_on_a_table_a_combination_holds(trattoria):
    ten = book(trattoria, "12:00", 10)
    other = book(trattoria, "19:00", 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        SpaceClaim.objects.create(
            reservation=other, space=trattoria.tables[5], starts_at=ten.starts_at, ends_at=ten.ends_at
        )


def test_a_party_over_the_online_maximum_is_told_how_to_reach_the_venue(trattoria, staff):
    with pytest.raises(PolicyViolation) as refused:
        book(trattoria, "12:00", 15)
    assert refused.value.message == (
        "Trattoria Capacity takes parties of up to 14 online; for 15 guests please contact "
        "Trattoria Capacity (+49 30 1234567)."
    )
    with pytest.raises(PolicyViolation, match="up to 14 online"):
        venue_availability(venue=trattoria, day=friday(trattoria), party_size=15)


# --- Seasonal areas -------------------------------------------------------------------------------


def winter_friday(venue: Venue) -> date:
    today = timezone.now().astimezone(venue.zone).date()
    december = date(today.year if today.month < 12 or today.day < 20 else today.year + 1, 12, 1)
    return max(december, today + timedelta(days=2)) + timedelta(
        days=(FRIDAY - max(december, today + timedelta(days=2)).weekday()) % 7
    )


def test_the_terrace_is_never_given_in_winter(trattoria):
    day = winter_friday(trattoria)
    trattoria.spaces.filter(category="Dining room").exclude(name="Table 2").update(is_active=False)
    book(trattoria, "12:00", 3, day=day)  # Table 2
    with pytest.raises(SlotUnavailable):
        book(trattoria, "12:00", 3, day=day)  # not the terrace's Table 9
    found = venue_availability(venue=trattoria, day=day, party_size=3)
    assert {option.category for option in found.options if option.free} == {"Dining room"}


def test_asking_for_the_terrace_in_winter_says_why_not(trattoria):
    day = winter_friday(trattoria)
    with pytest.raises(PolicyViolation) as refused:
        book(trattoria, "12:00", 3, day=day, category="Terrace")
    assert refused.value.message.startswith("The Terrace is closed from ")
    assert refused.value.message.endswith("(winter).")


def test_the_terrace_opens_again_in_summer(trattoria):
    day = summer_friday(trattoria)
    assert book(trattoria, "12:00", 3, day=day, category="Terrace").space.name == "Table 9"


# --- Time zones -----------------------------------------------------------------------------------


def last_sunday_of_october(venue: Venue) -> date:
    today = timezone.now().astimezone(venue.zone).date()
    for year in (today.year, today.year + 1):
        day = date(year, 10, 31)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day > today + timedelta(days=1):
            return day
    raise AssertionError


@pytest.fixture
def night_bar(db):
    """A bar open 20:00-04:00, with a night shift past midnight and pacing of 4 guests per 30 minutes."""
    venue = Venue.objects.create(
        name="Night Bar",
        slug="night-bar",
        time_zone="Europe/Berlin",
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        slot_interval_minutes=30,
        default_duration_minutes=60,
        min_lead_minutes=0,
        max_advance_days=400,
    )
    for weekday in range(7):
        OpeningHours.objects.create(
            venue=venue, weekday=weekday, opens_at=time(20), closes_at=time(4), closes_next_day=True
        )
    night = Shift.objects.create(venue=venue, name="Night", starts_at=time(20), ends_at=time(4))
    TurnTime.objects.create(venue=venue, shift=night, min_party_size=1, max_party_size=4, minutes=120)
    PacingRule.objects.create(venue=venue, shift=night, interval_minutes=30, max_covers=4)
    for number in range(1, 5):
        Space.objects.create(venue=venue, name=f"Booth {number}", capacity=4)
    return venue


def test_a_service_past_midnight_keeps_its_turn_time_and_pacing(night_bar):
    day = next_weekday(night_bar, FRIDAY)
    after_midnight = datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=night_bar.zone)
    first = reservation_book(guest=make_user("n1@example.com"), venue=night_bar, starts_at=after_midnight, party_size=4)
    assert minutes(first) == 120
    with pytest.raises(SlotUnavailable, match="Night at Night Bar is full"):
        reservation_book(guest=make_user("n2@example.com"), venue=night_bar, starts_at=after_midnight, party_size=1)
    starts = free_starts(night_bar, 2, day=day)
    assert "00:30" not in starts and "00:00" in starts and "02:00" in starts and "02:30" not in starts


def test_a_dst_night_paces_in_real_half_hours(night_bar):
    day = last_sunday_of_october(night_bar) - timedelta(days=1)  # Saturday night into the autumn change
    found = venue_availability(venue=night_bar, day=day, party_size=2)
    starts = [slot.starts_at for slot in found.start_times]
    # 20:00 to 02:00 (the last start for a two-hour turn before 04:00), with the repeated 02:00-03:00
    # hour in it: 9 real hours from 20:00 to 04:00, so 7 real hours of starts, every 30 minutes.
    assert len(starts) == 7 * 2 + 1
    assert all(slot.minutes == 120 for slot in found.start_times)
    assert all(
        (b.astimezone(UTC) - a.astimezone(UTC)) == timedelta(minutes=30)
        for a, b in zip(starts, starts[1:], strict=False)
    )
    # The two 02:00s, an hour apart in real time, are two pacing intervals: filling the first leaves
    # the second free.
    summer_two, winter_two = [s for s in starts if s.strftime("%H:%M") == "02:00"]
    assert winter_two.astimezone(UTC) - summer_two.astimezone(UTC) == timedelta(hours=1)
    reservation_book(guest=make_user("dst@example.com"), venue=night_bar, starts_at=summer_two, party_size=4)
    again = [
        slot.starts_at.astimezone(UTC)
        for slot in venue_availability(venue=night_bar, day=day, party_size=2).start_times
    ]
    assert summer_two.astimezone(UTC) not in again
    assert winter_two.astimezone(UTC) in again


def test_claims_follow_the_booking_status(trattoria):
    held = reservation_hold(
        guest=make_user("h@example.com"),
        venue=trattoria,
        starts_at=at(trattoria, friday(trattoria), "12:00"),
        party_size=10,
    )
    assert SpaceClaim.objects.filter(reservation=held, active=True).count() == 3
    reservation_cancel(reservation=held, actor=held.guest)
    assert SpaceClaim.objects.filter(reservation=held, active=True).count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reservations_spaceclaim WHERE active")
        assert cursor.fetchone()[0] == 0


def test_a_combined_booking_moved_to_another_time_keeps_its_tables_together(trattoria, staff):
    eleven = book(trattoria, "12:00", 11)
    moved = reservation_modify(reservation=eleven, actor=staff, starts_at=at(trattoria, friday(trattoria), "19:00"))
    assert names(moved) == ["Table 4", "Table 5", "Table 6"]
    assert minutes(moved) == 180
    claims = SpaceClaim.objects.filter(reservation=moved, active=True)
    assert {claim.starts_at for claim in claims} == {moved.starts_at}
    assert {claim.ends_at for claim in claims} == {moved.ends_at + timedelta(minutes=15)}
    # Lunch is free again on those tables.
    assert book(trattoria, "12:00", 4).space.name == "Table 2"


def test_a_combined_booking_growing_past_its_combination_moves_to_the_next(trattoria):
    ten = book(trattoria, "12:00", 10)
    grown = reservation_modify(reservation=ten, actor=ten.guest, party_size=13)
    assert names(grown) == ["Table 7", "Table 8"]
    assert SpaceClaim.objects.filter(reservation=grown).count() == 2
