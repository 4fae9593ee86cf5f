"""What venue staff see and do beyond the permission matrix: the admin in the venue's time zone, booking
for a guest by phone, who chooses a table, the guest's contact on staff screens, roles given by
managers, and the way between the admin and the day sheet."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book
from spaces.models import Closure, VenueRole
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db
TUESDAY = 1
ADD = reverse("admin:reservations_reservation_add")
NO_INLINE_FORMS = {
    f"{prefix}-{name}": value
    for prefix in ("events", "payments")
    for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))
}


def member(venue, role, email="member@example.com", **extra):
    user = with_authenticator(make_user(email, is_staff=True, **extra))
    VenueRole.objects.create(venue=venue, user=user, role=role)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tuesday_in(month: int) -> date:
    """A Tuesday of that month next year: January is winter time in Berlin, July summer time."""
    day = date(date.today().year + 1, month, 1)
    return day + timedelta(days=(TUESDAY - day.weekday()) % 7)


# --- The admin speaks the venue's time ------------------------------------------------------------------


@pytest.mark.parametrize(("month", "utc_hour"), [(1, 18), (7, 17)])
def test_19_00_typed_in_the_admin_for_a_berlin_venue_is_19_00_in_berlin(restaurant, guest, month, utc_hour):
    restaurant.max_advance_days = 400
    restaurant.save()
    manager = member(restaurant, VenueRole.Role.MANAGER)
    day = tuesday_in(month)
    form = {
        "guest_email": guest.email,
        "space": str(restaurant.spaces.get(name="Table 1").pk),
        "starts_at_0": day.isoformat(),
        "starts_at_1": "19:00:00",
        "ends_at_0": day.isoformat(),
        "ends_at_1": "20:30:00",
        "party_size": "2",
        "notes": "",
        **NO_INLINE_FORMS,
    }

    response = logged_in(manager).post(ADD, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    booking = Reservation.objects.get()
    assert booking.starts_at.astimezone(UTC) == datetime.combine(day, time(utc_hour), tzinfo=UTC)
    page = logged_in(manager).get(reverse("admin:reservations_reservation_change", args=[booking.pk]))
    text = page.content.decode()
    assert 'value="19:00:00"' in text and "In Europe/Berlin." in text  # shown as typed, and says which zone
    listed = logged_in(manager).get(reverse("admin:reservations_reservation_changelist")).content.decode()
    assert "19:00 (Europe/Berlin)" in listed


@pytest.mark.parametrize(("month", "utc_hour"), [(1, 18), (7, 17)])
def test_a_closure_typed_in_the_admin_is_in_the_venues_zone(restaurant, month, utc_hour):
    manager = member(restaurant, VenueRole.Role.MANAGER)
    day = tuesday_in(month)
    form = {
        "venue": str(restaurant.pk),
        "space": "",
        "starts_at_0": day.isoformat(),
        "starts_at_1": "19:00",
        "ends_at_0": day.isoformat(),
        "ends_at_1": "23:00",
        "reason": "Private party",
    }

    response = logged_in(manager).post(reverse("admin:spaces_closure_add"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    closure = Closure.objects.get()
    assert closure.starts_at.astimezone(UTC) == datetime.combine(day, time(utc_hour), tzinfo=UTC)
    page = logged_in(manager).get(reverse("admin:spaces_closure_change", args=[closure.pk])).content.decode()
    assert 'value="19:00:00"' in page and "In Europe/Berlin." in page


# --- Booking for a guest, and who chooses the table -----------------------------------------------------


def test_a_host_books_a_table_for_a_guest_by_phone_with_an_email_address(restaurant):
    host = member(restaurant, VenueRole.Role.HOST)
    day = next_weekday(restaurant, TUESDAY)
    form = {
        "guest_email": "caller@example.com",
        "guest_name": "Carla Caller",
        "guest_phone": "+49 30 555 0101",
        "space": str(restaurant.spaces.get(name="Table 6").pk),  # staff choose the table where the venue assigns
        "starts_at_0": day.isoformat(),
        "starts_at_1": "19:00:00",
        "ends_at_0": day.isoformat(),
        "ends_at_1": "20:30:00",
        "party_size": "5",
        "notes": "",
        **NO_INLINE_FORMS,
    }

    response = logged_in(host).post(ADD, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    booking = Reservation.objects.select_related("guest", "space").get()
    assert (booking.status, booking.space.name, booking.guest.email) == ("confirmed", "Table 6", "caller@example.com")
    assert (booking.guest.name, booking.guest.phone, booking.guest.has_usable_password()) == (
        "Carla Caller",
        "+49305550101",  # read with accounts.phones, kept in E.164
        False,
    )
    assert booking.events.get(kind=ReservationEvent.Kind.HELD).actor == host


def test_a_guest_cannot_choose_the_table_where_the_venue_assigns_but_its_staff_can(restaurant, guest):
    table = restaurant.spaces.get(name="Table 6")  # the 8-top
    request = {
        "space": table.pk,
        "starts_at": at(restaurant, next_weekday(restaurant, TUESDAY), "19:00").isoformat(),
        "party_size": 2,
    }

    refused = logged_in(guest).post("/api/reservations", request, content_type="application/json")

    assert refused.status_code == 422
    assert refused.json()["field"] == "space" and "assigns the table" in refused.json()["detail"]
    assert not Reservation.objects.exists()
    mine = reservation_book(
        guest=guest, venue=restaurant, starts_at=at(restaurant, next_weekday(restaurant, 2), "19:00"), party_size=2
    )
    moved = logged_in(guest).put(
        f"/api/reservations/{mine.reference}", json.dumps({"space": table.pk}), content_type="application/json"
    )
    assert moved.status_code == 422 and moved.json()["field"] == "space"

    host = member(restaurant, VenueRole.Role.HOST)
    by_staff = logged_in(host).put(
        f"/api/reservations/{mine.reference}", json.dumps({"space": table.pk}), content_type="application/json"
    )
    assert by_staff.status_code == 200 and by_staff.json()["space"] == table.pk


def test_the_admin_does_not_change_a_bookings_guest(staff, restaurant, guest, other_guest):
    booking = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:00"),
        party_size=2,
    )
    local = booking.local_starts_at
    form = {
        "guest": str(other_guest.pk),  # not a field of the change form: ignored
        "space": str(booking.space_id),
        "starts_at_0": local.date().isoformat(),
        "starts_at_1": "19:00:00",
        "ends_at_0": local.date().isoformat(),
        "ends_at_1": "20:30:00",
        "party_size": "2",
        "notes": "Window seat",
        **NO_INLINE_FORMS,
    }

    response = logged_in(staff).post(reverse("admin:reservations_reservation_change", args=[booking.pk]), form)

    assert response.status_code == 302, (response.context["adminform"].form.errors, response.context["errors"])
    booking.refresh_from_db()
    assert (booking.guest_id, booking.notes) == (guest.pk, "Window seat")


# --- The guest's contact on staff screens ---------------------------------------------------------------


def test_staff_see_the_guests_name_and_phone_on_the_day_sheet_and_in_the_admin(restaurant, guest):
    guest.phone = "+49 30 1234 5678"
    guest.save()
    booking = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:00"),
        party_size=2,
    )
    host = logged_in(member(restaurant, VenueRole.Role.HOST))

    sheet = host.get(reverse("staff:day_sheet"), {"day": booking.local_starts_at.date().isoformat()})
    listed = host.get(reverse("admin:reservations_reservation_changelist"))
    page = host.get(reverse("admin:reservations_reservation_change", args=[booking.pk]))

    for response in (sheet, listed, page):
        text = response.content.decode()
        assert "Gina Guest" in text and "+49 30 12345678" in text  # in the international format


# --- Roles, the admin's sections and the way to the day sheet -------------------------------------------


def test_a_manager_gives_a_role_by_email_and_a_host_cannot(restaurant, meeting_rooms):
    manager = member(restaurant, VenueRole.Role.MANAGER, email="manager@example.com")
    newcomer = make_user("waiter@example.com")
    url = reverse("admin:spaces_venuerole_add")

    given = logged_in(manager).post(url, {"venue": restaurant.pk, "email": "WAITER@example.com", "role": "host"})
    elsewhere = logged_in(manager).post(url, {"venue": meeting_rooms.pk, "email": "waiter@example.com", "role": "host"})

    assert given.status_code == 302
    assert VenueRole.objects.filter(user=newcomer, venue=restaurant, role="host").exists()
    newcomer.refresh_from_db()
    assert newcomer.is_staff  # the admin opens for them now; the role says what they see there
    assert elsewhere.status_code == 200  # not a choice: managers give roles at their own venues only
    assert not VenueRole.objects.filter(venue=meeting_rooms).exists()
    host = get_user_model().objects.get(pk=newcomer.pk)
    assert logged_in(with_authenticator(host)).get(url).status_code == 403


def test_the_admin_index_has_one_section_per_app_and_leads_to_the_day_sheet(staff):
    page = logged_in(staff).get(reverse("admin:index"))

    sections = [app["name"] for app in page.context["app_list"]]
    assert len(sections) == len(set(sections))
    assert sections.count("Accounts") == 1
    assert f'href="{reverse("staff:day_sheet")}"' in page.content.decode()


def test_the_day_sheet_opens_on_the_staff_members_own_venue_and_leads_back_to_the_admin(
    restaurant, hotel, meeting_rooms
):
    # The restaurant's name comes last alphabetically here ("Trattoria"): the host's venue wins anyway.
    host = member(restaurant, VenueRole.Role.HOST)
    also_superuser = member(restaurant, VenueRole.Role.MANAGER, email="owner@example.com", is_superuser=True)

    for user in (host, also_superuser):
        page = logged_in(user).get(reverse("staff:day_sheet"))
        assert page.context["venue"] == restaurant
        assert f'href="{reverse("admin:index")}"' in page.content.decode()
    assert [venue.name for venue in logged_in(host).get(reverse("staff:day_sheet")).context["venues"]] == [
        restaurant.name
    ]


def test_filters_and_autocomplete_offer_only_the_staff_members_venues(restaurant, meeting_rooms, guest):
    for venue in (restaurant, meeting_rooms):
        reservation_book(
            guest=guest,
            venue=venue,
            starts_at=at(venue, next_weekday(venue, TUESDAY), "10:00" if venue == meeting_rooms else "19:00"),
            party_size=2,
        )
    manager = logged_in(member(meeting_rooms, VenueRole.Role.MANAGER))

    found = manager.get(
        reverse("admin:autocomplete"),
        {"app_label": "spaces", "model_name": "space", "field_name": "venue", "term": ""},
    )
    filters = manager.get(reverse("admin:reservations_reservation_changelist")).content.decode()

    assert [item["text"] for item in found.json()["results"]] == [meeting_rooms.name]
    assert meeting_rooms.name in filters and restaurant.name not in filters
