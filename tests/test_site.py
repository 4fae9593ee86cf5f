"""The public pages, the error pages and the health check."""

from datetime import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.defaults import permission_denied

from spaces.models import OpeningHours
from tests.spaces.factories import OpeningHoursFactory, SpaceFactory, VenueFactory

OUR_LAYOUT = b'<a class="skip-link" href="#main">Skip to content</a>'


# Home page


@pytest.mark.django_db
def test_home_page_lists_active_venues_only(client):
    VenueFactory(name="Trattoria Roma", description="Pasta by the river.")
    VenueFactory(name="Hotel Kranich", hotel=True)
    VenueFactory(name="Closed Diner", is_active=False)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert OUR_LAYOUT in response.content
    html = response.content.decode()
    assert "Trattoria Roma" in html
    assert "Pasta by the river." in html
    assert "Hotel Kranich" in html
    assert "Closed Diner" not in html
    assert html.index("Hotel Kranich") < html.index("Trattoria Roma")


@pytest.mark.django_db
def test_home_page_says_so_when_no_venue_takes_bookings(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert b"No venues are taking bookings yet." in response.content


# Venue page


@pytest.mark.django_db
def test_venue_page_lists_active_spaces_with_category_guests_and_price(client):
    venue = VenueFactory(name="Hotel Kranich", hotel=True, address="Hafenstraße 1\nHamburg")
    SpaceFactory(
        venue=venue, name="Room 101", category="Deluxe double", min_party_size=1, capacity=2, price=Decimal("129.50")
    )
    SpaceFactory(venue=venue, name="Room 102", category="Single", min_party_size=1, capacity=1, price=Decimal("80"))
    SpaceFactory(venue=venue, name="Room 999", is_active=False)
    SpaceFactory(name="Someone else's room")

    response = client.get(venue.get_absolute_url())

    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "<h1>Hotel Kranich</h1>" in html
    assert "Hafenstraße 1<br>Hamburg" in html
    # A hotel shows its room types (not its rooms), with the guests each takes and its price.
    assert "<h4>Deluxe double</h4>" in html
    assert "<h4>Single</h4>" in html
    assert "1 to 2" in html
    assert "from £129.50 a night" in html
    assert "from £80 a night" in html
    assert "Room 101" not in html
    assert "Room 999" not in html
    assert "Someone else" not in html
    assert "Check-in from 15:00, check-out by 11:00." in html


@pytest.mark.django_db
def test_venue_page_leaves_out_a_zero_price(client):
    venue = VenueFactory(name="Trattoria Roma")
    SpaceFactory(venue=venue, name="Table 1", min_party_size=2, capacity=4, price=Decimal("0"))

    html = " ".join(client.get(venue.get_absolute_url()).content.decode().split())

    assert "2 to 4" in html
    assert "Price" not in html
    assert "EUR" not in html


@pytest.mark.django_db
def test_venue_page_states_opening_hours_in_plain_words(client):
    venue = VenueFactory(name="Trattoria Roma")
    OpeningHoursFactory(
        venue=venue, weekday=OpeningHours.Weekday.FRIDAY, opens_at=time(18), closes_at=time(2), closes_next_day=True
    )
    OpeningHoursFactory(venue=venue, weekday=OpeningHours.Weekday.TUESDAY, opens_at=time(18), closes_at=time(22))
    OpeningHoursFactory(venue=venue, weekday=OpeningHours.Weekday.TUESDAY, opens_at=time(12), closes_at=time(14, 30))

    html = " ".join(client.get(venue.get_absolute_url()).content.decode().split())

    assert "<dt>Tuesday</dt> <dd>12:00 to 14:30 and 18:00 to 22:00</dd>" in html
    assert "<dt>Friday</dt> <dd>18:00 to 02:00 the next day</dd>" in html
    assert html.index("<dt>Tuesday") < html.index("<dt>Friday")
    assert "Closed on Mondays, Wednesdays, Thursdays, Saturdays and Sundays." in html


@pytest.mark.django_db
def test_venue_page_without_opening_hours_says_they_are_not_published(client):
    venue = VenueFactory()

    response = client.get(venue.get_absolute_url())

    assert b"Opening hours have not been published yet." in response.content


@pytest.mark.django_db
def test_venue_page_query_count_does_not_grow_with_spaces_or_opening_hours(client):
    venue = VenueFactory(meeting_rooms=True)  # guests pick their room: the page lists every one
    SpaceFactory(venue=venue)
    for weekday in OpeningHours.Weekday.values:  # open every day, so both requests list availability
        OpeningHoursFactory(venue=venue, weekday=weekday, opens_at=time(12), closes_at=time(15))
    with CaptureQueriesContext(connection) as few:
        assert client.get(venue.get_absolute_url()).status_code == 200

    SpaceFactory.create_batch(10, venue=venue)
    for weekday in OpeningHours.Weekday.values:
        OpeningHoursFactory(venue=venue, weekday=weekday, opens_at=time(18), closes_at=time(23))
    with CaptureQueriesContext(connection) as many:
        response = client.get(venue.get_absolute_url())

    assert response.content.count(b'<li class="card">') == 11
    assert len(many) == len(few) <= 9  # with the venue's rules: shifts, turn times, pacing, combinations


@pytest.mark.django_db
def test_home_page_query_count_does_not_grow_with_venues(client):
    VenueFactory()
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    VenueFactory.create_batch(10)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("home"))

    # The home page is the search across venues: each venue answers, in the same queries however many.
    assert response.content.count(b'<li class="card answer') == 11
    assert len(many) == len(few) <= 12


# Error pages


@pytest.mark.django_db
def test_unknown_venue_is_a_404_page_in_our_layout(client):
    response = client.get(reverse("spaces:venue_detail", kwargs={"slug": "no-such-venue"}))

    assert response.status_code == 404
    assert OUR_LAYOUT in response.content
    assert b"Page not found" in response.content


@pytest.mark.django_db
def test_inactive_venue_is_a_404(client):
    venue = VenueFactory(is_active=False)

    response = client.get(venue.get_absolute_url())

    assert response.status_code == 404
    assert OUR_LAYOUT in response.content


@pytest.mark.django_db
def test_permission_denied_shows_a_friendly_403_page_in_our_layout(rf):
    request = rf.get("/somewhere/private/")
    request.user = AnonymousUser()

    response = permission_denied(request, PermissionDenied())

    assert response.status_code == 403
    assert OUR_LAYOUT in response.content
    assert b"You cannot open this page" in response.content
    assert b"/accounts/login/?next=/somewhere/private/" in response.content


def test_500_page_renders_without_request_or_context():
    html = render_to_string("500.html")

    assert "Something went wrong" in html
    assert 'class="skip-link"' in html


@pytest.mark.django_db(transaction=True)
def test_a_page_says_the_service_is_unavailable_when_the_database_is_down(unreachable_database):
    client = Client(raise_request_exception=False)

    response = client.get(reverse("home"))

    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"Temporarily unavailable" in response.content and b"Traceback" not in response.content


# Health check


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert "no-cache" in response["Cache-Control"]
