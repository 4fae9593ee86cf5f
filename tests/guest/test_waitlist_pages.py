"""The guest side of the waitlist: join it from the venue page, see the place in line and an offer
on My reservations, leave it."""

from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation, WaitlistEntry
from reservations.periods import stay_period
from reservations.services import reservation_book, reservation_cancel
from reservations.services.waitlist import waitlist_join
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1
Status = WaitlistEntry.Status


def text(response) -> str:
    """The body with white space collapsed and entities read (Trattoria Test&#x27;s)."""
    return unescape(" ".join(response.content.decode().split()))


def tuesday(venue):
    return next_weekday(venue, TUESDAY)


def day_words(day) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def join_url(venue):
    return reverse("spaces:waitlist_join", kwargs={"slug": venue.slug})


def wish(venue, earliest="19:00", latest="21:00", party_size=2):
    return {"date": tuesday(venue).isoformat(), "party_size": str(party_size), "earliest": earliest, "latest": latest}


def fill(venue, clock="19:00") -> list[Reservation]:
    """Every table of the restaurant booked at `clock` on Tuesday."""
    starts_at = at(venue, tuesday(venue), clock)
    return [
        reservation_book(guest=make_user(f"diner{n}@example.com"), venue=venue, starts_at=starts_at, party_size=2)
        for n in range(venue.spaces.count())
    ]


def joined(venue, user, clock="19:00", day=None):
    start = at(venue, day or tuesday(venue), clock).time()
    return waitlist_join(guest=user, venue=venue, day=day or tuesday(venue), earliest=start, latest=start, party_size=2)


def test_the_venue_page_offers_the_waitlist_for_the_evening_on_the_slot_grid(client, restaurant):
    response = client.get(restaurant.get_absolute_url(), {"date": tuesday(restaurant).isoformat(), "party_size": 3})

    html = text(response)
    assert "Join the waitlist" in html
    assert f'action="{join_url(restaurant)}"' in html
    assert f'<input type="hidden" name="date" value="{tuesday(restaurant).isoformat()}"' in html
    assert '<input type="hidden" name="party_size" value="3"' in html
    assert "csrfmiddlewaretoken" in html
    assert '<option value="18:00" selected>18:00</option>' in html  # the whole evening by default
    assert '<option value="21:30" selected>21:30</option>' in html  # the last start of 90 minutes
    assert '<option value="12:00">12:00</option>' in html  # lunch can be chosen too
    assert '<option value="21:45"' not in html
    assert "style=" not in html and "<script>" not in html


def test_the_waitlist_comes_with_the_htmx_results_and_keeps_the_area(client, restaurant):
    search = {"date": tuesday(restaurant).isoformat(), "party_size": 2, "category": "Terrace"}

    html = text(client.get(restaurant.get_absolute_url(), search, headers={"HX-Request": "true"}))

    assert "Join the waitlist" in html
    assert '<input type="hidden" name="category" value="Terrace"' in html


def test_a_logged_in_guest_joins_and_hears_the_place_in_line(client, restaurant, guest, other_guest):
    joined(restaurant, other_guest)
    client.force_login(guest)

    response = client.post(join_url(restaurant), wish(restaurant))

    assert response.status_code == 302
    assert response["Location"] == reverse("reservations:list") + "#waitlist"
    entry = WaitlistEntry.objects.get(guest=guest)
    assert (entry.day, entry.earliest.isoformat(), entry.latest.isoformat(), entry.party_size) == (
        tuesday(restaurant),
        "19:00:00",
        "21:00:00",
        2,
    )
    assert entry.status == Status.WAITING
    html = text(client.get(response["Location"]))
    assert (
        f"You are on Trattoria Test's waitlist for {day_words(tuesday(restaurant))}, 19:00–21:00, 2 guests: "
        "number 2 in line." in html
    )
    assert "Waiting: number 2 in line" in html


def test_an_anonymous_guest_is_sent_to_log_in_and_comes_back_to_the_filled_in_wish(client, restaurant, guest):
    response = client.post(join_url(restaurant), wish(restaurant, "19:30", "20:15", party_size=4))

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    next_url = parse_qs(location.query)["next"][0]
    assert next_url.startswith(join_url(restaurant) + "?")
    assert WaitlistEntry.objects.count() == 0

    client.force_login(guest)
    html = text(client.get(next_url))
    assert '<option value="19:30" selected>19:30</option>' in html
    assert '<option value="20:15" selected>20:15</option>' in html
    assert '<input type="hidden" name="party_size" value="4"' in html
    assert WaitlistEntry.objects.count() == 0  # joined only with the button


@pytest.mark.parametrize(
    ("earliest", "latest", "message"),
    [
        ("21:00", "19:00", "The latest start must not be before the earliest."),
        ("19:07", "21:00", "Choose a time from the list."),
        ("", "21:00", "Choose a time from the list."),
    ],
)
def test_a_bad_window_is_shown_next_to_the_form(client, restaurant, guest, earliest, latest, message):
    client.force_login(guest)

    response = client.post(join_url(restaurant), wish(restaurant, earliest, latest))

    assert response.status_code == 422
    html = text(response)
    assert message in html
    assert "Join the waitlist" in html
    assert WaitlistEntry.objects.count() == 0


def test_a_wish_the_engine_refuses_is_shown_in_its_words(client, restaurant, guest):
    client.force_login(guest)
    joined(restaurant, guest, "12:00")

    response = client.post(join_url(restaurant), wish(restaurant))

    assert response.status_code == 422
    assert f"You are on Trattoria Test's waitlist for {tuesday(restaurant):%a %-d %b} already" in text(response)
    assert WaitlistEntry.objects.count() == 1


def test_a_day_the_venue_is_closed_has_no_waitlist(client, restaurant, guest):
    monday = next_weekday(restaurant, 0)
    client.force_login(guest)

    page = text(client.get(restaurant.get_absolute_url(), {"date": monday.isoformat(), "party_size": 2}))
    response = client.post(join_url(restaurant), {**wish(restaurant), "date": monday.isoformat()})

    assert "Join the waitlist" not in page
    assert response.status_code == 422
    assert f"Trattoria Test takes no bookings on {day_words(monday)}." in text(response)
    assert WaitlistEntry.objects.count() == 0


def test_my_reservations_shows_the_offer_after_a_cancellation_frees_a_table(client, restaurant, guest):
    booked = fill(restaurant)
    entry = joined(restaurant, guest)
    client.force_login(guest)
    assert "Waiting: number 1 in line" in text(client.get(reverse("reservations:list")))

    reservation_cancel(reservation=booked[0], actor=booked[0].guest)

    entry.refresh_from_db()
    assert entry.status == Status.OFFERED
    html = text(client.get(reverse("reservations:list")))
    review = reverse("reservations:review", kwargs={"reference": entry.offer.reference})
    until = entry.offer.hold_expires_at.astimezone(restaurant.zone)
    assert f'<a href="{review}">Confirm it</a>' in html
    assert "A place is held for you</strong> until <time datetime=" in html
    assert f">{until:%a} {until.day} {until:%b %H:%M}</time> (Berlin time)" in html
    assert client.get(review).status_code == 200  # the guest confirms it there


def test_my_reservations_lists_the_waitlist_in_a_fixed_number_of_queries(client, restaurant, guest):
    client.force_login(guest)
    joined(restaurant, guest)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reservations:list")).status_code == 200
        return len(captured)

    one = count()
    for weeks in (2, 3, 4):
        joined(restaurant, make_user(f"before{weeks}@example.com"), day=tuesday(restaurant) + timedelta(weeks=weeks))
        joined(restaurant, guest, day=tuesday(restaurant) + timedelta(weeks=weeks))
    html = text(client.get(reverse("reservations:list")))

    assert count() == one
    assert html.count("Waiting: number 2 in line") == 3
    assert html.count("Waiting: number 1 in line") == 1


def test_a_guest_leaves_the_waitlist_and_an_offer_is_released(client, restaurant, guest):
    booked = fill(restaurant)
    entry = joined(restaurant, guest)
    reservation_cancel(reservation=booked[0], actor=booked[0].guest)
    entry.refresh_from_db()
    client.force_login(guest)

    response = client.post(reverse("reservations:waitlist_leave", kwargs={"pk": entry.pk}), follow=True)

    entry.refresh_from_db()
    assert entry.status == Status.LEFT
    assert Reservation.objects.get(pk=entry.offer_id).status == Reservation.Status.CANCELLED
    html = text(response)
    assert f"You have left Trattoria Test's waitlist for {day_words(tuesday(restaurant))}." in html
    assert "Left the waitlist" in html


def test_only_the_entry_s_guest_may_leave_it(client, restaurant, guest, other_guest):
    entry = joined(restaurant, guest)
    url = reverse("reservations:waitlist_leave", kwargs={"pk": entry.pk})

    client.force_login(other_guest)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 405
    client.logout()
    assert client.post(url).status_code == 302  # to log in

    entry.refresh_from_db()
    assert entry.status == Status.WAITING


def test_a_sold_out_hotel_night_has_a_waitlist_for_the_stay(client, hotel, guest, other_guest):
    day = tuesday(hotel)
    check_in, check_out = stay_period(hotel, day, 2)
    reservation_book(
        guest=other_guest, venue=hotel, category="Family", party_size=3, starts_at=check_in, ends_at=check_out
    )
    search = {"date": day.isoformat(), "party_size": 3, "nights": 2}
    client.force_login(guest)

    html = text(client.get(hotel.get_absolute_url(), search))
    response = client.post(join_url(hotel), {**search, "earliest": "15:00", "latest": "15:00"})

    assert "Join the waitlist" in html
    assert f"If a room frees up for 2 nights from {day_words(day)} for 3 guests" in html
    assert '<input type="hidden" name="earliest" value="15:00"' in html
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(guest=guest)
    assert (entry.nights, entry.party_size, entry.earliest.isoformat()) == (2, 3, "15:00:00")
    assert "2 nights" in text(client.get(reverse("reservations:list")))


def test_no_waitlist_form_where_the_venue_switched_it_off(client, restaurant):
    from datetime import date, timedelta

    restaurant.waitlist = False
    restaurant.save()
    day = date.today() + timedelta(days=8)
    html = client.get(restaurant.get_absolute_url(), {"date": day.isoformat(), "party_size": 2}).content.decode()
    assert "waitlist" not in html.lower()


def test_a_sold_out_room_type_offers_its_own_waitlist(client, hotel, guest):
    arrival = timezone.now().astimezone(hotel.zone).date() + timedelta(days=20)
    starts_at, ends_at = stay_period(hotel, arrival, 2)
    single = make_user("single@example.com")
    reservation_book(guest=single, venue=hotel, category="Single", starts_at=starts_at, ends_at=ends_at, party_size=1)

    search = {"date": arrival.isoformat(), "party_size": 1, "nights": 2}
    html = client.get(hotel.get_absolute_url(), search).content.decode()
    assert 'Join the waitlist<span class="visually-hidden"> for Single' in html

    client.force_login(guest)
    wish = {**search, "category": "Single", "earliest": "15:00", "latest": "15:00"}
    joined = client.post(reverse("spaces:waitlist_join", kwargs={"slug": hotel.slug}), wish)
    assert joined.status_code == 302, joined.content.decode()[:500]
    entry = WaitlistEntry.objects.get(guest=guest)
    assert (entry.category, entry.nights) == ("Single", 2)
