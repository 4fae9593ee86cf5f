"""Whom the venue greets and calls: the day sheet and the reservation admin show the name and phone the
booking is under (its own when booked for someone else, else the account's: Reservation.who and .phone),
the phone as a tel: link in the international format; staff change them in the admin, through the service."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1
DAY_SHEET = reverse("staff:day_sheet")
CHANGELIST = reverse("admin:reservations_reservation_changelist")
NO_INLINE_FORMS = {
    f"{prefix}-{name}": value
    for prefix in ("events", "payments")
    for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))
}


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def book(venue, guest, clock="19:00", party_size=2, **extra):
    day = next_weekday(venue, TUESDAY)
    return reservation_book(guest=guest, venue=venue, starts_at=at(venue, day, clock), party_size=party_size, **extra)


def sheet_of(client, venue):
    response = client.get(DAY_SHEET, {"venue": venue.pk, "day": next_weekday(venue, TUESDAY).isoformat()})
    assert response.status_code == 200
    return response


def guest_cell(html: str, reservation) -> str:
    row = html[html.index(f'id="booking-{reservation.pk}"') :]
    return row[row.index('<td class="guest">') : row.index("</td>", row.index('<td class="guest">'))]


def test_a_booking_for_someone_else_shows_their_name_and_phone_to_call(staff_client, restaurant, guest):
    guest.phone = "+49301234567"
    guest.save()
    booking = book(restaurant, guest, contact_name="Bob Builder", contact_phone="+447400123456")

    html = sheet_of(staff_client, restaurant).content.decode()

    cell = guest_cell(html, booking)
    assert "Bob Builder" in cell
    assert "booked by Gina Guest" in cell  # whose account it is in
    assert '<a href="tel:+447400123456">+44 7400 123456</a>' in cell  # the booking's phone, not the account's
    assert "+49" not in cell
    assert "guest@example.com" in cell
    bar = html[html.index('class="tl-booking"') : html.index("</td>", html.index('class="tl-booking"'))]
    assert "Bob Builder" in bar
    assert "(no name)" not in html


def test_a_booking_under_the_accounts_name_shows_it_and_the_accounts_phone(staff_client, restaurant, guest):
    guest.phone = "+49301234567"
    guest.save()
    booking = book(restaurant, guest)

    cell = guest_cell(sheet_of(staff_client, restaurant).content.decode(), booking)

    assert "Gina Guest" in cell and "booked by" not in cell
    assert '<a href="tel:+49301234567">+49 30 1234567</a>' in cell


def test_the_name_on_the_booking_is_shown_when_the_account_has_none(staff_client, restaurant):
    nameless = make_user("nameless@example.com")
    booking = book(restaurant, nameless, contact_name="Nora Noname")

    html = sheet_of(staff_client, restaurant).content.decode()

    assert "Nora Noname" in guest_cell(html, booking)
    assert "(no name)" not in html


def test_no_name_anywhere_says_so_and_offers_no_number(staff_client, restaurant):
    booking = book(restaurant, make_user("nameless@example.com"))

    html = sheet_of(staff_client, restaurant).content.decode()

    cell = guest_cell(html, booking)
    assert "(no name)" in cell and "nameless@example.com" in cell
    assert "tel:" not in cell


def test_a_phone_typed_before_numbers_were_checked_is_still_callable(staff_client, restaurant, guest):
    guest.phone = "030 123-4567"
    guest.save()
    booking = book(restaurant, guest)

    cell = guest_cell(sheet_of(staff_client, restaurant).content.decode(), booking)

    assert '<a href="tel:0301234567">030 123-4567</a>' in cell


def test_the_contacts_cost_no_query_per_booking(staff_client, restaurant, django_assert_num_queries):
    book(restaurant, make_user("first@example.com"), contact_name="First", contact_phone="+447400123456")
    with CaptureQueriesContext(connection) as one:
        sheet_of(staff_client, restaurant)
    queries = len(one.captured_queries)  # now: the next request clears the connection's log
    for number, clock in enumerate(["19:30", "20:00", "20:30", "21:00"]):
        guest = make_user(f"guest{number}@example.com", name=f"Guest {number}", phone="+49301234567")
        book(restaurant, guest, clock, **({"contact_name": f"For {number}"} if number % 2 else {}))

    with django_assert_num_queries(queries):
        response = sheet_of(staff_client, restaurant)

    assert response.context["reservation_count"] == 5
    html = response.content.decode()
    assert html.count('href="tel:') == 5


# --- The reservation admin ---------------------------------------------------------------------------


def test_the_admin_list_shows_the_bookings_name_and_phone(staff_client, restaurant, guest):
    guest.phone = "+49301234567"
    guest.save()
    book(restaurant, guest, "19:00", contact_name="Bob Builder", contact_phone="+447400123456")
    book(restaurant, guest, "21:00")

    html = staff_client.get(CHANGELIST).content.decode()

    assert '<td class="field-who">Bob Builder</td>' in html
    assert '<td class="field-phone">+44 7400 123456</td>' in html
    assert '<td class="field-who">Gina Guest</td>' in html
    assert '<td class="field-phone">+49 30 1234567</td>' in html
    assert "(no name)" not in html


def test_the_admin_list_finds_a_booking_by_the_name_it_is_under(staff_client, restaurant, guest):
    mine = book(restaurant, guest, "19:00", contact_name="Bob Builder")
    other = book(restaurant, guest, "21:00")

    html = staff_client.get(CHANGELIST, {"q": "Builder"}).content.decode()

    assert mine.reference in html and other.reference not in html


def change_form(reservation, **changes) -> dict:
    venue = reservation.space.venue
    starts, ends = reservation.starts_at.astimezone(venue.zone), reservation.ends_at.astimezone(venue.zone)
    return {
        "space": str(reservation.space_id),
        "starts_at_0": f"{starts:%Y-%m-%d}",
        "starts_at_1": f"{starts:%H:%M:%S}",
        "ends_at_0": f"{ends:%Y-%m-%d}",
        "ends_at_1": f"{ends:%H:%M:%S}",
        "party_size": str(reservation.party_size),
        "notes": reservation.notes,
        "contact_name": reservation.contact_name,
        "contact_phone": reservation.contact_phone,
        **NO_INLINE_FORMS,
    } | changes


def test_staff_change_the_name_and_phone_in_the_admin_through_the_service(staff_client, restaurant, guest):
    booking = book(restaurant, guest)
    url = reverse("admin:reservations_reservation_change", args=[booking.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="contact_name"' in page and 'name="contact_phone"' in page

    response = staff_client.post(url, change_form(booking, contact_name=" Bob  Builder ", contact_phone="07400 123456"))

    assert response.status_code == 302, response.content.decode()[:3000]
    booking.refresh_from_db()
    assert (booking.contact_name, booking.contact_phone) == ("Bob Builder", "+447400123456")
    assert (booking.who, booking.phone) == ("Bob Builder", "+447400123456")
    assert booking.status == Reservation.Status.CONFIRMED
    event = ReservationEvent.objects.filter(reservation=booking).latest("at")
    assert event.kind == ReservationEvent.Kind.MODIFIED  # the history says it changed
    shown = staff_client.get(url).content.decode()
    assert 'value="+44 7400 123456"' in shown  # shown in the international format


def test_a_bad_phone_in_the_admin_is_refused_next_to_the_field(staff_client, restaurant, guest):
    booking = book(restaurant, guest)
    url = reverse("admin:reservations_reservation_change", args=[booking.pk])

    response = staff_client.post(url, change_form(booking, contact_phone="12"))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["contact_phone"]
    assert "This is not a phone number we can call." in response.content.decode()
    booking.refresh_from_db()
    assert booking.contact_phone == ""
