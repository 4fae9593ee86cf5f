"""The day sheet's waitlist: the venue's open wishes of the day shown (those waiting in line order with
their place, those offered with the offer and its deadline, in the venue's time), in one query, and the
host's button that offers a waiting guest a place now, out of turn."""

from datetime import time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation, WaitlistEntry
from reservations.selectors import sheet_services
from reservations.services import rules
from reservations.services.waitlist import waitlist_join, waitlist_offer_now
from spaces.models import VenueRole
from tests.accounts.test_security import assert_runs_only_what_the_policy_allows
from tests.reservations.conftest import make_user, next_weekday, with_authenticator
from tests.reservations.test_waitlist import evening, fill_seven_pm, join

pytestmark = pytest.mark.django_db
Status = WaitlistEntry.Status
DAY_SHEET = reverse("staff:day_sheet")


def member(venue, role=VenueRole.Role.HOST, email="host@example.com"):
    user = with_authenticator(make_user(email, is_staff=True))
    VenueRole.objects.create(venue=venue, user=user, role=role)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sheet(client, venue, day=None, service=None):
    query = {"venue": venue.pk, "day": (day or evening(venue)).isoformat(), **({"service": service} if service else {})}
    return client.get(DAY_SHEET, query)


def offer_button(client, entry, **data):
    return client.post(reverse("staff:offer_waitlist_place", kwargs={"pk": entry.pk}), data)


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_the_sheet_shows_who_waits_in_order_and_what_was_offered_until_when(restaurant):
    host = member(restaurant)
    first, second, third = join(restaurant, "first"), join(restaurant, "second"), join(restaurant, "third")
    waitlist_offer_now(entry=second, actor=host)
    second.refresh_from_db()
    other_day = waitlist_join(
        guest=make_user("other.day@example.com"),
        venue=restaurant,
        day=next_weekday(restaurant, 2),
        earliest=time(19),
        latest=time(19),
        party_size=2,
    )

    response = sheet(logged_in(host), restaurant)

    assert response.status_code == 200
    lines = response.context["waitlist"]
    assert [(line.entry.pk, line.place) for line in lines] == [(first.pk, 1), (third.pk, 2), (second.pk, None)]
    assert other_day.pk not in [line.entry.pk for line in lines]
    page = response.content.decode()
    assert 'id="waitlist-heading"' in page
    assert page.count("Offer a place now") == 2  # a button per waiting wish
    deadline = second.offer.hold_expires_at.astimezone(restaurant.zone)  # Berlin, not UTC
    assert second.offer.reference in page
    assert f'To confirm by <time datetime="{deadline.isoformat()}">{deadline:%a %-d %b %H:%M}</time>' in page
    assert reverse("admin:reservations_reservation_change", args=[second.offer.pk]) in page
    assert_runs_only_what_the_policy_allows(response)


def test_a_day_without_a_waitlist_says_so(restaurant):
    response = sheet(logged_in(member(restaurant)), restaurant)
    assert response.context["waitlist"] == []
    assert "Nobody is on the waitlist for" in response.content.decode()


def test_the_button_offers_a_place_and_leads_back_to_the_same_day_and_service(restaurant):
    first, second = join(restaurant, "first"), join(restaurant, "second")
    day = evening(restaurant)
    service = sheet_services(rules.setup(restaurant), day)[0].key
    client = logged_in(member(restaurant))

    response = offer_button(client, second, day=day.isoformat(), service=service)

    assert response.status_code == 302
    assert response.url == f"{DAY_SHEET}?venue={restaurant.pk}&day={day.isoformat()}&service={service}"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.WAITING and second.status == Status.OFFERED
    ((level, words),) = messages_of(response)
    assert level == "success"
    assert words.startswith(f"second@example.com was offered {second.offer.reference}, ")
    assert f"at 19:00, held until {second.offer.hold_expires_at.astimezone(restaurant.zone):%H:%M}" in words


def test_the_button_says_when_nothing_fits_and_changes_nothing(restaurant):
    fill_seven_pm(restaurant)
    entry = join(restaurant, "waiting")

    response = offer_button(logged_in(member(restaurant)), entry)

    assert response.status_code == 302
    assert response.url == f"{DAY_SHEET}?venue={restaurant.pk}&day={evening(restaurant).isoformat()}"
    assert messages_of(response) == [
        ("warning", "waiting@example.com was not offered a place: Nothing that fits this wish is free now.")
    ]
    entry.refresh_from_db()
    assert entry.status == Status.WAITING


def test_the_hosts_of_another_venue_and_guests_may_not_press_it(restaurant, meeting_rooms):
    entry = join(restaurant, "waiting")
    assert offer_button(logged_in(member(meeting_rooms)), entry).status_code == 403
    as_guest = offer_button(logged_in(entry.guest), entry)
    assert as_guest.status_code == 302 and "login" in as_guest.url
    assert offer_button(logged_in(member(restaurant, email="h2@example.com")), entry).status_code == 302
    assert Client().get(reverse("staff:offer_waitlist_place", kwargs={"pk": entry.pk})).status_code == 302
    entry.refresh_from_db()
    assert entry.status == Status.OFFERED  # only the venue's host's press counted


def test_a_get_does_not_offer(restaurant):
    entry = join(restaurant, "waiting")
    response = logged_in(member(restaurant)).get(reverse("staff:offer_waitlist_place", kwargs={"pk": entry.pk}))
    assert response.status_code == 405
    entry.refresh_from_db()
    assert entry.status == Status.WAITING


def test_the_waitlist_costs_one_query_whatever_its_length(restaurant):
    host = member(restaurant)
    client = logged_in(host)
    waitlist_offer_now(entry=join(restaurant, "first"), actor=host)  # an offer: a held booking on the sheet
    join(restaurant, "second")
    sheet(client, restaurant)  # the session and the user's roles are read once
    with CaptureQueriesContext(connection) as one:
        sheet(client, restaurant)

    for n in range(6):
        entry = join(restaurant, f"more{n}", party=n % 3 + 1, earliest="18:00", latest="21:00")
        if n % 2:
            waitlist_offer_now(entry=entry, actor=host)
    with CaptureQueriesContext(connection) as many:
        response = sheet(client, restaurant)

    assert len(response.context["waitlist"]) == 8
    assert len(many) == len(one), "\n".join(query["sql"] for query in many.captured_queries)


def test_an_offer_whose_deadline_passed_is_shown_as_going_to_the_next_guest(restaurant):
    host = member(restaurant)
    entry = waitlist_offer_now(entry=join(restaurant, "slow"), actor=host)
    Reservation.objects.filter(pk=entry.offer.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    response = sheet(logged_in(host), restaurant)

    (line,) = response.context["waitlist"]
    assert line.offer_passed
    assert "it goes to the next guest" in response.content.decode()
