"""A booking's history says what changed (reservations.wording.history_words, shared by the guest's
page and the admin): before → after, in the venue's zone; old events without it still read."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from reservations.models import ReservationEvent
from reservations.periods import stay_period
from reservations.services import reservation_book, reservation_cancel, reservation_modify
from reservations.wording import changes_words, history_words

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def dinner(venue, guest, clock="19:00", party_size=2, **extra):
    return reservation_book(
        guest=guest,
        venue=venue,
        starts_at=at(venue, next_weekday(venue, TUESDAY), clock),
        party_size=party_size,
        **extra,
    )


def last_words(reservation) -> str:
    event = reservation.events.order_by("at", "pk").last()
    return history_words(event, reservation.space.venue)


def test_a_new_time_and_party_say_before_and_after(restaurant, guest):
    booking = dinner(restaurant, guest, "19:00", party_size=3)  # a table for 4

    changed = reservation_modify(
        reservation=booking, actor=guest, starts_at=booking.starts_at + timedelta(minutes=30), party_size=4
    )

    assert last_words(changed) == "Modified: 19:00 → 19:30, 3 → 4 guests"  # the same table


def test_a_new_table_says_which(restaurant, guest, staff):
    booking = dinner(restaurant, guest)  # Table 1
    table_3 = restaurant.spaces.get(name="Table 3")

    changed = reservation_modify(reservation=booking, actor=staff, space=table_3)

    assert last_words(changed) == "Modified: Table 1 → Table 3"


def test_another_day_says_the_days_in_the_venues_zone(meeting_rooms, guest):
    # Foundry Test is in New York: the words are New York's times, whatever the server's zone.
    day = next_weekday(meeting_rooms, TUESDAY)
    booth = meeting_rooms.spaces.get(name="Booth")
    booking = reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "09:00"), party_size=2)
    next_day = at(meeting_rooms, day + timedelta(days=1), "10:30")

    changed = reservation_modify(
        reservation=booking, actor=guest, starts_at=next_day, ends_at=next_day + timedelta(hours=1)
    )

    tuesday, wednesday = f"Tue {day.day} {day:%b}", f"Wed {(day + timedelta(days=1)).day} {day + timedelta(days=1):%b}"
    assert last_words(changed) == f"Modified: {tuesday} 09:00 → {wednesday} 10:30"


def test_a_longer_booking_says_its_length(meeting_rooms, guest):
    day = next_weekday(meeting_rooms, TUESDAY)
    booth = meeting_rooms.spaces.get(name="Booth")
    booking = reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "09:00"), party_size=2)

    changed = reservation_modify(reservation=booking, actor=guest, ends_at=booking.starts_at + timedelta(hours=2))

    assert last_words(changed) == "Modified: until 10:00 → 11:00"


def test_notes_say_added_changed_or_removed_without_their_text(restaurant, guest):
    booking = dinner(restaurant, guest)

    added = reservation_modify(reservation=booking, actor=guest, notes="Nut allergy")
    assert last_words(added) == "Modified: notes added"
    changed = reservation_modify(reservation=booking, actor=guest, notes="Nut and gluten allergy")
    assert last_words(changed) == "Modified: notes changed"
    removed = reservation_modify(reservation=booking, actor=guest, notes="")
    assert last_words(removed) == "Modified: notes removed"


def test_a_new_name_and_phone_are_said_to_have_changed_but_not_recorded(restaurant, guest):
    booking = dinner(restaurant, guest)

    changed = reservation_modify(
        reservation=booking, actor=guest, contact_name="Ann Other", contact_phone="+49 30 1234567"
    )

    assert last_words(changed) == "Modified: name and phone for the booking changed"
    event = changed.events.get(kind="modified")
    assert "Ann Other" not in str(event.details) and "1234567" not in str(event.details)


def test_a_stay_says_its_dates_nights_and_room_type(hotel, guest):
    arrival = next_weekday(hotel, TUESDAY, 2)
    starts_at, ends_at = stay_period(hotel, arrival, 2)
    stay = reservation_book(
        guest=guest, venue=hotel, category="Double", starts_at=starts_at, ends_at=ends_at, party_size=2
    )
    later, later_end = stay_period(hotel, arrival + timedelta(days=1), 3)

    changed = reservation_modify(reservation=stay, actor=guest, starts_at=later, ends_at=later_end, category="Family")

    wednesday = arrival + timedelta(days=1)
    words = last_words(changed)
    assert words.startswith(
        f"Modified: Tue {arrival.day} {arrival:%b} → Wed {wednesday.day} {wednesday:%b}, 2 → 3 nights"
    )
    assert "Double → Family" in words
    assert "102 → 201" in words  # the room itself


def test_confirmed_cancelled_and_paid_say_their_details(restaurant, guest, staff):
    booking = dinner(restaurant, guest, notes="Window")
    venue = restaurant

    confirmed = booking.events.get(kind="confirmed")
    assert history_words(confirmed, venue) == "Confirmed, with notes"
    cancelled = reservation_cancel(reservation=booking, actor=staff, reason="The kitchen flooded")
    assert history_words(cancelled.events.get(kind="cancelled"), venue) == "Cancelled: The kitchen flooded"
    paid = ReservationEvent(kind="paid", details={"amount": "40.00", "currency": "EUR"})
    assert history_words(paid, venue) == "Paid: €40"


def test_old_events_without_before_and_after_still_read(restaurant):
    old_shapes = [{}, {"changes": "starts_at"}, {"changes": {"starts_at": "2026-01-01T19:00"}}, {"changes": None}]

    for details in old_shapes:
        assert history_words(ReservationEvent(kind="modified", details=details), restaurant) == "Modified"
    assert history_words(ReservationEvent(kind="modified", details=[]), restaurant) == "Modified"
    unreadable = {"starts_at": {"before": "yesterday", "after": "today"}, "party_size": {"before": 2, "after": 4}}
    assert changes_words(unreadable, restaurant) == "2 → 4 guests"


def test_the_guests_page_and_the_admin_say_what_changed(client, restaurant, guest, staff):
    booking = dinner(restaurant, guest, "19:00", party_size=3)
    reservation_modify(
        reservation=booking, actor=guest, starts_at=booking.starts_at + timedelta(minutes=30), party_size=4
    )
    reservation_modify(reservation=booking, actor=guest, notes="A high chair")

    client.force_login(guest)
    page = " ".join(client.get(booking.get_absolute_url()).content.decode().split())
    assert "— Modified: 19:00 → 19:30, 3 → 4 guests" in page
    assert "— Modified: notes added" in page

    staff_client = Client()
    staff_client.force_login(staff)
    admin = " ".join(
        staff_client.get(reverse("admin:reservations_reservation_change", args=[booking.pk])).content.decode().split()
    )
    assert "Modified: 19:00 → 19:30, 3 → 4 guests" in admin
