"""Webhooks to partners: every event a venue's partner asked for arrives signed, once per delivery,
in order per booking, retried for a day, and never to an address production would refuse.

The partner is a real HTTP server on 127.0.0.1 (tests/fake_partner.py) checking each signature with
the snippet docs/webhooks.md gives partners. Celery runs eagerly here: a delivery is POSTed when its
transaction commits (tests/reservations/test_worker.py covers real workers).
"""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.models import User
from privacy.services import account_delete
from reservations import webhooks
from reservations.exceptions import SlotUnavailable
from reservations.models import Reservation, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reservations.services import (
    reservation_book,
    reservation_cancel,
    reservation_hold,
    reservation_mark_no_show,
    reservation_modify,
)
from spaces.models import Venue, VenueRole
from tests.fake_partner import FakePartner

from .conftest import at, make_user, next_weekday, with_authenticator

Event = WebhookEndpoint.Event
TUESDAY = 1


@pytest.fixture
def partner():
    fake = FakePartner().start()
    yield fake
    fake.stop()


def register(venue: Venue, partner: FakePartner, events=None, url=None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(
        venue=venue,
        url=url or partner.url,
        events=list(events or Event.values),
        secret=webhooks.new_secret(),
    )
    partner.secret = endpoint.secret
    return endpoint


def book(venue, guest, clock="19:30", party_size=2, **extra):
    return reservation_book(
        guest=guest,
        venue=venue,
        starts_at=at(venue, next_weekday(venue, TUESDAY), clock),
        party_size=party_size,
        **extra,
    )


def test_a_booking_reaches_the_partner_signed_created_then_confirmed(
    restaurant, guest, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(restaurant, guest)

    assert partner.types() == ["reservation.created", "reservation.confirmed"]
    assert all(record.verified for record in partner.received)
    created, confirmed = partner.events()
    assert created["id"] != confirmed["id"] and created["id"].startswith("evt_")
    assert confirmed["api_version"] == webhooks.API_VERSION
    booking = confirmed["data"]["object"]
    assert booking["object"] == "reservation"
    assert (booking["reference"], booking["status"], booking["party_size"]) == (reservation.reference, "confirmed", 2)
    assert booking["venue"]["slug"] == restaurant.slug
    assert booking["guest"] == {"name": "Gina Guest", "email": "guest@example.com", "phone": ""}
    assert booking["starts_at"].endswith("+00:00")  # UTC, and on the venue's clock beside it
    assert booking["local_starts_at"].startswith(
        at(restaurant, next_weekday(restaurant, TUESDAY), "19:30").isoformat()[:16]
    )
    headers = partner.received[1].headers
    assert headers["holdfast-event-id"] == confirmed["id"]
    assert headers["holdfast-event-type"] == "reservation.confirmed"
    assert headers["content-type"] == "application/json"
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2
    assert WebhookAttempt.objects.filter(status_code=200).count() == 2


def test_a_signature_made_with_another_secret_or_another_body_does_not_verify(restaurant, guest):
    body = b'{"id":"evt_1"}'
    header = webhooks.signature("whsec_right", 1_700_000_000, body)
    assert webhooks.verify("whsec_right", header, body, now=1_700_000_010)
    assert not webhooks.verify("whsec_wrong", header, body, now=1_700_000_010)
    assert not webhooks.verify("whsec_right", header, b'{"id":"evt_2"}', now=1_700_000_010)
    assert not webhooks.verify("whsec_right", header, body, now=1_700_000_000 + 301)  # replayed later


def test_only_the_events_asked_for_and_only_the_venues_own(
    restaurant, hotel, guest, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner, events=[Event.RESERVATION_CANCELLED])
    other = FakePartner().start()
    try:
        register(hotel, other)
        with django_capture_on_commit_callbacks(execute=True):
            reservation = book(restaurant, guest)
        assert partner.received == [] and other.received == []

        with django_capture_on_commit_callbacks(execute=True):
            reservation_cancel(reservation=reservation, actor=guest)
        assert partner.types() == ["reservation.cancelled"]
        assert partner.events()[0]["data"]["object"]["status"] == "cancelled"
        assert other.received == []
    finally:
        other.stop()


def test_a_refused_booking_leaves_no_delivery_behind(restaurant, guest, other_guest, partner):
    register(restaurant, partner)
    restaurant.spaces.exclude(pk=restaurant.spaces.order_by("pk").first().pk).delete()
    book(restaurant, guest, party_size=2)
    count = WebhookDelivery.objects.count()
    with pytest.raises(SlotUnavailable):
        book(restaurant, other_guest, party_size=2)
    assert WebhookDelivery.objects.count() == count


def test_a_change_says_what_changed_and_a_no_show_is_told(
    restaurant, guest, staff, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner, events=[Event.RESERVATION_MODIFIED, Event.RESERVATION_NO_SHOW])
    reservation = book(restaurant, guest)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_modify(reservation=reservation, actor=guest, party_size=3)
    (modified,) = partner.events()
    assert modified["type"] == "reservation.modified"
    assert modified["data"]["object"]["party_size"] == 3
    assert modified["data"]["object"]["changes"]["party_size"] == {"before": 2, "after": 3}

    with django_capture_on_commit_callbacks(execute=True):
        reservation_mark_no_show(
            reservation=reservation, actor=staff, now=reservation.starts_at + timedelta(minutes=30)
        )
    assert partner.types() == ["reservation.modified", "reservation.no_show"]


def test_a_failing_partner_is_retried_with_backoff_then_delivered(
    restaurant, guest, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    partner.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        book(restaurant, guest)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now()
    assert webhooks.deliver_due() == 0  # not due yet

    assert webhooks.deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert [attempt.status_code for attempt in delivery.attempt_log.order_by("at", "pk")] == [500, 200]
    first, second = partner.events()
    assert first == second  # the same event, same id: the partner dedupes by it


def test_the_waits_grow_and_after_a_day_the_delivery_is_given_up(restaurant, guest, partner):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    book(restaurant, guest)  # not committed: the sweep below does every attempt
    delivery = WebhookDelivery.objects.get()
    partner.answer(*[503] * 40)
    waits, now = [], delivery.next_attempt_at
    while WebhookDelivery.objects.get().status == "pending":
        assert webhooks.deliver(delivery.pk, now=now) is False
        following = WebhookDelivery.objects.get().next_attempt_at
        waits.append(following - now)
        now = following
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) == timedelta(hours=2)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.last_status_code == 503
    assert timedelta(hours=22) < now - delivery.created_at <= timedelta(hours=26)
    assert delivery.attempts == len(partner.received)


def test_events_of_one_booking_arrive_in_order_even_when_the_first_had_to_wait(
    restaurant, guest, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner)
    partner.answer(500)  # "created" fails once
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(restaurant, guest)
    # "confirmed" was dispatched too, but waits its turn behind "created".
    assert partner.types() == ["reservation.created"]
    assert WebhookDelivery.objects.filter(status="pending").count() == 2
    later = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest)
    assert partner.types() == ["reservation.created"]

    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver_due(now=later)
    assert partner.types() == [
        "reservation.created",
        "reservation.created",
        "reservation.confirmed",
        "reservation.cancelled",
    ]
    assert not WebhookDelivery.objects.exclude(status="delivered").exists()


def test_another_bookings_events_do_not_wait_for_a_failing_one(
    restaurant, guest, other_guest, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    partner.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        book(restaurant, guest, clock="19:30")
        book(restaurant, other_guest, clock="20:00")
    assert [record.event["data"]["object"]["guest"]["email"] for record in partner.received] == [
        "guest@example.com",
        "other@example.com",
    ]
    assert WebhookDelivery.objects.filter(status="delivered").count() == 1


def test_a_partner_that_answers_410_is_switched_off(restaurant, guest, partner, django_capture_on_commit_callbacks):
    endpoint = register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED, Event.RESERVATION_CANCELLED])
    partner.answer(410)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(restaurant, guest)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=reservation, actor=guest)
    assert len(partner.received) == 1  # nothing more is written for it, nor sent
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_raced_by_two_workers_is_posted_once(restaurant, guest, partner):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    partner.answer(500)  # the first attempt, at commit, fails: the retry is raced
    book(restaurant, guest)
    delivery = WebhookDelivery.objects.get()
    start, results = threading.Barrier(2), []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(webhooks.deliver(delivery.pk, now=delivery.next_attempt_at))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(partner.received) == 2  # the failed attempt, and one of the two racing
    assert WebhookDelivery.objects.get().attempts == 2


# --- Safe addresses ------------------------------------------------------------------------------


def test_production_refuses_plain_http_and_private_addresses_and_says_so(restaurant, guest, partner, settings):
    settings.HOLDFAST_WEBHOOK_ALLOW_HTTP = False
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    book(restaurant, guest)
    delivery = WebhookDelivery.objects.get()
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_error == "Only https addresses are allowed."
    assert partner.received == []

    settings.HOLDFAST_WEBHOOK_ALLOW_HTTP, settings.HOLDFAST_WEBHOOK_ALLOW_PRIVATE = True, False
    webhooks.deliver(delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert "private address (127.0.0.1)" in delivery.last_error
    assert partner.received == []


def test_a_partner_that_never_answers_times_out(restaurant, guest, partner, settings):
    settings.HOLDFAST_WEBHOOK_TIMEOUT = 0.5
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    book(restaurant, guest)
    partner.hang()
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.last_error == "The server did not answer within 0.5 seconds."


def test_a_huge_answer_is_not_read_to_the_end(restaurant, guest, partner, settings):
    settings.HOLDFAST_WEBHOOK_MAX_RESPONSE_BYTES = 1024
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    book(restaurant, guest)
    partner.big_answer(20 * 1024 * 1024)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is True
    assert WebhookDelivery.objects.get().status == "delivered"


# --- Waitlist, payments, privacy ---------------------------------------------------------------


def test_a_waitlist_offer_is_told_with_the_wish(
    restaurant, guest, other_guest, partner, django_capture_on_commit_callbacks
):
    from reservations.services.waitlist import waitlist_join

    restaurant.spaces.exclude(pk=restaurant.spaces.order_by("pk").first().pk).delete()
    restaurant.waitlist = True
    restaurant.save()
    register(restaurant, partner, events=[Event.WAITLIST_OFFERED])
    day = next_weekday(restaurant, TUESDAY)
    taken = book(restaurant, guest)
    waitlist_join(
        guest=other_guest,
        venue=restaurant,
        day=day,
        earliest=taken.starts_at.astimezone(restaurant.zone).time(),
        latest=taken.starts_at.astimezone(restaurant.zone).time(),
        party_size=2,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=taken, actor=guest)
    (offer,) = partner.events()
    assert offer["type"] == "waitlist.offered"
    assert offer["data"]["object"]["guest"]["email"] == "other@example.com"
    assert offer["data"]["object"]["status"] == "held"
    assert "offered_at" in offer["data"]["object"]["waitlist_entry"]


def test_a_deleted_account_leaves_no_name_in_the_partners_events(restaurant, guest, partner):
    register(restaurant, partner)
    reservation = book(restaurant, guest, notes="Window seat please")
    account_delete(user=User.objects.get(pk=guest.pk))
    payloads = [delivery.payload for delivery in WebhookDelivery.objects.filter(reservation=reservation)]
    assert len(payloads) == 3  # created, confirmed, and the cancellation the deletion made
    for payload in payloads:
        booking = payload["data"]["object"]
        assert booking["guest"] == {"name": "", "email": "", "phone": ""} and booking["notes"] == ""
        assert booking["reference"] == reservation.reference
    assert "Gina" not in str(payloads) and "guest@example.com" not in str(payloads)


def test_old_deliveries_are_forgotten_pending_ones_kept(restaurant, guest, other_guest, partner, settings):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    book(restaurant, guest, clock="19:30")
    book(restaurant, other_guest, clock="20:00")
    first, second = WebhookDelivery.objects.order_by("pk")
    webhooks.deliver(first.pk)
    later = timezone.now() + timedelta(days=settings.HOLDFAST_WEBHOOK_KEEP_DAYS + 1)
    assert webhooks.forget_old_deliveries(now=later) == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [second.pk]
    assert not WebhookAttempt.objects.filter(delivery_id=first.pk).exists()


# --- Admin -----------------------------------------------------------------------------------------


@pytest.fixture
def manager(restaurant):
    user = with_authenticator(make_user("manager@example.com", is_staff=True))
    VenueRole.objects.create(venue=restaurant, user=user, role=VenueRole.Role.MANAGER)
    return user


def test_a_manager_registers_an_endpoint_and_sees_its_secret_once(restaurant, manager, client, settings):
    client.force_login(manager)
    answer = client.post(
        "/admin/reservations/webhookendpoint/add/",
        {
            "venue": restaurant.pk,
            "url": "https://localhost/hooks",
            "events": ["reservation.confirmed"],
            "description": "Till",
            "is_active": "on",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.events == ["reservation.confirmed"]
    assert endpoint.secret in answer.content.decode()
    page = client.get(f"/admin/reservations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and endpoint.secret[-4:] in page


def test_the_admin_refuses_an_address_production_would_not_post_to(restaurant, manager, client, settings):
    settings.HOLDFAST_WEBHOOK_ALLOW_HTTP = settings.HOLDFAST_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(manager)
    for url, words in [
        ("http://till.example.com/hooks", "Only https addresses are allowed."),
        ("https://127.0.0.1/hooks", "resolves to a private address"),
    ]:
        answer = client.post(
            "/admin/reservations/webhookendpoint/add/",
            {"venue": restaurant.pk, "url": url, "events": ["reservation.confirmed"], "is_active": "on"},
        )
        assert answer.status_code == 200 and words in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_host_sees_no_webhooks_and_another_venues_manager_not_these(restaurant, hotel, manager, client, partner):
    register(hotel, partner)
    host = with_authenticator(make_user("host@example.com", is_staff=True))
    VenueRole.objects.create(venue=restaurant, user=host, role=VenueRole.Role.HOST)
    host_client = Client()
    host_client.force_login(host)
    assert host_client.get("/admin/reservations/webhookendpoint/").status_code == 403
    client.force_login(manager)
    page = client.get("/admin/reservations/webhookendpoint/")
    assert page.status_code == 200 and partner.url not in page.content.decode()


def test_staff_see_the_attempts_and_resend_a_delivery(
    restaurant, guest, manager, client, partner, django_capture_on_commit_callbacks
):
    register(restaurant, partner, events=[Event.RESERVATION_CONFIRMED])
    partner.answer(502)
    with django_capture_on_commit_callbacks(execute=True):
        book(restaurant, guest)
    delivery = WebhookDelivery.objects.get()
    client.force_login(manager)
    page = client.get(f"/admin/reservations/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "502" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/reservations/webhookdelivery/",
            {"action": "resend_selected", "_selected_action": [delivery.pk]},
        )
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert [record.event["id"] for record in partner.received] == [delivery.event_id] * 2


def test_an_endpoint_in_the_admin_is_told_of_a_hold_made_there(restaurant, guest, partner):
    register(restaurant, partner, events=[Event.RESERVATION_CREATED])
    hold = reservation_hold(
        guest=guest,
        venue=restaurant,
        starts_at=at(restaurant, next_weekday(restaurant, TUESDAY), "19:30"),
        party_size=2,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.reservation == hold and delivery.payload["data"]["object"]["status"] == Reservation.Status.HELD
