"""Spaces priced by the hour (Space.price_per "hour": meeting rooms): a booking by the slot costs the
price an hour times the hours booked, to the cent, halves up; a space priced per booking costs the
same for any length; seats and nights are priced as before. The one price (reservations/pricing.py)
is what a hold stores, what a change of length re-prices, what the availability and the API show."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from reservations import pricing
from reservations.selectors import venue_availability
from reservations.services import reservation_hold, reservation_modify
from spaces.models import Space, Venue

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1
HOUR = Space.PricePer.HOUR


@pytest.fixture
def rooms(meeting_rooms):
    """The test meeting rooms with a Booth at 40.00 an hour, bookable for 30 minutes to 4 hours; the
    Loft stays at 80.00 a booking."""
    meeting_rooms.allowed_durations = [30, 120, 240]
    meeting_rooms.save()
    meeting_rooms.spaces.filter(name="Booth").update(price=Decimal("40.00"), price_per=HOUR)
    return meeting_rooms


def booth(venue: Venue) -> Space:
    return venue.spaces.get(name="Booth")


def period(venue: Venue, clock: str, minutes: int):
    start = at(venue, next_weekday(venue, TUESDAY), clock)
    return start, start + timedelta(minutes=minutes)


def test_half_an_hour_and_four_hours_of_a_room_priced_by_the_hour_cost_their_hours(rooms):
    assert pricing.booking_price(booth(rooms), *period(rooms, "10:00", 30)) == Decimal("20.00")
    assert pricing.booking_price(booth(rooms), *period(rooms, "10:00", 240)) == Decimal("160.00")
    loft = rooms.spaces.get(name="Loft")  # per booking: the same for any length
    assert pricing.booking_price(loft, *period(rooms, "10:00", 30)) == Decimal("80")
    assert pricing.booking_price(loft, *period(rooms, "10:00", 240)) == Decimal("80")


def test_an_hours_price_is_rounded_to_the_cent_halves_up(rooms):
    room = booth(rooms)
    room.price = Decimal("10.01")
    assert pricing.slot_price(room, 30) == Decimal("5.01")  # 5.005: half up, not to the even 5.00
    room.price = Decimal("25.00")
    assert pricing.slot_price(room, 50) == Decimal("20.83")  # 20.8333…
    assert pricing.slot_price(room, 90) == Decimal("37.50")


def test_a_hold_stores_the_price_of_its_length_and_a_change_of_length_reprices_it(rooms, guest):
    start, end = period(rooms, "10:00", 30)
    held = reservation_hold(guest=guest, space=booth(rooms), starts_at=start, ends_at=end, party_size=2)
    assert held.price == Decimal("20.00")

    longer = reservation_modify(reservation=held, actor=guest, ends_at=start + timedelta(hours=4))
    assert longer.price == Decimal("160.00")
    longer.refresh_from_db()
    assert longer.price == Decimal("160.00")

    moved = reservation_modify(reservation=longer, actor=guest, starts_at=start + timedelta(hours=1))
    assert moved.price == Decimal("160.00")  # the same four hours an hour later
    assert moved.ends_at - moved.starts_at == timedelta(hours=4)


def test_the_availability_prices_each_room_for_the_duration_asked(rooms):
    day = next_weekday(rooms, TUESDAY)

    def prices(duration):
        found = venue_availability(venue=rooms, day=day, party_size=4, duration=duration)
        return {entry.space.name: entry.price for entry in found.spaces}

    assert prices(30) == {"Booth": Decimal("20.00"), "Loft": Decimal("80")}
    assert prices(240) == {"Booth": Decimal("160.00"), "Loft": Decimal("80")}
    assert prices(None) == {"Booth": Decimal("40.00"), "Loft": Decimal("80")}  # the default hour


def test_the_apis_availability_gives_the_price_of_the_duration_asked(rooms, client):
    day = next_weekday(rooms, TUESDAY)

    def booth_price(**query):
        response = client.get(f"/api/availability/{day}", {"venue": rooms.slug, "party_size": 2, **query})
        assert response.status_code == 200, response.content
        (entry,) = [space for space in response.json()["spaces"] if space["name"] == "Booth"]
        return entry["price"]

    assert booth_price(duration=30) == "20.00"
    assert booth_price(duration=240) == "160.00"


def test_seats_and_nights_are_priced_as_before_whatever_price_per_says(rooms, hotel):
    from reservations.periods import stay_period

    room = hotel.spaces.get(name="102")  # 90.00 a night
    room.price_per = HOUR  # meaningless by the night: ignored
    assert pricing.booking_price(room, *stay_period(hotel, next_weekday(hotel, TUESDAY), 2)) == Decimal("180")

    session_room = Space.objects.create(
        venue=rooms, name="Class", capacity=10, price=Decimal("35"), sold_by_seat=True, price_per=HOUR
    )
    assert pricing.booking_price(session_room, *period(rooms, "10:00", 180), party_size=3) == Decimal("105")


def test_the_demos_meeting_rooms_are_priced_by_the_hour_and_a_meeting_room_venue():
    call_command("seed_demo", stdout=StringIO())
    foundry = Venue.objects.get(slug="foundry-rooms")
    assert foundry.kind == Venue.Kind.MEETING_ROOMS
    rooms = {space.name: (space.price, space.price_per) for space in foundry.spaces.filter(sold_by_seat=False)}
    assert rooms == {
        "Studio": (Decimal("20.00"), HOUR),
        "Workshop": (Decimal("30.00"), HOUR),
        "Boardroom": (Decimal("45.00"), HOUR),
        "Loft": (Decimal("60.00"), HOUR),
    }
    loft = foundry.spaces.get(name="Loft")
    assert pricing.booking_price(loft, *period(foundry, "13:00", 240)) == Decimal("240.00")
    assert pricing.booking_price(loft, *period(foundry, "13:00", 30)) == Decimal("30.00")


def test_seeding_again_leaves_an_existing_demo_venue_its_kind_and_prices():
    call_command("seed_demo", stdout=StringIO())
    foundry = Venue.objects.get(slug="foundry-rooms")
    Venue.objects.filter(pk=foundry.pk).update(kind=Venue.Kind.OTHER)  # as seeded before the kind existed
    foundry.spaces.filter(name="Loft").update(price=Decimal("150.00"), price_per=Space.PricePer.BOOKING)

    call_command("seed_demo", stdout=StringIO())

    foundry.refresh_from_db()
    assert foundry.kind == Venue.Kind.OTHER
    assert foundry.spaces.filter(name="Loft", price=Decimal("150.00"), price_per="booking").exists()


def test_the_admin_sets_price_per_on_a_space_and_in_the_venues_space_rows(rooms, staff, client):
    client.force_login(staff)
    venue_page = client.get(reverse("admin:spaces_venue_change", args=[rooms.pk])).content.decode()
    assert 'name="spaces-0-price_per"' in venue_page

    room = booth(rooms)
    url = reverse("admin:spaces_space_change", args=[room.pk])
    assert 'name="price_per"' in client.get(url).content.decode()
    form = {"venue": str(rooms.pk), "name": "Booth", "category": "", "capacity": "4", "min_party_size": "1"}
    form |= {"price": "12.50", "price_per": "booking", "is_active": "on", "description": ""}
    form |= {"sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0"}
    form |= {"calendar_feeds-TOTAL_FORMS": "0", "calendar_feeds-INITIAL_FORMS": "0"}
    response = client.post(url, form)
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.price, room.price_per) == (Decimal("12.50"), "booking")
