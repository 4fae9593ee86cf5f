"""The staff day sheet (one service per page: every table in 15-minute steps, the covers against the
pacing, moving a booking from it) and the CSV export of the admin's reservation list."""

import csv
import io
from datetime import UTC, date, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reservations.exports import CSV_COLUMNS
from reservations.models import Reservation, ReservationEvent
from reservations.selectors import default_service, sheet_services
from reservations.services import reservation_book, reservation_cancel, reservation_hold, rules
from spaces.models import Closure, Combination, OpeningHours, PacingRule, Session, Shift, Space, VenueRole
from staff.views import _default_day
from tests.accounts.test_security import assert_runs_only_what_the_policy_allows
from tests.booked import write_directly
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


def sheet(client, venue, day, service=None):
    query = {"venue": venue.pk, "day": day.isoformat(), **({"service": service} if service else {})}
    return client.get(DAY_SHEET, query)


def entries_of(response) -> dict:
    return {entry.reservation.pk: entry for entry in response.context["entries"]}


def bars_of(response, reservation) -> dict[str, object]:
    """The booking's bars on the timeline, by table name."""
    return {bar.space.name: bar for bar in response.context["timeline"].bars if bar.reservation.pk == reservation.pk}


def combine(venue, *names, min_party_size=9, max_party_size=12) -> Combination:
    combination = Combination.objects.create(
        venue=venue, name=" + ".join(names), min_party_size=min_party_size, max_party_size=max_party_size
    )
    combination.spaces.set(venue.spaces.filter(name__in=names))
    return combination


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

    offered = [space.name for space in entries_of(response)[first.pk].move_to]
    assert offered == ["Table 3", "Table 6", "Table 4", "Table 5"]  # by area, then name; not 1 (its own) or 2


def test_move_choices_leave_out_the_tables_of_a_combined_booking_and_those_still_being_reset(
    staff_client, restaurant, guest, other_guest
):
    restaurant.buffer_minutes = 15
    restaurant.save()
    combine(restaurant, "Table 3", "Table 6")
    party = book(restaurant, other_guest, "19:00", party_size=10)  # no table seats 10: Table 3 + Table 6
    first = book(restaurant, guest, "19:00")  # Table 1, 19:00-20:30, reset until 20:45
    later = book(restaurant, guest, "20:30")  # Table 1 is still being reset: Table 2
    assert party.spaces_words == "Table 3 + Table 6" and later.space.name == "Table 2"

    response = sheet(staff_client, restaurant, first.local_starts_at.date())

    entries = entries_of(response)
    # Not Table 2 (taken from 20:30, while the 19:00 booking would still be cleared from it), nor 3 and 6.
    assert [space.name for space in entries[first.pk].move_to] == ["Table 4", "Table 5"]
    # Not Table 1 (reset until 20:45), nor 3 and 6 (reset after the party of ten until 20:45 as well).
    assert [space.name for space in entries[later.pk].move_to] == ["Table 4", "Table 5"]
    assert entries[party.pk].move_to == []  # no single table seats 10
    assert "No other free table fits." in response.content.decode()


def test_a_combined_booking_moved_to_one_table_frees_the_others(staff_client, restaurant, guest):
    combine(restaurant, "Table 4", "Table 5", min_party_size=9, max_party_size=10)
    party = book(restaurant, guest, "19:00", party_size=9)  # more than any table alone
    assert party.spaces_words == "Table 4 + Table 5"
    Space.objects.filter(venue=restaurant, name="Table 6").update(capacity=10)  # a bigger table now

    response = move(staff_client, party, restaurant.spaces.get(name="Table 6"))

    assert messages_of(response) == [f"{party.reference} moved from Table 4 + Table 5 to Table 6."]
    party.refresh_from_db()
    assert party.spaces_words == "Table 6"
    page = sheet(staff_client, restaurant, party.local_starts_at.date())
    assert set(bars_of(page, party)) == {"Table 6"}


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


def test_the_sheet_runs_as_many_queries_for_forty_tables_and_their_bookings_as_for_one(
    staff_client, restaurant, guest, other_guest, django_assert_num_queries
):
    tuesday = next_weekday(restaurant, TUESDAY)
    dinner = Shift.objects.create(venue=restaurant, name="Dinner", starts_at=time(18), ends_at=time(23))
    PacingRule.objects.create(venue=restaurant, shift=dinner, max_covers=200)
    combine(restaurant, "Table 4", "Table 5", min_party_size=9, max_party_size=10)
    book(restaurant, guest, "19:00")
    with CaptureQueriesContext(connection) as few:
        sheet(staff_client, restaurant, tuesday, f"shift-{dinner.pk}")

    restaurant.buffer_minutes = 15
    restaurant.save()
    for number in range(7, 41):
        Space.objects.create(venue=restaurant, name=f"Table {number}", capacity=4, category="Garden")
    for first in (7, 10, 13, 16):  # four combinations of three tables: a party of ten every 30 minutes
        combine(restaurant, *(f"Table {number}" for number in range(first, first + 3)), min_party_size=10)
    for clock in ["18:00", "18:30", "19:00", "19:30", "20:00", "21:00"]:
        for party_size in (2, 4, 4, 10):
            book(restaurant, other_guest if party_size == 10 else guest, clock, party_size=party_size)
    cancelled = book(restaurant, other_guest, "21:15", party_size=3)
    reservation_cancel(reservation=cancelled, actor=other_guest)

    with django_assert_num_queries(len(few)):
        response = sheet(staff_client, restaurant, tuesday, f"shift-{dinner.pk}")

    assert len(response.context["timeline"].tables) == 40
    assert response.context["reservation_count"] == 1 + 6 * 4 + 1
    assert response.context["sheet"].covers == 2 + 6 * 20


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


# ---------------------------------------------------------------------------------------------
# The timeline: one service, every table in 15-minute steps


def labels(response) -> list[str]:
    return [f"{column.starts_at:%H:%M}" for column in response.context["timeline"].columns]


def test_the_sheet_shows_one_shift_in_15_minute_steps_with_a_bar_per_booking(staff_client, restaurant, guest):
    lunch = Shift.objects.create(venue=restaurant, name="Lunch", starts_at=time(12), ends_at=time(15))
    dinner = Shift.objects.create(venue=restaurant, name="Dinner", starts_at=time(18), ends_at=time(23))
    Shift.objects.create(venue=restaurant, name="Brunch", starts_at=time(10), ends_at=time(12), weekdays=[6])
    restaurant.buffer_minutes = 15
    restaurant.save()
    noon = book(restaurant, guest, "12:30", notes="Window seat, please")
    evening = book(restaurant, guest, "19:00", party_size=3)

    response = sheet(staff_client, restaurant, evening.local_starts_at.date(), f"shift-{dinner.pk}")

    assert response.status_code == 200
    assert response.context["service"].name == "Dinner"
    # Tuesday's services: no Sunday brunch.
    assert [label for _, label in response.context["form"].fields["service"].widget.choices] == [
        "Lunch 12:00–15:00",
        "Dinner 18:00–23:00",
        "Whole day",
    ]
    assert labels(response)[0] == "18:00" and labels(response)[-1] == "22:45" and len(labels(response)) == 20
    [bar] = bars_of(response, evening).values()
    assert (bar.space.name, bar.first, bar.last, bar.until) == ("Table 3", 4, 10, 11)  # 19:00-20:30, reset 20:45
    assert bars_of(response, noon) == {}
    page = response.content.decode()
    assert evening.reference in page and noon.reference not in page
    assert f'<option value="shift-{dinner.pk}" selected>Dinner 18:00–23:00</option>' in page
    assert "Gina Guest" in page and "Confirmed" in page
    assert "Table 3 is reset until 20:45" in page

    lunch_page = sheet(staff_client, restaurant, noon.local_starts_at.date(), f"shift-{lunch.pk}")
    assert noon.reference in lunch_page.content.decode() and "Window seat, please" in lunch_page.content.decode()
    whole = sheet(staff_client, restaurant, noon.local_starts_at.date(), "day")
    assert labels(whole)[0] == "12:00" and labels(whole)[-1] == "22:45"  # from lunch to the end of dinner
    assert {noon.pk, evening.pk} <= set(entries_of(whole))


def test_a_shift_of_another_weekday_falls_back_to_the_days_own(staff_client, restaurant, guest):
    sunday_brunch = Shift.objects.create(
        venue=restaurant, name="Brunch", starts_at=time(10), ends_at=time(12), weekdays=[6]
    )
    tuesday = next_weekday(restaurant, TUESDAY)

    response = sheet(staff_client, restaurant, tuesday, f"shift-{sunday_brunch.pk}")

    assert response.status_code == 200
    assert response.context["service"].key == "day"  # another day than today: the whole day


def test_without_shifts_the_services_are_the_opening_periods(staff_client, restaurant, guest):
    evening = book(restaurant, guest, "19:00")

    response = sheet(staff_client, restaurant, evening.local_starts_at.date(), "open-1800")

    choices = [label for _, label in response.context["form"].fields["service"].widget.choices]
    assert choices == ["12:00–15:00", "18:00–23:00", "Whole day"]
    assert labels(response)[0] == "18:00" and evening.pk in entries_of(response)


def test_the_default_service_is_the_one_running_now_else_the_next_else_the_last(restaurant):
    Shift.objects.create(venue=restaurant, name="Lunch", starts_at=time(12), ends_at=time(15))
    Shift.objects.create(venue=restaurant, name="Dinner", starts_at=time(18), ends_at=time(23))
    tuesday = next_weekday(restaurant, TUESDAY)
    services = sheet_services(rules.setup(restaurant), tuesday)

    def chosen(clock, day=tuesday):
        return default_service(services, day=day, today=tuesday, now=at(restaurant, tuesday, clock)).name

    assert chosen("13:00") == "Lunch"
    assert chosen("09:00") == "Lunch"
    assert chosen("16:00") == "Dinner"
    assert chosen("23:30") == "Dinner"
    assert chosen("13:00", day=tuesday + timedelta(days=1)) == "Whole day"


def test_a_shift_past_midnight_shows_until_its_end_on_the_next_day(staff_client, restaurant, guest):
    OpeningHours.objects.filter(venue=restaurant, weekday=TUESDAY, opens_at=time(18)).update(
        closes_at=time(2), closes_next_day=True
    )
    late = Shift.objects.create(venue=restaurant, name="Late", starts_at=time(18), ends_at=time(2), weekdays=[TUESDAY])
    tuesday = next_weekday(restaurant, TUESDAY)
    wednesday = tuesday + timedelta(days=1)
    midnight = reservation_book(
        guest=guest, venue=restaurant, starts_at=at(restaurant, wednesday, "00:00"), party_size=2
    )

    response = sheet(staff_client, restaurant, tuesday, f"shift-{late.pk}")

    assert response.context["service"].label == "Late 18:00–02:00 (next day)"
    assert len(labels(response)) == 32 and labels(response)[-1] == "01:45"
    [bar] = bars_of(response, midnight).values()
    assert (bar.first, bar.last) == (24, 30)  # 00:00-01:30, the 25th to the 30th step
    page = response.content.decode()
    assert midnight.reference in page
    assert f"{wednesday:%a} {wednesday.day} {wednesday:%b} 00:00" in page  # the next day's date, in the list
    # Wednesday's sheet does not show it again: it belongs to Tuesday's late service.
    assert midnight.reference not in sheet(staff_client, restaurant, wednesday).content.decode()
    # At 00:30 on Wednesday a host without a choice gets Tuesday's late service, still running.
    setup = rules.setup(restaurant)
    day, running = _default_day(setup, at(restaurant, wednesday, "00:30"))
    assert (day, running.name) == (tuesday, "Late")
    assert _default_day(setup, at(restaurant, wednesday, "02:30")) == (wednesday, None)


def test_a_booking_of_the_previous_service_that_reaches_into_this_one_shows_too(staff_client, always_open, guest):
    always_open.allowed_durations = [120]
    always_open.save()
    # On Mondays from 06:00 to 02:00: a booking may run past midnight into Tuesday's day-long service.
    OpeningHours.objects.filter(venue=always_open, weekday=0).update(opens_at=time(6), closes_at=time(2))
    monday = next_weekday(always_open, 0)
    late = reservation_book(
        guest=guest,
        venue=always_open,
        starts_at=at(always_open, monday, "23:00"),
        ends_at=at(always_open, monday + timedelta(days=1), "01:00"),
        party_size=2,
    )

    response = sheet(staff_client, always_open, monday + timedelta(days=1))

    [bar] = bars_of(response, late).values()
    assert bar.from_before and (bar.first, bar.last) == (0, 4)  # cut at midnight, until 01:00
    assert f">{monday:%a} 23:00</time>" in response.content.decode()


def last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() - 6) % 7)


@pytest.mark.parametrize(("month", "steps"), [(10, 25 * 4), (3, 23 * 4)], ids=["october-25-hours", "march-23-hours"])
def test_a_day_with_a_clock_change_has_its_real_number_of_steps(staff_client, always_open, guest, month, steps):
    year = timezone.now().year + 1
    sunday = last_sunday(year, month)
    assert sunday.weekday() == 6

    response = sheet(staff_client, always_open, sunday, "day")

    columns = response.context["timeline"].columns
    assert len(columns) == steps
    times = [f"{column.starts_at:%H:%M}" for column in columns]
    page = response.content.decode()
    if month == 10:
        assert times[8:16] == ["02:00", "02:15", "02:30", "02:45", "02:00", "02:15", "02:30", "02:45"]
        assert f'datetime="{sunday}T02:00:00+02:00"' in page and f'datetime="{sunday}T02:00:00+01:00"' in page
        second_two = reservation_book(  # 02:00 in winter time: an hour before 03:00 (CET), in absolute time
            guest=guest,
            venue=always_open,
            starts_at=at(always_open, sunday, "03:00").astimezone(UTC) - timedelta(hours=1),
            party_size=2,
        )
        assert f"{second_two.starts_at.astimezone(always_open.zone):%H:%M%z}" == "02:00+0100"
        [bar] = bars_of(sheet(staff_client, always_open, sunday, "day"), second_two).values()
        assert (bar.first, bar.last) == (12, 16)  # the second 02:00, three hours after midnight
        hours = ["00:00", "01:00", "02:00", "02:00", "03:00"]
    else:
        assert times[7:9] == ["01:45", "03:00"]
        hours = ["00:00", "01:00", "03:00", "04:00", "05:00"]
    assert [column.label for column in columns if column.label][:5] == hours


def test_a_combined_booking_appears_on_each_of_its_tables(staff_client, restaurant, guest, other_guest):
    combine(restaurant, "Table 4", "Table 5", min_party_size=9, max_party_size=10)
    party = book(restaurant, other_guest, "19:00", party_size=9)
    single = book(restaurant, guest, "19:00")

    response = sheet(staff_client, restaurant, party.local_starts_at.date())

    bars = bars_of(response, party)
    assert set(bars) == {"Table 4", "Table 5"}
    assert all((bar.first, bar.last) == (bars["Table 4"].first, bars["Table 4"].last) for bar in bars.values())
    assert set(bars_of(response, single)) == {"Table 1"}
    rows = {table.space.name: table for table in response.context["timeline"].tables}
    assert [bar.reservation.pk for bar in rows["Table 4"].bars] == [party.pk]
    assert [bar.reservation.pk for bar in rows["Table 5"].bars] == [party.pk]
    page = response.content.decode()
    assert page.count('<span class="tl-line tl-combined">Table 4 + Table 5</span>') == 2
    assert '<td class="spaces">Table 4 + Table 5</td>' in page  # once in the bookings below


def test_the_covers_starting_per_15_minutes_are_shown_against_the_pacing_limit(
    staff_client, restaurant, guest, other_guest
):
    dinner = Shift.objects.create(venue=restaurant, name="Dinner", starts_at=time(18), ends_at=time(23))
    rule = PacingRule.objects.create(venue=restaurant, shift=dinner, max_covers=6, max_parties=2)
    four = book(restaurant, guest, "19:00", party_size=4)
    book(restaurant, other_guest, "19:00", party_size=2)
    book(restaurant, guest, "19:15", party_size=3)
    held = reservation_hold(
        guest=other_guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "20:00"),
        party_size=2,
    )
    cancelled = book(restaurant, other_guest, "21:00", party_size=5)
    reservation_cancel(reservation=cancelled, actor=other_guest)
    assert four.space.category == "Dining room"

    response = sheet(staff_client, restaurant, four.local_starts_at.date(), f"shift-{dinner.pk}")

    steps = {f"{step.starts_at:%H:%M}": step for step in response.context["sheet"].steps}
    assert (steps["19:00"].covers, steps["19:00"].parties, steps["19:00"].full) == (6, 2, True)
    assert (steps["19:15"].covers, steps["19:15"].full) == (3, False)
    assert steps["21:00"].covers == 0  # cancelled: no covers
    assert response.context["sheet"].covers == 4 + 2 + 3 + 2  # the hold counts, as it does for the pacing
    lines = dict((f"{step.starts_at:%H:%M}", words) for step, words in response.context["pacing"])
    assert lines["19:00"] == "6 / 6 covers, 2 / 2 parties (full)"
    assert lines["19:15"] == "3 / 6 covers, 1 / 2 parties"
    assert lines["20:00"] == "2 / 6 covers, 1 / 2 parties"
    assert set(lines) == {"19:00", "19:15", "20:00"}
    page = response.content.decode()
    assert '<li class="full"><time' in page and "6 / 6 covers, 2 / 2 parties (full)</li>" in page
    assert "Service total: 11 covers, 4 parties." in page
    assert held.reference in page and "Held" in page

    # The manager lowers the limit after the bookings were made: the sheet says it is over.
    rule.max_covers = 5
    rule.save()
    lowered = sheet(staff_client, restaurant, four.local_starts_at.date(), f"shift-{dinner.pk}")
    lines = dict((f"{step.starts_at:%H:%M}", words) for step, words in lowered.context["pacing"])
    assert lines["19:00"] == "6 / 5 covers, 2 / 2 parties (over the limit)"
    assert '<li class="over">' in lowered.content.decode()


def test_an_area_rule_of_another_interval_is_named_in_the_line(staff_client, restaurant, guest):
    PacingRule.objects.create(venue=restaurant, area="Terrace", interval_minutes=30, max_covers=8)
    terrace = book(restaurant, guest, "19:15", party_size=5)  # Table 5, on the terrace
    assert terrace.space.category == "Terrace"

    response = sheet(staff_client, restaurant, terrace.local_starts_at.date(), "open-1800")

    lines = dict((f"{step.starts_at:%H:%M}", words) for step, words in response.context["pacing"])
    assert lines["19:15"] == "5 covers, 1 party; Terrace 19:00–19:30: 5 / 8 covers"


def test_the_arrival_buttons_and_moves_lead_back_to_the_same_service(staff_client, restaurant, guest):
    dinner = Shift.objects.create(venue=restaurant, name="Dinner", starts_at=time(18), ends_at=time(23))
    evening = book(restaurant, guest, "19:00")
    day = evening.local_starts_at.date()
    url = reverse("staff:move_reservation", kwargs={"reference": evening.reference})

    response = staff_client.post(
        url,
        {"space": restaurant.spaces.get(name="Table 2").pk, "day": day.isoformat(), "service": f"shift-{dinner.pk}"},
    )

    assert response["Location"] == f"{DAY_SHEET}?venue={restaurant.pk}&day={day.isoformat()}&service=shift-{dinner.pk}"
    page = sheet(staff_client, restaurant, day, f"shift-{dinner.pk}").content.decode()
    assert f'<input type="hidden" name="service" value="shift-{dinner.pk}">' in page


def test_the_sheet_prints_and_keeps_to_the_content_security_policy(staff_client, restaurant, guest):
    restaurant.buffer_minutes = 15
    restaurant.save()
    combine(restaurant, "Table 4", "Table 5", min_party_size=9, max_party_size=10)
    party = book(restaurant, guest, "19:00", party_size=9)
    response = sheet(staff_client, restaurant, next_weekday(restaurant, TUESDAY), "open-1800")

    # The bars are cells spanning their steps: no style attribute, no <style>, no inline script.
    inline = assert_runs_only_what_the_policy_allows(response)
    assert inline.styles == []
    # Scripts are files: every page's local-time.js (templates/base.html), then the sheet's own.
    assert [attributes.get("src") for attributes, _ in inline.scripts if "nonce" not in attributes] == [
        "/static/js/local-time.js",
        "/static/js/day-sheet.js",
    ]
    page = response.content.decode()
    assert page.count('<td colspan="6" class="tl-booking">') == 2  # 19:00-20:30 on Table 4 and on Table 5
    assert page.count('<td colspan="1" class="tl-buffer"') == 2
    assert party.reference in page
    assert "css/print.css" in page
    assert "data-print hidden>Print</button>" in page
    assert "Print this page" in page


def test_bars_that_would_overlap_on_one_table_get_a_lane_each(staff_client, restaurant, guest, other_guest):
    # A no-show's table was given again for the same evening: both stay on the sheet, one above the other.
    tuesday = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=7)
    table_1 = restaurant.spaces.get(name="Table 1")
    absent, came = write_directly(
        Reservation(
            guest=guest,
            space=table_1,
            starts_at=at(restaurant, tuesday, "19:00"),
            ends_at=at(restaurant, tuesday, "20:30"),
            party_size=2,
            status=Reservation.Status.NO_SHOW,
        ),
        Reservation(
            guest=other_guest,
            space=table_1,
            starts_at=at(restaurant, tuesday, "19:30"),
            ends_at=at(restaurant, tuesday, "21:00"),
            party_size=2,
            status=Reservation.Status.COMPLETED,
        ),
    )

    response = sheet(staff_client, restaurant, tuesday, "open-1800")

    [row] = [table for table in response.context["timeline"].tables if table.space == table_1]
    assert [[bar.reservation.pk for bar in lane] for lane in row.lanes] == [[absent.pk], [came.pk]]
    assert row.span == 2
    # Each lane has a cell per free step and one over each booking's steps: 20 steps from 18:00 to 23:00.
    for lane, bar in zip(row.cells, row.bars, strict=True):
        assert sum(cell.span for cell in lane) == 20
        [booked] = [cell for cell in lane if cell.bar is not None]
        assert (booked.bar, booked.span, booked.column.time) == (bar, 6, f"{bar.reservation.local_starts_at:%H:%M}")
    assert '<th scope="row" rowspan="2" class="tl-table">' in response.content.decode()
    assert "No-show" in response.content.decode()
    assert response.context["sheet"].covers == 2  # the party that came


def test_a_closed_table_or_a_hold_that_ran_out_is_not_offered_or_shown(staff_client, restaurant, guest, other_guest):
    evening = book(restaurant, guest, "19:00")
    day = evening.local_starts_at.date()
    Closure.objects.create(
        venue=restaurant,
        space=restaurant.spaces.get(name="Table 3"),
        starts_at=at(restaurant, day, "18:00"),
        ends_at=at(restaurant, day, "23:00"),
        reason="repairs",
    )
    ran_out = reservation_hold(
        guest=other_guest,
        venue=restaurant,
        starts_at=at(restaurant, day, "19:00"),
        party_size=4,
        now=timezone.now() - timedelta(hours=1),
    )

    response = sheet(staff_client, restaurant, day)

    assert [space.name for space in entries_of(response)[evening.pk].move_to] == [
        "Table 2",
        "Table 6",
        "Table 4",
        "Table 5",
    ]
    assert ran_out.pk not in entries_of(response)
    assert response.context["sheet"].covers == 2


# ---------------------------------------------------------------------------------------------
# Spaces sold by the seat


def test_the_sheet_shows_the_seats_taken_of_each_session_in_one_row_and_constant_queries(
    staff_client, meeting_rooms, guest, other_guest
):
    pasta = Space.objects.create(
        venue=meeting_rooms, name="Pasta class", capacity=12, price=Decimal("35"), sold_by_seat=True
    )
    Session.objects.create(space=pasta, weekday=5, starts_at=time(10), minutes=180, seats=12)
    Session.objects.create(space=pasta, weekday=4, starts_at=time(10), minutes=180, seats=12)  # not that day
    saturday = next_weekday(meeting_rooms, 5)

    def seats(guest, party_size):
        return reservation_book(
            guest=guest, space=pasta, starts_at=at(meeting_rooms, saturday, "10:00"), party_size=party_size
        )

    first = seats(guest, 4)
    with CaptureQueriesContext(connection) as one:
        sheet(staff_client, meeting_rooms, saturday)
    second = seats(other_guest, 3)
    cancelled = seats(make_user("late@example.com"), 2)
    reservation_cancel(reservation=cancelled, actor=cancelled.guest)
    with CaptureQueriesContext(connection) as many:
        response = sheet(staff_client, meeting_rooms, saturday)

    assert len(many) == len(one), "\n".join(query["sql"] for query in many.captured_queries)
    assert [seats.words for seats in response.context["sheet"].sessions] == [
        "Pasta class 10:00–13:00 — 7 of 12 seats taken"
    ]
    assert "Pasta class 10:00–13:00 — 7 of 12 seats taken" in response.content.decode()
    row = next(table for table in response.context["timeline"].tables if table.space == pasta)
    assert len(row.lanes) == 1 and len(row.bars) == 1  # one bar for the session, not one per booking
    assert row.bars[0].reservation == first
    assert [other.reservation for other in row.bars[0].others] == [second]
    assert [seats.taken for seats in row.sessions] == [7]
    assert set(entries_of(response)) == {first.pk, second.pk, cancelled.pk}  # all listed below
