from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book

from .conftest import at, make_user, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1
CHANGELIST = reverse("admin:reservations_reservation_changelist")
ADD = reverse("admin:reservations_reservation_add")
NO_INLINE_FORMS = {
    "events-TOTAL_FORMS": "0",
    "events-INITIAL_FORMS": "0",
    "events-MIN_NUM_FORMS": "0",
    "events-MAX_NUM_FORMS": "1000",
    "payments-TOTAL_FORMS": "0",
    "payments-INITIAL_FORMS": "0",
    "payments-MIN_NUM_FORMS": "0",
    "payments-MAX_NUM_FORMS": "1000",
}


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def book(venue, guest, clock="19:00", party_size=2, **extra):
    day = next_weekday(venue, TUESDAY)
    return reservation_book(guest=guest, venue=venue, starts_at=at(venue, day, clock), party_size=party_size, **extra)


def admin_form(*, guest, space, starts_at, ends_at, party_size=2, notes=""):
    """The add/change form as the admin posts it: split date and time, in the venue's zone."""
    starts_at, ends_at = starts_at.astimezone(space.venue.zone), ends_at.astimezone(space.venue.zone)
    return {
        "guest": str(guest.pk),
        "space": str(space.pk),
        "starts_at_0": starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": starts_at.strftime("%H:%M:%S"),
        "ends_at_0": ends_at.strftime("%Y-%m-%d"),
        "ends_at_1": ends_at.strftime("%H:%M:%S"),
        "party_size": str(party_size),
        "notes": notes,
        **NO_INLINE_FORMS,
    }


def change_url(reservation):
    return reverse("admin:reservations_reservation_change", args=[reservation.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Lists and pages ------------------------------------------------------------------------------


def test_changelist_renders_with_filters_and_date_hierarchy(staff_client, restaurant, guest):
    reservation = book(restaurant, guest)
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert reservation.reference in page
    assert "guest@example.com" in page and "Trattoria Test" in page
    assert 'id="changelist-filter"' in page
    assert "xfull" in page or "date-hierarchy" in page or "toplinks" in page

    year = reservation.starts_at.year
    filtered = staff_client.get(
        CHANGELIST, {"status__exact": "confirmed", "starts_at__year": year, "space__venue__id__exact": restaurant.pk}
    )
    assert filtered.status_code == 200
    assert reservation.reference in filtered.content.decode()
    cancelled_only = staff_client.get(CHANGELIST, {"status__exact": "cancelled"})
    assert reservation.reference not in cancelled_only.content.decode()


def test_changelist_search_finds_by_reference_and_by_guest_email(staff_client, restaurant, guest, other_guest):
    mine = book(restaurant, guest)
    theirs = book(restaurant, other_guest)

    by_reference = staff_client.get(CHANGELIST, {"q": mine.reference}).content.decode()
    assert mine.reference in by_reference and theirs.reference not in by_reference

    by_email = staff_client.get(CHANGELIST, {"q": "other@example.com"})
    assert by_email.status_code == 200
    assert theirs.reference in by_email.content.decode() and mine.reference not in by_email.content.decode()


def test_change_page_shows_the_history(staff_client, restaurant, guest):
    reservation = book(restaurant, guest)
    response = staff_client.get(change_url(reservation))
    assert response.status_code == 200
    page = response.content.decode()
    assert "History" in page or "history" in page
    assert "Held" in page and "Confirmed" in page
    assert reservation.reference in page


def test_a_guest_is_sent_away_from_the_admin(client, guest, restaurant):
    book(restaurant, guest)
    client.force_login(guest)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- Adding and changing go through the booking service -----------------------------------------


def test_add_form_books_a_confirmed_reservation_with_history(staff_client, staff, restaurant, guest):
    table = restaurant.spaces.get(name="Table 3")
    starts_at = at(restaurant, next_weekday(restaurant, TUESDAY), "19:00")
    data = admin_form(
        guest=guest, space=table, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90), party_size=3
    )

    response = staff_client.post(ADD, {**data, "notes": "Window seat", "_save": "Save"})

    assert response.status_code == 302, response.content.decode()[:2000]
    reservation = Reservation.objects.get()
    assert (reservation.space, reservation.guest, reservation.party_size) == (table, guest, 3)
    assert reservation.starts_at == starts_at and reservation.notes == "Window seat"
    assert reservation.status == Reservation.Status.CONFIRMED
    assert [(event.kind, event.actor) for event in reservation.events.all()] == [
        ("held", staff),
        ("confirmed", staff),
    ]


def test_add_form_for_a_taken_table_shows_no_longer_free_and_creates_nothing(staff_client, restaurant, guest):
    existing = book(restaurant, guest, party_size=3)  # Table 3, 19:00-20:30
    before = Reservation.objects.count(), ReservationEvent.objects.count()
    starts_at = existing.starts_at + timedelta(minutes=30)
    data = admin_form(guest=guest, space=existing.space, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90))

    response = staff_client.post(ADD, data)

    assert response.status_code == 200
    assert "no longer free" in response.content.decode()
    assert (Reservation.objects.count(), ReservationEvent.objects.count()) == before


def test_add_form_outside_opening_hours_is_a_form_error(staff_client, restaurant, guest):
    starts_at = at(restaurant, next_weekday(restaurant, TUESDAY), "16:00")
    data = admin_form(
        guest=guest,
        space=restaurant.spaces.get(name="Table 1"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
    )
    response = staff_client.post(ADD, data)
    assert response.status_code == 200
    assert "is not open for a booking" in response.content.decode()
    assert not Reservation.objects.exists()


def test_add_form_without_a_guest_is_refused(staff_client, restaurant, guest):
    starts_at = at(restaurant, next_weekday(restaurant, TUESDAY), "19:00")
    data = admin_form(
        guest=guest,
        space=restaurant.spaces.get(name="Table 1"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
    )
    response = staff_client.post(ADD, {**data, "guest": ""})
    assert response.status_code == 200
    assert "Choose the guest the booking is for." in response.content.decode()
    assert not Reservation.objects.exists()


def test_change_form_moves_a_reservation_to_another_free_table(staff_client, staff, restaurant, guest):
    reservation = book(restaurant, guest)
    assert reservation.space.name == "Table 1"
    table2 = restaurant.spaces.get(name="Table 2")
    data = admin_form(guest=guest, space=table2, starts_at=reservation.starts_at, ends_at=reservation.ends_at)

    response = staff_client.post(change_url(reservation), {**data, "_save": "Save"})

    assert response.status_code == 302, response.content.decode()[:2000]
    reservation.refresh_from_db()
    assert reservation.space == table2 and reservation.status == Reservation.Status.CONFIRMED
    moved = reservation.events.get(kind="modified")
    assert moved.actor == staff
    assert moved.details["changes"]["space"] == {"before": "Table 1", "after": "Table 2"}


def test_change_form_to_a_taken_table_is_refused(staff_client, restaurant, guest, other_guest):
    mine = book(restaurant, guest)  # Table 1
    book(restaurant, other_guest)  # Table 2, same time
    data = admin_form(
        guest=guest, space=restaurant.spaces.get(name="Table 2"), starts_at=mine.starts_at, ends_at=mine.ends_at
    )
    response = staff_client.post(change_url(mine), data)
    assert response.status_code == 200
    assert "no longer free" in response.content.decode()
    mine.refresh_from_db()
    assert mine.space.name == "Table 1"
    assert not mine.events.filter(kind="modified").exists()


# --- Actions ----------------------------------------------------------------------------------------


def test_cancel_action_asks_for_a_reason_then_cancels_with_it(staff_client, staff, restaurant, guest, other_guest):
    first, second = book(restaurant, guest), book(restaurant, other_guest, clock="12:00")
    untouched = book(restaurant, other_guest, clock="20:30")

    response = staff_client.post(
        CHANGELIST, {"action": "cancel_selected", "_selected_action": [first.pk, second.pk], "index": "0"}
    )
    assert response.status_code == 302
    reason_page = staff_client.get(response["Location"])
    assert reason_page.status_code == 200
    page = reason_page.content.decode()
    assert first.reference in page and second.reference in page and untouched.reference not in page
    assert "19:00" in page  # the venue's local time, as labelled (Europe/Berlin)
    assert Reservation.objects.filter(status="cancelled").count() == 0  # nothing happens before the reason

    done = staff_client.post(response["Location"], {"reason": "Kitchen flooded"})

    assert done.status_code == 302 and done["Location"] == CHANGELIST
    assert "Cancelled 2 reservation(s)." in messages_of(done)
    for reservation in (first, second):
        reservation.refresh_from_db()
        assert reservation.status == Reservation.Status.CANCELLED
        assert reservation.cancellation_reason == "Kitchen flooded" and reservation.cancelled_by == staff
        assert reservation.events.get(kind="cancelled").details == {"by": "staff", "reason": "Kitchen flooded"}
    untouched.refresh_from_db()
    assert untouched.status == Reservation.Status.CONFIRMED


def test_cancel_page_without_a_reason_cancels_nothing(staff_client, restaurant, guest):
    reservation = book(restaurant, guest)
    url = reverse("admin:reservations_reservation_cancel") + f"?ids={reservation.pk}"
    response = staff_client.post(url, {"reason": ""})
    assert response.status_code == 200
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED


def test_cancel_page_needs_permission_to_change_reservations(client, restaurant, guest):
    reservation = book(restaurant, guest)
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_reservation"))
    client.force_login(clerk)
    url = reverse("admin:reservations_reservation_cancel") + f"?ids={reservation.pk}"

    assert client.post(url, {"reason": "Because I can"}).status_code == 403
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED


def test_no_show_action_before_the_start_shows_an_error_and_changes_nothing(staff_client, restaurant, guest):
    reservation = book(restaurant, guest)
    events_before = reservation.events.count()

    response = staff_client.post(
        CHANGELIST, {"action": "mark_no_show", "_selected_action": [reservation.pk], "index": "0"}, follow=True
    )

    assert response.status_code == 200
    shown = messages_of(response) or [m.message for m in response.context["messages"]]
    assert any(reservation.reference in message and "only once it has started" in message for message in shown), shown
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.events.count() == events_before


def test_no_show_action_marks_a_started_booking(staff_client, staff, restaurant, guest):
    day = timezone.now().astimezone(restaurant.zone).date() - timedelta(days=7)
    day -= timedelta(days=(day.weekday() - TUESDAY) % 7)
    started = reservation_book(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, day, "19:00"),
        party_size=2,
        now=at(restaurant, day, "10:00"),
    )
    response = staff_client.post(
        CHANGELIST, {"action": "mark_no_show", "_selected_action": [started.pk], "index": "0"}, follow=True
    )
    assert response.status_code == 200
    started.refresh_from_db()
    assert started.status == Reservation.Status.NO_SHOW
    assert started.events.get(kind="no_show").actor == staff


def test_a_booking_is_not_kept_when_the_rest_of_the_page_is_invalid(staff_client, restaurant, guest):
    starts_at = at(restaurant, next_weekday(restaurant, TUESDAY), "19:00")
    data = admin_form(
        guest=guest,
        space=restaurant.spaces.get(name="Table 1"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
    )
    for key in NO_INLINE_FORMS:  # a tampered page without the history inline's management form
        del data[key]

    response = staff_client.post(ADD, data)

    assert response.status_code == 200
    assert "ManagementForm data is missing" in response.content.decode()
    assert (Reservation.objects.count(), ReservationEvent.objects.count()) == (0, 0)
