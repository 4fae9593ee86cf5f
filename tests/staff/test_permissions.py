"""Who may do what, through every path: the JSON API, the guest pages, the staff pages, the admin and its
actions. Venue A is a restaurant that assigns its tables, venue B a set of meeting rooms; a guest holds a
confirmed booking at A. Each actor tries every path; a refused attempt changes nothing."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from payments.services.refunds import cancellation_refund_percent
from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book
from spaces.models import VenueRole
from tests.reservations.conftest import at, make_user, next_weekday, with_authenticator

pytestmark = pytest.mark.django_db
TUESDAY = 1
ACTORS = [
    "superuser",
    "manager_a",
    "host_a",
    "manager_b",
    "staff_without_role",
    "host_a_without_two_factor",
    "guest",
    "anonymous",
]
# What each actor may do with a guest's booking at venue A (True: allowed; "2fa": sent to set it up).
MAY_SEE_AND_CHANGE = {
    "superuser": True,
    "manager_a": True,
    "host_a": True,
    "manager_b": False,
    "staff_without_role": False,
    "host_a_without_two_factor": "2fa",
    "guest": False,
    "anonymous": "login",
}
MAY_MANAGE_VENUE_A = {**MAY_SEE_AND_CHANGE, "host_a": False}  # settings, exports: managers only


@pytest.fixture
def world(staff_without_authenticator, restaurant, meeting_rooms, guest):
    """Everyone logs in with exactly the authenticator they have (the suite's shortcut is off)."""

    def staff(email, *, venue=None, role=None, two_factor=True, superuser=False):
        user = make_user(email, is_staff=True, is_superuser=superuser)
        if venue is not None:
            VenueRole.objects.create(venue=venue, user=user, role=role)
        return with_authenticator(user) if two_factor else user

    actors = {
        "superuser": staff("root@example.com", superuser=True),
        "manager_a": staff("manager.a@example.com", venue=restaurant, role=VenueRole.Role.MANAGER),
        "host_a": staff("host.a@example.com", venue=restaurant, role=VenueRole.Role.HOST),
        "manager_b": staff("manager.b@example.com", venue=meeting_rooms, role=VenueRole.Role.MANAGER),
        "staff_without_role": staff("nobody@example.com"),
        "host_a_without_two_factor": staff(
            "new.host@example.com", venue=restaurant, role=VenueRole.Role.HOST, two_factor=False
        ),
        "guest": make_user("someone.else@example.com"),
        "anonymous": None,
    }
    booking = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:00"),
        party_size=2,
    )
    return {"actors": actors, "booking": booking, "restaurant": restaurant, "guest": guest}


def client_for(world, actor: str) -> Client:
    client = Client()
    user = world["actors"][actor]
    if user is not None:
        client.force_login(user)
    return client


def unchanged(booking: Reservation) -> bool:
    current = Reservation.objects.get(pk=booking.pk)
    return (current.status, current.party_size, current.space_id, current.events.count()) == (
        booking.status,
        booking.party_size,
        booking.space_id,
        ReservationEvent.objects.filter(reservation=booking).count(),
    ) and current.status == Reservation.Status.CONFIRMED


def is_two_factor_setup(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.parametrize("actor", ACTORS)
def test_the_api(world, actor):
    booking, expected = world["booking"], MAY_SEE_AND_CHANGE[actor]
    client = client_for(world, actor)
    detail_url = f"/api/reservations/{booking.reference}"

    listed = client.get(f"/api/reservations/{world['guest'].pk}")
    read = client.get(detail_url)
    changed = client.put(detail_url, json.dumps({"party_size": 3}), content_type="application/json")

    if expected is True:
        assert [item["reference"] for item in listed.json()["items"]] == [booking.reference]
        assert read.status_code == 200 and changed.status_code == 200, changed.content
        cancelled = client.delete(f"{detail_url}?reason=Kitchen+closed")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        return
    cancelled = client.delete(f"{detail_url}?reason=Kitchen+closed")
    if expected == "login":
        assert {listed.status_code, read.status_code, changed.status_code, cancelled.status_code} == {401}
    elif expected == "2fa":
        for response in (listed, read, changed, cancelled):
            assert response.status_code == 403
            assert "two-factor" in response.json()["detail"]
    elif actor == "manager_b":  # staff elsewhere: this guest's list holds nothing of venue A
        assert listed.status_code == 200 and listed.json()["items"] == []
        assert {read.status_code, changed.status_code, cancelled.status_code} == {404}
    else:
        assert listed.status_code == 403
        assert {read.status_code, changed.status_code, cancelled.status_code} == {404}
    assert unchanged(booking)


@pytest.mark.parametrize("actor", ACTORS)
def test_the_guest_pages(world, actor):
    booking, expected = world["booking"], MAY_SEE_AND_CHANGE[actor]
    client = client_for(world, actor)

    page = client.get(reverse("reservations:detail", args=[booking.reference]))
    cancel = client.post(reverse("reservations:cancel", args=[booking.reference]), {"reason": "Kitchen closed"})

    if expected is True:
        assert page.status_code == 200
        assert cancel.status_code == 302
        assert Reservation.objects.get(pk=booking.pk).status == Reservation.Status.CANCELLED
        return
    if expected == "login":
        assert page.status_code == cancel.status_code == 302 and "/accounts/login/" in page["Location"]
    elif expected == "2fa":
        assert is_two_factor_setup(page) and is_two_factor_setup(cancel)
    else:
        assert page.status_code == cancel.status_code == 404
    assert unchanged(booking)


@pytest.mark.parametrize("actor", ACTORS)
def test_the_day_sheet_and_moving_from_it(world, actor):
    booking, restaurant, expected = world["booking"], world["restaurant"], MAY_SEE_AND_CHANGE[actor]
    client = client_for(world, actor)
    table2 = restaurant.spaces.get(name="Table 2")
    day = booking.local_starts_at.date().isoformat()

    sheet = client.get(reverse("staff:day_sheet"), {"venue": restaurant.pk, "day": day})
    moved = client.post(reverse("staff:move_reservation", args=[booking.reference]), {"space": table2.pk, "day": day})

    if expected is True:
        assert sheet.status_code == 200 and booking.reference in sheet.content.decode()
        assert moved.status_code == 302
        assert Reservation.objects.get(pk=booking.pk).space_id == table2.pk
        return
    if expected == "2fa":
        assert is_two_factor_setup(sheet) and is_two_factor_setup(moved)
    elif actor in ("guest", "anonymous"):
        assert sheet.status_code == moved.status_code == 302 and "/admin/login/" in sheet["Location"]
    elif actor == "manager_b":  # their own sheet, never venue A's
        assert sheet.status_code == 200 and booking.reference not in sheet.content.decode()
        assert moved.status_code == 403
    else:
        assert sheet.status_code == moved.status_code == 403
    assert unchanged(booking)


@pytest.mark.parametrize("actor", ACTORS)
def test_the_admin_and_its_actions(world, actor):
    booking, restaurant, expected = world["booking"], world["restaurant"], MAY_SEE_AND_CHANGE[actor]
    client = client_for(world, actor)

    listed = client.get(reverse("admin:reservations_reservation_changelist"))
    page = client.get(reverse("admin:reservations_reservation_change", args=[booking.pk]))
    exported = client.get(reverse("admin:reservations_reservation_export_csv"))
    settings_page = client.get(reverse("admin:spaces_venue_change", args=[restaurant.pk]))
    cancel_url = reverse("admin:reservations_reservation_cancel") + f"?ids={booking.pk}"

    if expected is True:
        assert booking.reference in listed.content.decode() and page.status_code == 200
        may_manage = MAY_MANAGE_VENUE_A[actor] is True
        assert (exported.status_code == 200) is may_manage
        assert booking.reference in exported.getvalue().decode() if may_manage else exported.status_code == 403
        assert (settings_page.status_code == 200) is may_manage
        assert client.post(cancel_url, {"reason": "Kitchen closed"}).status_code == 302
        assert Reservation.objects.get(pk=booking.pk).status == Reservation.Status.CANCELLED
        return
    cancelled = client.post(cancel_url, {"reason": "Kitchen closed"})
    if expected == "2fa":
        assert all(map(is_two_factor_setup, (listed, page, exported, settings_page, cancelled)))
    elif actor in ("guest", "anonymous"):
        assert all(response.status_code == 302 for response in (listed, page, exported, settings_page, cancelled))
        assert "/admin/login/" in listed["Location"]
    elif actor == "manager_b":  # the admin shows their venue's bookings only
        assert listed.status_code == 200 and booking.reference not in listed.content.decode()
        assert page.status_code == 302  # "does not exist", back to the admin index
        assert exported.status_code == 200 and booking.reference not in exported.getvalue().decode()
        assert settings_page.status_code == 302
        assert cancelled.status_code == 302
    else:
        responses = (listed, page, exported, settings_page, cancelled)
        assert {response.status_code for response in responses} == {403}
    assert unchanged(booking)


def test_a_host_cancelling_refunds_by_the_policy_and_a_manager_in_full(world):
    """No refunds beyond the policy for hosts: the same cancellation an hour before the start (where the
    policy gives nothing back), two answers."""
    booking = world["booking"]
    late = booking.starts_at - timedelta(hours=1)
    answers = {
        actor: cancellation_refund_percent(booking, by_staff=True, actor=world["actors"][actor], now=late)
        for actor in ("superuser", "manager_a", "host_a", "manager_b")
    }
    assert answers == {"superuser": 100, "manager_a": 100, "host_a": 0, "manager_b": 0}
