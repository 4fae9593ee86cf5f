"""On the day, hosts mark parties as arrived and seated: from the day sheet or the admin, through the
booking service, with the history recording who did it."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import Reservation, ReservationEvent
from reservations.services import (
    reservation_book,
    reservation_mark_arrived,
    reservation_mark_no_show,
    reservation_mark_seated,
)
from spaces.models import VenueRole
from tests.reservations.conftest import make_user, with_authenticator

pytestmark = pytest.mark.django_db
Kind = ReservationEvent.Kind


@pytest.fixture
def host(always_open):
    user = with_authenticator(make_user("host@example.com", is_staff=True))
    VenueRole.objects.create(venue=always_open, user=user, role=VenueRole.Role.HOST)
    return user


def tonight(venue, guest) -> Reservation:
    """A booking at 23:00 today where the venue is, made two days ago."""
    starts_at = datetime.combine(timezone.now().astimezone(venue.zone).date(), time(23), tzinfo=venue.zone)
    return reservation_book(
        guest=guest, venue=venue, starts_at=starts_at, party_size=2, now=starts_at - timedelta(days=2)
    )


def arrival(client, booking, step):
    return client.post(reverse("staff:mark_arrival", args=[booking.reference]), {"step": step})


def test_a_host_marks_a_party_arrived_then_seated_from_the_day_sheet(always_open, guest, host):
    booking = tonight(always_open, guest)
    client = Client()
    client.force_login(host)

    sheet = client.get(reverse("staff:day_sheet"))
    assert 'value="arrived"' in sheet.content.decode()
    assert arrival(client, booking, "arrived").status_code == 302
    booking.refresh_from_db()
    assert booking.arrived_at is not None and booking.seated_at is None
    assert arrival(client, booking, "seated").status_code == 302

    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED and booking.seated_at >= booking.arrived_at
    events = list(booking.events.filter(kind__in=[Kind.ARRIVED, Kind.SEATED]).values_list("kind", "actor"))
    assert events == [(Kind.ARRIVED, host.pk), (Kind.SEATED, host.pk)]
    page = client.get(reverse("staff:day_sheet")).content.decode()
    assert f"Seated {booking.seated_at.astimezone(always_open.zone):%H:%M}" in page


def test_seating_a_party_notes_its_arrival_too_and_twice_changes_nothing(always_open, guest, host):
    booking = tonight(always_open, guest)

    reservation_mark_seated(reservation=booking, actor=host)
    again = reservation_mark_seated(reservation=booking, actor=host)

    assert again.arrived_at == again.seated_at
    assert list(booking.events.filter(kind__in=[Kind.ARRIVED, Kind.SEATED]).values_list("kind", flat=True)) == [
        Kind.ARRIVED,
        Kind.SEATED,
    ]


def test_arrivals_are_marked_on_the_day_and_by_the_venues_staff_only(always_open, guest, host, other_guest):
    booking = tonight(always_open, guest)
    tomorrow = reservation_book(
        guest=guest, venue=always_open, starts_at=booking.starts_at + timedelta(days=1), party_size=2
    )
    events = ReservationEvent.objects.count()

    with pytest.raises(PolicyViolation, match="on the day of its booking"):
        reservation_mark_arrived(reservation=tomorrow, actor=host)
    with pytest.raises(NotAllowed):
        reservation_mark_arrived(reservation=booking, actor=other_guest)
    guest_client = Client()
    guest_client.force_login(other_guest)
    assert arrival(guest_client, booking, "arrived").status_code == 302  # to the admin's log-in: not staff

    booking.refresh_from_db()
    assert booking.arrived_at is None and ReservationEvent.objects.count() == events


def test_a_party_that_arrived_is_not_a_no_show(always_open, guest, host):
    booking = tonight(always_open, guest)
    reservation_mark_arrived(reservation=booking, actor=host)

    with pytest.raises(PolicyViolation, match="arrived"):
        reservation_mark_no_show(reservation=booking, actor=host, now=booking.starts_at + timedelta(minutes=30))


def test_the_admin_marks_the_ticked_parties_as_arrived(always_open, guest, host):
    booking = tonight(always_open, guest)
    client = Client()
    client.force_login(host)

    response = client.post(
        reverse("admin:reservations_reservation_changelist"),
        {"action": "mark_arrived", "_selected_action": [booking.pk]},
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.arrived_at is not None
