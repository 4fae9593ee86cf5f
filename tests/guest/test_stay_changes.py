"""A hotel's guest pages with nightly rates and stay limits: prices before booking with their nights,
a stay limit explained where the guest searches and chooses, and changing a stay (its dates, its room
type, its room), worded as dates, not as a time (issue 18)."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reservations.models import Reservation
from reservations.periods import stay_period
from reservations.services import reservation_book
from spaces.models import Rate, Space, StayLimit, Venue
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY, THURSDAY, FRIDAY, SATURDAY = 1, 3, 4, 5
WHOLE_YEAR = {"starts_on": date(2000, 1, 1), "ends_on": date(2000, 12, 31)}


def text(response) -> str:
    return " ".join(response.content.decode().split())


def search(venue: Venue, arrival: date, nights: int, party_size: int = 2) -> tuple[str, dict]:
    return venue.get_absolute_url(), {"date": arrival.isoformat(), "party_size": str(party_size), "nights": str(nights)}


def choice(venue: Venue, arrival: date, nights: int, party_size: int = 2, **extra) -> dict:
    starts_at, _ = stay_period(venue, arrival, nights)
    return {"starts_at": starts_at.isoformat(), "nights": str(nights), "party_size": str(party_size), **extra}


def book(venue: Venue, guest, arrival: date, nights: int, **extra) -> Reservation:
    starts_at, ends_at = stay_period(venue, arrival, nights)
    return reservation_book(guest=guest, venue=venue, starts_at=starts_at, ends_at=ends_at, party_size=2, **extra)


@pytest.fixture
def weekend_rate(hotel):
    return Rate.objects.create(
        venue=hotel, name="Weekends", weekdays=[FRIDAY, SATURDAY], nightly_price=Decimal("150"), **WHOLE_YEAR
    )


@pytest.fixture
def saturday_limit(hotel):
    return StayLimit.objects.create(venue=hotel, weekdays=[SATURDAY], min_nights=2, **WHOLE_YEAR)


# --- Prices before booking ---------------------------------------------------------------------


def test_the_search_shows_each_room_type_at_its_nightly_rates(client, hotel, weekend_rate):
    thursday = next_weekday(hotel, THURSDAY, 2)

    html = text(client.get(*search(hotel, thursday, 3)))

    # Double: Thursday 90, Friday and Saturday 150.
    assert "£390</strong> for 3 nights" in html
    assert "1 night × £90, 2 nights × £150 (Weekends)" in html


def test_the_choice_and_the_review_show_the_total_and_its_nights(client, hotel, guest, weekend_rate):
    thursday = next_weekday(hotel, THURSDAY, 2)
    picked = choice(hotel, thursday, 3, category="Double")
    hold_url = reverse("spaces:hold", kwargs={"slug": hotel.slug})

    before = text(client.get(hold_url, picked))
    client.force_login(guest)
    response = client.post(hold_url, picked)
    review = text(client.get(response["Location"]))

    for page in (before, review):
        assert "<dt>Price</dt><dd>£390</dd>" in page and "1 night × £90, 2 nights × £150 (Weekends)" in page
    assert Reservation.objects.get().price == Decimal("390.00")


def test_the_hotel_page_reads_the_rates_once_whatever_the_rooms(client, hotel, weekend_rate, saturday_limit):
    thursday = next_weekday(hotel, THURSDAY, 2)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(*search(hotel, thursday, 3)).status_code == 200
        return len(captured)

    few = count()  # 4 rooms
    Space.objects.bulk_create(
        Space(venue=hotel, name=f"3{number:02d}", category=("Double", "Family")[number % 2], capacity=4, price=90)
        for number in range(26)
    )
    assert count() == few


# --- Stay limits, explained -----------------------------------------------------------------------


def test_a_room_type_refused_by_a_stay_limit_says_why_in_the_results(client, hotel):
    saturday = next_weekday(hotel, SATURDAY, 2)
    StayLimit.objects.create(venue=hotel, category="Double", weekdays=[SATURDAY], min_nights=2, **WHOLE_YEAR)

    html = text(client.get(*search(hotel, saturday, 1)))

    assert "Double: stays that include a Saturday night last at least 2 nights." in html
    assert 'name="category" value="Double"' not in html  # no button for it
    assert 'name="category" value="Family"' in html  # the Family room is offered


def test_a_stay_every_room_refuses_is_told_next_to_the_nights(client, hotel, saturday_limit):
    saturday = next_weekday(hotel, SATURDAY, 2)

    html = text(client.get(*search(hotel, saturday, 1)))

    assert (
        '<div class="field-errors" id="id_nights_error"><ul class="errorlist"><li>Stays that include a Saturday '
        "night last at least 2 nights." in html
    )
    assert "Join the waitlist" not in html


def test_a_hold_refused_by_a_stay_limit_shows_the_reason_and_books_nothing(client, hotel, guest, saturday_limit):
    saturday = next_weekday(hotel, SATURDAY, 2)
    client.force_login(guest)

    response = client.post(reverse("spaces:hold", kwargs={"slug": hotel.slug}), choice(hotel, saturday, 1))
    choice_page = client.get(
        reverse("spaces:hold", kwargs={"slug": hotel.slug}), choice(hotel, saturday, 1, category="Double")
    )

    assert response.status_code == 422
    assert "Stays that include a Saturday night last at least 2 nights." in text(response)
    assert not Reservation.objects.exists()
    assert "Stays that include a Saturday night last at least 2 nights." in text(choice_page)
    assert "Hold this booking" not in text(choice_page)


def test_a_guest_who_picks_rooms_sees_the_reason_by_each_room(client, hotel):
    hotel.assignment = Venue.Assignment.GUEST_PICKS
    hotel.save()
    StayLimit.objects.create(venue=hotel, category="Family", weekdays=[SATURDAY], min_nights=3, **WHOLE_YEAR)
    saturday = next_weekday(hotel, SATURDAY, 2)

    html = text(client.get(*search(hotel, saturday, 2)))

    assert html.count("Family: stays that include a Saturday night last at least 3 nights.") == 1
    family = Space.objects.get(venue=hotel, category="Family")
    assert f'name="space" value="{family.pk}"' not in html
    assert f'name="space" value="{Space.objects.get(venue=hotel, name="102").pk}"' in html


# --- Changing a stay ------------------------------------------------------------------------------


def modify_url(reservation: Reservation) -> str:
    return reverse("reservations:modify", kwargs={"reference": reservation.reference})


def test_the_modify_page_offers_every_room_type(client, hotel, guest):
    tuesday = next_weekday(hotel, TUESDAY, 2)
    reservation = book(hotel, guest, tuesday, 2, category="Double")
    client.force_login(guest)

    html = text(client.get(modify_url(reservation)))

    assert "Change the dates" in html
    for category in ("Double", "Family"):
        assert f'name="category" value="{category}"' in html
    assert '<h4>Double <span class="muted current">(booked now)</span></h4>' in html


def test_a_stay_moves_to_another_room_type_and_the_price_follows(client, hotel, guest):
    tuesday = next_weekday(hotel, TUESDAY, 2)
    reservation = book(hotel, guest, tuesday, 2, category="Double")
    client.force_login(guest)

    confirm_page = client.post(modify_url(reservation), choice(hotel, tuesday, 3, category="Family"))
    response = client.post(modify_url(reservation), choice(hotel, tuesday, 3, category="Family", money_confirmed="1"))

    assert "room type Family" in text(confirm_page) and "£180 → <strong>£450</strong>" in text(confirm_page)
    assert response.status_code == 302, text(response)
    reservation.refresh_from_db()
    assert (reservation.space.category, reservation.requested_category) == ("Family", "Family")
    assert reservation.price == Decimal("450.00")  # 3 × 150
    assert reservation.nights == 3


def test_a_stay_cannot_move_into_a_room_type_that_is_taken(client, hotel, guest, other_guest):
    tuesday = next_weekday(hotel, TUESDAY, 2)
    book(hotel, other_guest, tuesday + timedelta(days=1), 1, category="Family")  # the only Family room
    reservation = book(hotel, guest, tuesday, 2, category="Double")
    client.force_login(guest)

    response = client.post(modify_url(reservation), choice(hotel, tuesday, 2, category="Family"))

    assert response.status_code == 409
    assert "No room for 2 is free for those nights any more." in text(response)
    reservation.refresh_from_db()
    assert (reservation.space.category, reservation.price) == ("Double", Decimal("180.00"))


def test_a_change_refused_by_a_stay_limit_says_why_on_the_modify_page(client, hotel, guest, saturday_limit):
    friday = next_weekday(hotel, FRIDAY, 2)
    reservation = book(hotel, guest, friday, 2, category="Double")  # Friday and Saturday
    client.force_login(guest)

    response = client.post(modify_url(reservation), choice(hotel, friday + timedelta(days=1), 1, category="Double"))

    assert response.status_code == 422
    assert "Stays that include a Saturday night last at least 2 nights." in text(response)
    reservation.refresh_from_db()
    assert reservation.nights == 2


def test_where_the_guest_picks_the_room_a_stay_moves_to_another_room(client, hotel, guest):
    hotel.assignment = Venue.Assignment.GUEST_PICKS
    hotel.save()
    tuesday = next_weekday(hotel, TUESDAY, 2)
    double = Space.objects.get(venue=hotel, name="102")
    family = Space.objects.get(venue=hotel, name="201")
    starts_at, ends_at = stay_period(hotel, tuesday, 2)
    reservation = reservation_book(guest=guest, space=double, starts_at=starts_at, ends_at=ends_at, party_size=2)
    client.force_login(guest)

    page = text(client.get(modify_url(reservation)))
    response = client.post(
        modify_url(reservation), choice(hotel, tuesday, 2, space=str(family.pk), money_confirmed="1")
    )

    assert f'name="space" value="{family.pk}"' in page
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert (reservation.space, reservation.price) == (family, Decimal("300.00"))


def test_a_hotel_says_change_the_dates_where_a_restaurant_says_change_the_time(client, hotel, restaurant, guest):
    stay = book(hotel, guest, next_weekday(hotel, TUESDAY, 2), 2, category="Double")
    table = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
        party_size=2,
    )
    client.force_login(guest)

    hotel_page = text(client.get(stay.get_absolute_url()))
    restaurant_page = text(client.get(table.get_absolute_url()))

    assert "change the dates" in hotel_page and "change the time" not in hotel_page
    assert "change the time" in restaurant_page and "change the dates" not in restaurant_page
    assert "Check-in" in hotel_page and "Room" in hotel_page


def test_a_changed_stay_is_told_in_dates(client, hotel, guest):
    tuesday = next_weekday(hotel, TUESDAY, 2)
    reservation = book(hotel, guest, tuesday, 2, category="Double")
    client.force_login(guest)

    response = client.post(
        modify_url(reservation), choice(hotel, tuesday, 3, category="Double", money_confirmed="1"), follow=True
    )

    assert "Your stay is changed:" in text(response)
    assert "(3 nights)" in text(response)


def test_a_stay_in_berlin_across_the_clock_change_is_priced_by_its_nights(client, guest):
    venue = Venue.objects.create(
        name="Spree Pages",
        slug="spree-pages",
        kind=Venue.Kind.HOTEL,
        time_zone="Europe/Berlin",
        booking_mode=Venue.BookingMode.NIGHTS,
        check_in_time=time(15),
        check_out_time=time(11),
        min_lead_minutes=0,
        max_advance_days=400,
    )
    Space.objects.create(venue=venue, name="1", category="Double", capacity=2, price=Decimal("100"))
    Rate.objects.create(venue=venue, name="Sunday", weekdays=[6], nightly_price=Decimal("70"), **WHOLE_YEAR)
    today = date.today()
    candidates = [date(year, 10, 31) for year in (today.year, today.year + 1)]
    sunday = next(
        last - timedelta(days=(last.weekday() - 6) % 7)
        for last in candidates
        if last - timedelta(days=(last.weekday() - 6) % 7) > today + timedelta(days=2)
    )

    html = text(client.get(*search(venue, sunday - timedelta(days=1), 2)))  # Saturday and Sunday nights

    assert "€170</strong> for 2 nights" in html
    assert "1 night × €100, 1 night × €70 (Sunday)" in html
