from datetime import time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from reservations.services import reservation_book
from spaces.models import (
    Closure,
    Combination,
    OpeningHours,
    PacingRule,
    Session,
    Shift,
    Space,
    TurnTime,
    Venue,
    VenueRole,
)
from tests.reservations.conftest import at, next_weekday
from tests.spaces.factories import VenueFactory

pytestmark = pytest.mark.django_db

DEMO_LOGINS = [
    ("staff@holdfast.local", "holdfast-staff"),
    ("manager@holdfast.local", "holdfast-manager"),
    ("host@holdfast.local", "holdfast-host"),
    ("guest@holdfast.local", "holdfast-guest"),
]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts():
    models = [Venue, Space, OpeningHours, Shift, TurnTime, PacingRule, Combination, Closure, Session, User]
    models.append(EmailAddress)
    counts = {model.__name__: model.objects.count() for model in models}
    return counts | {"combined tables": Combination.spaces.through.objects.count()}


def test_seed_demo_creates_a_restaurant_a_hotel_and_meeting_rooms():
    output = seed()

    assert (
        "Demo data created: 3 venues, 27 spaces, 17 opening hours, 2 shifts, 4 turn times, 1 pacing rules, "
        "2 combinations, 1 closures, 1 sessions, 4 rates and stay limits, 1 calendar feeds, 4 users, 2 staff roles."
        in output
    )
    restaurant = Venue.objects.get(name="Trattoria Aurora")
    assert (restaurant.time_zone, restaurant.booking_mode, restaurant.assigns_spaces) == (
        "Europe/Berlin",
        "slots",
        True,
    )
    assert (restaurant.slot_interval_minutes, restaurant.default_duration_minutes) == (15, 90)
    tables = restaurant.spaces.all()
    assert len(tables) == 12
    assert {table.category for table in tables} == {"Dining room", "Terrace"}
    assert (min(t.capacity for t in tables), max(t.capacity for t in tables)) == (2, 8)
    assert {table.price for table in tables} == {0}
    hours = restaurant.opening_hours.all()
    assert OpeningHours.Weekday.MONDAY not in {h.weekday for h in hours}
    assert {(h.opens_at, h.closes_at) for h in hours} == {(time(12), time(15)), (time(18), time(23))}

    hotel = Venue.objects.get(name="Harbour Inn")
    assert (hotel.time_zone, hotel.uses_nights, hotel.assigns_spaces, hotel.currency) == (
        "Europe/London",
        True,
        True,
        "GBP",
    )
    assert (hotel.check_in_time, hotel.check_out_time) == (time(15), time(11))
    rooms = hotel.spaces.all()
    assert len(rooms) == 10
    assert {(room.category, room.capacity) for room in rooms} == {("Single", 1), ("Double", 2), ("Family", 4)}
    assert all(room.price > 0 for room in rooms)

    meeting = Venue.objects.get(name="Foundry Rooms")
    assert (meeting.time_zone, meeting.assigns_spaces) == ("America/New_York", False)
    assert meeting.durations() == [60, 30, 120, 240]
    assert sorted(space.capacity for space in meeting.spaces.filter(sold_by_seat=False)) == [4, 8, 12, 20]
    pasta = meeting.spaces.get(sold_by_seat=True)
    assert (pasta.name, pasta.category, pasta.capacity, pasta.price) == ("Pasta class", "Class", 12, Decimal("35.00"))
    session = pasta.sessions.get()
    assert (session.weekday, session.date, session.starts_at, session.minutes, session.seats) == (
        5,
        None,
        time(10),
        180,
        12,
    )
    assert {(h.weekday, h.opens_at, h.closes_at) for h in meeting.opening_hours.all()} == {
        (weekday, time(8), time(20)) for weekday in range(5)
    }


def test_seed_demo_data_passes_model_validation():
    seed()
    for model in [Venue, Space, OpeningHours, Shift, TurnTime, PacingRule, Combination, Closure, Session]:
        for instance in model.objects.all():
            instance.full_clean()


def test_running_seed_demo_twice_creates_nothing_new():
    seed()
    counts = row_counts()

    output = seed()

    assert row_counts() == counts
    assert "nothing created" in output


def test_seed_demo_fills_in_what_is_missing_and_keeps_what_staff_changed():
    seed()
    restaurant = Venue.objects.get(slug="trattoria-aurora")
    restaurant.name = "Aurora"
    restaurant.save()
    restaurant.spaces.filter(name="Table 12").delete()

    output = seed()

    assert (
        "Demo data created: 0 venues, 1 spaces, 0 opening hours, 0 shifts, 0 turn times, 0 pacing rules, "
        "0 combinations, 0 closures, 0 sessions, 0 rates and stay limits, 0 calendar feeds, 0 users, 0 staff roles."
        in output
    )
    assert Venue.objects.get(slug="trattoria-aurora").name == "Aurora"
    assert restaurant.spaces.count() == 12


def test_seed_demo_if_empty_does_nothing_when_a_venue_exists():
    VenueFactory()
    counts = row_counts()

    output = seed("--if-empty")

    assert row_counts() == counts
    assert "nothing created" in output


def test_seed_demo_if_empty_seeds_an_empty_database():
    seed("--if-empty")
    assert Venue.objects.count() == 3


def test_demo_users_have_a_verified_primary_address():
    seed()
    staff = User.objects.get(email="staff@holdfast.local")
    assert (staff.is_staff, staff.is_superuser) == (True, True)
    guest = User.objects.get(email="guest@holdfast.local")
    assert (guest.is_staff, guest.is_superuser) == (False, False)
    for user in (staff, guest):
        assert EmailAddress.objects.filter(user=user, email=user.email, verified=True, primary=True).exists()


def test_the_demo_restaurant_has_a_manager_and_a_host_who_are_not_superusers():
    seed()
    seed()  # again: the roles are not given twice
    restaurant = Venue.objects.get(slug="trattoria-aurora")
    roles = {(role.user.email, role.role) for role in VenueRole.objects.filter(venue=restaurant)}
    assert roles == {("manager@holdfast.local", "manager"), ("host@holdfast.local", "host")}
    assert VenueRole.objects.count() == 2  # no role anywhere else
    for email in ("manager@holdfast.local", "host@holdfast.local"):
        user = User.objects.get(email=email)
        assert (user.is_staff, user.is_superuser) == (True, False)


@pytest.mark.parametrize(("email", "password"), DEMO_LOGINS)
def test_demo_users_can_log_in_through_the_allauth_form(client, email, password):
    seed()

    response = client.post(reverse("account_login"), {"login": email, "password": password})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert int(client.session["_auth_user_id"]) == User.objects.get(email=email).pk


def test_demo_staff_reaches_the_admin_after_logging_in_and_the_guest_does_not(client):
    seed()
    client.post(reverse("account_login"), {"login": "staff@holdfast.local", "password": "holdfast-staff"})
    assert client.get(reverse("admin:spaces_venue_changelist")).status_code == 200

    client.logout()
    client.post(reverse("account_login"), {"login": "guest@holdfast.local", "password": "holdfast-guest"})
    assert client.get(reverse("admin:spaces_venue_changelist"), follow=True).status_code == 403


def test_four_seats_of_the_demo_pasta_class_on_a_saturday_cost_140():
    seed()
    venue = Venue.objects.get(slug="foundry-rooms")
    pasta = venue.spaces.get(name="Pasta class")
    guest = User.objects.get(email="guest@holdfast.local")
    saturday = next_weekday(venue, 5)  # a week or more ahead
    assert saturday - timezone.now().astimezone(venue.zone).date() >= timedelta(days=2)

    booking = reservation_book(guest=guest, space=pasta, starts_at=at(venue, saturday, "10:00"), party_size=4)

    assert (booking.space, booking.party_size, booking.price) == (pasta, 4, Decimal("140.00"))
    assert booking.starts_at.astimezone(venue.zone).strftime("%A %H:%M") == "Saturday 10:00"
    assert booking.ends_at - booking.starts_at == timedelta(minutes=180)


def test_seeding_again_adds_back_the_pasta_class_session_and_no_other():
    seed()
    Session.objects.all().delete()

    output = seed()

    assert "0 spaces," in output and "1 sessions," in output
    assert Session.objects.get().space.name == "Pasta class"
    assert "nothing created" in seed()
