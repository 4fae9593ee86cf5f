"""A guest's choice of text messages on the pages: "Text me a reminder" on the review page, "Text me if a
place frees up" on the waitlist form, the profile's choice for every booking, and the switch on a
reservation's page; each needs a phone, and says so next to the box. The pages offer it only where the
site sends texts and the venue sends that kind."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reservations.models import Reservation, WaitlistEntry
from reservations.services import reservation_book
from tests.guest.test_booking_contact import LONDON_MOBILE, LONDON_MOBILE_E164, confirm_url, held, main, review_url
from tests.guest.test_waitlist_pages import join_url, text, wish
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db
BOX = 'name="by_sms"'
PROFILE_URL = reverse("accounts:profile")


def with_phone(user, phone=LONDON_MOBILE_E164):
    user.phone = phone
    user.save()
    return user


def details(reservation, **extra) -> dict:
    return {"notes": "", "contact_name": "Gina Guest", "contact_phone": "", **extra}


# --- The review page --------------------------------------------------------------------------------


def test_the_review_page_offers_a_text_reminder_where_the_venue_sends_them(client, texts_on, restaurant, guest):
    reservation = held(restaurant, with_phone(guest))
    client.force_login(guest)

    html = main(client.get(review_url(reservation)))

    assert BOX in html and "Text me a reminder" in html
    assert 'type="checkbox"' in html and "checked" not in html.split(BOX)[1].split(">")[0]


def test_the_box_names_what_the_venue_texts(client, texts_on, restaurant, guest):
    restaurant.sms_booking_changes = True
    restaurant.save()
    client.force_login(guest)

    html = main(client.get(review_url(held(restaurant, guest))))

    assert "Text me a reminder, and when the booking is confirmed or changed" in html


@pytest.mark.parametrize("why", ["texts off", "venue sends none"])
def test_no_box_where_no_text_would_go(client, settings, restaurant, guest, why):
    if why == "venue sends none":
        settings.HOLDFAST_SMS_PROVIDER = "console"
        restaurant.sms_reminders = False
        restaurant.save()
    client.force_login(guest)

    html = main(client.get(review_url(held(restaurant, guest))))

    assert BOX not in html and "Text me" not in html


def test_a_guest_whose_profile_asks_for_texts_is_told_instead_of_asked(client, texts_on, restaurant, guest):
    guest.sms_messages = True
    with_phone(guest)
    client.force_login(guest)

    html = main(client.get(review_url(held(restaurant, guest))))

    assert BOX not in html
    assert "You get text messages about this booking too, as you asked under My account." in html


def test_ticking_the_box_books_with_texts_to_the_bookings_phone(client, texts_on, restaurant, guest):
    reservation = held(restaurant, guest)  # the profile has no phone yet: the form gives it
    client.force_login(guest)

    response = client.post(confirm_url(reservation), details(reservation, contact_phone=LONDON_MOBILE, by_sms="on"))

    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED and reservation.by_sms
    assert reservation.phone == LONDON_MOBILE_E164


def test_leaving_the_box_unticked_books_without_texts(client, texts_on, restaurant, guest):
    reservation = held(restaurant, with_phone(guest), by_sms=True)  # a hold that asked for them (the API)
    client.force_login(guest)

    assert "checked" in main(client.get(review_url(reservation))).split(BOX)[1].split(">")[0]
    client.post(confirm_url(reservation), details(reservation))

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED and not reservation.by_sms


def test_ticking_the_box_without_any_phone_is_refused_next_to_the_box(client, texts_on, restaurant, guest):
    reservation = held(restaurant, guest)
    client.force_login(guest)

    response = client.post(confirm_url(reservation), details(reservation, by_sms="on"))

    assert response.status_code == 422
    html = main(response)
    box = html[html.index('class="field choice texts') :]
    assert "To get text messages, give a phone for the booking." in box[: box.index("</div>")]
    assert html.count("To get text messages, give a phone for the booking.") == 1
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.HELD and not reservation.by_sms


def test_the_review_page_runs_no_more_queries_with_texts_on(client, settings, restaurant, guest):
    reservation = held(restaurant, with_phone(guest))
    client.force_login(guest)
    client.get(review_url(reservation))  # the session's first request records it

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(review_url(reservation)).status_code == 200
        return len(captured)

    without = count()
    settings.HOLDFAST_SMS_PROVIDER = "console"
    assert count() == without


# --- The reservation's page -------------------------------------------------------------------------


@pytest.fixture
def booking(restaurant, guest):
    day = next_weekday(restaurant, 1)
    return reservation_book(
        guest=with_phone(guest), venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2
    )


def test_a_guest_switches_texts_on_and_off_on_the_reservations_page(client, texts_on, booking, guest):
    client.force_login(guest)
    page = booking.get_absolute_url()
    url = reverse("reservations:texts", kwargs={"reference": booking.reference})

    assert "Text me about this booking too" in text(client.get(page))
    response = client.post(url, {"by_sms": "on"}, follow=True)
    assert "We will text you about this booking too." in text(response)
    assert "We text you about this booking too, at +44 7400 123456." in text(response)
    booking.refresh_from_db()
    assert booking.by_sms

    response = client.post(url, {}, follow=True)
    assert "No more text messages about this booking." in text(response)
    booking.refresh_from_db()
    assert not booking.by_sms


def test_switching_texts_on_without_a_phone_says_why(client, texts_on, booking, guest):
    with_phone(guest, "")
    client.force_login(guest)

    response = client.post(
        reverse("reservations:texts", kwargs={"reference": booking.reference}), {"by_sms": "on"}, follow=True
    )

    assert "To get text messages, give a phone for the booking." in text(response)
    booking.refresh_from_db()
    assert not booking.by_sms


def test_someone_elses_booking_cannot_be_switched(client, texts_on, booking, other_guest):
    client.force_login(other_guest)

    response = client.post(reverse("reservations:texts", kwargs={"reference": booking.reference}), {"by_sms": "on"})

    assert response.status_code == 404
    booking.refresh_from_db()
    assert not booking.by_sms


def test_no_texts_section_while_texts_are_off(client, booking, guest):
    client.force_login(guest)

    assert "Text messages" not in text(client.get(booking.get_absolute_url()))


# --- The waitlist form ------------------------------------------------------------------------------


def test_the_waitlist_form_offers_a_text_when_a_place_frees_up(client, texts_on, restaurant, guest):
    client.force_login(with_phone(guest))
    search = {"date": wish(restaurant)["date"], "party_size": 2}

    html = text(client.get(restaurant.get_absolute_url(), search))

    assert "Text me if a place frees up" in html and BOX in html


def test_joining_with_the_box_ticked_texts_the_offer(client, texts_on, restaurant, guest):
    client.force_login(with_phone(guest))

    response = client.post(join_url(restaurant), {**wish(restaurant), "by_sms": "on"})

    assert response.status_code == 302
    assert WaitlistEntry.objects.get(guest=guest).by_sms


def test_joining_with_the_box_ticked_but_no_phone_is_refused_next_to_the_box(client, texts_on, restaurant, guest):
    client.force_login(guest)

    response = client.post(join_url(restaurant), {**wish(restaurant), "by_sms": "on"})

    assert response.status_code == 422
    html = text(response)
    box = html[html.index('class="field choice texts') :]
    assert "To get text messages, add your phone number under My account first." in box[: box.index("</div>")]
    assert not WaitlistEntry.objects.exists()


def test_no_waitlist_box_where_the_venue_does_not_text_offers(client, texts_on, restaurant, guest):
    restaurant.sms_waitlist_offers = False
    restaurant.save()
    client.force_login(guest)

    html = text(client.get(restaurant.get_absolute_url(), {"date": wish(restaurant)["date"], "party_size": 2}))

    assert "Join the waitlist" in html and BOX not in html


# --- The profile -------------------------------------------------------------------------------------


def test_the_profile_asks_for_texts_only_while_the_site_sends_them(client, settings, guest):
    client.force_login(guest)
    assert "sms_messages" not in text(client.get(PROFILE_URL))

    settings.HOLDFAST_SMS_PROVIDER = "console"
    assert "Text me reminders and waitlist offers" in text(client.get(PROFILE_URL))


def test_the_profile_choice_needs_a_phone(client, texts_on, guest):
    client.force_login(guest)

    response = client.post(PROFILE_URL, {"name": "Gina Guest", "phone": "", "sms_messages": "on"})

    assert response.status_code == 200
    assert "To get text messages, give your phone number above." in text(response)
    guest.refresh_from_db()
    assert not guest.sms_messages


def test_the_profile_choice_is_saved_with_a_phone(client, texts_on, guest):
    client.force_login(guest)

    response = client.post(PROFILE_URL, {"name": "Gina Guest", "phone": LONDON_MOBILE, "sms_messages": "on"})

    assert response.status_code == 302
    guest.refresh_from_db()
    assert guest.sms_messages and guest.phone == LONDON_MOBILE_E164


def test_the_profile_says_when_the_number_answered_stop(client, texts_on, guest):
    from accounts.models import SmsOptOut

    SmsOptOut.objects.create(phone=with_phone(guest).phone, words="STOP")
    client.force_login(guest)

    assert "Your number answered STOP" in text(client.get(PROFILE_URL))
