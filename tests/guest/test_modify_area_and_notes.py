"""Changing a booking: a restaurant's area (terrace, dining room) under the same rules as a new booking
(closures, pacing), the notes and the name and phone after booking (no availability can refuse
those), on the pages and through PUT /api/reservations/{reference}."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reservations.exceptions import PolicyViolation, SlotUnavailable
from reservations.models import Reservation
from reservations.services import reservation_book, reservation_modify
from spaces.models import Closure, PacingRule, Space
from tests.booked import write_directly
from tests.guest.test_booking_pages import text, tuesday
from tests.reservations.conftest import at

pytestmark = pytest.mark.django_db
JSON = "application/json"


def on_the_terrace(venue, guest, clock="19:00", party_size=4, **extra):
    return reservation_book(
        guest=guest,
        venue=venue,
        category="Terrace",
        starts_at=at(venue, tuesday(venue), clock),
        party_size=party_size,
        **extra,
    )


def modify_url(reservation):
    return reverse("reservations:modify", kwargs={"reference": reservation.reference})


def details_url(reservation):
    return reverse("reservations:details", kwargs={"reference": reservation.reference})


def choice(reservation, category, clock=None):
    starts_at = (
        reservation.local_starts_at
        if clock is None
        else at(reservation.space.venue, tuesday(reservation.space.venue), clock)
    )
    return {
        "starts_at": starts_at.isoformat(),
        "party_size": str(reservation.party_size),
        "duration": "90",
        "category": category,
    }


# --- The area --------------------------------------------------------------------------------


def test_the_modify_page_offers_the_areas_with_the_booked_one_chosen(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    client.force_login(guest)

    html = text(client.get(modify_url(booking)))

    assert '<label for="id_category">Area</label>' in html
    assert '<option value="Terrace" selected>Terrace</option>' in html
    assert '<option value="Dining room">Dining room</option>' in html
    assert "Choose a new time, party size or area below." in html
    assert "Find a new time" in html and "Space" not in html.split("<main")[1].split("</main>")[0]


def test_a_restaurant_booking_moves_to_another_area(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)  # Table 4, the terrace's table for 4
    client.force_login(guest)

    response = client.post(modify_url(booking), choice(booking, "Dining room"), follow=True)

    booking.refresh_from_db()
    assert (booking.space.name, booking.space.category, booking.requested_category) == (
        "Table 3",
        "Dining room",
        "Dining room",
    )
    assert booking.starts_at == at(restaurant, tuesday(restaurant), "19:00")
    html = text(response)
    assert "Your reservation is changed:" in html and ", 4 guests, Dining room." in html
    assert "Modified: Table 4 → Table 3, Terrace → Dining room" in html


def test_an_area_closed_at_the_time_refuses_the_move(restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    Reservation.objects.filter(pk=booking.pk).update(
        requested_category="Dining room", space=restaurant.spaces.get(name="Table 3")
    )
    booking.refresh_from_db()
    Closure.objects.create(
        venue=restaurant,
        area="Terrace",
        starts_at=booking.starts_at - timedelta(hours=3),
        ends_at=booking.starts_at + timedelta(hours=5),
        reason="a private party",
    )

    with pytest.raises(PolicyViolation) as refused:
        reservation_modify(reservation=booking, actor=guest, category="Terrace")

    assert "Terrace" in refused.value.message
    booking.refresh_from_db()
    assert booking.space.category == "Dining room"


def test_an_area_whose_pacing_is_full_refuses_the_move(restaurant, guest, other_guest):
    PacingRule.objects.create(venue=restaurant, area="Dining room", interval_minutes=15, max_covers=4)
    booking = on_the_terrace(restaurant, guest)
    reservation_book(
        guest=other_guest, venue=restaurant, category="Dining room", starts_at=booking.starts_at, party_size=4
    )

    with pytest.raises(SlotUnavailable):
        reservation_modify(reservation=booking, actor=guest, category="Dining room")

    booking.refresh_from_db()
    assert (booking.space.category, booking.requested_category) == ("Terrace", "Terrace")


def test_an_area_the_venue_does_not_have_is_refused_in_plain_words(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    client.force_login(guest)

    response = client.post(modify_url(booking), choice(booking, "Rooftop"))

    assert response.status_code == 422
    assert "Trattoria Test has no “Rooftop” to book." in text(response)


# --- Notes and contact after booking ------------------------------------------------------------


def test_the_modify_page_has_the_notes_and_contact_prefilled(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest, notes="Window table", contact_name="Ann Other")
    client.force_login(guest)

    html = text(client.get(modify_url(booking)))

    assert f'<form method="post" action="{details_url(booking)}"' in html
    assert "> Window table</textarea>" in html
    assert 'name="contact_name" value="Ann Other"' in html
    assert "Changing these keeps your time and your table." in html
    assert "js/character-count.js" in html


def test_notes_change_alone_keeps_the_time_tables_and_price_even_when_the_time_is_no_longer_bookable(
    client, restaurant, guest, other_guest
):
    booking = on_the_terrace(restaurant, guest)
    price_before = booking.price
    # Since the booking: the terrace closed for the evening and the table's price went up. Neither
    # can refuse (or re-price) a change of the notes.
    Closure.objects.create(
        venue=restaurant, area="Terrace", starts_at=booking.starts_at - timedelta(hours=1), ends_at=booking.ends_at
    )
    Space.objects.filter(pk=booking.space_id).update(price=99)
    client.force_login(guest)

    response = client.post(
        details_url(booking), {"notes": "Two high chairs", "contact_name": "Gina Guest"}, follow=True
    )

    changed = Reservation.objects.get(pk=booking.pk)
    assert (changed.notes, changed.space_id, changed.starts_at, changed.ends_at, changed.price) == (
        "Two high chairs",
        booking.space_id,
        booking.starts_at,
        booking.ends_at,
        price_before,
    )
    html = text(response)
    assert "Your notes and the name and phone for the booking are saved." in html
    assert "Modified: notes added" in html


def test_a_new_name_and_phone_for_the_booking_are_saved_normalised(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    client.force_login(guest)

    client.post(details_url(booking), {"notes": "", "contact_name": "Ann Other", "contact_phone": "030 1234567x"})
    refused = Reservation.objects.get(pk=booking.pk)
    response = client.post(
        details_url(booking), {"notes": "", "contact_name": "Ann Other", "contact_phone": "+49 30 1234567"}
    )

    assert refused.contact_phone == ""  # the first phone could not be called: nothing was saved
    booking.refresh_from_db()
    assert response.status_code == 302
    assert (booking.contact_name, booking.contact_phone) == ("Ann Other", "+49301234567")


def test_an_uncallable_phone_is_shown_next_to_the_field_on_the_modify_page(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    client.force_login(guest)

    response = client.post(details_url(booking), {"notes": "", "contact_name": "Ann", "contact_phone": "12"})

    html = text(response)
    assert response.status_code == 422
    assert '<ul class="errorlist" id="id_contact_phone_errors"><li>This is not a phone number we can call.' in html
    assert 'value="12"' in html  # what the guest typed, to correct


def test_notes_past_the_cut_off_cannot_be_changed_online(client, restaurant, guest):
    soon = timezone.now() + timedelta(hours=3)
    (booking,) = write_directly(
        Reservation(
            guest=guest,
            space=restaurant.spaces.get(name="Table 4"),
            starts_at=soon,
            ends_at=soon + timedelta(minutes=90),
            party_size=4,
            status=Reservation.Status.CONFIRMED,
        )
    )
    client.force_login(guest)

    response = client.post(details_url(booking), {"notes": "Late"}, follow=True)

    booking.refresh_from_db()
    assert booking.notes == ""
    assert "Changes were possible until" in text(response)


# --- The API ------------------------------------------------------------------------------------


def test_the_api_changes_the_notes_alone_and_the_area(client, restaurant, guest):
    booking = on_the_terrace(restaurant, guest)
    client.force_login(guest)
    url = f"/api/reservations/{booking.reference}"

    notes = client.put(url, {"notes": "Birthday cake at 21:00"}, content_type=JSON)
    area = client.put(url, {"category": "Dining room"}, content_type=JSON)

    assert notes.status_code == 200, notes.content
    assert area.status_code == 200, area.content
    booking.refresh_from_db()
    assert booking.notes == "Birthday cake at 21:00"
    assert (booking.space.category, booking.requested_category) == ("Dining room", "Dining room")
    assert (notes.json()["notes"], area.json()["space_name"]) == ("Birthday cake at 21:00", "Table 3")
