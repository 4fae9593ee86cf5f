"""The staff day sheet (moving a booking from it) and the CSV export of the admin's reservation list."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reservations.exports import CSV_COLUMNS
from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book, reservation_cancel
from spaces.models import VenueRole
from tests.reservations.conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY, WEDNESDAY = 1, 2
DAY_SHEET = reverse("staff:day_sheet")
CHANGELIST = reverse("admin:reservations_reservation_changelist")
EXPORT = reverse("admin:reservations_reservation_export_csv")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def book(venue, guest, clock="19:00", party_size=2, weekday=TUESDAY, **extra):
    day = next_weekday(venue, weekday)
    return reservation_book(guest=guest, venue=venue, starts_at=at(venue, day, clock), party_size=party_size, **extra)


def sheet(client, venue, day):
    return client.get(DAY_SHEET, {"venue": venue.pk, "day": day.isoformat()})


def move(client, reservation, space, day=None):
    day = day or reservation.local_starts_at.date()
    url = reverse("staff:move_reservation", kwargs={"reference": reservation.reference})
    return client.post(url, {"space": space.pk, "day": day.isoformat()})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# ---------------------------------------------------------------------------------------------
# The day sheet


def test_day_sheet_lists_that_venues_reservations_of_that_day_only(staff_client, restaurant, meeting_rooms, guest):
    tuesday = next_weekday(restaurant, TUESDAY)
    shown = book(restaurant, guest, "19:00", notes="Window seat, please")
    next_day = book(restaurant, guest, "19:00", weekday=WEDNESDAY)
    other_venue = reservation_book(
        guest=guest,
        space=meeting_rooms.spaces.get(name="Booth"),
        starts_at=at(meeting_rooms, tuesday, "10:00"),
        party_size=2,
    )

    response = sheet(staff_client, restaurant, tuesday)

    assert response.status_code == 200
    page = response.content.decode()
    assert shown.reference in page
    assert next_day.reference not in page
    assert other_venue.reference not in page
    assert "Gina Guest" in page and "guest@example.com" in page
    assert "Window seat, please" in page
    assert reverse("admin:reservations_reservation_change", args=[shown.pk]) in page
    # Every space has a row, booked or not.
    for space in restaurant.spaces.all():
        assert space.name in page


def test_day_sheet_shows_times_in_the_venues_zone_and_says_so(staff_client, meeting_rooms, guest):
    # 19:00-20:00 in New York is 23:00-00:00 (or 00:00-01:00) UTC: the next day in UTC, this day locally.
    tuesday = next_weekday(meeting_rooms, TUESDAY)
    evening = reservation_book(
        guest=guest,
        space=meeting_rooms.spaces.get(name="Booth"),
        starts_at=at(meeting_rooms, tuesday, "19:00"),
        party_size=3,
    )

    page = sheet(staff_client, meeting_rooms, tuesday).content.decode()

    assert evening.reference in page
    assert ">19:00</time>–<time" in page
    assert ">20:00</time>" in page
    assert "America/New_York" in page
    wednesday_page = sheet(staff_client, meeting_rooms, tuesday + timedelta(days=1))
    assert evening.reference not in wednesday_page.content.decode()


def test_day_sheet_opens_on_the_first_venue_today_in_its_zone(staff_client, restaurant, hotel, meeting_rooms):
    response = staff_client.get(DAY_SHEET)

    assert response.status_code == 200
    assert response.context["venue"] == meeting_rooms  # "Foundry Test" comes first by name
    assert response.context["day"] == timezone.now().astimezone(meeting_rooms.zone).date()
    page = response.content.decode()
    assert '<label for="id_venue">Venue:</label>' in page
    assert '<label for="id_day">Date:</label>' in page
    assert "css/print.css" in page


def test_a_stay_shows_its_dates_on_the_hotel_sheet(staff_client, hotel, guest):
    arrival = next_weekday(hotel, TUESDAY)
    stay = reservation_book(
        guest=guest,
        venue=hotel,
        starts_at=at(hotel, arrival, "15:00"),
        ends_at=at(hotel, arrival + timedelta(days=2), "11:00"),
        party_size=2,
    )

    middle_night = arrival + timedelta(days=1)
    page = sheet(staff_client, hotel, middle_night).content.decode()

    assert stay.reference in page
    assert f"{arrival:%a} {arrival.day} {arrival:%b} 15:00" in page
    assert "Europe/London" in page


def test_an_invalid_date_shows_the_form_error_not_a_sheet(staff_client, restaurant):
    response = staff_client.get(DAY_SHEET, {"venue": restaurant.pk, "day": "not-a-date"})

    assert response.status_code == 200
    assert response.context["venue"] is None
    assert "Enter a valid date." in response.content.decode()


def test_guests_and_visitors_cannot_open_the_day_sheet(client, guest, restaurant):
    response = client.get(DAY_SHEET)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

    client.force_login(guest)
    response = client.get(DAY_SHEET, follow=True)
    assert response.status_code == 403


def test_guests_cannot_move_a_reservation(client, guest, restaurant):
    reservation = book(restaurant, guest)
    client.force_login(guest)

    response = move(client, reservation, restaurant.spaces.get(name="Table 2"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    reservation.refresh_from_db()
    assert reservation.space.name == "Table 1"


def test_staff_need_a_role_at_the_venue_not_django_permissions(client, restaurant, meeting_rooms, guest):
    reservation = book(restaurant, guest)
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_reservation", "change_reservation"]))
    client.force_login(clerk)
    assert client.get(DAY_SHEET).status_code == 403
    assert move(client, reservation, restaurant.spaces.get(name="Table 2")).status_code == 403

    VenueRole.objects.create(venue=meeting_rooms, user=clerk, role=VenueRole.Role.HOST)
    page = client.get(DAY_SHEET)
    assert page.status_code == 200 and [venue.name for venue in page.context["venues"]] == [meeting_rooms.name]
    assert client.get(DAY_SHEET, {"venue": restaurant.pk}).context["rows"] == []  # not one of theirs
    assert move(client, reservation, restaurant.spaces.get(name="Table 2")).status_code == 403
    reservation.refresh_from_db()
    assert reservation.space.name == "Table 1"

    VenueRole.objects.create(venue=restaurant, user=clerk, role=VenueRole.Role.HOST)
    assert move(client, reservation, restaurant.spaces.get(name="Table 2")).status_code == 302
    reservation.refresh_from_db()
    assert reservation.space.name == "Table 2"


def test_day_sheet_offers_only_free_spaces_that_fit(staff_client, restaurant, guest, other_guest):
    first = book(restaurant, guest, "19:00")  # Table 1, the smallest that fits
    book(restaurant, other_guest, "19:00")  # Table 2
    tuesday = first.local_starts_at.date()

    response = sheet(staff_client, restaurant, tuesday)

    entries = {entry.reservation.pk: entry for _, entries in response.context["rows"] for entry in entries}
    offered = [space.name for space in entries[first.pk].move_to]
    assert offered == ["Table 3", "Table 6", "Table 4", "Table 5"]  # by area, then name; not 1 (its own) or 2


def test_staff_move_a_reservation_to_a_free_table(staff_client, staff, restaurant, guest):
    reservation = book(restaurant, guest)
    table_3 = restaurant.spaces.get(name="Table 3")

    response = move(staff_client, reservation, table_3)

    assert response.status_code == 302
    assert response["Location"] == (
        f"{DAY_SHEET}?venue={restaurant.pk}&day={reservation.local_starts_at.date().isoformat()}"
    )
    assert messages_of(response) == [f"{reservation.reference} moved from Table 1 to Table 3."]
    reservation.refresh_from_db()
    assert reservation.space == table_3
    event = ReservationEvent.objects.get(reservation=reservation, kind=ReservationEvent.Kind.MODIFIED)
    assert event.actor == staff
    assert event.details["changes"]["space"] == {"before": "Table 1", "after": "Table 3"}


def test_moving_to_a_taken_table_shows_the_engines_message(staff_client, restaurant, guest, other_guest):
    reservation = book(restaurant, guest)
    taken = book(restaurant, other_guest)

    response = move(staff_client, reservation, taken.space)

    assert response.status_code == 302
    [message] = messages_of(response)
    assert message.startswith(f"{reservation.reference} was not moved: Table 2 is no longer free at ")
    reservation.refresh_from_db()
    assert reservation.space.name == "Table 1"
    shown = staff_client.get(response["Location"])
    assert "Table 2 is no longer free" in shown.content.decode()


def test_moving_to_another_venues_space_is_refused_with_a_message(staff_client, restaurant, meeting_rooms, guest):
    reservation = book(restaurant, guest)

    response = move(staff_client, reservation, meeting_rooms.spaces.get(name="Booth"))

    assert response.status_code == 302
    assert messages_of(response) == [f"{reservation.reference}: that space is not one of Trattoria Test's."]
    reservation.refresh_from_db()
    assert reservation.space.name == "Table 1"


def test_moving_without_choosing_a_space_asks_for_one(staff_client, restaurant, guest):
    reservation = book(restaurant, guest)
    url = reverse("staff:move_reservation", kwargs={"reference": reservation.reference})

    response = staff_client.post(url, {"space": ""})

    assert response.status_code == 302
    assert messages_of(response) == [f"{reservation.reference}: choose the space to move to."]


def test_moving_a_cancelled_reservation_is_refused_with_the_engines_message(staff_client, staff, restaurant, guest):
    reservation = book(restaurant, guest)
    reservation_cancel(reservation=reservation, actor=staff, reason="Kitchen closed")

    response = move(staff_client, reservation, restaurant.spaces.get(name="Table 2"))

    assert response.status_code == 302
    assert messages_of(response) == [
        f"{reservation.reference} was not moved: This reservation is cancelled and cannot be changed."
    ]


def test_day_sheet_query_count_does_not_grow_with_the_reservations(staff_client, restaurant, guest, other_guest):
    tuesday = next_weekday(restaurant, TUESDAY)
    book(restaurant, guest, "12:00")
    with CaptureQueriesContext(connection) as one:
        assert sheet(staff_client, restaurant, tuesday).status_code == 200

    for clock in ["12:00", "13:00", "18:00", "19:00", "20:30"]:
        book(restaurant, other_guest, clock, party_size=4)
    reservation_cancel(reservation=Reservation.objects.last(), actor=other_guest)
    with CaptureQueriesContext(connection) as many:
        response = sheet(staff_client, restaurant, tuesday)
    assert response.context["reservation_count"] == 6

    assert len(many) == len(one), "\n".join(query["sql"] for query in many.captured_queries)


# ---------------------------------------------------------------------------------------------
# CSV export from the admin


def test_csv_export_holds_exactly_the_filtered_changelist(staff_client, staff, restaurant, meeting_rooms, guest):
    guest.phone = "+49 30 1234 5678"
    guest.save()
    wanted = book(restaurant, guest, "19:00", notes="Birthday")
    cancelled = book(restaurant, guest, "12:00")
    reservation_cancel(reservation=cancelled, actor=staff, reason="Double entry")
    elsewhere = reservation_book(
        guest=guest,
        space=meeting_rooms.spaces.get(name="Booth"),
        starts_at=at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY), "19:00"),
        party_size=2,
    )
    filters = {"space__venue__id__exact": restaurant.pk, "status__exact": "confirmed"}

    changelist = staff_client.get(CHANGELIST, filters)
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "Export these as CSV" in page
    assert f"{EXPORT}?space__venue__id__exact={restaurant.pk}&amp;status__exact=confirmed" in page

    response = staff_client.get(EXPORT, filters)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="reservations.csv"'
    header, *rows = csv_rows(response)
    assert header == CSV_COLUMNS
    assert header == [
        "reference",
        "venue",
        "space",
        "local start",
        "local end",
        "time zone",
        "party size",
        "status",
        "guest name",
        "guest e-mail",
        "guest phone",
        "notes",
        "created at",
    ]
    assert [row[0] for row in rows] == [wanted.reference]
    day = wanted.local_starts_at.date().isoformat()
    assert rows[0][1:12] == [
        "Trattoria Test",
        "Table 1",
        f"{day} 19:00",
        f"{day} 20:30",
        "Europe/Berlin",
        "2",
        "Confirmed",
        "Gina Guest",
        "guest@example.com",
        "'+49 30 1234 5678",  # a leading + would start a formula in a spreadsheet
        "Birthday",
    ]
    assert rows[0][12].startswith(wanted.created_at.date().isoformat())

    # Unfiltered: every reservation, New York times for the meeting room.
    header, *rows = csv_rows(staff_client.get(EXPORT))
    by_reference = {row[0]: row for row in rows}
    assert set(by_reference) == {wanted.reference, cancelled.reference, elsewhere.reference}
    assert by_reference[elsewhere.reference][3].endswith(" 19:00")
    assert by_reference[elsewhere.reference][5] == "America/New_York"


def test_csv_export_honours_the_search_box(staff_client, restaurant, guest, other_guest):
    book(restaurant, guest, "19:00")
    others = book(restaurant, other_guest, "19:00")

    header, *rows = csv_rows(staff_client.get(EXPORT, {"q": "other@example.com"}))

    assert [row[0] for row in rows] == [others.reference]


def test_export_selected_action_exports_the_ticked_reservations(staff_client, restaurant, guest, other_guest):
    book(restaurant, guest, "19:00")
    ticked = book(restaurant, other_guest, "19:00", notes='=HYPERLINK("http://evil.example")')

    response = staff_client.post(CHANGELIST, {"action": "export_selected_csv", "_selected_action": [ticked.pk]})

    assert response.status_code == 200
    header, *rows = csv_rows(response)
    assert [row[0] for row in rows] == [ticked.reference]
    assert rows[0][11] == '\'=HYPERLINK("http://evil.example")'  # not a formula in a spreadsheet


def test_export_with_invalid_filters_goes_back_to_the_list(staff_client, restaurant, guest):
    book(restaurant, guest)

    response = staff_client.get(EXPORT, {"no_such_field": "x"})

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    assert messages_of(response) == ["Those filters are not valid; nothing was exported."]


def test_staff_without_permission_to_see_reservations_cannot_export(client, restaurant, guest):
    book(restaurant, guest)
    client.force_login(make_user("clerk@example.com", is_staff=True))

    assert client.get(EXPORT).status_code == 403


def test_guests_cannot_export(client, guest, restaurant):
    client.force_login(guest)

    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
