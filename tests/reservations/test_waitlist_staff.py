"""The staff side of the waitlist: the venue's hosts offer a waiting guest a place by hand, out of turn
(reservations.services.waitlist.waitlist_offer_now), and see the line and its offers in the admin."""

from datetime import time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reservations.exceptions import NotAllowed, PolicyViolation
from reservations.models import OutgoingMessage, WaitlistEntry
from reservations.services.waitlist import waitlist_join, waitlist_offer_now
from spaces.models import VenueRole

from .conftest import make_user, next_weekday, with_authenticator
from .test_waitlist import evening, fill_seven_pm, join

pytestmark = pytest.mark.django_db
Status = WaitlistEntry.Status
CHANGELIST = reverse("admin:reservations_waitlistentry_changelist")


def member(venue, role=VenueRole.Role.HOST, email="host@example.com"):
    user = with_authenticator(make_user(email, is_staff=True))
    VenueRole.objects.create(venue=venue, user=user, role=role)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


# --- The service -------------------------------------------------------------------------------------


def test_a_host_offers_the_second_in_line_a_place_out_of_turn(restaurant):
    first, second = join(restaurant, "first"), join(restaurant, "second")  # tables free: nobody offered yet
    host = member(restaurant)

    before = timezone.now()
    offered = waitlist_offer_now(entry=second, actor=host)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.WAITING
    assert second.status == offered.status == Status.OFFERED
    offer = second.offer
    assert (offer.status, offer.guest, offer.party_size) == ("held", second.guest, 2)
    assert offer.local_starts_at.time() == time(19)
    window = timedelta(minutes=restaurant.waitlist_offer_minutes)
    assert before + window <= offer.hold_expires_at <= timezone.now() + window
    assert before <= second.offered_at <= timezone.now()
    mail = OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.WAITLIST_OFFER)
    assert list(mail.values_list("reservation_id", "to_email")) == [(offer.pk, "second@example.com")]


def test_a_manager_may_and_a_superuser_may(restaurant, staff):
    manager = member(restaurant, VenueRole.Role.MANAGER, email="manager@example.com")
    assert waitlist_offer_now(entry=join(restaurant, "one"), actor=manager).status == Status.OFFERED
    assert waitlist_offer_now(entry=join(restaurant, "two"), actor=staff).status == Status.OFFERED


def test_guests_and_the_hosts_of_another_venue_may_not(restaurant, meeting_rooms):
    entry = join(restaurant, "waiting")
    for actor in (entry.guest, make_user("someone@example.com"), member(meeting_rooms), None):
        with pytest.raises(NotAllowed):
            waitlist_offer_now(entry=entry, actor=actor)
    entry.refresh_from_db()
    assert entry.status == Status.WAITING and entry.offer is None


def test_nothing_free_is_told_and_changes_nothing(restaurant):
    fill_seven_pm(restaurant)
    entry = join(restaurant, "waiting")
    with pytest.raises(PolicyViolation, match="^Nothing that fits this wish is free now.$"):
        waitlist_offer_now(entry=entry, actor=member(restaurant))
    entry.refresh_from_db()
    assert entry.status == Status.WAITING and entry.offer is None
    assert not OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.WAITLIST_OFFER).exists()


def test_only_a_waiting_wish_is_offered(restaurant):
    host = member(restaurant)
    entry = waitlist_offer_now(entry=join(restaurant, "waiting"), actor=host)
    with pytest.raises(PolicyViolation, match="no longer waiting: offered a place"):
        waitlist_offer_now(entry=entry, actor=host)
    assert WaitlistEntry.objects.get(pk=entry.pk).offer_id == entry.offer.pk  # the first offer stands


def test_a_window_wish_is_offered_its_first_free_start(restaurant):
    """A wish for a start window is offered its first free start, skipping the taken ones."""
    fill_seven_pm(restaurant)
    entry = waitlist_join(
        guest=make_user("late@example.com"),
        venue=restaurant,
        day=evening(restaurant),
        earliest=time(19),
        latest=time(21),
        party_size=2,
    )
    offered = waitlist_offer_now(entry=entry, actor=member(restaurant))
    assert offered.offer.local_starts_at.time() == time(20, 30)  # every table is taken until 20:30


# --- The admin ---------------------------------------------------------------------------------------


def test_a_host_sees_the_waitlist_of_their_venue_only_with_place_and_offer(restaurant, meeting_rooms):
    first, second = join(restaurant, "first"), join(restaurant, "second")
    elsewhere = waitlist_join(
        guest=make_user("elsewhere@example.com"),
        venue=meeting_rooms,
        day=next_weekday(meeting_rooms, 1),
        earliest=time(10),
        latest=time(10),
        party_size=4,
    )
    host = member(restaurant)
    waitlist_offer_now(entry=first, actor=host)
    first.refresh_from_db()

    response = logged_in(host).get(CHANGELIST)
    assert response.status_code == 200
    shown = {entry.pk: entry for entry in response.context["cl"].result_list}
    assert set(shown) == {first.pk, second.pk}
    assert elsewhere.pk not in shown
    page = response.content.decode()
    assert "second@example.com" in page and "elsewhere@example.com" not in page
    assert reverse("admin:reservations_reservation_change", args=[first.offer.pk]) in page
    assert first.offer.reference in page
    assert shown[second.pk].ahead == 0  # first is offered now: second is first in line
    admin = response.context["cl"].model_admin
    assert admin.place(shown[second.pk]) == 1 and admin.place(shown[first.pk]) == "—"

    assert logged_in(host).get(reverse("admin:reservations_waitlistentry_change", args=[elsewhere.pk])).status_code in (
        302,
        404,
    )


def test_the_admin_adds_edits_and_deletes_nothing(restaurant):
    entry = join(restaurant, "waiting")
    client = logged_in(member(restaurant))
    assert client.get(reverse("admin:reservations_waitlistentry_add")).status_code == 403
    change = reverse("admin:reservations_waitlistentry_change", args=[entry.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    client.post(change, {"party_size": "8", "status": "booked"})
    entry.refresh_from_db()
    assert (entry.party_size, entry.status) == (2, Status.WAITING)
    assert client.get(reverse("admin:reservations_waitlistentry_delete", args=[entry.pk])).status_code == 403


def test_the_admin_action_offers_a_place_and_a_refusal_is_a_warning(restaurant):
    fill_seven_pm(restaurant)
    full = join(restaurant, "full")  # 19:00: every table taken
    free = join(restaurant, "free", earliest="20:30", latest="20:30")
    client = logged_in(member(restaurant))

    response = client.post(
        CHANGELIST, {"action": "offer_place_now", "_selected_action": [str(full.pk), str(free.pk)]}, follow=True
    )

    assert response.status_code == 200
    full.refresh_from_db()
    free.refresh_from_db()
    assert full.status == Status.WAITING
    assert free.status == Status.OFFERED and free.offer.local_starts_at.time() == time(20, 30)
    told = messages_of(response)
    assert ("warning", f"{full}: Nothing that fits this wish is free now.") in told
    assert (
        "success",
        f"{free}: offered {free.offer.reference}, {free.offer.spaces_words} at 20:30, held until "
        f"{free.offer.hold_expires_at.astimezone(restaurant.zone):%H:%M}.",
    ) in told

    again = client.post(CHANGELIST, {"action": "offer_place_now", "_selected_action": [str(free.pk)]}, follow=True)
    assert messages_of(again) == [("warning", f"{free}: This wish is no longer waiting: offered a place.")]
