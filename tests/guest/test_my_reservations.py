"""My reservations: upcoming, then cancelled (still ahead), then past, each under its heading, in a
constant number of queries however many bookings."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from reservations.my_reservations import my_reservations
from tests.booked import write_directly
from tests.guest.test_booking_pages import text
from tests.reservations.conftest import at

pytestmark = pytest.mark.django_db
Status = Reservation.Status


def row(venue, guest, days: int, clock="19:00", status=Status.CONFIRMED, table="Table 1", **extra):
    """A booking `days` from today (negative: in the past), written as the services would leave it."""
    day = timezone.now().astimezone(venue.zone).date() + timedelta(days=days)
    starts_at = at(venue, day, clock)
    return Reservation(
        guest=guest,
        space=venue.spaces.get(name=table),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
        party_size=2,
        status=status,
        currency=venue.currency,
        **extra,
    )


@pytest.fixture
def mixed(restaurant, guest):
    now = timezone.now()
    rows = {
        "confirmed_soon": row(restaurant, guest, 3),
        "confirmed_later": row(restaurant, guest, 10, table="Table 2"),
        "live_hold": row(restaurant, guest, 5, status=Status.HELD, hold_expires_at=now + timedelta(minutes=8)),
        "cancelled_next_friday": row(restaurant, guest, 4, status=Status.CANCELLED, cancelled_at=now),
        "cancelled_later": row(restaurant, guest, 20, status=Status.CANCELLED, cancelled_at=now),
        "cancelled_last_month": row(restaurant, guest, -30, status=Status.CANCELLED, cancelled_at=now),
        "completed": row(restaurant, guest, -7, status=Status.COMPLETED),
        "no_show": row(restaurant, guest, -14, status=Status.NO_SHOW),
        "expired_hold": row(restaurant, guest, 6, status=Status.EXPIRED, hold_expires_at=now - timedelta(hours=1)),
        "ran_out_unswept": row(
            restaurant, guest, 7, status=Status.HELD, hold_expires_at=now - timedelta(minutes=1), table="Table 3"
        ),
    }
    write_directly(*rows.values())
    return rows


def references(queryset) -> list[str]:
    return [reservation.reference for reservation in queryset]


def test_the_three_parts_hold_each_booking_where_a_guest_looks_for_it(mixed, guest):
    mine = my_reservations(guest=guest)

    assert references(mine.upcoming) == [
        mixed["confirmed_soon"].reference,
        mixed["live_hold"].reference,
        mixed["confirmed_later"].reference,
    ]  # by start
    assert references(mine.cancelled) == [
        mixed["cancelled_next_friday"].reference,
        mixed["cancelled_later"].reference,
    ]  # a cancelled booking for next Friday is not "past"
    assert references(mine.past) == [
        mixed["ran_out_unswept"].reference,
        mixed["expired_hold"].reference,
        mixed["completed"].reference,
        mixed["no_show"].reference,
        mixed["cancelled_last_month"].reference,
    ]  # newest first


def test_the_page_shows_upcoming_then_cancelled_then_past_each_headed(client, mixed, guest):
    client.force_login(guest)

    html = text(client.get(reverse("reservations:list")))

    upcoming = html.index('<h2 id="upcoming">Upcoming</h2>')
    cancelled = html.index('<h2 id="cancelled">Cancelled</h2>')
    past = html.index('<h2 id="past">Past</h2>')
    assert upcoming < cancelled < past
    assert '<a href="#cancelled">Cancelled (2)</a>' in html and '<a href="#upcoming">Upcoming (3)</a>' in html

    def part(reservation):
        position = html.index(reservation.get_absolute_url())
        return "past" if position > past else "cancelled" if position > cancelled else "upcoming"

    assert part(mixed["cancelled_next_friday"]) == "cancelled"
    assert part(mixed["cancelled_last_month"]) == "past"
    assert part(mixed["live_hold"]) == "upcoming"
    assert part(mixed["expired_hold"]) == "past"
    assert part(mixed["ran_out_unswept"]) == "past"
    assert "Hold ran out" in html[past:]  # a hold past its end reads as such, not "Held"
    assert "(Berlin time)" in html and "(Europe/Berlin)" not in html  # the zone in words, not its IANA name


def test_nothing_cancelled_ahead_says_so(client, restaurant, guest):
    client.force_login(guest)

    html = text(client.get(reverse("reservations:list")))

    assert "No cancelled bookings ahead." in html
    assert "No upcoming reservations." in html


def test_another_guests_bookings_are_not_listed(client, mixed, other_guest):
    client.force_login(other_guest)

    html = text(client.get(reverse("reservations:list")))

    assert all(reservation.get_absolute_url() not in html for reservation in mixed.values())


def test_the_page_takes_as_many_queries_for_many_bookings_as_for_one_of_each(client, restaurant, guest, mixed):
    client.force_login(guest)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reservations:list")).status_code == 200
        return len(captured)

    few = count()
    now = timezone.now()
    write_directly(
        *(row(restaurant, guest, 30 + day, table="Table 4") for day in range(8)),
        *(row(restaurant, guest, 40 + day, status=Status.CANCELLED, cancelled_at=now) for day in range(8)),
        *(row(restaurant, guest, -40 - day, status=Status.COMPLETED, table="Table 5") for day in range(8)),
    )
    assert count() == few
