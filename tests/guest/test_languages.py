"""Guests in their own language: the language a page is in (saved preference, the footer's choice,
Accept-Language, a venue's own), no English left in the main content of the guest pages (checked
against the catalogues), e-mails in the guest's language whatever the sender's, the API's `detail`
per Accept-Language."""

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from reservations.emails import build_message
from reservations.exceptions import PolicyViolation
from reservations.models import OutgoingMessage
from reservations.selectors import venue_availability
from reservations.services import reservation_book, reservation_hold
from tests.reservations.conftest import at, next_weekday

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["de", "fr", "es"]


def english_that_must_not_remain(language: str) -> set[str]:
    """The catalogue's English sentences (three words or more, no placeholder or markup) whose
    translation is another text: on a page in `language`, none may be left in English."""
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as source:
        catalogue = read_po(source)
    found = set()
    for message in catalogue:
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        string = message.string if isinstance(message.string, str) else message.string[0]
        if msgid and string and string != msgid and len(msgid.split()) >= 3 and not re.search(r"[%<>{}]", msgid):
            found.add(msgid)
    return found


def main_text(html: str) -> str:
    main = html[html.index("<main") : html.index("</main>")]
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


@pytest.fixture
def pages(client, restaurant, hotel, meeting_rooms, guest):
    """The guest pages, logged in as a guest with a booking and a hold."""
    day = next_weekday(restaurant, 1)
    booked = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=2)
    held = reservation_hold(
        guest=guest,
        space=meeting_rooms.spaces.get(name="Booth"),
        party_size=2,
        starts_at=at(meeting_rooms, next_weekday(meeting_rooms, 2), "10:00"),
    )
    client.force_login(guest)
    return [
        reverse("home"),
        reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug}) + f"?date={day}&party_size=2",
        reverse("spaces:venue_detail", kwargs={"slug": hotel.slug}),
        reverse("spaces:venue_detail", kwargs={"slug": meeting_rooms.slug}),
        reverse("reservations:list"),
        booked.get_absolute_url(),
        reverse("reservations:review", kwargs={"reference": held.reference}),
        reverse("reservations:modify", kwargs={"reference": booked.reference}),
        reverse("accounts:profile"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_guest_page_is_in_the_language_asked_for_with_no_english_left(client, pages, language):
    english = english_that_must_not_remain(language)
    assert len(english) > 300  # the catalogue is there, and full

    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
        assert response.status_code == 200, url
        html = response.content.decode()
        assert f'<html lang="{language}"' in html, url
        text = main_text(html)
        left = sorted(sentence for sentence in english if sentence in text)
        assert not left, f"{url} in {language} still says: {left[:5]}"
        assert "Accept-Language" in response["Vary"]


def test_logged_out_pages_of_sign_up_and_log_in_are_translated_too(client, db):
    for url in (reverse("account_login"), reverse("account_signup")):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert '<html lang="de"' in html and "Anmelden" in html


def test_a_saved_preference_beats_the_browser_and_the_footer_sets_both(client, guest, restaurant):
    venue_page = reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug})
    guest.language = "fr"
    guest.save()
    client.force_login(guest)
    assert '<html lang="fr"' in client.get(venue_page, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    client.post(reverse("set_language"), {"language": "es", "next": venue_page})

    guest.refresh_from_db()
    assert guest.language == "es"
    assert '<html lang="es"' in client.get(venue_page, HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_an_anonymous_visitor_chooses_in_the_footer_and_a_venue_speaks_its_own_language_otherwise(client, restaurant):
    venue_page = reverse("spaces:venue_detail", kwargs={"slug": restaurant.slug})
    restaurant.language = "de"
    restaurant.save()

    assert '<html lang="de"' in client.get(venue_page).content.decode()  # no Accept-Language: the venue's
    assert '<html lang="en-gb"' in client.get(venue_page, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    response = client.post(reverse("set_language"), {"language": "fr", "next": venue_page})
    assert response.status_code == 302
    assert '<html lang="fr"' in client.get(venue_page, HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_a_guests_emails_are_in_their_language_whatever_the_senders(guest, restaurant):
    guest.language = "de"
    guest.save()
    day = next_weekday(restaurant, 1)
    booking = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=2)
    message = OutgoingMessage.objects.get(reservation=booking, kind=OutgoingMessage.Kind.CONFIRMED)

    with translation.override("en-gb"):  # the worker's own locale
        email = build_message(message)
        with translation.override("de"):
            german = english_that_must_not_remain("de")
        text = email.body + email.alternatives[0][0]

    assert not [sentence for sentence in german if sentence in text]
    assert translation.get_language() != "de"
    english_subject = build_english_subject(message)
    assert email.subject != english_subject


def build_english_subject(message) -> str:
    guest = message.reservation.guest
    language, guest.language = guest.language, ""
    guest.save()
    try:
        with translation.override("en-gb"):
            return build_message(OutgoingMessage.objects.get(pk=message.pk)).subject
    finally:
        guest.language = language
        guest.save()


def test_the_apis_detail_follows_accept_language(client, meeting_rooms):
    day = next_weekday(meeting_rooms, 1)
    query = {"venue": meeting_rooms.slug, "party_size": 2, "duration": 45}

    french = client.get(f"/api/availability/{day}", query, HTTP_ACCEPT_LANGUAGE="fr").json()
    english = client.get(f"/api/availability/{day}", query).json()

    with translation.override("fr"), pytest.raises(PolicyViolation) as refused:
        venue_availability(venue=meeting_rooms, day=day, party_size=2, duration=45)
    assert french["detail"] == str(refused.value.message) != english["detail"]
    assert french["field"] == "duration"


def test_dates_and_prices_follow_the_language(client, hotel):
    day = next_weekday(hotel, 4) + timedelta(days=7)
    url = reverse("spaces:venue_detail", kwargs={"slug": hotel.slug}) + f"?date={day}&party_size=2&nights=2"
    german = main_text(client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode())
    assert "180 £" in german or "180,00 £" in german  # the amount as German writes it
    months = {"de": ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]}
    assert any(month in german for month in months["de"])
