"""A class sold by the seat on the guest's pages: its sessions with the seats left, a party's price,
and a hold of seats from the same buttons as a room."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from reservations.models import Reservation
from reservations.services import reservation_book
from spaces.models import Session, Space
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
SATURDAY = 5


def text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def pasta_class(meeting_rooms):
    space = Space.objects.create(
        venue=meeting_rooms, name="Pasta class", category="Class", capacity=12, price=Decimal("35"), sold_by_seat=True
    )
    Session.objects.create(space=space, weekday=SATURDAY, starts_at=time(10), minutes=180, seats=12)
    return space


def test_the_venue_page_lists_the_sessions_with_their_seats_left(client, pasta_class):
    venue = pasta_class.venue
    day = next_weekday(venue, SATURDAY)
    reservation_book(
        guest=make_user("early@example.com"), space=pasta_class, starts_at=at(venue, day, "10:00"), party_size=5
    )

    html = text(client.get(venue.get_absolute_url(), {"date": day.isoformat(), "party_size": 2, "duration": 60}))

    assert "<h4>Pasta class</h4>" in html
    assert "Sold by the seat · Class · €35 a seat (€70 for 2)" in html
    assert (
        '<button type="submit" class="slot">10:00<span class="visually-hidden"> in Pasta class</span></button>' in html
    )
    assert "7 seats left" in html


def test_a_guest_holds_seats_from_the_session_button(client, pasta_class, guest):
    venue = pasta_class.venue
    start = at(venue, next_weekday(venue, SATURDAY), "10:00")
    client.force_login(guest)
    choice = {"starts_at": start.isoformat(), "party_size": "3", "duration": "60", "space": str(pasta_class.pk)}

    page = text(client.get(reverse("spaces:hold", kwargs={"slug": venue.slug}), choice))
    response = client.post(reverse("spaces:hold", kwargs={"slug": venue.slug}), choice)

    assert "13:00" in page and "105" in page  # the session's end; three seats at 35
    assert response.status_code == 302
    seats = Reservation.objects.get(guest=guest)
    assert (seats.space, seats.party_size, seats.price) == (pasta_class, 3, Decimal("105.00"))
    assert seats.ends_at.astimezone(venue.zone).strftime("%H:%M") == "13:00"


def test_a_sold_out_session_offers_its_waitlist_and_freed_seats_are_offered_to_the_first_in_line(
    client, pasta_class, guest
):
    from reservations.models import WaitlistEntry
    from reservations.services import reservation_cancel

    venue = pasta_class.venue
    day = next_weekday(venue, SATURDAY)
    start = at(venue, day, "10:00")
    big = reservation_book(guest=make_user("big@example.com"), space=pasta_class, starts_at=start, party_size=10)
    reservation_book(guest=make_user("two@example.com"), space=pasta_class, starts_at=start, party_size=2)

    page = text(client.get(venue.get_absolute_url(), {"date": day.isoformat(), "party_size": 3, "duration": 60}))
    assert "10:00: sold out" in page and "Join the waitlist" in page

    client.force_login(guest)
    joined = client.post(
        reverse("spaces:waitlist_session", kwargs={"slug": venue.slug}),
        {"space": pasta_class.pk, "starts_at": start.isoformat(), "party_size": 3},
    )
    assert joined.status_code == 302
    entry = WaitlistEntry.objects.get(guest=guest)
    assert (entry.space, entry.party_size, entry.earliest.strftime("%H:%M")) == (pasta_class, 3, "10:00")

    reservation_cancel(reservation=big, actor=big.guest)
    entry.refresh_from_db()
    assert entry.status == "offered"
    assert (entry.offer.space, entry.offer.party_size, entry.offer.starts_at) == (pasta_class, 3, start)


def test_a_restaurant_that_assigns_tables_still_sells_its_tasting_by_the_seat(client, restaurant, guest):
    tasting = Space.objects.create(
        venue=restaurant, name="Chef's table", capacity=8, price=Decimal("90"), sold_by_seat=True
    )
    Session.objects.create(space=tasting, weekday=1, starts_at=time(19), minutes=150, seats=8)
    day = next_weekday(restaurant, 1)

    html = text(client.get(restaurant.get_absolute_url(), {"date": day.isoformat(), "party_size": 2}))
    assert "Sold by the seat on" in html and "Chef&#x27;s table" in html and "8 seats left" in html
    api = client.get(f"/api/availability/{day.isoformat()}", {"venue": restaurant.slug, "party_size": 2}).json()
    assert [entry["name"] for entry in api["spaces"]] == ["Chef's table"]  # the tables stay behind options

    client.force_login(guest)
    start = at(restaurant, day, "19:00")
    response = client.post(
        reverse("spaces:hold", kwargs={"slug": restaurant.slug}),
        {"starts_at": start.isoformat(), "party_size": "2", "space": str(tasting.pk)},
    )
    assert response.status_code == 302
    seats = Reservation.objects.get(guest=guest)
    assert (seats.space, seats.price, seats.ends_at - seats.starts_at) == (
        tasting,
        Decimal("180.00"),
        timedelta(minutes=150),
    )
