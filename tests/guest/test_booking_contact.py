"""The name and phone a booking is under (booking for someone else), asked on the review page as the
guest confirms, prefilled from the profile and saved to it once; the notes' limit; one message per
refusal, next to the field at fault."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_confirm, reservation_hold
from reservations.services.lifecycle import reservation_add_details
from tests.guest.test_booking_pages import hold_url, table_choice, text, tuesday
from tests.reservations.conftest import at

pytestmark = pytest.mark.django_db

LONDON_MOBILE = "07400 123456"
LONDON_MOBILE_E164 = "+447400123456"


def held(venue, guest, clock="19:30", **extra):
    return reservation_hold(guest=guest, venue=venue, starts_at=at(venue, tuesday(venue), clock), party_size=2, **extra)


def review_url(reservation):
    return reverse("reservations:review", kwargs={"reference": reservation.reference})


def confirm_url(reservation):
    return reverse("reservations:confirm", kwargs={"reference": reservation.reference})


def main(response) -> str:
    html = text(response)
    return html[html.index("<main") : html.index("</main>")]


def test_the_review_page_asks_the_name_and_phone_prefilled_from_the_profile(client, restaurant, guest):
    User.objects.filter(pk=guest.pk).update(phone=LONDON_MOBILE_E164)
    reservation = held(restaurant, guest)
    client.force_login(guest)

    html = main(client.get(review_url(reservation)))

    assert "Booking for someone else? Change the name and phone." in html
    assert 'name="contact_name" value="Gina Guest"' in html
    assert 'name="contact_phone" value="+44 7400 123456"' in html  # as people read it
    assert 'type="tel"' in html and 'autocomplete="tel"' in html


def test_a_first_booking_saves_the_phone_given_to_the_profile_and_the_booking_falls_back_to_it(
    client, restaurant, guest
):
    reservation = held(restaurant, guest)  # the profile has a name but no phone
    client.force_login(guest)

    response = client.post(
        confirm_url(reservation), {"notes": "", "contact_name": "Gina Guest", "contact_phone": LONDON_MOBILE}
    )

    assert response.status_code == 302
    guest.refresh_from_db()
    assert guest.phone == LONDON_MOBILE_E164  # asked once: the next booking is prefilled with it
    reservation.refresh_from_db()
    assert (reservation.contact_name, reservation.contact_phone) == ("", "")  # the guest's own
    assert (reservation.who, reservation.phone) == ("Gina Guest", LONDON_MOBILE_E164)
    again = held(restaurant, guest, "21:00")
    assert 'name="contact_phone" value="+44 7400 123456"' in main(client.get(review_url(again)))


def test_a_guest_without_a_name_gives_it_once(client, restaurant):
    nameless = User.objects.create_user("nameless@example.com", "a-long-test-password")
    reservation = held(restaurant, nameless)
    client.force_login(nameless)

    client.post(confirm_url(reservation), {"contact_name": "  Nora   Nameless ", "contact_phone": LONDON_MOBILE})

    nameless.refresh_from_db()
    assert (nameless.name, nameless.phone) == ("Nora Nameless", LONDON_MOBILE_E164)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED and reservation.who == "Nora Nameless"


def test_booking_for_someone_else_keeps_their_name_and_phone_on_the_booking_only(client, restaurant, guest):
    reservation = held(restaurant, guest)
    client.force_login(guest)

    response = client.post(
        confirm_url(reservation),
        {"notes": "Birthday", "contact_name": "Ann Other", "contact_phone": "+49 30 1234567"},
        follow=True,
    )

    reservation.refresh_from_db()
    assert (reservation.contact_name, reservation.contact_phone) == ("Ann Other", "+49301234567")
    guest.refresh_from_db()
    assert (guest.name, guest.phone) == ("Gina Guest", "")  # a friend's phone is not the guest's
    assert "<dt>Booked for</dt><dd>Ann Other, +49 30 1234567</dd>" in text(response)


def test_a_phone_that_cannot_be_called_is_refused_next_to_the_phone_field_and_nothing_is_saved(
    client, restaurant, guest
):
    reservation = held(restaurant, guest)
    client.force_login(guest)

    response = client.post(
        confirm_url(reservation), {"notes": "A high chair", "contact_name": "Gina Guest", "contact_phone": "12"}
    )

    html = main(response)
    assert response.status_code == 422
    field = html[html.index('<label for="id_contact_phone">') : html.index('name="contact_phone"')]
    assert '<ul class="errorlist" id="id_contact_phone_errors"><li>This is not a phone number we can call.' in field
    assert html.count("This is not a phone number we can call.") == 1  # one message, next to the field
    assert '<div class="message error"' not in html  # no banner as well
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.HELD and reservation.notes == ""
    guest.refresh_from_db()
    assert guest.phone == ""


def test_a_confirm_with_notes_and_a_contact_is_one_confirmed_event_that_says_what_was_given(client, restaurant, guest):
    reservation = held(restaurant, guest)
    client.force_login(guest)

    client.post(
        confirm_url(reservation), {"notes": "Step-free, please", "contact_name": "Ann Other", "contact_phone": ""}
    )

    kinds = list(reservation.events.values_list("kind", flat=True))
    assert kinds == [ReservationEvent.Kind.HELD, ReservationEvent.Kind.CONFIRMED]  # no "modified"
    confirmed = reservation.events.get(kind="confirmed")
    assert confirmed.details["given"] == ["notes", "contact"]
    assert "Ann Other" not in str(confirmed.details)  # the name stays on the booking, not in the history
    page = text(client.get(reservation.get_absolute_url()))
    assert "Confirmed, with notes, for someone else (a name and phone of its own)" in page
    assert "Modified" not in page


def test_notes_over_the_limit_are_refused_in_plain_words_and_never_cut(client, restaurant, guest):
    reservation = held(restaurant, guest)
    client.force_login(guest)
    pasted = "x" * 1234

    response = client.post(confirm_url(reservation), {"notes": pasted, "contact_name": "Gina Guest"})

    html = main(response)
    assert response.status_code == 422
    assert "Notes can be up to 1,000 characters; these are 1,234. Please shorten them." in html
    assert "Ensure this value" not in html  # no framework wording
    assert pasted in html  # given back whole, for the guest to shorten
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.HELD and reservation.notes == ""


def test_the_notes_field_shows_its_limit_before_it_bites(client, restaurant, guest):
    reservation = held(restaurant, guest)
    client.force_login(guest)

    response = client.get(review_url(reservation))

    html = text(response)
    assert "Up to 1,000 characters." in html
    assert 'maxlength="1000"' in html and 'data-character-count="1000"' in html  # without JavaScript
    assert 'data-character-count-for="id_notes"' in html and 'aria-live="polite"' in html
    assert 'data-many-left="%(count)s characters left"' in html  # the counter's words, translatable
    assert "js/character-count.js" in html


def test_notes_and_contact_given_before_paying_are_confirmed_with_the_payment(restaurant, guest):
    reservation = held(restaurant, guest)

    reservation_add_details(
        reservation=reservation, actor=guest, notes="Vegan", contact_name="Ann Other", contact_phone=LONDON_MOBILE
    )

    assert list(reservation.events.values_list("kind", flat=True)) == ["held"]  # still being filled in
    confirmed = reservation_confirm(reservation=reservation, actor=guest)
    assert (confirmed.notes, confirmed.contact_name, confirmed.contact_phone) == (
        "Vegan",
        "Ann Other",
        LONDON_MOBILE_E164,
    )
    assert confirmed.events.get(kind="confirmed").details["given"] == ["notes", "contact"]


def test_a_hold_refused_for_a_passed_day_says_so_once_next_to_the_date(client, restaurant, guest):
    client.force_login(guest)
    yesterday = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=1)

    response = client.post(hold_url(restaurant), table_choice(restaurant, "19:30", day=yesterday))

    html = main(response)
    assert response.status_code == 422
    assert "That time has already passed." not in html  # the engine's words for the same refusal
    date_field = html[html.index('<label for="id_date">') : html.index('<label for="id_party_size">')]
    assert "passed" in date_field  # the search's own message, next to the date
    assert html.count("passed") == 1


def test_a_hold_refused_for_a_day_too_far_ahead_says_so_once(client, restaurant, guest):
    client.force_login(guest)
    far = timezone.now().astimezone(restaurant.zone).date() + timedelta(days=90)

    response = client.post(hold_url(restaurant), table_choice(restaurant, "19:30", day=far))

    html = main(response)
    assert response.status_code == 422
    assert html.count("60 days ahead") == 1 or "(60 days ahead)" in html  # the date's hint may say the window
    assert html.count("takes bookings up to 60 days ahead") == 1


def test_a_party_of_none_is_refused_in_plain_words(client, restaurant, guest):
    client.force_login(guest)

    response = client.post(hold_url(restaurant), table_choice(restaurant, "19:30", party_size=0))

    html = main(response)
    assert response.status_code == 400
    assert "The party needs at least one guest." in html
    assert "Ensure this value" not in html
    assert Reservation.objects.count() == 0
