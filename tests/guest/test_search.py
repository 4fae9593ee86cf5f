"""The search across venues on the home page, a venue page opened from it, the defaults a guest
expects, what a restaurant's page says instead of listing its tables, and the search forms' errors."""

from datetime import time, timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guest import forms as guest_forms
from guest.forms import AvailabilityForm, BookingDetailsForm, ChoiceForm, SearchForm, WaitlistForm
from reservations.models import Reservation
from reservations.periods import stay_period
from reservations.search import first_bookable_day, search, venues_with_rules
from reservations.selectors import venue_availability
from reservations.services import reservation_book, reservation_hold, rules
from spaces.models import (
    Closure,
    Combination,
    OpeningHours,
    PacingRule,
    Rate,
    Session,
    Shift,
    Space,
    StayLimit,
    TurnTime,
    Venue,
)
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
MONDAY, TUESDAY, SATURDAY = 0, 1, 5
HOME = reverse("home")


def text(response) -> str:
    return " ".join(response.content.decode().split())


def card(html: str, venue: Venue) -> str:
    """The search answer's card of one venue."""
    start = html.index(f">{venue.name}</a></h4>")
    end = html.find('<li class="card answer', start)
    return html[start : end if end != -1 else len(html)]


def ask(client, day, clock="19:00", party=2, **extra):
    return client.get(HOME, {"date": day.isoformat(), "time": clock, "party_size": str(party), **extra})


def book(venue, day, clock, party=2, **extra):
    return reservation_book(
        guest=make_user(f"g{Reservation.objects.count()}@example.com"),
        venue=venue,
        starts_at=at(venue, day, clock),
        party_size=party,
        **extra,
    )


def starts(slots) -> list[str]:
    return [slot.starts_at.isoformat() for slot in slots]


# --- Answers across venues --------------------------------------------------------------------


def test_the_home_page_answers_with_each_venues_nearest_free_times(client, restaurant, hotel, meeting_rooms):
    day = next_weekday(restaurant, TUESDAY)

    html = text(ask(client, day, "19:00", 2))

    assert "For 2 guests on " in html
    trattoria = card(html, restaurant)
    # Three starts before the asked time and three from it, held at once where the venue assigns tables.
    for clock in ("18:15", "18:30", "18:45", "19:00", "19:15", "19:30"):
        assert f'class="slot{" chosen" if clock == "19:00" else ""}"' in trattoria
        assert f'value="{at(restaurant, day, clock).isoformat()}"' in trattoria
    assert at(restaurant, day, "18:00").isoformat() not in trattoria
    assert at(restaurant, day, "19:45").isoformat() not in trattoria
    assert 'action="/venues/trattoria-test/hold/"' in trattoria
    assert "Berlin time" in trattoria
    # A hotel: a room for the nights, each free room type with the stay's price, chosen at once.
    harbour = card(html, hotel)
    assert "A room for 1 night from" in harbour
    assert "Double</span>: <strong>£90</strong>" in harbour
    assert "Family</span>: <strong>£150</strong>" in harbour
    assert "Single" not in harbour  # a single room does not take two
    assert 'name="category" value="Double"' in harbour
    # Where guests pick the room, a time opens the venue page at that time.
    foundry = card(html, meeting_rooms)
    assert "New York time" in foundry
    assert 'href="/venues/foundry-test/?date=' in foundry
    assert "time=19%3A00#chosen-time" in foundry


def test_the_kind_of_venue_narrows_the_search(client, restaurant, hotel, meeting_rooms):
    Venue.objects.filter(pk=meeting_rooms.pk).update(kind=Venue.Kind.MEETING_ROOMS)
    day = next_weekday(restaurant, TUESDAY)

    hotels = text(ask(client, day, kind="hotel"))
    restaurants = text(ask(client, day, kind="restaurant"))
    rooms = text(ask(client, day, kind="meeting_rooms"))

    assert hotel.name in hotels and restaurant.name not in hotels and meeting_rooms.name not in hotels
    assert restaurant.name in restaurants and hotel.name not in restaurants
    assert meeting_rooms.name in rooms and restaurant.name not in rooms
    assert '<option value="hotel" selected>Hotels</option>' in hotels


def hidden_inputs(form_html: str) -> dict[str, str]:
    found = {}
    for part in form_html.split('<input type="hidden" name="')[1:]:
        name, rest = part.split('"', 1)
        found[name] = rest.split('value="', 1)[1].split('"', 1)[0]
    return found


def test_a_time_in_the_search_is_held_like_the_venue_pages_and_asks_a_visitor_to_log_in(client, restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    trattoria = card(text(ask(client, day, "20:00", 3)), restaurant)
    button = trattoria.split('<form method="post" action="/venues/trattoria-test/hold/" class="choose">')[4]
    choice = hidden_inputs(button.split("</form>", 1)[0])
    assert choice["starts_at"] == at(restaurant, day, "20:00").isoformat()

    visitor = client.post(reverse("spaces:hold", kwargs={"slug": restaurant.slug}), choice)
    assert visitor.status_code == 302
    assert visitor["Location"].startswith("/accounts/login/?next=/venues/trattoria-test/hold/%3F")

    client.force_login(guest)
    held = client.post(reverse("spaces:hold", kwargs={"slug": restaurant.slug}), choice)

    assert held.status_code == 302
    reservation = Reservation.objects.get(guest=guest)
    assert reservation.starts_at == at(restaurant, day, "20:00")
    assert reservation.party_size == 3


def test_a_kind_without_venues_says_so(client, restaurant):
    html = text(ask(client, next_weekday(restaurant, TUESDAY), kind="hotel"))

    assert "No venue of this kind takes bookings yet." in html


def test_the_nearest_free_times_skip_what_is_taken(restaurant):
    day = next_weekday(restaurant, TUESDAY)
    book(restaurant, day, "18:30", party=8)  # Table 6, the only one for eight: 18:30–20:00

    (answer,) = search(venues_with_rules(), day=day, at=time(19), party_size=8)

    # 18:00–19:45 would meet the booking: three lunch starts before, three after it ends.
    assert [slot.starts_at.strftime("%H:%M") for slot in answer.times] == [
        "13:00",
        "13:15",
        "13:30",
        "20:00",
        "20:15",
        "20:30",
    ]
    assert answer.nearest.starts_at == at(restaurant, day, "20:00")


def test_a_venue_with_nothing_free_says_so_with_a_link_to_its_page(client, restaurant, hotel):
    day = next_weekday(restaurant, TUESDAY)
    Closure.objects.create(
        venue=restaurant,
        starts_at=at(restaurant, day, "00:00"),
        ends_at=at(restaurant, day + timedelta(days=1), "00:00"),
        reason="a private party",
    )

    html = text(ask(client, day, "20:00", 2))

    trattoria = card(html, restaurant)
    assert "Nothing free near 20:00 on" in trattoria
    assert 'class="slot' not in trattoria
    link = f'href="/venues/trattoria-test/?date={day.isoformat()}&amp;party_size=2&amp;time=20%3A00#chosen-time"'
    assert f"{link}>Other dates</a>" in trattoria
    assert html.index(hotel.name) < html.index(restaurant.name)  # those with something free come first


@pytest.mark.parametrize(
    ("venue_name", "words"), [("trattoria", "Nothing free near 20:00 on"), ("hotel", "No room free for 1 night from")]
)
def test_a_venue_closed_for_the_whole_search_says_nothing_is_free(client, request, venue_name, words):
    venue = request.getfixturevalue(venue_name)  # turn times set the trattoria's lengths; a hotel's stay
    day = next_weekday(venue, TUESDAY)
    Closure.objects.create(
        venue=venue, starts_at=at(venue, day, "00:00"), ends_at=at(venue, day + timedelta(days=3), "00:00")
    )

    response = ask(client, day, "20:00", 2)

    assert response.status_code == 200
    html = card(text(response), venue)
    assert words in html
    assert "Choose" not in html and 'class="slot' not in html


def test_a_day_a_venue_never_opens_and_a_party_too_big_say_why(client, restaurant, trattoria):
    monday = next_weekday(restaurant, MONDAY)

    closed = card(text(ask(client, monday)), restaurant)
    too_big = card(text(ask(client, next_weekday(restaurant, TUESDAY), party=12)), restaurant)  # the trattoria takes 14

    assert "Trattoria Test is closed on Mondays." in closed
    assert "Trattoria Test takes parties of up to 8 online." in too_big


def test_a_hotel_says_why_a_stay_is_refused(client, hotel):
    saturday = next_weekday(hotel, SATURDAY)
    StayLimit.objects.create(
        venue=hotel, weekdays=[SATURDAY], min_nights=2, starts_on=saturday, ends_on=saturday, repeats_yearly=False
    )

    html = card(text(ask(client, saturday, party=1, nights=1)), hotel)

    assert "last at least 2 nights" in html
    assert "Choose" not in html


def test_the_htmx_answer_is_the_results_alone(client, restaurant):
    day = next_weekday(restaurant, TUESDAY)

    response = client.get(
        HOME, {"date": day.isoformat(), "time": "19:00", "party_size": "2"}, headers={"HX-Request": "true"}
    )

    html = text(response)
    assert "<html" not in html
    assert 'class="card answer"' in html
    assert 'id="search_date_error" hx-swap-oob="true"' in html  # the error lines are refreshed too
    assert "HX-Request" in response["Vary"]


# --- What the search offers is what the venue page offers ---------------------------------------


@pytest.fixture
def capacity_venues(trattoria, hotel, meeting_rooms):
    """The trattoria (turn times, pacing, combinations, a buffer, a winter terrace), a hotel with a
    weekend rate, meeting rooms with a class sold by the seat: each with bookings on the day."""
    day = next_weekday(trattoria, SATURDAY, 2)
    for clock, party in [("19:00", 4), ("19:00", 6), ("19:15", 2), ("20:30", 10), ("20:00", 2), ("12:15", 3)]:
        book(trattoria, day, clock, party)
    Rate.objects.create(
        venue=hotel, name="Weekends", weekdays=[4, 5], nightly_price=Decimal("150"), starts_on=day, ends_on=day
    )
    starts_at, ends_at = stay_period(hotel, day, 1)
    reservation_book(
        guest=make_user("stay@example.com"),
        venue=hotel,
        category="Double",
        party_size=2,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    pasta = Space.objects.create(
        venue=meeting_rooms, name="Pasta class", capacity=12, price=Decimal("35"), sold_by_seat=True
    )
    Session.objects.create(space=pasta, date=day, starts_at=time(10), minutes=180, seats=12)
    return day


@pytest.mark.parametrize("party", [1, 2, 4, 5, 9, 12])
def test_the_search_offers_the_times_the_venue_page_offers(trattoria, hotel, meeting_rooms, capacity_venues, party):
    day = capacity_venues
    now = timezone.now()

    found = search(venues_with_rules(), day=day, at=time(19), party_size=party, now=now)
    answers = {answer.venue.pk: answer for answer in found}

    for venue in (trattoria, meeting_rooms):
        page = venue_availability(venue=venue, day=day, party_size=party, now=now)
        found = answers[venue.pk].availability
        assert starts(found.start_times) == starts(page.start_times), venue.name
        assert [slot.ends_at for slot in found.start_times] == [slot.ends_at for slot in page.start_times]
        assert found.options == page.options
        assert [(entry.space.pk, starts(entry.slots), entry.price) for entry in found.spaces] == [
            (entry.space.pk, starts(entry.slots), entry.price) for entry in page.spaces
        ]
        assert [starts(entry.sold_out) for entry in found.spaces] == [starts(entry.sold_out) for entry in page.spaces]
    if party <= 4:
        stay = venue_availability(venue=hotel, day=day, party_size=party, nights=2, now=now)
        (answer,) = search(
            venues_with_rules(kind=Venue.Kind.HOTEL), day=day, at=None, party_size=party, nights=2, now=now
        )
        assert answer.availability.options == stay.options
        assert [(e.space.pk, starts(e.slots), e.price, e.breakdown) for e in answer.availability.spaces] == [
            (e.space.pk, starts(e.slots), e.price, e.breakdown) for e in stay.spaces
        ]


def test_a_party_over_the_online_maximum_is_told_like_the_page_tells_it(trattoria):
    day = next_weekday(trattoria, SATURDAY)

    (answer,) = search(venues_with_rules(), day=day, at=time(19), party_size=15)

    assert answer.availability is None
    assert answer.reason.startswith("Trattoria Capacity takes parties of up to 14 online; for 15 guests please contact")


# --- A constant number of queries -------------------------------------------------------------


def query_day():
    return next_weekday(Venue(time_zone="Europe/Berlin"), TUESDAY)


def a_restaurant(number: int) -> Venue:
    """A restaurant with every rule the search reads (hours, a shift, turn times, pacing, a
    combination, a closure of an area) and a booking on the day."""
    day = query_day()
    venue = Venue.objects.create(name=f"Restaurant {number}", slug=f"restaurant-{number}", min_lead_minutes=0)
    for weekday in range(7):
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(18), closes_at=time(23))
    dinner = Shift.objects.create(venue=venue, name="Dinner", starts_at=time(18), ends_at=time(23))
    TurnTime.objects.create(venue=venue, min_party_size=1, max_party_size=4, minutes=90)
    PacingRule.objects.create(venue=venue, shift=dinner, interval_minutes=15, max_covers=10)
    tables = [Space.objects.create(venue=venue, name=f"Table {n}", capacity=4, category="Inside") for n in range(1, 4)]
    combination = Combination.objects.create(venue=venue, name="1+2", min_party_size=5, max_party_size=8)
    combination.spaces.set(tables[:2])
    Closure.objects.create(
        venue=venue, area="Inside", starts_at=at(venue, day, "22:00"), ends_at=at(venue, day, "23:00")
    )
    book(venue, day, "19:00", 2)
    return venue


def a_hotel(number: int) -> Venue:
    """A hotel with a nightly rate and a stay limit."""
    day = query_day()
    venue = Venue.objects.create(
        name=f"Hotel {number}",
        slug=f"hotel-{number}",
        kind=Venue.Kind.HOTEL,
        booking_mode=Venue.BookingMode.NIGHTS,
        min_lead_minutes=0,
    )
    Space.objects.create(venue=venue, name="1", category="Double", capacity=2, price=Decimal("90"))
    Rate.objects.create(venue=venue, nightly_price=Decimal("120"), starts_on=day, ends_on=day, repeats_yearly=False)
    StayLimit.objects.create(venue=venue, min_nights=1, max_nights=14, starts_on=day, ends_on=day)
    return venue


def meeting_rooms_with_a_tour(number: int) -> Venue:
    """Meeting rooms guests pick, with a tour sold by the seat every Tuesday."""
    venue = Venue.objects.create(
        name=f"Rooms {number}",
        slug=f"rooms-{number}",
        kind=Venue.Kind.MEETING_ROOMS,
        assignment=Venue.Assignment.GUEST_PICKS,
        min_lead_minutes=0,
        default_duration_minutes=60,
    )
    for weekday in range(7):
        OpeningHours.objects.create(venue=venue, weekday=weekday, opens_at=time(8), closes_at=time(20))
    Space.objects.create(venue=venue, name="Loft", capacity=8, price=Decimal("40"))
    tour = Space.objects.create(venue=venue, name="Tour", capacity=20, price=Decimal("15"), sold_by_seat=True)
    Session.objects.create(space=tour, weekday=TUESDAY, starts_at=time(10), minutes=60, seats=20)
    return venue


def ten_more() -> None:
    a_hotel(0)
    for number in range(1, 4):
        a_restaurant(number), a_hotel(number), meeting_rooms_with_a_tour(number)


def test_the_home_search_runs_the_same_queries_for_two_venues_as_for_twelve(client, django_assert_num_queries):
    a_restaurant(0), meeting_rooms_with_a_tour(0)
    with CaptureQueriesContext(connection) as two:
        html = text(ask(client, query_day(), "19:00", 2))
    assert html.count('<li class="card answer"') == 2  # both have something free
    assert html.count('class="slot') >= 8  # the restaurant's and the rooms' times: not an empty answer

    ten_more()
    with django_assert_num_queries(len(two)):
        html = text(ask(client, query_day(), "19:00", 2))

    assert html.count('<li class="card answer"') == 12
    assert len(two) <= 16  # the venues with their rules (11), sessions, seats, closures, claims, pacing


def test_the_search_selector_reads_as_much_for_two_venues_as_for_twelve(django_assert_num_queries):
    a_restaurant(0), meeting_rooms_with_a_tour(0)
    with CaptureQueriesContext(connection) as two:
        search(venues_with_rules(), day=query_day(), at=time(19), party_size=2)
    ten_more()

    with django_assert_num_queries(len(two)):
        answers = search(venues_with_rules(), day=query_day(), at=time(19), party_size=2)

    assert len(answers) == 12
    assert all(answer.found for answer in answers)


# --- A venue page opened from the search keeps it ------------------------------------------------


def test_a_venue_link_from_the_search_keeps_the_date_party_and_time(client, restaurant):
    day = next_weekday(restaurant, TUESDAY)
    html = text(ask(client, day, "20:00", 4))
    link = card(html, restaurant).split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert query == {"date": [day.isoformat()], "party_size": ["4"], "time": ["20:00"]}
    assert link.endswith("#chosen-time")

    page = text(client.get(link.split("#")[0]))

    assert f'name="date" value="{day.isoformat()}"' in page
    assert '<option value="4" selected>4 guests</option>' in page
    assert '<input type="hidden" name="time" value="20:00"' in page  # kept when the search changes
    assert '<li id="chosen-time"> <form method="post" action="/venues/trattoria-test/hold/" class="choose">' in page
    chosen = page.split('<li id="chosen-time">', 1)[1].split("</li>", 1)[0]
    assert at(restaurant, day, "20:00").isoformat() in chosen
    assert 'class="slot chosen" aria-current="true">20:00' in chosen
    assert page.count('aria-current="true"') == 1


def test_the_nearest_free_time_is_marked_when_the_asked_one_is_taken(client, restaurant):
    day = next_weekday(restaurant, TUESDAY)
    book(restaurant, day, "18:30", party=8)

    page = text(client.get(restaurant.get_absolute_url(), {"date": day.isoformat(), "party_size": 8, "time": "19:00"}))

    chosen = page.split('<li id="chosen-time">', 1)[1].split("</li>", 1)[0]
    assert at(restaurant, day, "20:00").isoformat() in chosen


def test_a_hotel_link_carries_the_nights(client, hotel):
    day = next_weekday(hotel, TUESDAY)
    html = text(ask(client, day, party=2, nights=3))
    link = card(html, hotel).split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")

    assert parse_qs(urlsplit(link).query) == {"date": [day.isoformat()], "party_size": ["2"], "nights": ["3"]}
    page = text(client.get(link))
    assert '<option value="3" selected>3 nights</option>' in page
    assert "£270</strong> for 3 nights" in page


def test_where_guests_pick_the_room_each_time_is_marked_in_each_room(client, meeting_rooms):
    day = next_weekday(meeting_rooms, TUESDAY)

    page = text(
        client.get(meeting_rooms.get_absolute_url(), {"date": day.isoformat(), "party_size": 4, "time": "10:00"})
    )

    assert page.count("aria-current") == 2  # Booth and Loft both have 10:00
    assert page.count('id="chosen-time"') == 1


# --- Defaults ---------------------------------------------------------------------------------


def test_today_is_the_default_while_a_start_is_still_ahead_within_the_lead_time(client, restaurant):
    tuesday = next_weekday(restaurant, TUESDAY)
    setup = rules.setup(restaurant)

    assert first_bookable_day(setup, now=at(restaurant, tuesday, "10:00")) == tuesday
    assert first_bookable_day(setup, now=at(restaurant, tuesday, "20:30")) == tuesday  # 21:30 is an hour ahead
    assert first_bookable_day(setup, now=at(restaurant, tuesday, "20:31")) == tuesday + timedelta(days=1)
    monday = tuesday - timedelta(days=1)
    assert first_bookable_day(setup, now=at(restaurant, monday, "10:00")) == tuesday  # closed on Mondays

    with mock.patch("django.utils.timezone.now", return_value=at(restaurant, tuesday, "10:00")):
        page = text(client.get(restaurant.get_absolute_url()))
        home = text(client.get(HOME))
    assert f'name="date" value="{tuesday.isoformat()}"' in page
    assert f'name="date" value="{tuesday.isoformat()}"' in home
    with mock.patch("django.utils.timezone.now", return_value=at(restaurant, tuesday, "22:00")):
        page = text(client.get(restaurant.get_absolute_url()))
        home = text(client.get(HOME))
    wednesday = (tuesday + timedelta(days=1)).isoformat()
    assert f'name="date" value="{wednesday}"' in page
    assert f'name="date" value="{wednesday}"' in home


def test_a_hotel_defaults_to_today_until_check_in_has_passed(hotel):
    tuesday = next_weekday(hotel, TUESDAY)
    setup = rules.setup(hotel)

    assert first_bookable_day(setup, now=at(hotel, tuesday, "14:59")) == tuesday
    assert first_bookable_day(setup, now=at(hotel, tuesday, "15:01")) == tuesday + timedelta(days=1)


def test_the_home_page_takes_today_when_any_venue_still_has_times_today(client, restaurant, hotel):
    tuesday = next_weekday(restaurant, TUESDAY)

    with mock.patch("django.utils.timezone.now", return_value=at(restaurant, tuesday, "14:30")):  # hotel: 13:30
        html = text(client.get(HOME))

    assert f'name="date" value="{tuesday.isoformat()}"' in html
    assert "For 2 guests on " in html  # the default search is answered at once


def test_the_party_defaults_to_the_guests_last_one(client, restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    assert '<option value="2" selected>2 guests</option>' in text(client.get(restaurant.get_absolute_url()))
    reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=3)
    reservation_hold(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=5)
    client.force_login(guest)

    page = text(client.get(restaurant.get_absolute_url()))
    home = text(client.get(HOME))

    assert '<option value="5" selected>5 guests</option>' in page  # the most recent booking's party
    assert '<option value="5" selected>5 guests</option>' in home


def test_a_last_party_bigger_than_the_venue_takes_falls_back_to_its_largest(client, restaurant, trattoria, guest):
    day = next_weekday(trattoria, TUESDAY)
    reservation_book(guest=guest, venue=trattoria, starts_at=at(trattoria, day, "19:00"), party_size=12)
    client.force_login(guest)

    page = text(client.get(restaurant.get_absolute_url()))

    assert '<option value="8" selected>8 guests</option>' in page
    assert "Please check your search." not in page


# --- What a venue page says of the place -------------------------------------------------------


def test_a_restaurant_that_assigns_tables_shows_its_areas_not_its_tables(client, restaurant):
    html = text(client.get(restaurant.get_absolute_url()))

    assert "Table 1" not in html and "Table 6" not in html
    assert "<h4>Dining room</h4> <p>Parties of 1 to 8</p>" in html
    assert "<h4>Terrace</h4> <p>Parties of 1 to 6</p>" in html
    assert "Parties of 1 to 8 online." in html
    assert "<dt>Tuesday to Sunday</dt> <dd>12:00 to 15:00 and 18:00 to 23:00</dd>" in html
    assert "Closed on Mondays." in html


def test_an_area_counts_the_parties_its_combinations_seat_up_to_the_online_maximum(client, trattoria):
    html = text(client.get(trattoria.get_absolute_url()))

    assert "<h4>Dining room</h4> <p>Parties of 1 to 14</p>" in html  # Tables 7+8 seat 14, the online limit
    assert "<h4>Terrace</h4> <p>Parties of 1 to 4</p>" in html
    assert "Parties of 1 to 14 online." in html
    assert "Table 9" not in html


def test_a_hotel_shows_its_room_types(client, hotel):
    html = text(client.get(hotel.get_absolute_url()))
    about = html.split('id="about-heading"')[1]

    assert "<h3>Room types</h3>" in about
    assert "<h4>Double</h4>" in about and "<h4>Family</h4>" in about and "<h4>Single</h4>" in about
    assert "from £90 a night" in about
    assert "101" not in about and "201" not in about


def test_where_guests_pick_the_spaces_are_listed_in_natural_order(client, meeting_rooms):
    for name in ("Room 10", "Room 9", "Room 2"):
        Space.objects.create(venue=meeting_rooms, name=name, capacity=6, price=Decimal("30"))

    html = text(client.get(meeting_rooms.get_absolute_url()))
    about = html.split('id="about-heading"')[1]

    assert about.index("<h4>Room 2</h4>") < about.index("<h4>Room 9</h4>") < about.index("<h4>Room 10</h4>")
    assert "<h4>Booth</h4>" in about and "<h4>Loft</h4>" in about
    assert "€30 per booking" in about


def test_the_rooms_a_guest_picks_from_come_in_natural_order_in_the_results(client, meeting_rooms):
    for name in ("Room 10", "Room 9"):
        Space.objects.create(venue=meeting_rooms, name=name, capacity=4, price=Decimal("30"))
    day = next_weekday(meeting_rooms, TUESDAY)

    html = text(client.get(meeting_rooms.get_absolute_url(), {"date": day.isoformat(), "party_size": 2}))
    results = html.split('id="about-heading"')[0]

    assert results.index("<h4>Room 9</h4>") < results.index("<h4>Room 10</h4>")


# --- The search's errors, next to their fields --------------------------------------------------


def field_error(html: str, auto_id: str) -> str:
    return html.split(f'<div class="field-errors" id="{auto_id}_error">', 1)[1].split("</div>", 1)[0]


def test_the_home_search_refuses_a_party_no_venue_takes(client, restaurant):
    html = text(ask(client, next_weekday(restaurant, TUESDAY), party=12))

    assert "Parties of up to 8 can book online here" in field_error(html, "search_party_size")
    assert 'class="card answer' not in html


@pytest.mark.parametrize(
    ("party", "message"),
    [
        ("0", "The party needs at least one guest."),
        ("-3", "The party needs at least one guest."),
        ("501", "Trattoria Test takes parties of up to 8 online. For a bigger group, please contact Trattoria Test."),
        ("lots", "Give a whole number, such as 2."),
    ],
)
def test_a_party_the_venue_cannot_take_is_told_next_to_the_party(client, restaurant, party, message):
    html = text(client.get(restaurant.get_absolute_url(), {"party_size": party}))

    assert message in field_error(html, "id_party_size")
    assert "Ensure this value" not in html and "Enter a whole number" not in html
    assert 'aria-invalid="true"' in html
    assert '<a href="#id_party_size">Guests</a>' in html  # the summary points to the field


def test_a_past_date_is_told_next_to_the_date_not_ignored(client, restaurant):
    yesterday = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=1)

    html = text(client.get(restaurant.get_absolute_url(), {"date": yesterday.isoformat()}))

    assert field_error(html, "id_date") == (
        '<ul class="errorlist"><li>That date has passed; choose today or later.</li></ul>'
    )
    assert 'class="slot' not in html


def test_a_date_beyond_the_booking_window_says_its_limit(client, restaurant):
    today = timezone.now().astimezone(restaurant.zone).date()

    html = text(client.get(restaurant.get_absolute_url(), {"date": (today + timedelta(days=90)).isoformat()}))

    assert "Trattoria Test takes bookings up to 60 days ahead, until " in field_error(html, "id_date")


def test_the_htmx_answer_brings_the_message_next_to_the_field(client, restaurant):
    yesterday = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=1)

    html = text(
        client.get(restaurant.get_absolute_url(), {"date": yesterday.isoformat()}, headers={"HX-Request": "true"})
    )

    assert (
        '<div class="field-errors" id="id_date_error" hx-swap-oob="true"><ul class="errorlist">'
        "<li>That date has passed; choose today or later.</li></ul></div>" in html
    )
    assert '<div class="field-errors" id="id_party_size_error" hx-swap-oob="true"></div>' in html  # cleared


def test_every_limit_is_visible_before_it_bites(client, restaurant, hotel):
    today = timezone.now().astimezone(restaurant.zone).date()
    page = text(client.get(restaurant.get_absolute_url()))
    stay = text(client.get(hotel.get_absolute_url()))

    assert f'min="{today.isoformat()}"' in page
    assert f'max="{(today + timedelta(days=60)).isoformat()}"' in page
    assert 'aria-describedby="id_date_helptext id_date_error"' in page
    assert "(60 days ahead)." in page
    assert "Parties of 1 to 8 online." in page
    assert "Up to 30 nights." in stay
    assert " novalidate" in page  # the server's message shows; the browser does not swallow the search


def test_the_home_search_tells_its_errors_next_to_the_fields(client, restaurant):
    yesterday = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=1)

    past = text(client.get(HOME, {"date": yesterday.isoformat()}))
    nobody = text(client.get(HOME, {"party_size": "0"}))
    late = text(client.get(HOME, {"time": "25:00"}))
    too_far = text(client.get(HOME, {"date": "2999-01-01"}))

    assert "That date has passed; choose today or later." in field_error(past, "search_date")
    assert "The party needs at least one guest." in field_error(nobody, "search_party_size")
    assert "Give a time such as 19:30." in field_error(late, "search_time")
    assert "Bookings can be made up to 60 days ahead, until " in field_error(too_far, "search_date")
    for html in (past, nobody, late):
        assert 'class="card answer' not in html


DJANGO_WORDS = ("Enter a", "Ensure this value", "Select a valid choice", "This field is required")


def test_no_framework_wording_in_the_guest_forms(restaurant, hotel):
    spaces = list(restaurant.spaces.all())
    built = [
        AvailabilityForm(venue=restaurant, spaces=spaces, setup=rules.setup(restaurant)),
        AvailabilityForm(venue=hotel, spaces=list(hotel.spaces.all()), setup=rules.setup(hotel)),
        SearchForm(venues=venues_with_rules()),
        WaitlistForm(venue=restaurant, initial={"date": next_weekday(restaurant, TUESDAY).isoformat()}),
        ChoiceForm(venue=restaurant),
        BookingDetailsForm(),
    ]
    for form in built:
        for name, field in form.fields.items():
            for code, message in guest_forms._django_messages(field).items():
                assert field.error_messages.get(code) != message, (type(form).__name__, name, code)
            assert not any(str(message).startswith(DJANGO_WORDS) for message in field.error_messages.values()), (
                type(form).__name__,
                name,
            )


def test_plain_errors_keeps_a_fields_own_words():
    class Form(forms.Form):
        count = forms.IntegerField(min_value=1, error_messages={"min_value": "At least one, please."})
        day = forms.DateField()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            guest_forms.plain_errors(self)

    form = Form({"count": "0", "day": "soon"})

    assert not form.is_valid()
    assert form.errors == {
        "count": ["At least one, please."],
        "day": ["Give a date as year-month-day, such as 2026-11-14."],
    }
    assert Form({}).errors == {"count": ["Please fill this in."], "day": ["Please fill this in."]}


def test_the_search_shows_a_page_of_venues_at_a_time_those_with_free_times_first(client, restaurant):
    from guest.venue import SEARCH_PAGE

    day = next_weekday(restaurant, TUESDAY)
    for number in range(SEARCH_PAGE + 4):  # closed that day: nothing free, so after the trattoria
        Venue.objects.create(name=f"Shut {number:02d}", slug=f"shut-{number:02d}", time_zone="Europe/Berlin")
    html = text(ask(client, day, "19:00", 2))
    assert html.count('<li class="card answer') == SEARCH_PAGE
    assert html.index(f">{restaurant.name}</a></h4>") < html.index("nothing-free")  # the one with times first
    assert f"Venues 1–{SEARCH_PAGE} of {SEARCH_PAGE + 5}." in html
    more = html.split('class="more-venues"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(more).query)["page"] == ["2"]
    assert parse_qs(urlsplit(more).query)["date"] == [day.isoformat()]  # the search kept

    second = text(client.get(HOME + more))
    assert second.count('<li class="card answer') == 5
    assert f"Venues {SEARCH_PAGE + 1}–{SEARCH_PAGE + 5} of {SEARCH_PAGE + 5}." in second
    assert 'class="more-venues"' not in second
    assert restaurant.name not in second
    # A page that is not there is the first.
    assert text(ask(client, day, "19:00", 2, page="99")).count('<li class="card answer') == SEARCH_PAGE
