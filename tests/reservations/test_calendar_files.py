"""The calendar files of a booking's e-mails, applied as a guest's calendar applies them.

Confirmation, modifications and cancellation carry one event (UID `<reference>@holdfast`) with a
SEQUENCE that grows: 0 confirmed, one more for each change, one more again cancelled (METHOD:CANCEL,
STATUS:CANCELLED). A tiny calendar here keeps one event per UID, replaces it with a file of a higher
SEQUENCE and deletes it on a CANCEL: after the changes it holds the booking as changed, after the
cancellation nothing.
"""

from datetime import timedelta

import pytest
from django.core import mail
from icalendar import Calendar

from reservations import notifications
from reservations.emails import build_message
from reservations.models import OutgoingMessage
from reservations.periods import stay_period
from reservations.services import (
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
    reservation_modify,
)

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY, FRIDAY = 1, 4


def calendar_files(email) -> list[tuple[str, Calendar]]:
    """The e-mail's .ics attachments: (their content type, the parsed calendar)."""
    found = []
    for name, content, mimetype in email.attachments:
        if name.endswith(".ics"):
            found.append((mimetype, Calendar.from_ical(content)))
    return found


def the_event(calendar: Calendar):
    (event,) = [component for component in calendar.walk() if component.name == "VEVENT"]
    return event


def apply(calendar: dict, ics: Calendar) -> None:
    """What a calendar does with a file it is given (RFC 5546): a PUBLISH adds the event or replaces
    the one of its UID when its SEQUENCE is higher; a CANCEL of a SEQUENCE as high deletes it."""
    method = str(ics["method"])
    event = the_event(ics)
    uid, sequence = str(event["uid"]), int(event.get("sequence", 0))
    kept = calendar.get(uid)
    if method == "CANCEL":
        if kept is not None and sequence >= int(kept["sequence"]):
            del calendar[uid]
    elif method in ("PUBLISH", "REQUEST"):
        if kept is None or sequence > int(kept["sequence"]):
            calendar[uid] = event
    else:
        raise AssertionError(f"a method no calendar applies to a booking: {method}")


def sent(django_capture_on_commit_callbacks, change):
    """Make the change, deliver what it queued (as the worker does after commit): its e-mails."""
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        result = change()
    return result, mail.outbox[before:]


def test_a_calendar_following_the_emails_ends_with_the_changed_booking_then_with_none(
    restaurant, guest, django_capture_on_commit_callbacks
):
    day = next_weekday(restaurant, TUESDAY)
    calendar, methods = {}, []

    def follow(emails):
        for email in emails:
            for mimetype, ics in calendar_files(email):
                methods.append((mimetype, str(ics["method"]), int(the_event(ics)["sequence"])))
                apply(calendar, ics)

    booking, emails = sent(
        django_capture_on_commit_callbacks,
        lambda: reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2),
    )
    follow(emails)
    uid = f"{booking.reference}@holdfast"
    assert list(calendar) == [uid]
    assert calendar[uid].decoded("dtstart") == at(restaurant, day, "19:30")

    _, emails = sent(
        django_capture_on_commit_callbacks,
        lambda: reservation_modify(reservation=booking, actor=guest, starts_at=at(restaurant, day, "20:30")),
    )
    follow(emails)
    _, emails = sent(
        django_capture_on_commit_callbacks,
        lambda: reservation_modify(reservation=booking, actor=guest, party_size=4),
    )
    follow(emails)

    (event,) = calendar.values()  # the same event, changed: not a second one
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (
        at(restaurant, day, "20:30"),
        at(restaurant, day, "20:30") + timedelta(minutes=90),
    )
    assert "for 4" in str(event["summary"])

    _, emails = sent(django_capture_on_commit_callbacks, lambda: reservation_cancel(reservation=booking, actor=guest))
    follow(emails)

    assert calendar == {}
    assert methods == [
        ("text/calendar; method=PUBLISH", "PUBLISH", 0),
        ("text/calendar; method=PUBLISH", "PUBLISH", 1),
        ("text/calendar; method=PUBLISH", "PUBLISH", 2),
        ("text/calendar; method=CANCEL", "CANCEL", 3),
    ]
    cancellation = the_event(calendar_files(mail.outbox[-1])[0][1])
    assert (str(cancellation["uid"]), str(cancellation["status"])) == (uid, "CANCELLED")
    assert "removes it from your calendar" in mail.outbox[-1].body


def test_emails_the_outbox_sends_late_say_the_booking_as_it_is_in_any_order(restaurant, guest):
    """A broker down through all of it: the outbox's messages are built after the cancellation. Each
    file says the booking as it is then (cancelled, in its last version), so a calendar given them in
    any order keeps nothing."""
    day = next_weekday(restaurant, TUESDAY)
    booking = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
    reservation_modify(reservation=booking, actor=guest, starts_at=at(restaurant, day, "20:00"))
    reservation_modify(reservation=booking, actor=guest, party_size=3)
    reservation_cancel(reservation=booking, actor=guest)
    messages = list(OutgoingMessage.objects.filter(reservation=booking).order_by("created_at", "pk"))
    assert [message.kind for message in messages] == ["confirmed", "modified", "modified", "cancelled"]

    files = [ics for message in messages for _, ics in calendar_files(build_message(message))]
    assert len(files) == 4
    for order in (files, files[::-1]):
        calendar = {}
        for ics in order:
            apply(calendar, ics)
        assert calendar == {}


def test_a_calendar_given_the_confirmation_after_a_change_keeps_the_change(restaurant, guest):
    """Delivered out of order (a retried confirmation after the change's e-mail): the change's file has
    the higher SEQUENCE, and the confirmation, built late, the same booking."""
    day = next_weekday(restaurant, TUESDAY)
    booking = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
    confirmation = OutgoingMessage.objects.get(reservation=booking, kind="confirmed")
    early = calendar_files(build_message(confirmation))[0][1]
    reservation_modify(reservation=booking, actor=guest, starts_at=at(restaurant, day, "21:00"))
    change = OutgoingMessage.objects.get(reservation=booking, kind="modified")

    calendar = {}
    apply(calendar, calendar_files(build_message(change))[0][1])
    apply(calendar, early)  # SEQUENCE 0 after 1: ignored

    (event,) = calendar.values()
    assert event.decoded("dtstart") == at(restaurant, day, "21:00") and int(event["sequence"]) == 1


def test_a_change_of_a_hold_before_it_is_booked_leaves_the_confirmation_at_sequence_zero(
    restaurant, guest, django_capture_on_commit_callbacks
):
    day = next_weekday(restaurant, TUESDAY)
    held = reservation_hold(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
    reservation_modify(reservation=held, actor=guest, party_size=3)  # no e-mail, no calendar yet
    _, emails = sent(django_capture_on_commit_callbacks, lambda: reservation_confirm(reservation=held, actor=guest))
    ((mimetype, ics),) = calendar_files(emails[0])
    assert (str(ics["method"]), int(the_event(ics)["sequence"])) == ("PUBLISH", 0)


def test_a_stay_keeps_its_check_in_and_check_out_times_and_leaves_the_guest_free(
    hotel, guest, django_capture_on_commit_callbacks
):
    arrival, departure = stay_period(hotel, next_weekday(hotel, FRIDAY), 2)
    _, emails = sent(
        django_capture_on_commit_callbacks,
        lambda: reservation_book(guest=guest, venue=hotel, starts_at=arrival, ends_at=departure, party_size=2),
    )
    event = the_event(calendar_files(emails[0])[0][1])
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start, end) == (arrival, departure)
    assert str(start.tzinfo) == "Europe/London"
    assert (start.strftime("%H:%M"), end.strftime("%H:%M")) == ("15:00", "11:00")  # not whole days
    assert (end - start).days == 1 and str(event["transp"]) == "TRANSPARENT"
    assert "Check-in:  " in emails[0].body and "15:00 London time" in emails[0].body


def test_a_meeting_has_its_hours_in_the_venues_zone(meeting_rooms, guest, django_capture_on_commit_callbacks):
    booth = meeting_rooms.spaces.get(name="Booth")
    start = at(meeting_rooms, next_weekday(meeting_rooms, TUESDAY), "09:00")
    _, emails = sent(
        django_capture_on_commit_callbacks,
        lambda: reservation_book(
            guest=guest, space=booth, starts_at=start, ends_at=start + timedelta(hours=2), party_size=3
        ),
    )
    event = the_event(calendar_files(emails[0])[0][1])
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=2)
    assert str(event.decoded("dtstart").tzinfo) == "America/New_York" and str(event["transp"]) == "OPAQUE"
    organizer = event["organizer"]
    assert str(organizer).startswith("mailto:") and organizer.params["CN"] == "Foundry Test"
    assert "Until: 11:00 New York time" in emails[0].body


def test_a_reminder_carries_the_event_in_its_current_version(restaurant, guest):
    day = next_weekday(restaurant, TUESDAY)
    booking = reservation_book(guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:30"), party_size=2)
    reservation_modify(reservation=booking, actor=guest, starts_at=at(restaurant, day, "20:00"))
    assert notifications.create_due_reminders(now=at(restaurant, day, "18:00")) == 1
    reminder = OutgoingMessage.objects.get(reservation=booking, kind="reminder")
    ((mimetype, ics),) = calendar_files(build_message(reminder))
    event = the_event(ics)
    assert (mimetype, int(event["sequence"])) == ("text/calendar; method=PUBLISH", 1)
    assert event.decoded("dtstart") == at(restaurant, day, "20:00")
