"""The guest booking pages, driven through Django's test client against real PostgreSQL."""

from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from reservations.selectors import category_prices, venue_availability
from reservations.services import reservation_book, reservation_hold
from spaces.models import Space, Venue
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def text(response) -> str:
    """The response body with runs of white space collapsed, for readable assertions."""
    return " ".join(response.content.decode().split())


def venue_url(venue, **query):
    return reverse("spaces:venue_detail", kwargs={"slug": venue.slug}), query


def hold_url(venue):
    return reverse("spaces:hold", kwargs={"slug": venue.slug})


def tuesday(venue):
    return next_weekday(venue, TUESDAY)


def table_choice(venue, clock="19:30", party_size=2, day=None):
    return {
        "starts_at": at(venue, day or tuesday(venue), clock).isoformat(),
        "duration": "90",
        "party_size": str(party_size),
    }


def booked(venue, guest, clock="19:30", party_size=2, **extra):
    return reservation_book(
        guest=guest, venue=venue, starts_at=at(venue, tuesday(venue), clock), party_size=party_size, **extra
    )


# --- The venue page: what can be booked, the way the venue works ------------------------------


def test_restaurant_page_shows_free_start_times_as_buttons_in_the_venue_zone(client, restaurant):
    day = tuesday(restaurant)

    response = client.get(*venue_url(restaurant, date=day.isoformat(), party_size=2))

    html = text(response)
    assert response.status_code == 200
    assert "Book a table" in html
    assert '<button type="submit" class="slot">12:00' in html
    assert '<button type="submit" class="slot">21:30' in html  # the last 90-minute slot before 23:00
    assert '<button type="submit" class="slot">21:45' not in html
    assert f'value="{at(restaurant, day, "19:30").isoformat()}"' in html  # ISO 8601 with the offset
    assert "Berlin time" in html
    assert "Europe/Berlin" not in html  # the zone in words, never its IANA name
    assert 'name="space"' not in html  # the restaurant assigns the table: no table choice
    assert '<label for="id_category">Area</label>' in html


def test_restaurant_page_defaults_to_tomorrow_for_two(client, restaurant):
    today = timezone.now().astimezone(restaurant.zone).date()
    tomorrow = today + timedelta(days=1)
    late = at(restaurant, today, "22:45")  # past tonight's last start (21:30) and its hour of lead time

    with mock.patch("django.utils.timezone.now", return_value=late):
        html = text(client.get(reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug})))

    assert f'value="{tomorrow.isoformat()}"' in html
    assert '<option value="2" selected>2 guests</option>' in html


def test_hotel_page_shows_room_types_with_the_stay_price_and_rooms_left(client, hotel):
    day = tuesday(hotel)

    response = client.get(*venue_url(hotel, date=day.isoformat(), party_size=2, nights=3))

    html = text(response)
    assert response.status_code == 200
    assert "<h4>Double</h4>" in html
    assert "£270</strong> for 3 nights" in html
    assert "2 left" in html
    assert "<h4>Family</h4>" in html
    assert "£450</strong> for 3 nights" in html
    assert "1 left" in html
    results = html.split('id="about-heading"')[0]  # the room types the page describes come below
    assert "<h4>Single</h4>" not in results  # a single room does not take two guests
    assert 'Choose<span class="visually-hidden"> Double</span>' in html
    assert "London time" in html


def test_hotel_page_shows_a_sold_out_room_type_without_a_button(client, hotel, other_guest):
    day = tuesday(hotel)
    reservation_book(guest=other_guest, venue=hotel, category="Family", party_size=3, **stay(hotel, day, 1))

    html = text(client.get(*venue_url(hotel, date=day.isoformat(), party_size=3, nights=1)))

    assert '<h4>Family</h4> <p class="left">Sold out for these dates</p>' in html


def stay(venue, day, nights):
    from reservations.periods import stay_period

    starts_at, ends_at = stay_period(venue, day, nights)
    return {"starts_at": starts_at, "ends_at": ends_at}


def test_meeting_rooms_page_lists_each_space_with_its_free_times(client, meeting_rooms, other_guest):
    day = tuesday(meeting_rooms)
    reservation_book(
        guest=other_guest,
        space=meeting_rooms.spaces.get(name="Loft"),
        starts_at=at(meeting_rooms, day, "10:00"),
        party_size=6,
    )

    html = text(client.get(*venue_url(meeting_rooms, date=day.isoformat(), party_size=4)))

    assert "<h4>Booth</h4>" in html
    assert "<h4>Loft</h4>" in html
    assert '08:00<span class="visually-hidden"> in Booth</span>' in html
    assert '10:00<span class="visually-hidden"> in Booth</span>' in html
    assert '10:00<span class="visually-hidden"> in Loft</span>' not in html  # booked
    assert '11:00<span class="visually-hidden"> in Loft</span>' in html
    assert "€80 per booking" in html
    assert "New York time" in html


def test_htmx_request_gets_only_the_results(client, restaurant):
    day = tuesday(restaurant)

    response = client.get(*venue_url(restaurant, date=day.isoformat(), party_size=4), headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert '<form method="get"' not in body
    assert 'class="slot">19:30' in body
    assert "HX-Request" in response["Vary"]


def test_search_form_is_wired_for_htmx_and_works_without_it(client, restaurant):
    html = text(client.get(reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug})))

    assert 'method="get" action="/venues/trattoria-test/"' in html
    assert 'hx-get="/venues/trattoria-test/"' in html
    assert 'hx-trigger="change, submit"' in html
    assert 'hx-target="#availability"' in html
    assert 'hx-push-url="true"' in html
    assert '<div id="availability"' in html
    assert "htmx-2.min.js" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date": "not-a-date"}, "Give a date as year-month-day, such as 2026-11-14."),
        ({"date": "2020-01-01"}, "That date has passed; choose today or later."),
        ({"date": "2999-01-01"}, "takes bookings up to 60 days ahead"),
        ({"party_size": "-3"}, "The party needs at least one guest."),
        ({"party_size": "100000"}, "Trattoria Test takes parties of up to 8 online."),
        ({"party_size": "lots"}, "Give a whole number, such as 2."),
        ({"duration": "7"}, "Choose one of these durations: 1 hour 30 minutes, 2 hours."),
        ({"category": "Cellar"}, "Choose an area from the list."),
    ],
)
def test_bad_query_string_shows_a_helpful_error_and_no_results(client, restaurant, query, message):
    response = client.get(*venue_url(restaurant, **query))

    html = text(response)
    assert response.status_code == 200
    assert "Please check your search." in html
    assert message in html
    assert 'class="slot"' not in html


def test_hotel_stay_of_zero_nights_is_an_error_not_a_crash(client, hotel):
    response = client.get(*venue_url(hotel, nights="0"))

    assert response.status_code == 200
    assert "A stay lasts at least one night." in text(response)
    assert "left</p>" not in text(response)


def test_unknown_or_inactive_venue_is_a_404(client, restaurant):
    assert client.get(reverse("spaces:venue_detail", kwargs={"slug": "nowhere"})).status_code == 404
    Venue.objects.filter(pk=restaurant.pk).update(is_active=False)
    assert client.get(reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug})).status_code == 404
    assert client.post(hold_url(restaurant), table_choice(restaurant)).status_code == 404


def test_a_day_the_venue_never_opens_says_so_and_offers_the_next_day(client, restaurant):
    monday = next_weekday(restaurant, 0)  # the restaurant is closed on Mondays

    html = text(client.get(*venue_url(restaurant, date=monday.isoformat(), party_size=2)))
    tuesday = text(client.get(*venue_url(restaurant, date=(monday + timedelta(days=1)).isoformat(), party_size=2)))

    assert "Trattoria Test is closed on Mondays. Try another date." in html
    assert "closed on" not in tuesday
    assert f"date={(monday + timedelta(days=1)).isoformat()}" in html
    assert "Try the next day" in html


# --- Holding a choice ----------------------------------------------------------------------------


def test_anonymous_guest_is_sent_to_log_in_with_the_choice_kept(client, restaurant):
    choice = table_choice(restaurant, "19:30", party_size=3)

    response = client.post(hold_url(restaurant), choice)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    next_url = parse_qs(location.query)["next"][0]
    assert next_url.startswith(hold_url(restaurant) + "?")
    kept = parse_qs(urlsplit(next_url).query)
    assert kept["starts_at"] == [choice["starts_at"]]
    assert kept["party_size"] == ["3"]
    assert kept["duration"] == ["90"]
    assert Reservation.objects.count() == 0


def test_get_of_the_hold_url_shows_the_choice_with_a_button_to_hold_it(client, restaurant):
    day = tuesday(restaurant)

    response = client.get(hold_url(restaurant), table_choice(restaurant, "19:30", party_size=3))

    html = text(response)
    assert response.status_code == 200
    assert "<h1>Your choice</h1>" in html
    start = at(restaurant, day, "19:30")
    assert f'data-venue-zone="Europe/Berlin">{start:%a} {start.day} {start:%b} 19:30</time>–' in html
    assert 'data-venue-zone="Europe/Berlin">21:00</time>' in html  # the same day: just the time
    assert "<dt>Times in</dt><dd>Berlin time</dd>" in html
    assert "<dt>Guests</dt><dd>3</dd>" in html
    assert "Hold this booking</button>" in html
    assert Reservation.objects.count() == 0


def test_hold_then_review_then_confirm_shows_the_reference_and_confirmed_status(client, restaurant, guest):
    client.force_login(guest)

    response = client.post(hold_url(restaurant), table_choice(restaurant, "19:30", party_size=2))

    reservation = Reservation.objects.get(guest=guest)
    assert reservation.status == Reservation.Status.HELD
    assert response["Location"] == reverse("reservations:review", kwargs={"reference": reservation.reference})

    review = text(client.get(response["Location"]))
    assert "Review your booking" in review
    assert f'data-expires-at="{reservation.hold_expires_at.isoformat()}"' in review
    expiry = reservation.hold_expires_at.astimezone(restaurant.zone)
    assert f"Held for you until <strong>{expiry:%H:%M}</strong> (Berlin time)" in review
    deadline = (reservation.starts_at - timedelta(hours=24)).astimezone(restaurant.zone)
    assert (
        f"Free cancellation until 24 hours before the start ({deadline:%a} {deadline.day} {deadline:%b %H:%M})."
        in review
    )
    assert '<label for="id_notes">Notes for the venue (optional)</label>' in review
    assert "Confirm booking</button>" in review
    assert "js/countdown.js" in review

    confirm = reverse("reservations:confirm", kwargs={"reference": reservation.reference})
    response = client.post(confirm, {"notes": "A high chair, please."}, follow=True)

    html = text(response)
    assert response.redirect_chain[-1][0] == reservation.get_absolute_url()
    assert f"Your booking is confirmed. Your reference is {reservation.reference}." in html
    assert "<dt>Status</dt><dd>Confirmed</dd>" in html
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.notes == "A high chair, please."


def test_logged_in_guest_holds_from_the_choice_page_after_logging_in(client, restaurant, guest):
    choice = table_choice(restaurant, "20:00", party_size=4)
    next_url = parse_qs(urlsplit(client.post(hold_url(restaurant), choice)["Location"]).query)["next"][0]
    client.force_login(guest)

    page = client.get(next_url)
    response = client.post(hold_url(restaurant), dict(parse_qs(urlsplit(next_url).query, keep_blank_values=True)))

    assert page.status_code == 200
    assert response.status_code == 302
    reservation = Reservation.objects.get(guest=guest)
    assert reservation.party_size == 4
    assert reservation.local_starts_at.strftime("%H:%M") == "20:00"


def test_hotel_hold_books_the_room_type_for_the_nights_chosen(client, hotel, guest):
    client.force_login(guest)
    day = tuesday(hotel)
    starts_at = stay(hotel, day, 2)["starts_at"]

    response = client.post(
        hold_url(hotel), {"starts_at": starts_at.isoformat(), "nights": "2", "party_size": "2", "category": "Double"}
    )

    reservation = Reservation.objects.get(guest=guest)
    assert response.status_code == 302
    assert reservation.space.category == "Double"
    assert reservation.nights == 2
    assert reservation.price == Decimal("180")
    assert "<dt>Price</dt><dd>£180</dd>" in text(client.get(response["Location"]))


def test_meeting_room_hold_books_the_space_the_guest_picked(client, meeting_rooms, guest):
    client.force_login(guest)
    loft = meeting_rooms.spaces.get(name="Loft")
    starts_at = at(meeting_rooms, tuesday(meeting_rooms), "09:00")

    client.post(
        hold_url(meeting_rooms),
        {"starts_at": starts_at.isoformat(), "duration": "120", "party_size": "5", "space": str(loft.pk)},
    )

    reservation = Reservation.objects.get(guest=guest)
    assert reservation.space == loft
    assert reservation.ends_at - reservation.starts_at == timedelta(hours=2)


def test_taken_slot_says_it_is_no_longer_free_and_offers_the_nearest_times(client, meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = tuesday(meeting_rooms)
    reservation_book(guest=other_guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)
    client.force_login(guest)

    response = client.post(
        hold_url(meeting_rooms),
        {"starts_at": at(meeting_rooms, day, "10:00").isoformat(), "party_size": "2", "space": str(booth.pk)},
    )

    html = text(response)
    assert response.status_code == 409
    assert f"Booth is no longer free at {at(meeting_rooms, day, '10:00'):%a %-d %b} 10:00." in html
    alternatives = html[html.index("Nearest free times") : html.index("</section>")]
    assert [clock for clock in ("08:30", "09:00", "11:00") if f"{clock}<span" in alternatives] == [
        "08:30",
        "09:00",
        "11:00",
    ]
    assert "10:00<span" not in alternatives
    assert "<h1>Foundry Test</h1>" in html  # the venue page, rendered normally
    assert not Reservation.objects.filter(guest=guest).exists()


def test_restaurant_with_no_table_left_shows_the_engine_message_as_written(client, restaurant, guest, other_guest):
    booked(restaurant, other_guest, "19:30", party_size=8)  # the only table for eight
    client.force_login(guest)

    response = client.post(hold_url(restaurant), table_choice(restaurant, "19:30", party_size=8))

    day = tuesday(restaurant)
    assert response.status_code == 409
    html = text(response)
    assert f"No table or space for 8 is free at {at(restaurant, day, '19:30'):%a %-d %b} 19:30 any more." in html
    assert 'class="slot">18:00' in html[html.index("Nearest free times") :]


def test_a_rule_refusing_the_hold_is_shown_as_written(client, restaurant, guest):
    client.force_login(guest)
    soon = (timezone.now() + timedelta(minutes=30)).astimezone(restaurant.zone)  # within the hour's lead time
    choice = {"starts_at": soon.replace(second=0, microsecond=0).isoformat(), "duration": "90", "party_size": "2"}

    response = client.post(hold_url(restaurant), choice)

    assert response.status_code == 422
    assert "Trattoria Test takes bookings at least 1 hour ahead; the earliest start is" in text(response)


def test_tampered_choice_is_refused_without_a_crash(client, restaurant, guest):
    client.force_login(guest)

    response = client.post(hold_url(restaurant), {"starts_at": "2030-01-01T19:30", "party_size": "2"})

    assert response.status_code == 400
    assert "Choose a time from the list." in text(response)
    assert Reservation.objects.count() == 0


def test_releasing_a_hold_frees_it_and_returns_to_the_venue_search(client, restaurant, guest):
    client.force_login(guest)
    reservation = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday(restaurant), "19:30"), party_size=2
    )

    response = client.post(reverse("reservations:release", kwargs={"reference": reservation.reference}))

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert response["Location"].startswith(restaurant.get_absolute_url() + "?date=")


# --- Confirming an expired hold ------------------------------------------------------------------


def test_confirming_an_expired_hold_says_so_and_links_back_to_the_same_search(client, restaurant, guest):
    day = tuesday(restaurant)
    reservation = reservation_hold(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, day, "19:30"),
        party_size=3,
        now=timezone.now() - timedelta(minutes=30),
    )
    client.force_login(guest)

    response = client.post(reverse("reservations:confirm", kwargs={"reference": reservation.reference}))

    html = text(response)
    assert response.status_code == 409
    assert "Your hold ran out at" in html
    assert "Hold again</button>" in html  # one click holds the same choice again (tests/guest/test_hold_again.py)
    assert f'href="/venues/trattoria-test/?date={day.isoformat()}&amp;party_size=3&amp;duration=90"' in html
    assert "Confirm booking</button>" in html and "disabled" in html
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED


# --- Modify and cancel ---------------------------------------------------------------------------


def test_modify_shows_the_slot_picker_and_moves_the_booking_to_another_time(client, restaurant, guest):
    reservation = booked(restaurant, guest, "19:30", party_size=2)
    client.force_login(guest)
    modify = reverse("reservations:modify", kwargs={"reference": reservation.reference})

    page = text(client.get(modify))
    response = client.post(modify, table_choice(restaurant, "20:15", party_size=3), follow=True)

    assert f'action="{modify}"' in page
    assert 'class="slot">20:15' in page
    reservation.refresh_from_db()
    assert reservation.local_starts_at.strftime("%H:%M") == "20:15"
    assert reservation.party_size == 3
    assert "Your reservation is changed:" in text(response)


def test_modify_refused_by_a_rule_shows_the_message_as_written(client, restaurant, guest):
    reservation = booked(restaurant, guest, "19:30")
    client.force_login(guest)

    response = client.post(
        reverse("reservations:modify", kwargs={"reference": reservation.reference}),
        table_choice(restaurant, "16:00"),
    )

    assert response.status_code == 422
    assert "is not open for a booking from" in text(response)
    reservation.refresh_from_db()
    assert reservation.local_starts_at.strftime("%H:%M") == "19:30"


def test_cancel_asks_for_confirmation_then_cancels(client, restaurant, guest):
    reservation = booked(restaurant, guest)
    client.force_login(guest)
    cancel = reverse("reservations:cancel", kwargs={"reference": reservation.reference})

    page = client.get(cancel)
    reservation.refresh_from_db()
    assert page.status_code == 200
    assert "Yes, cancel reservation</button>" in text(page)
    assert reservation.status == Reservation.Status.CONFIRMED

    response = client.post(cancel, follow=True)

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert f"Reservation {reservation.reference} is cancelled." in text(response)


def test_detail_offers_modify_and_cancel_before_the_cut_off(client, restaurant, guest):
    reservation = booked(restaurant, guest)
    client.force_login(guest)

    html = text(client.get(reservation.get_absolute_url()))

    assert "Modify reservation</a>" in html
    assert "Cancel reservation</a>" in html
    assert "were possible until" not in html


def test_after_the_cut_off_a_sentence_replaces_the_buttons(client, restaurant, guest):
    reservation = booked(restaurant, guest)
    Venue.objects.filter(pk=restaurant.pk).update(modification_cutoff_hours=24 * 60, cancellation_cutoff_hours=24 * 60)
    deadline = (reservation.starts_at - timedelta(hours=24 * 60)).astimezone(restaurant.zone)
    client.force_login(guest)

    html = text(client.get(reservation.get_absolute_url()))

    assert f"Changes were possible until {deadline:%a} {deadline.day} {deadline:%b %H:%M}." in html
    assert f"Cancellation was possible until {deadline:%a} {deadline.day} {deadline:%b %H:%M}." in html
    assert "Modify reservation</a>" not in html
    assert "Cancel reservation</a>" not in html
    modify = client.get(reverse("reservations:modify", kwargs={"reference": reservation.reference}))
    assert modify.status_code == 302
    client.post(reverse("reservations:cancel", kwargs={"reference": reservation.reference}))
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED


# --- Who may see what ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["detail", "review", "modify", "cancel"])
def test_other_guest_gets_404_on_someone_elses_reservation(client, restaurant, guest, other_guest, name):
    reservation = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday(restaurant), "19:30"), party_size=2
    )
    client.force_login(other_guest)

    assert client.get(reverse(f"reservations:{name}", kwargs={"reference": reservation.reference})).status_code == 404


@pytest.mark.parametrize("name", ["confirm", "release", "modify", "cancel"])
def test_other_guest_cannot_change_someone_elses_reservation(client, restaurant, guest, other_guest, name):
    reservation = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday(restaurant), "19:30"), party_size=2
    )
    client.force_login(other_guest)

    response = client.post(
        reverse(f"reservations:{name}", kwargs={"reference": reservation.reference}), table_choice(restaurant, "20:00")
    )

    assert response.status_code == 404
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.HELD
    assert reservation.local_starts_at.strftime("%H:%M") == "19:30"


def test_anonymous_visitor_is_asked_to_log_in_for_a_reservation(client, restaurant, guest):
    reservation = booked(restaurant, guest)

    response = client.get(reservation.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_can_see_a_guests_reservation(client, restaurant, guest, staff):
    reservation = booked(restaurant, guest)
    client.force_login(staff)

    response = client.get(reservation.get_absolute_url())

    assert response.status_code == 200
    assert "Gina Guest" in text(response)


def test_get_on_state_changing_endpoints_changes_nothing(client, restaurant, guest):
    held = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday(restaurant), "19:30"), party_size=2
    )
    confirmed = booked(restaurant, guest, "12:00")
    client.force_login(guest)

    assert client.get(reverse("reservations:confirm", kwargs={"reference": held.reference})).status_code == 405
    assert client.get(reverse("reservations:release", kwargs={"reference": held.reference})).status_code == 405
    assert client.get(reverse("reservations:cancel", kwargs={"reference": confirmed.reference})).status_code == 200
    assert client.get(hold_url(restaurant), table_choice(restaurant, "20:00")).status_code == 200

    held.refresh_from_db()
    confirmed.refresh_from_db()
    assert held.status == Reservation.Status.HELD
    assert confirmed.status == Reservation.Status.CONFIRMED
    assert Reservation.objects.count() == 2


def test_posts_without_a_csrf_token_are_refused(restaurant, guest):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(guest)

    response = client.post(hold_url(restaurant), table_choice(restaurant))

    assert response.status_code == 403
    assert Reservation.objects.count() == 0


# --- My reservations -----------------------------------------------------------------------------


def test_my_reservations_lists_upcoming_and_past_in_the_venue_zone(client, restaurant, guest, other_guest):
    upcoming = booked(restaurant, guest, "19:30", party_size=3)
    past = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, tuesday(restaurant) - timedelta(weeks=3), "12:00"),
        party_size=2,
        now=timezone.now() - timedelta(weeks=4),
    )
    booked(restaurant, other_guest, "20:00")
    client.force_login(guest)

    html = text(client.get(reverse("reservations:list")))

    upcoming_part, past_part = html.split('<h2 id="past">Past</h2>')
    assert f"{upcoming.local_starts_at:%H:%M}</time></a> <small>(Berlin time)</small>" in upcoming_part
    assert upcoming.get_absolute_url() in upcoming_part
    assert past.get_absolute_url() in past_part
    assert html.count("<tr>") == 4  # two header rows, one row each
    assert 'href="/reservations/">My reservations</a>' in html


def test_past_reservations_are_paginated(client, restaurant, guest):
    Venue.objects.filter(pk=restaurant.pk).update(max_advance_days=365)
    restaurant.refresh_from_db()
    then = timezone.now() - timedelta(days=200)
    first = tuesday(restaurant) - timedelta(weeks=25)
    for week in range(21):
        reservation_book(
            guest=guest,
            venue=restaurant,
            starts_at=at(restaurant, first + timedelta(weeks=week), "12:00"),
            party_size=2,
            now=then,
        )
    client.force_login(guest)

    first_page = text(client.get(reverse("reservations:list")))
    second_page = text(client.get(reverse("reservations:list"), {"page": 2}))
    bad_page = client.get(reverse("reservations:list"), {"page": "x"})

    assert first_page.count("<tr>") == 21  # 20 rows and the header
    assert "Page 1 of 2" in first_page
    assert 'rel="next">Older</a>' in first_page
    assert second_page.count("<tr>") == 2
    assert bad_page.status_code == 200


def test_the_price_a_guest_is_shown_for_a_room_type_is_the_price_charged(client, hotel, guest):
    """Two doubles at different prices: the hotel gives the smaller (here the dearer) one first, so that
    is the price the page shows, the choice page repeats and the booking is charged."""
    Space.objects.filter(venue=hotel, name="103").update(capacity=3, price=Decimal("70"))  # bigger, cheaper
    arrival = timezone.now().astimezone(hotel.zone).date() + timedelta(days=14)
    availability = venue_availability(venue=hotel, day=arrival, party_size=2, nights=2)
    shown = category_prices(availability)["Double"]

    client.force_login(guest)
    start = datetime.combine(arrival, hotel.check_in_time, tzinfo=hotel.zone)
    choice = {"starts_at": start.isoformat(), "nights": "2", "party_size": "2", "category": "Double"}
    choice_page = client.get(reverse("spaces:hold", kwargs={"slug": hotel.slug}), choice)
    client.post(reverse("spaces:hold", kwargs={"slug": hotel.slug}), choice)
    booked = Reservation.objects.get()

    assert shown == Decimal("180") == booked.price  # room 102, 90 a night
    assert "180" in choice_page.content.decode()


@pytest.mark.django_db
def test_the_venue_page_shows_how_to_reach_the_venue_and_a_party_too_big_is_told_to(client, restaurant):
    Venue.objects.filter(pk=restaurant.pk).update(phone="+49 30 1234567", email="tavola@example.com")
    page = client.get(reverse("spaces:venue_detail", args=[restaurant.slug]))
    html = page.content.decode()

    assert '<a href="tel:+49301234567">+49 30 1234567</a>' in html
    assert '<a href="mailto:tavola@example.com">tavola@example.com</a>' in html

    too_big = client.get(reverse("spaces:venue_detail", args=[restaurant.slug]), {"party_size": 12})
    assert "For a bigger group, please contact Trattoria Test (+49 30 1234567, tavola@example.com)." in (
        too_big.content.decode()
    )


@pytest.mark.django_db
def test_a_venue_without_contact_details_shows_none(client, restaurant):
    html = client.get(reverse("spaces:venue_detail", args=[restaurant.slug])).content.decode()

    assert 'class="contact"' not in html
