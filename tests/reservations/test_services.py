from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reservations.exceptions import HoldExpired, NotAllowed, PolicyViolation, SlotUnavailable
from reservations.models import Reservation, ReservationEvent
from reservations.services import (
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
    reservation_mark_no_show,
    reservation_modify,
)
from spaces.models import Closure, OpeningHours, Space, Venue

from .conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY, FRIDAY, SATURDAY, MONDAY = 1, 4, 5, 0


def book_table(venue, guest, clock="19:30", party_size=4, day=None, **extra):
    day = day or next_weekday(venue, TUESDAY)
    return reservation_book(guest=guest, venue=venue, starts_at=at(venue, day, clock), party_size=party_size, **extra)


def counts():
    return Reservation.objects.count(), ReservationEvent.objects.count()


# --- Restaurant: the venue assigns the smallest table that fits -------------------------------


def test_booking_assigns_the_smallest_fitting_table_and_records_history(restaurant, guest):
    reservation = book_table(restaurant, guest, party_size=3)

    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.space.name == "Table 3"  # 4 seats: the smallest that fits 3
    assert reservation.ends_at - reservation.starts_at == timedelta(minutes=90)
    assert reservation.hold_expires_at is None
    assert [event.kind for event in reservation.events.all()] == ["held", "confirmed"]
    assert all(event.actor == guest for event in reservation.events.all())


def test_each_booking_at_one_time_gets_the_next_best_table(restaurant, guest, other_guest):
    third = make_user("third@example.com")
    tables = [book_table(restaurant, user, party_size=4).space.name for user in (guest, other_guest, third)]
    assert tables == ["Table 3", "Table 4", "Table 5"]


def test_party_too_large_for_every_table_is_refused(restaurant, guest):
    with pytest.raises(PolicyViolation, match="no space for a party of 9"):
        book_table(restaurant, guest, party_size=9)
    assert counts() == (0, 0)


def test_when_no_table_is_left_the_guest_hears_it_is_no_longer_free(restaurant, guest, other_guest):
    book_table(restaurant, guest, party_size=8)
    with pytest.raises(SlotUnavailable, match="No table or space for 7 is free at Tue .* 19:30 any more"):
        book_table(restaurant, other_guest, party_size=7)


def test_requested_category_limits_the_assignment(restaurant, guest):
    reservation = book_table(restaurant, guest, party_size=2, category="Terrace")
    assert reservation.space.name == "Table 4"
    assert reservation.requested_category == "Terrace"


def test_booking_outside_opening_hours_is_refused(restaurant, guest):
    with pytest.raises(PolicyViolation, match="not open for a booking"):
        book_table(restaurant, guest, clock="16:00")
    with pytest.raises(PolicyViolation, match="not open"):
        book_table(restaurant, guest, clock="22:00")  # 90 minutes would run past 23:00
    assert book_table(restaurant, guest, clock="21:30").status == "confirmed"


def test_booking_on_a_closed_weekday_is_refused(restaurant, guest):
    with pytest.raises(PolicyViolation, match="not open"):
        book_table(restaurant, guest, day=next_weekday(restaurant, MONDAY))


def test_start_off_the_slot_grid_is_refused(restaurant, guest):
    with pytest.raises(PolicyViolation, match="every 15 minutes"):
        book_table(restaurant, guest, clock="19:40")


def test_only_the_venues_durations_are_allowed(restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    start = at(restaurant, day, "19:00")
    with pytest.raises(PolicyViolation, match="Bookings here last 1 hour 30 minutes, 2 hours"):
        reservation_book(
            guest=guest, venue=restaurant, starts_at=start, ends_at=start + timedelta(minutes=45), party_size=2
        )
    longer = reservation_book(
        guest=guest, venue=restaurant, starts_at=start, ends_at=start + timedelta(minutes=120), party_size=2
    )
    assert longer.ends_at == start + timedelta(hours=2)


def test_lead_time_and_booking_window_are_enforced(restaurant, guest):
    now = timezone.now()
    with pytest.raises(PolicyViolation, match="already passed"):
        reservation_book(guest=guest, venue=restaurant, starts_at=now - timedelta(hours=1), party_size=2)
    with pytest.raises(PolicyViolation, match="at least 1 hour ahead; the earliest start is"):
        reservation_book(guest=guest, venue=restaurant, starts_at=now + timedelta(minutes=30), party_size=2)
    far = next_weekday(restaurant, TUESDAY, weeks_ahead=10)
    with pytest.raises(PolicyViolation, match="up to 60 days ahead"):
        book_table(restaurant, guest, day=far)


def test_a_venue_closure_refuses_bookings_with_its_reason(restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    Closure.objects.create(
        venue=restaurant,
        starts_at=at(restaurant, day, "00:00"),
        ends_at=at(restaurant, day, "23:59"),
        reason="Staff party",
    )
    with pytest.raises(PolicyViolation, match=r"Trattoria Test is closed from .* \(Staff party\)"):
        book_table(restaurant, guest, day=day)
    assert counts() == (0, 0)


def test_a_closed_table_is_skipped_by_assignment(restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    table3 = restaurant.spaces.get(name="Table 3")
    Closure.objects.create(
        venue=restaurant, space=table3, starts_at=at(restaurant, day, "18:00"), ends_at=at(restaurant, day, "23:00")
    )
    assert book_table(restaurant, guest, day=day, party_size=4).space.name == "Table 4"


# --- Meeting rooms: the guest picks the space ---------------------------------------------------


def test_second_booking_for_the_same_room_and_time_is_refused(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, TUESDAY)
    reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)
    before = counts()

    with pytest.raises(SlotUnavailable, match="Booth is no longer free at Tue .* 10:30"):
        reservation_book(guest=other_guest, space=booth, starts_at=at(meeting_rooms, day, "10:30"), party_size=2)
    assert counts() == before  # a refused booking leaves nothing behind


def test_back_to_back_bookings_of_one_room_are_fine(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, TUESDAY)
    first = reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)
    second = reservation_book(guest=other_guest, space=booth, starts_at=first.ends_at, party_size=2)
    assert second.starts_at == first.ends_at


def test_party_below_the_rooms_minimum_is_refused(meeting_rooms, guest):
    loft = meeting_rooms.spaces.get(name="Loft")
    day = next_weekday(meeting_rooms, TUESDAY)
    with pytest.raises(PolicyViolation, match="Loft takes parties of 4 to 12"):
        reservation_book(guest=guest, space=loft, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)


def test_a_closed_room_says_why(meeting_rooms, guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, TUESDAY)
    Closure.objects.create(
        venue=meeting_rooms,
        space=booth,
        starts_at=at(meeting_rooms, day, "08:00"),
        ends_at=at(meeting_rooms, day, "12:00"),
        reason="New carpet",
    )
    with pytest.raises(PolicyViolation, match=r"Booth is closed .* \(New carpet\)"):
        reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)


# --- Hotel: whole nights, rooms by category --------------------------------------------------------


def stay(hotel, guest, arrival, nights, party_size=2, category=""):
    from reservations.periods import stay_period

    starts_at, ends_at = stay_period(hotel, arrival, nights)
    return reservation_book(
        guest=guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=party_size, category=category
    )


def test_a_two_night_stay_runs_from_check_in_to_check_out_at_the_nightly_price(hotel, guest):
    arrival = next_weekday(hotel, FRIDAY)
    reservation = stay(hotel, guest, arrival, nights=2)

    assert reservation.space.name == "102"  # a double: the smallest room for two
    local_start, local_end = reservation.local_starts_at, reservation.local_ends_at
    assert (local_start.date(), local_start.time()) == (arrival, time(15))
    assert (local_end.date(), local_end.time()) == (arrival + timedelta(days=2), time(11))
    assert reservation.price == Decimal("180.00") and reservation.currency == "GBP"


def test_overlapping_stays_fill_the_category_then_are_refused(hotel, guest, other_guest):
    arrival = next_weekday(hotel, FRIDAY)
    third = make_user("third@example.com")
    assert stay(hotel, guest, arrival, 2, category="Double").space.name == "102"
    assert stay(hotel, other_guest, arrival + timedelta(days=1), 2, category="Double").space.name == "103"
    with pytest.raises(SlotUnavailable, match="No room for 2"):
        stay(hotel, third, arrival + timedelta(days=1), 1, category="Double")
    # The departure day of one stay is the arrival day of the next: check-out is before check-in.
    assert stay(hotel, third, arrival + timedelta(days=2), 1, category="Double").space.name == "102"


def test_a_stay_must_start_at_check_in_and_end_at_check_out(hotel, guest):
    arrival = next_weekday(hotel, FRIDAY)
    with pytest.raises(PolicyViolation, match="check-in, 15:00"):
        reservation_book(
            guest=guest,
            venue=hotel,
            starts_at=at(hotel, arrival, "12:00"),
            ends_at=at(hotel, arrival + timedelta(days=1), "11:00"),
            party_size=1,
        )
    with pytest.raises(PolicyViolation, match="check-out, 11:00"):
        reservation_book(
            guest=guest,
            venue=hotel,
            starts_at=at(hotel, arrival, "15:00"),
            ends_at=at(hotel, arrival + timedelta(days=1), "15:00"),
            party_size=1,
        )


def test_a_stay_across_the_clock_change_keeps_local_check_in_and_out(hotel, guest):
    from reservations.periods import stay_period

    now = datetime(2027, 3, 1, 12, tzinfo=hotel.zone)
    starts_at, ends_at = stay_period(hotel, datetime(2027, 3, 27).date(), 2)  # UK clocks go forward on 28 March
    reservation = reservation_book(
        guest=guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=1, now=now
    )
    assert reservation.starts_at.utcoffset() is not None
    assert reservation.starts_at == datetime(2027, 3, 27, 15, tzinfo=UTC)  # GMT
    assert reservation.ends_at == datetime(2027, 3, 29, 10, tzinfo=UTC)  # 11:00 BST
    assert reservation.nights == 2


# --- Holds ------------------------------------------------------------------------------------------


def test_a_hold_blocks_the_slot_until_confirmed(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY), "10:00")
    hold = reservation_hold(guest=guest, space=booth, starts_at=start, party_size=2)

    assert hold.status == Reservation.Status.HELD
    assert hold.hold_expires_at - timezone.now() <= timedelta(minutes=meeting_rooms.hold_minutes)
    with pytest.raises(SlotUnavailable):
        reservation_book(guest=other_guest, space=booth, starts_at=start, party_size=2)

    confirmed = reservation_confirm(reservation=hold, actor=guest)
    again = reservation_confirm(reservation=hold, actor=guest)
    assert confirmed.status == again.status == Reservation.Status.CONFIRMED
    assert [event.kind for event in hold.events.all()] == ["held", "confirmed"]  # confirming twice is a no-op


def test_an_expired_hold_cannot_be_confirmed_and_frees_the_slot(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY), "10:00")
    past = timezone.now() - timedelta(minutes=meeting_rooms.hold_minutes + 1)
    hold = reservation_hold(guest=guest, space=booth, starts_at=start, party_size=2, now=past)

    with pytest.raises(HoldExpired, match="Your hold ran out at"):
        reservation_confirm(reservation=hold, actor=guest)
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.EXPIRED
    assert reservation_book(guest=other_guest, space=booth, starts_at=start, party_size=2).status == "confirmed"


def test_a_stale_hold_never_blocks_a_new_booking(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY), "10:00")
    past = timezone.now() - timedelta(minutes=meeting_rooms.hold_minutes + 1)
    stale = reservation_hold(guest=guest, space=booth, starts_at=start, party_size=2, now=past)

    booking = reservation_book(guest=other_guest, space=booth, starts_at=start, party_size=2)

    stale.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED
    assert stale.status == Reservation.Status.EXPIRED
    assert stale.events.filter(kind="expired").count() == 1


def test_a_guest_cannot_hoard_more_holds_than_the_limit(meeting_rooms, guest, settings):
    settings.HOLDFAST_MAX_ACTIVE_HOLDS = 2
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, TUESDAY)
    for clock in ("09:00", "10:00"):
        reservation_hold(guest=guest, space=booth, starts_at=at(meeting_rooms, day, clock), party_size=2)
    with pytest.raises(PolicyViolation, match="already holding 2 bookings"):
        reservation_hold(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "11:00"), party_size=2)


# --- Modify ------------------------------------------------------------------------------------


def test_guest_moves_a_booking_to_another_time_and_the_change_is_recorded(restaurant, guest):
    reservation = book_table(restaurant, guest, clock="19:30")
    new_start = reservation.starts_at + timedelta(minutes=60)

    changed = reservation_modify(reservation=reservation, actor=guest, starts_at=new_start)

    assert changed.starts_at == new_start and changed.ends_at == new_start + timedelta(minutes=90)
    modified = changed.events.get(kind="modified")
    assert modified.details["changes"]["starts_at"]["before"] == reservation.starts_at.isoformat()
    assert modified.details["changes"]["starts_at"]["after"] == new_start.isoformat()


def test_a_larger_party_moves_to_a_table_that_fits(restaurant, guest):
    reservation = book_table(restaurant, guest, party_size=2)
    assert reservation.space.name == "Table 1"
    changed = reservation_modify(reservation=reservation, actor=guest, party_size=6)
    assert changed.space.name == "Table 5"


def test_modify_to_a_taken_time_is_refused_and_changes_nothing(meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, TUESDAY)
    mine = reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "09:00"), party_size=2)
    reservation_book(guest=other_guest, space=booth, starts_at=at(meeting_rooms, day, "11:00"), party_size=2)
    before = counts()

    with pytest.raises(SlotUnavailable, match="no longer free"):
        reservation_modify(reservation=mine, actor=guest, starts_at=at(meeting_rooms, day, "11:00"))
    mine.refresh_from_db()
    assert mine.starts_at == at(meeting_rooms, day, "09:00")
    assert counts() == before


def test_guest_cannot_modify_after_the_cut_off_but_staff_can_move_the_table(restaurant, guest, staff):
    now = timezone.now()
    reservation = book_table(restaurant, guest)
    late = reservation.starts_at - timedelta(hours=2)

    closed = r"Changes closed 24 hours before the start \(\w{3} \d{1,2} \w{3} 19:30\)"
    with pytest.raises(PolicyViolation, match=closed):
        reservation_modify(reservation=reservation, actor=guest, party_size=2, now=late)
    moved = reservation_modify(
        reservation=reservation, actor=staff, space=restaurant.spaces.get(name="Table 6"), now=max(late, now)
    )
    assert moved.space.name == "Table 6"
    assert moved.events.get(kind="modified").actor == staff


def test_staff_cannot_move_a_booking_to_another_venues_space(restaurant, meeting_rooms, guest, staff):
    reservation = book_table(restaurant, guest)
    with pytest.raises(PolicyViolation, match="same venue"):
        reservation_modify(reservation=reservation, actor=staff, space=meeting_rooms.spaces.get(name="Booth"))


def test_another_guest_cannot_touch_a_reservation(restaurant, guest, other_guest):
    reservation = book_table(restaurant, guest)
    with pytest.raises(NotAllowed):
        reservation_modify(reservation=reservation, actor=other_guest, party_size=2)
    with pytest.raises(NotAllowed):
        reservation_cancel(reservation=reservation, actor=other_guest)


# --- Cancel and end ----------------------------------------------------------------------------------


def test_guest_cancels_before_the_cut_off_and_the_table_is_free_again(restaurant, guest, other_guest):
    reservation = book_table(restaurant, guest, party_size=8)
    cancelled = reservation_cancel(reservation=reservation, actor=guest)
    again = reservation_cancel(reservation=reservation, actor=guest)

    assert cancelled.status == again.status == Reservation.Status.CANCELLED
    assert cancelled.cancelled_by == guest and cancelled.cancelled_at is not None
    assert reservation.events.filter(kind="cancelled").count() == 1  # cancelling twice is a no-op
    assert book_table(restaurant, other_guest, party_size=8).space.name == "Table 6"


def test_guest_cannot_cancel_after_the_cut_off_and_is_told_until_when(restaurant, guest):
    reservation = book_table(restaurant, guest)
    late = reservation.starts_at - timedelta(hours=3)
    deadline = (reservation.starts_at - timedelta(hours=24)).astimezone(restaurant.zone).strftime("%a %-d %b %H:%M")
    with pytest.raises(PolicyViolation) as refused:
        reservation_cancel(reservation=reservation, actor=guest, now=late)
    assert str(refused.value) == f"Cancellation closed 24 hours before the start ({deadline})."


def test_staff_may_always_cancel_but_must_give_a_reason(restaurant, guest, staff):
    reservation = book_table(restaurant, guest)
    late = reservation.starts_at - timedelta(hours=1)
    with pytest.raises(PolicyViolation, match="reason"):
        reservation_cancel(reservation=reservation, actor=staff, now=late)
    cancelled = reservation_cancel(reservation=reservation, actor=staff, reason="Kitchen flooded", now=late)
    assert cancelled.cancellation_reason == "Kitchen flooded"
    assert cancelled.events.get(kind="cancelled").details == {"by": "staff", "reason": "Kitchen flooded"}


def test_no_show_is_for_staff_once_the_booking_has_started(restaurant, guest, staff):
    reservation = book_table(restaurant, guest)
    with pytest.raises(NotAllowed):
        reservation_mark_no_show(reservation=reservation, actor=guest)
    with pytest.raises(PolicyViolation, match="once it has started"):
        reservation_mark_no_show(reservation=reservation, actor=staff)
    marked = reservation_mark_no_show(
        reservation=reservation, actor=staff, now=reservation.starts_at + timedelta(minutes=20)
    )
    assert marked.status == Reservation.Status.NO_SHOW


# --- Opening periods after midnight and DST ---------------------------------------------------------


@pytest.fixture
def late_bar(db):
    venue = Venue.objects.create(
        name="Night Owl",
        slug="night-owl",
        time_zone="Europe/Berlin",
        slot_interval_minutes=30,
        default_duration_minutes=60,
        min_lead_minutes=0,
        max_advance_days=60,
    )
    OpeningHours.objects.create(venue=venue, weekday=FRIDAY, opens_at=time(20), closes_at=time(2), closes_next_day=True)
    Space.objects.create(venue=venue, name="Bar table", capacity=4)
    return venue


def test_a_period_after_midnight_belongs_to_the_evening_it_started(late_bar, guest):
    friday = next_weekday(late_bar, FRIDAY)
    saturday = friday + timedelta(days=1)
    late = reservation_book(guest=guest, venue=late_bar, starts_at=at(late_bar, saturday, "00:30"), party_size=2)
    assert late.space.name == "Bar table"
    with pytest.raises(PolicyViolation, match="not open"):
        reservation_book(
            guest=guest,
            venue=late_bar,
            starts_at=at(late_bar, saturday, "01:30"),
            party_size=2,
            ends_at=at(late_bar, saturday, "02:30"),
        )


def test_a_booking_across_the_autumn_clock_change_lasts_its_real_duration(always_open, guest):
    venue = always_open
    now = datetime(2027, 10, 1, tzinfo=UTC)
    # 02:00 CEST on 31 October 2027; an hour later the clocks go back to 02:00 CET.
    start = datetime(2027, 10, 31, 0, tzinfo=UTC)

    first = reservation_book(guest=guest, venue=venue, starts_at=start.astimezone(venue.zone), party_size=1, now=now)
    second = reservation_book(guest=guest, venue=venue, starts_at=first.ends_at, party_size=1, now=now)

    assert first.ends_at - first.starts_at == timedelta(hours=1)
    assert first.ends_at == datetime(2027, 10, 31, 1, tzinfo=UTC)
    assert second.local_starts_at.strftime("%H:%M %Z") == "02:00 CET"


def test_a_stay_longer_than_thirty_nights_is_refused(hotel, guest):
    from reservations.periods import stay_period

    starts_at, ends_at = stay_period(hotel, next_weekday(hotel, FRIDAY), 31)
    with pytest.raises(PolicyViolation, match="at most 30 nights"):
        reservation_book(guest=guest, venue=hotel, starts_at=starts_at, ends_at=ends_at, party_size=1)
