"""Rendering and sending the e-mails of the outbox, through Django's e-mail machinery.

Each kind has three templates in templates/emails/: `<kind>_subject.txt`, `<kind>_body.txt` and
`<kind>_body.html`. Times are shown in the venue's zone, with its name. Confirmations,
modifications and reminders carry the booking as an .ics calendar file.
"""

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from reservations.models import OutgoingMessage, Reservation
from reservations.wording import what_words

Kind = OutgoingMessage.Kind
WITH_CALENDAR = {Kind.CONFIRMED, Kind.MODIFIED, Kind.REMINDER}


def reservation_url(reservation: Reservation) -> str:
    return settings.SITE_URL.rstrip("/") + reservation.get_absolute_url()


def calendar_file(reservation: Reservation) -> bytes:
    """An iCalendar event for the booking, in the venue's time zone (with its VTIMEZONE)."""
    venue = reservation.space.venue
    calendar = Calendar()
    calendar.add("prodid", "-//Holdfast//Reservations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{reservation.reference}@holdfast")
    event.add("dtstamp", reservation.updated_at)
    event.add("dtstart", reservation.starts_at.astimezone(venue.zone))
    event.add("dtend", reservation.ends_at.astimezone(venue.zone))
    event.add("summary", f"{venue.name}: {what_words(reservation)}")
    if venue.address:
        event.add("location", venue.address.replace("\n", ", "))
    event.add("description", f"Reservation {reservation.reference}\n{reservation_url(reservation)}")
    event.add("sequence", reservation.events.filter(kind="modified").count())
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _wish_context(message: OutgoingMessage) -> dict:
    """What a message about a waitlist entry says: the wish, in the venue's time."""
    entry = message.waitlist_entry
    venue = entry.venue
    guests = f"{entry.party_size} guest{'s' if entry.party_size != 1 else ''}"
    return {
        "entry": entry,
        "venue": venue,
        "guest_name": entry.guest.name if entry.guest else "",
        "what": f"{entry.space.name} for {guests}" if entry.space_id else guests,
        "day": entry.day,
        "window": f"{entry.earliest:%H:%M}–{entry.latest:%H:%M}"
        if entry.earliest != entry.latest
        else f"{entry.earliest:%H:%M}",
        "url": settings.SITE_URL.rstrip("/") + reverse("reservations:list"),
        "site_url": settings.SITE_URL.rstrip("/"),
        **message.context,
    }


def _block_context(message: OutgoingMessage) -> dict:
    """What a message to staff about a channel's block says: the room, the nights, our bookings."""
    block = message.block
    return {
        "block": block,
        "venue": block.space.venue,
        "guest_name": "",
        "feed": block.feed,
        "room": block.space,
        "url": settings.SITE_URL.rstrip("/") + reverse("admin:reservations_block_change", args=[block.pk]),
        "site_url": settings.SITE_URL.rstrip("/"),
        **message.context,
    }


def _venue(message: OutgoingMessage):
    if message.block_id:
        return message.block.space.venue
    return message.reservation.space.venue if message.reservation_id else message.waitlist_entry.venue


def _context(message: OutgoingMessage) -> dict:
    if message.block_id:
        return _block_context(message)
    if message.reservation_id is None:
        return _wish_context(message)
    reservation = message.reservation
    venue = reservation.space.venue
    return {
        "reservation": reservation,
        "venue": venue,
        "guest_name": reservation.guest.name if reservation.guest else "",
        "what": what_words(reservation),
        "starts": reservation.starts_at.astimezone(venue.zone),
        "ends": reservation.ends_at.astimezone(venue.zone),
        "url": reservation_url(reservation),
        "site_url": settings.SITE_URL.rstrip("/"),
        **message.context,
        **(
            {"until": datetime.fromisoformat(message.context["until"]).astimezone(venue.zone)}
            if "until" in message.context
            else {}
        ),
    }


def _subject(message: OutgoingMessage, context: dict) -> str:
    return " ".join(render_to_string(f"emails/{message.kind}_subject.txt", context).split())


def render_subject(message: OutgoingMessage) -> str:
    """The message's subject line as it was (or will be) sent, for a guest's data export."""
    with timezone.override(_venue(message).zone):
        return settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + _subject(message, _context(message))


def build_message(message: OutgoingMessage) -> EmailMultiAlternatives:
    reservation = message.reservation
    venue = _venue(message)
    context = _context(message)
    # Templates show datetimes in the active zone: make it the venue's.
    with timezone.override(venue.zone):
        subject = _subject(message, context)
        text = render_to_string(f"emails/{message.kind}_body.txt", context)
        html = render_to_string(f"emails/{message.kind}_body.html", context)
    email = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=text,
        to=[message.to_email],
        headers={"X-Holdfast-Message": str(message.pk)},
    )
    email.attach_alternative(html, "text/html")
    if message.kind in WITH_CALENDAR:
        email.attach(f"{reservation.reference}.ics", calendar_file(reservation), "text/calendar; method=PUBLISH")
    return email


def send_message(message: OutgoingMessage) -> None:
    build_message(message).send(fail_silently=False)
