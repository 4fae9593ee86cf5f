"""Calendar sync with the booking channels, over real HTTP: a channel's feed blocks the nights it
sold under the bookings' exclusion constraint, follows its events by UID, never loses or invents a
block on a bad file, and a conflict with a booking of ours is kept, listed and told to the managers."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from core.schedule import periodic_tasks
from reservations import tasks
from reservations.calendars import calendar_for_token, open_conflicts
from reservations.emails import build_message
from reservations.exceptions import BookingError, NotAllowed, SlotUnavailable
from reservations.ics import parse_feed
from reservations.models import Block, OutgoingMessage, Reservation, SpaceClaim, WaitlistEntry
from reservations.periods import stay_period
from reservations.services import reservation_book, reservation_cancel
from reservations.services.channels import conflict_resolve, horizon, sync_feed
from reservations.services.waitlist import waitlist_join
from spaces.models import CalendarFeed, VenueRole

from .channel_server import ChannelServer, airbnb
from .conftest import make_user, with_authenticator

NOW = datetime(2031, 6, 1, 12, tzinfo=UTC)
FEEDS = Path(__file__).parent / "feeds"


@pytest.fixture
def channel():
    with ChannelServer() as server:
        yield server


@pytest.fixture
def room(hotel):
    return hotel.spaces.get(name="102")


@pytest.fixture
def manager(hotel):
    user = with_authenticator(make_user("manager@harbour.example", name="Mia Manager", is_staff=True))
    VenueRole.objects.create(venue=hotel, user=user, role=VenueRole.Role.MANAGER)
    return user


def nights(first: str, departure: str) -> set[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(departure)
    return {start + timedelta(days=i) for i in range((end - start).days)}


def blocked_nights(room) -> set[date]:
    """The nights the room's channel blocks claim, read from the claims the constraint guards."""
    zone = room.venue.zone
    found = set()
    for start, end in SpaceClaim.objects.filter(space=room, block__isnull=False).values_list("starts_at", "ends_at"):
        found |= nights(start.astimezone(zone).date().isoformat(), end.astimezone(zone).date().isoformat())
    return found


def book_room(room, guest, staff, first: str, departure: str, **extra) -> Reservation:
    venue = room.venue
    starts_at, _ = stay_period(venue, date.fromisoformat(first), 1)
    ends_at = stay_period(venue, date.fromisoformat(departure) - timedelta(days=1), 1)[1]
    return reservation_book(
        guest=guest, actor=staff, space=room, starts_at=starts_at, ends_at=ends_at, party_size=2, now=NOW, **extra
    )


def test_an_airbnb_feed_blocks_the_nights_it_sold_and_nobody_can_book_them(hotel, room, channel, guest, staff):
    url = channel.serve(
        "/room-102.ics",
        airbnb(("a1", "20310710", "20310714", "Reserved"), ("a2", "20310720", "20310722", "Airbnb (Not available)")),
    )
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)

    result = sync_feed(feed, now=NOW)

    assert result.ok and result.added == 2
    assert blocked_nights(room) == nights("2031-07-10", "2031-07-14") | nights("2031-07-20", "2031-07-22")
    feed.refresh_from_db()
    assert (feed.last_success_at, feed.last_error, feed.events) == (NOW, "", 2)
    assert sorted(Block.objects.values_list("summary", flat=True)) == ["Airbnb (Not available)", "Reserved"]
    with pytest.raises(SlotUnavailable):
        book_room(room, guest, staff, "2031-07-12", "2031-07-13")
    # The departure day is free for the next guest, and so is the night before the channel's stay.
    assert book_room(room, guest, staff, "2031-07-14", "2031-07-16").status == Reservation.Status.CONFIRMED
    assert book_room(room, guest, staff, "2031-07-09", "2031-07-10").status == Reservation.Status.CONFIRMED


def test_blocks_follow_the_feed_by_uid_new_events_add_changed_move_vanished_release(hotel, room, channel):
    url = channel.serve(
        "/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved"), ("a2", "20310720", "20310722", "Reserved"))
    )
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)
    sync_feed(feed, now=NOW)
    first = Block.objects.get(key="a1@airbnb.com")

    channel.serve(
        "/cal.ics", airbnb(("a1", "20310712", "20310715", "Reserved"), ("a3", "20310801", "20310803", "Reserved"))
    )
    result = sync_feed(feed, now=NOW + timedelta(minutes=15))

    assert (result.added, result.moved, result.released) == (1, 1, 1)
    moved = Block.objects.get(key="a1@airbnb.com")
    assert moved.pk == first.pk and (moved.starts_on, moved.ends_on) == (date(2031, 7, 12), date(2031, 7, 15))
    assert not Block.objects.filter(key="a2@airbnb.com").exists()
    assert blocked_nights(room) == nights("2031-07-12", "2031-07-15") | nights("2031-08-01", "2031-08-03")

    # Unchanged since: the channel answers 304, and nothing moves.
    result = sync_feed(feed, now=NOW + timedelta(minutes=30))
    assert result.ok and (result.added, result.moved, result.released) == (0, 0, 0)
    assert channel.requests[-1][1].get("If-None-Match")
    assert blocked_nights(room) == nights("2031-07-12", "2031-07-15") | nights("2031-08-01", "2031-08-03")


@pytest.mark.parametrize(
    "body, content_type, words",
    [
        (b"<!doctype html><html><body><form>Log in</form></body></html>", "text/html", "web page"),
        (b"\x00\x9f\x13garbage\xff" * 40, "application/octet-stream", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\r\n" + b"X" * (50 * 1024 * 1024), "text/calendar", "larger than the limit"),
    ],
    ids=["html", "garbage", "50 MB"],
)
def test_a_feed_that_cannot_be_read_changes_no_block_and_says_why(hotel, room, channel, body, content_type, words):
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)
    sync_feed(feed, now=NOW)

    channel.serve("/cal.ics", body, content_type)
    channel.files["/cal.ics"] = (body, content_type)
    result = sync_feed(feed, now=NOW + timedelta(minutes=15))

    assert not result.ok and words in result.error
    feed.refresh_from_db()
    assert words in feed.last_error
    assert (feed.last_attempt_at, feed.last_success_at) == (NOW + timedelta(minutes=15), NOW)
    assert blocked_nights(room) == nights("2031-07-10", "2031-07-14")  # the channel's stay is still blocked


def test_a_missing_feed_or_a_private_address_is_an_error_on_the_feed(hotel, room, channel, settings):
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=channel.url("/gone.ics"))
    assert "404" in sync_feed(feed, now=NOW).error

    settings.HOLDFAST_CALENDAR_ALLOW_PRIVATE = False  # production: a feed may not reach into our network
    channel.serve("/gone.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    result = sync_feed(feed, now=NOW)
    assert not result.ok and "private address" in result.error
    assert not channel.requests[1:]  # refused before asking
    assert not Block.objects.exists()


def test_a_feed_not_synced_for_an_hour_is_stale(hotel, room, channel):
    url = channel.serve("/cal.ics", airbnb())
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)
    sync_feed(feed, now=NOW)
    feed.refresh_from_db()
    assert not feed.is_stale(NOW + timedelta(minutes=59))
    assert feed.is_stale(NOW + timedelta(minutes=61))
    channel.files.clear()
    sync_feed(feed, now=NOW + timedelta(minutes=75))  # failing: still stale, with the error to show
    feed.refresh_from_db()
    assert feed.is_stale(NOW + timedelta(minutes=75)) and "404" in feed.last_error


def test_a_night_a_channel_sold_that_we_had_sold_is_a_conflict_told_to_the_managers(
    hotel, room, channel, guest, staff, manager
):
    booking = book_room(room, guest, staff, "2031-07-11", "2031-07-13")
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)

    result = sync_feed(feed, now=NOW)

    assert result.conflicts == 1
    booking.refresh_from_db()
    assert booking.status == Reservation.Status.CONFIRMED  # ours stays
    block = Block.objects.get()
    assert block.conflicts == [{"reference": booking.reference, "arrival": "2031-07-11", "departure": "2031-07-13"}]
    assert block.has_open_conflict and list(open_conflicts(hotel)) == [block]
    # The channel's other nights are blocked all the same.
    assert blocked_nights(room) == {date(2031, 7, 10), date(2031, 7, 13)}
    message = OutgoingMessage.objects.get(kind=OutgoingMessage.Kind.CALENDAR_CONFLICT)
    assert (message.to_email, message.block_id) == ("manager@harbour.example", block.pk)
    email = build_message(message)
    assert "Double booking" in email.subject and booking.reference in email.body and "Airbnb" in email.body

    sync_feed(feed, now=NOW + timedelta(minutes=15))  # still there: told once
    assert OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.CALENDAR_CONFLICT).count() == 1

    # The guest is moved away (cancelled here): the next sync takes the nights and the conflict goes.
    reservation_cancel(
        reservation=booking, actor=staff, reason="Moved to the Harbour View", now=NOW + timedelta(minutes=20)
    )
    sync_feed(feed, now=NOW + timedelta(minutes=30))
    block.refresh_from_db()
    assert blocked_nights(room) == nights("2031-07-10", "2031-07-14")
    assert block.conflicts == [] and not block.has_open_conflict and not open_conflicts(hotel).exists()


def test_only_the_venues_managers_mark_a_conflict_resolved(hotel, room, channel, guest, staff, manager):
    book_room(room, guest, staff, "2031-07-11", "2031-07-13")
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    sync_feed(CalendarFeed.objects.create(space=room, name="Airbnb", url=url), now=NOW)
    block = Block.objects.get()
    host = with_authenticator(make_user("host@harbour.example", is_staff=True))
    VenueRole.objects.create(venue=hotel, user=host, role=VenueRole.Role.HOST)

    with pytest.raises(NotAllowed):
        conflict_resolve(block=block, actor=host)
    resolved = conflict_resolve(block=block, actor=manager, now=NOW)

    assert (resolved.resolved_at, resolved.resolved_by) == (NOW, manager)
    assert not open_conflicts(hotel).exists()
    assert blocked_nights(room) == {date(2031, 7, 10), date(2031, 7, 13)}  # our guest keeps the room


def test_a_rooms_calendar_shows_what_blocks_it_and_nothing_personal(
    hotel, room, channel, guest, staff, client, settings
):
    settings.HOLDFAST_CALENDAR_HORIZON_DAYS = 3650  # the page is asked today; these stays are in 2031
    kept = book_room(room, guest, staff, "2031-07-02", "2031-07-05", notes="Allergic to cats")
    cancelled = book_room(room, guest, staff, "2031-07-06", "2031-07-08")
    reservation_cancel(reservation=cancelled, actor=staff, reason="Plans changed", now=NOW)
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    sync_feed(CalendarFeed.objects.create(space=room, name="Airbnb", url=url), now=NOW)

    response = client.get(reverse("calendar_feed", args=[room.calendar_token]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "DTSTART;VALUE=DATE:20310702" in body and "DTEND;VALUE=DATE:20310705" in body
    assert "DTSTART;VALUE=DATE:20310710" in body and "DTEND;VALUE=DATE:20310714" in body
    assert "20310706" not in body  # cancelled: gone
    for personal in ("Gina", "guest@example.com", "cats", kept.reference, "Reserved", "HM4Q"):
        assert personal not in body
    again = client.get(reverse("calendar_feed", args=[room.calendar_token]), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and not again.content
    assert client.get("/calendars/not-a-token.ics").status_code == 404

    staff_calendar = client.get(reverse("calendar_feed", args=[hotel.calendar_token])).content.decode()
    assert kept.reference in staff_calendar and "102" in staff_calendar and "Airbnb" in staff_calendar
    assert "Gina" not in staff_calendar and "cats" not in staff_calendar


def test_round_trip_our_export_imported_as_another_rooms_feed_blocks_the_same_nights(
    hotel, room, channel, guest, staff, client, settings
):
    settings.HOLDFAST_CALENDAR_HORIZON_DAYS = 3650  # the page is asked today; these stays are in 2031
    book_room(room, guest, staff, "2031-07-02", "2031-07-05")
    book_room(room, guest, staff, "2031-10-24", "2031-10-27")  # across the clock change in London
    url = channel.serve("/airbnb.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    sync_feed(CalendarFeed.objects.create(space=room, name="Airbnb", url=url), now=NOW)
    exported = client.get(reverse("calendar_feed", args=[room.calendar_token])).content
    other = hotel.spaces.get(name="103")
    feed = CalendarFeed.objects.create(space=other, name="Holdfast 102", url=channel.serve("/ours.ics", exported))

    assert sync_feed(feed, now=NOW).ok

    expected = (
        nights("2031-07-02", "2031-07-05") | nights("2031-10-24", "2031-10-27") | nights("2031-07-10", "2031-07-14")
    )
    assert blocked_nights(other) == expected
    exported_again = calendar_for_token(room.calendar_token, now=NOW).body
    assert exported_again == calendar_for_token(room.calendar_token, now=NOW).body  # stable, for the ETag


@pytest.mark.parametrize(
    "name", ["airbnb.ics", "booking_com.ics", "vrbo.ics", "google_timed.ics", "floating_and_no_uid.ics"]
)
def test_the_channels_own_files_become_the_blocks_they_describe(hotel, room, channel, name):
    data = (FEEDS / name).read_bytes()
    feed = CalendarFeed.objects.create(space=room, name=name, url=channel.serve(f"/{name}", data))

    assert sync_feed(feed, now=NOW).ok

    today = NOW.astimezone(hotel.zone).date()
    parsed = parse_feed(
        data,
        zone=hotel.zone,
        check_in=hotel.check_in_time,
        check_out=hotel.check_out_time,
        today=today,
        horizon=horizon(today),
    )
    assert parsed.stays  # each file has events ahead
    assert sorted(Block.objects.values_list("key", "starts_on", "ends_on")) == sorted(
        (stay.key, stay.starts_on, stay.ends_on) for stay in parsed.stays
    )
    claimed = blocked_nights(room)
    assert claimed == {night for stay in parsed.stays for night in nights(str(stay.starts_on), str(stay.ends_on))}
    feed.refresh_from_db()
    assert feed.events == len(parsed.stays) and feed.notes == " ".join(parsed.notes)


def test_the_command_syncs_every_feed_and_fails_when_one_does(hotel, room, channel, capsys):
    CalendarFeed.objects.create(space=room, name="Airbnb", url=channel.serve("/ok.ics", airbnb()))
    call_command("sync_calendars")
    assert "Synced 1 of 1 feed(s)." in capsys.readouterr().out

    CalendarFeed.objects.create(space=room, name="Broken", url=channel.url("/missing.ics"))
    with pytest.raises(SystemExit) as exit_:
        call_command("sync_calendars")
    output = capsys.readouterr()
    assert exit_.value.code == 1 and "Synced 1 of 2 feed(s)." in output.out and "404" in output.err
    assert periodic_tasks()["reservations.tasks.sync_calendars"][0] == 15 * 60


@pytest.mark.django_db(transaction=True)
def test_a_guest_booking_and_a_sync_racing_for_one_night_never_both_have_it(hotel, channel):
    room = hotel.spaces.get(name="102")
    staff = with_authenticator(make_user("racer-staff@example.com", is_staff=True, is_superuser=True))
    guest = make_user("racer@example.com")
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    feed = CalendarFeed.objects.create(space=room, name="Airbnb", url=url)
    barrier = threading.Barrier(2)

    def book():
        try:
            barrier.wait()
            return book_room(room, guest, staff, "2031-07-12", "2031-07-13")
        except BookingError as error:
            return error
        finally:
            connection.close()

    def sync():
        try:
            barrier.wait()
            return sync_feed(feed, now=NOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        booked, synced = [future.result() for future in [pool.submit(book), pool.submit(sync)]]

    assert synced.ok
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM reservations_spaceclaim a JOIN reservations_spaceclaim b"
            " ON a.space_id = b.space_id AND a.id < b.id AND a.active AND b.active"
            " AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"
        )
        assert cursor.fetchone()[0] == 0
    block = Block.objects.get()
    if isinstance(booked, Reservation):  # the guest was first: the channel's night is a conflict
        assert block.conflicts[0]["reference"] == booked.reference
        assert date(2031, 7, 12) not in blocked_nights(room)
    else:  # the sync was first: the guest heard "no longer free"
        assert isinstance(booked, SlotUnavailable)
        assert blocked_nights(room) == nights("2031-07-10", "2031-07-14") and block.conflicts == []


def test_nights_a_channel_releases_go_to_the_waitlist_first(hotel, channel, guest):
    family = hotel.spaces.get(name="201")  # the one family room
    url = channel.serve("/cal.ics", airbnb(("a1", "20310710", "20310714", "Reserved")))
    feed = CalendarFeed.objects.create(space=family, name="Airbnb", url=url)
    sync_feed(feed, now=NOW)
    entry = waitlist_join(
        guest=guest,
        venue=hotel,
        day=date(2031, 7, 11),
        earliest=hotel.check_in_time,
        latest=hotel.check_in_time,
        party_size=4,
        category="Family",
        nights=2,
        now=NOW,
    )

    channel.serve("/cal.ics", airbnb())  # the channel's guest cancelled
    sync_feed(feed, now=NOW + timedelta(minutes=15))

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert (entry.offer.space, entry.offer.nights, entry.offer.status) == (family, 2, Reservation.Status.HELD)


def test_the_periodic_job_syncs_every_active_feed(hotel, channel):
    first, second = hotel.spaces.get(name="102"), hotel.spaces.get(name="103")
    CalendarFeed.objects.create(space=first, name="Airbnb", url=channel.serve("/a.ics", airbnb()))
    CalendarFeed.objects.create(space=second, name="Vrbo", url=channel.serve("/b.ics", airbnb()))
    CalendarFeed.objects.create(space=second, name="Old", url=channel.url("/old.ics"), is_active=False)

    assert tasks.sync_calendars() == 2  # one task each (run at once here: CELERY_TASK_ALWAYS_EAGER)

    assert sorted(CalendarFeed.objects.exclude(last_success_at=None).values_list("name", flat=True)) == [
        "Airbnb",
        "Vrbo",
    ]
