"""A hold that ran out can be held again in one click (a POST) when its choice is still free:
through reservation_hold, with its rules and the hold rate limit; else the page says it has gone and
links to the venue's search for that day."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import reservation_book, reservation_hold
from tests.guest.test_booking_pages import text, tuesday
from tests.reservations.conftest import at

pytestmark = pytest.mark.django_db
Status = Reservation.Status


def ran_out(venue, guest, clock="19:30", party_size=3, space=None, **extra):
    """A hold made 30 minutes ago: it ran out 20 minutes ago (the sweeper has not expired it yet)."""
    return reservation_hold(
        guest=guest,
        starts_at=at(venue, tuesday(venue), clock),
        party_size=party_size,
        now=timezone.now() - timedelta(minutes=30),
        **({"space": space} if space is not None else {"venue": venue}),
        **extra,
    )


def hold_again_url(reservation):
    return reverse("reservations:hold_again", kwargs={"reference": reservation.reference})


def test_the_review_and_detail_pages_of_a_hold_that_ran_out_offer_hold_again(client, restaurant, guest):
    old = ran_out(restaurant, guest)
    client.force_login(guest)

    review = text(client.get(reverse("reservations:review", kwargs={"reference": old.reference})))
    detail = text(client.get(old.get_absolute_url()))

    for html in (review, detail):
        assert f'<form method="post" action="{hold_again_url(old)}"' in html
        assert "Hold again</button>" in html
        assert "Search again" not in html


def test_the_ran_out_message_on_confirming_offers_hold_again(client, restaurant, guest):
    old = ran_out(restaurant, guest)
    client.force_login(guest)

    response = client.post(reverse("reservations:confirm", kwargs={"reference": old.reference}))

    html = text(response)
    assert response.status_code == 409
    alert = html[html.index('<div class="message error" role="alert">') :]
    alert = alert[: alert.index("</div>")]
    assert "Your hold ran out at" in alert and "Hold again</button>" in alert
    assert "Please search again" not in html


def test_hold_again_holds_the_same_choice_with_its_notes_and_contact(client, restaurant, guest):
    old = ran_out(restaurant, guest, category="Terrace", notes="Window seat", contact_name="Ann Other")
    client.force_login(guest)

    response = client.post(hold_again_url(old), follow=True)

    again = Reservation.objects.exclude(pk=old.pk).get()
    assert response.redirect_chain[-1][0] == reverse("reservations:review", kwargs={"reference": again.reference})
    assert again.status == Status.HELD and again.hold_expires_at > timezone.now()
    assert (again.starts_at, again.ends_at, again.party_size) == (old.starts_at, old.ends_at, old.party_size)
    assert (again.requested_category, again.space.category) == ("Terrace", "Terrace")
    assert (again.notes, again.contact_name) == ("Window seat", "Ann Other")
    assert "Held again for you until" in text(response)
    old.refresh_from_db()
    assert old.status == Status.EXPIRED  # it was in the way of the new hold: expired on the spot


def test_hold_again_keeps_the_space_the_guest_picked(client, meeting_rooms, guest):
    loft = meeting_rooms.spaces.get(name="Loft")
    old = ran_out(meeting_rooms, guest, clock="10:00", party_size=5, space=loft)
    client.force_login(guest)

    client.post(hold_again_url(old))

    again = Reservation.objects.exclude(pk=old.pk).get()
    assert again.space == loft and again.starts_at == old.starts_at


def test_a_choice_taken_meanwhile_says_it_has_gone_and_links_to_that_days_search(
    client, restaurant, guest, other_guest
):
    old = ran_out(restaurant, guest, category="Terrace", party_size=5)  # the one terrace table for 5
    reservation_book(guest=other_guest, venue=restaurant, category="Terrace", starts_at=old.starts_at, party_size=5)
    client.force_login(guest)

    response = client.post(hold_again_url(old))

    html = text(response)
    assert response.status_code == 409
    assert Reservation.objects.filter(guest=guest).count() == 1  # nothing new was held
    assert "Hold again</button>" not in html  # it would only be refused again
    link = html[html.index("Find another time at Trattoria Test") - 200 :]
    href = link[link.index('href="') + 6 :].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert urlsplit(href).path == restaurant.get_absolute_url()
    assert query == {
        "date": [tuesday(restaurant).isoformat()],
        "party_size": ["5"],
        "duration": ["90"],
        "category": ["Terrace"],
    }


def test_a_live_hold_is_not_held_twice(client, restaurant, guest):
    live = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday(restaurant), "19:30"), party_size=2
    )
    client.force_login(guest)

    response = client.post(hold_again_url(live))

    assert response.status_code == 302 and response["Location"] == live.get_absolute_url()
    assert Reservation.objects.count() == 1


def test_hold_again_is_a_post_and_only_the_guests_own(client, restaurant, guest, other_guest):
    old = ran_out(restaurant, guest)
    someone_else = Client()
    someone_else.force_login(other_guest)
    client.force_login(guest)

    assert someone_else.post(hold_again_url(old)).status_code == 404
    assert client.get(hold_again_url(old)).status_code == 405
    assert Reservation.objects.count() == 1


def test_hold_again_counts_towards_the_hold_rate_limit(client, restaurant, guest, settings):
    settings.HOLDFAST_RATE_LIMITS = {**settings.HOLDFAST_RATE_LIMITS, "hold": "1/m/user"}
    first, second = ran_out(restaurant, guest, "19:00"), ran_out(restaurant, guest, "21:00")
    client.force_login(guest)

    assert client.post(hold_again_url(first)).status_code == 302
    refused = client.post(hold_again_url(second))

    assert refused.status_code == 429 and "Retry-After" in refused
    assert Reservation.objects.filter(status=Status.HELD, hold_expires_at__gt=timezone.now()).count() == 1


def test_notes_and_contact_given_as_the_hold_ran_out_are_held_again(client, restaurant, guest):
    old = ran_out(restaurant, guest)
    client.force_login(guest)
    confirm = reverse("reservations:confirm", kwargs={"reference": old.reference})

    refused = client.post(confirm, {"notes": "Quiet corner", "contact_name": "Ann Other", "contact_phone": ""})
    client.post(hold_again_url(old))

    assert refused.status_code == 409
    again = Reservation.objects.exclude(pk=old.pk).get()
    assert (again.notes, again.contact_name, again.status) == ("Quiet corner", "Ann Other", Status.HELD)
