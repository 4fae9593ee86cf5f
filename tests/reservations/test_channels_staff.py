"""What staff see of the channels: the feeds' sync state in the admin, open conflicts until a
manager resolves them, the secret calendar addresses managers regenerate, and the day sheet's
warnings about stale feeds and double bookings."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reservations.models import Block
from reservations.services.channels import sync_feed
from spaces.models import CalendarFeed, VenueRole

from .channel_server import ChannelServer, airbnb
from .conftest import make_user, with_authenticator
from .test_channels import book_room

NOW = datetime(2031, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def channel():
    with ChannelServer() as server:
        yield server


def member(hotel, email, role):
    user = with_authenticator(make_user(email, is_staff=True))
    VenueRole.objects.create(venue=hotel, user=user, role=role)
    return user


@pytest.fixture
def in_conflict(hotel, channel, guest, staff):
    """Room 102: our booking of 11–13 July, and Airbnb's of 10–14 July."""
    room = hotel.spaces.get(name="102")
    booking = book_room(room, guest, staff, "2031-07-11", "2031-07-13")
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)
    sync_feed(feed, now=NOW)
    return Block.objects.get(), booking


def test_the_admin_lists_open_conflicts_until_a_manager_marks_them_resolved(client, hotel, in_conflict):
    block, booking = in_conflict
    manager = member(hotel, "manager@harbour.example", VenueRole.Role.MANAGER)
    client.force_login(manager)
    listing = reverse("admin:reservations_block_changelist")

    page = client.get(listing, {"conflict": "open"})
    assert page.status_code == 200 and booking.reference in page.content.decode()

    response = client.post(listing, {"action": "mark_resolved", "_selected_action": [block.pk]}, follow=True)
    assert "resolved" in response.content.decode()
    block.refresh_from_db()
    assert block.resolved_by == manager
    assert booking.reference not in client.get(listing, {"conflict": "open"}).content.decode()


def test_a_host_sees_the_conflicts_but_cannot_resolve_them(client, hotel, in_conflict):
    block, booking = in_conflict
    client.force_login(member(hotel, "host@harbour.example", VenueRole.Role.HOST))
    listing = reverse("admin:reservations_block_changelist")
    assert booking.reference in client.get(listing, {"conflict": "open"}).content.decode()
    client.post(listing, {"action": "mark_resolved", "_selected_action": [block.pk]})
    block.refresh_from_db()
    assert block.resolved_at is None


def test_the_feeds_list_shows_which_are_stale_and_why(client, hotel, channel, staff):
    room = hotel.spaces.get(name="102")
    fresh = CalendarFeed.objects.create(space=room, name="Booking.com", url=channel.serve("/b.ics", airbnb()))
    sync_feed(fresh)
    broken = CalendarFeed.objects.create(space=room, name="Vrbo", url=channel.url("/missing.ics"))
    CalendarFeed.objects.filter(pk=broken.pk).update(created_at=timezone.now() - timedelta(hours=2))
    sync_feed(broken)
    client.force_login(staff)

    page = client.get(reverse("admin:spaces_calendarfeed_changelist")).content.decode()
    assert "in sync" in page and "stale" in page and "The server answered 404." in page
    stale_only = client.get(reverse("admin:spaces_calendarfeed_changelist"), {"stale": "yes"}).content.decode()
    assert "Vrbo" in stale_only and "Booking.com" not in stale_only


def test_a_manager_gives_a_room_a_new_calendar_address_and_the_old_one_stops_working(client, hotel):
    room = hotel.spaces.get(name="102")
    old = room.calendar_token
    assert client.get(reverse("calendar_feed", args=[old])).status_code == 200
    client.force_login(member(hotel, "manager@harbour.example", VenueRole.Role.MANAGER))

    page = client.get(reverse("admin:spaces_space_change", args=[room.pk])).content.decode()
    assert reverse("calendar_feed", args=[old]) in page
    client.post(
        reverse("admin:spaces_space_changelist"),
        {"action": "regenerate_calendar_address", "_selected_action": [room.pk]},
    )

    room.refresh_from_db()
    assert room.calendar_token != old
    assert client.get(reverse("calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("calendar_feed", args=[room.calendar_token])).status_code == 200


def test_a_host_cannot_regenerate_a_calendar_address(client, hotel):
    room = hotel.spaces.get(name="102")
    old = room.calendar_token
    client.force_login(member(hotel, "host@harbour.example", VenueRole.Role.HOST))
    client.post(
        reverse("admin:spaces_space_changelist"),
        {"action": "regenerate_calendar_address", "_selected_action": [room.pk]},
    )
    room.refresh_from_db()
    assert room.calendar_token == old


def test_the_day_sheet_warns_of_stale_feeds_and_double_bookings_and_shows_tonights_blocks(client, hotel, in_conflict):
    block, booking = in_conflict
    CalendarFeed.objects.filter(pk=block.feed_id).update(last_success_at=timezone.now() - timedelta(hours=2))
    client.force_login(member(hotel, "host@harbour.example", VenueRole.Role.HOST))

    page = client.get(reverse("staff:day_sheet"), {"venue": hotel.pk, "day": date(2031, 7, 10).isoformat()})

    text = page.content.decode()
    assert page.status_code == 200
    assert "Not in sync" in text and "Airbnb → 102" in text
    assert "Double bookings to sort out" in text and booking.reference in text
    assert "Sold on a channel tonight" in text and "102 (Airbnb" in text
