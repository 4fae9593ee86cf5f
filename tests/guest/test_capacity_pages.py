"""The guest's pages under a restaurant's capacity rules: the party's turn time instead of a
duration to pick, parties up to what a combination seats, a combined booking named by its tables."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import reservation_book
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
FRIDAY = 4


def text(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_search_asks_no_duration_where_turn_times_decide_and_offers_parties_up_to_the_online_maximum(
    client, trattoria
):
    day = next_weekday(trattoria, FRIDAY)
    html = text(client.get(trattoria.get_absolute_url(), {"date": day.isoformat(), "party_size": 11}))

    assert '<select name="duration"' not in html and 'name="duration"' not in html
    assert '<option value="14">14 guests</option>' in html
    assert '<option value="15">' not in html
    assert '<button type="submit" class="slot">12:00' in html  # three hours for 11: 12:00-15:00
    assert '<button type="submit" class="slot">12:15' not in html


def test_a_party_over_the_online_maximum_is_told_how_to_reach_the_venue(client, trattoria):
    day = next_weekday(trattoria, FRIDAY)
    html = text(client.get(trattoria.get_absolute_url(), {"date": day.isoformat(), "party_size": 20}))

    assert "Trattoria Capacity takes parties of up to 14 online." in html
    assert "+49 30 1234567" in html
    assert 'class="slot"' not in html


def test_a_pacing_full_time_is_not_offered_on_the_page(client, trattoria):
    day = next_weekday(trattoria, FRIDAY)
    for number, party in enumerate([8, 4]):
        reservation_book(
            guest=make_user(f"p{number}@example.com"),
            venue=trattoria,
            starts_at=at(trattoria, day, "19:00"),
            party_size=party,
        )
    html = text(client.get(trattoria.get_absolute_url(), {"date": day.isoformat(), "party_size": 2}))

    assert '<button type="submit" class="slot">18:45' in html
    assert '<button type="submit" class="slot">19:00' not in html
    assert '<button type="submit" class="slot">19:15' in html


def test_holding_a_time_for_eleven_takes_a_combination_for_its_turn_time(client, trattoria, guest):
    client.force_login(guest)
    start = at(trattoria, next_weekday(trattoria, FRIDAY), "19:00")

    response = client.post(
        reverse("spaces:hold", kwargs={"slug": trattoria.slug}), {"starts_at": start.isoformat(), "party_size": "11"}
    )

    reservation = Reservation.objects.get(guest=guest)
    assert response.status_code == 302
    assert reservation.spaces_words == "Table 4 + Table 5 + Table 6"
    assert (reservation.ends_at - reservation.starts_at).total_seconds() == 3 * 3600
    review = text(client.get(response["Location"]))
    assert "Table 4 + Table 5 + Table 6" in review


def test_an_area_closed_for_the_season_says_so(client, trattoria):
    today = timezone.now().astimezone(trattoria.zone).date()
    day = (
        max(today + timedelta(days=2), date(today.year, 12, 1))
        if today.month != 12 or today.day < 28
        else today + timedelta(days=40)
    )
    day += timedelta(days=(FRIDAY - day.weekday()) % 7)  # a Friday in winter
    html = text(
        client.get(trattoria.get_absolute_url(), {"date": day.isoformat(), "party_size": 3, "category": "Terrace"})
    )

    assert 'class="slot"' not in html
    assert "The Terrace is closed from " in html
    assert "(winter). Try another date." in html
    dining = text(client.get(trattoria.get_absolute_url(), {"date": day.isoformat(), "party_size": 3}))
    assert '<button type="submit" class="slot">12:00' in dining
