"""Rendering and sending the e-mails of the outbox, through Django's e-mail machinery.

Each kind has three templates in templates/emails/: `<kind>_subject.txt`, `<kind>_body.txt` and
`<kind>_body.html`. Times are shown in the venue's zone, named in words ("19:30 Berlin time"), dates
in the long format (core/formats.py DATE_LONG), amounts in the currency's own way ("£110").

Confirmations, modifications, reminders and cancellations carry the booking as an .ics calendar file:
one event per booking (UID `<reference>@holdfast`) whose SEQUENCE counts its versions, so that the
calendar a guest added it to replaces the event on a change and removes it on the cancellation.
"""

from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from icalendar import Calendar, Event, vCalAddress, vText

from core import formats
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.wording import what_words

Kind = OutgoingMessage.Kind
WITH_CALENDAR = {Kind.CONFIRMED, Kind.MODIFIED, Kind.REMINDER, Kind.CANCELLED}

# The formats the templates write dates and times in (core/formats.py): long in the bodies, short in
# the subjects.
FORMATS = {
    "long_date": formats.DATE_LONG,
    "long": format_lazy("{}, {}", formats.DATE_LONG, formats.TIME),
    "short_date": formats.DATE_WITH_DAY,
    "short": formats.DATETIME_WITH_DAY,
    "time": formats.TIME,
}


def reservation_url(reservation: Reservation) -> str:
    return settings.SITE_URL.rstrip("/") + reservation.get_absolute_url()


def calendar_sequence(reservation: Reservation) -> int:
    """The version of the booking's calendar event (its SEQUENCE): 0 as confirmed, one more for each
    change since (the history's "modified" events after its "confirmed" one), and one more than the
    last when it is cancelled. Read from the history, so every file says the booking as it is now with
    the number of that version, whenever the outbox sends it. One query."""
    kinds = reservation.events.filter(
        kind__in=[ReservationEvent.Kind.CONFIRMED, ReservationEvent.Kind.MODIFIED]
    ).values_list("kind", flat=True)
    sequence, confirmed = 0, False
    for kind in kinds:  # in the history's order
        if kind == ReservationEvent.Kind.CONFIRMED:
            confirmed = True
        elif confirmed:
            sequence += 1  # a change of a hold, before it was booked, was never in a calendar
    return sequence + 1 if reservation.status == Reservation.Status.CANCELLED else sequence


def calendar_method(reservation: Reservation) -> str:
    """How the booking's calendar file is to be applied (iTIP, RFC 5546), and why.

    PUBLISH, not REQUEST, while it is booked: we do not invite the guest to a meeting we organise. A
    REQUEST needs the guest as an ATTENDEE, and Gmail and Outlook then show Accept/Decline buttons
    whose answers go to an address nobody reads, and a guest who declines thinks the booking is
    cancelled when it is not (the reason airlines' and booking sites' confirmations carry PUBLISH).
    Outlook matches a file to the event added before by its UID and takes the highest SEQUENCE as the
    latest revision (Microsoft's notes on RFC 5546 2.1.5, MS-OXCICAL), and Apple Calendar does the
    same, so a change replaces the event rather than adding a second. Gmail handles updates by e-mail
    least reliably of the three, so every file carries the whole event as it is now, never a diff.

    CANCEL, with STATUS:CANCELLED and a higher SEQUENCE, once the booking is cancelled: the method
    that removes the event, in every one of them. Both methods name the venue as ORGANIZER, which RFC
    5546 requires of each and Outlook checks a cancellation against."""
    return "CANCEL" if reservation.status == Reservation.Status.CANCELLED else "PUBLISH"


def _organizer(venue) -> vCalAddress:
    address = venue.email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText(venue.name)
    return organizer


def calendar_file(reservation: Reservation) -> bytes:
    """An iCalendar event for the booking as it is now, in the venue's time zone (with its VTIMEZONE):
    the real times of a table or a meeting room, the check-in and check-out times of a stay (not whole
    days, and shown as free time: a guest is not busy for the nights of a stay). Its version and method
    come from the booking (calendar_sequence, calendar_method): a cancelled booking's file cancels it."""
    venue = reservation.space.venue
    method = calendar_method(reservation)
    calendar = Calendar()
    calendar.add("prodid", "-//Holdfast//Reservations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", f"{reservation.reference}@holdfast")
    event.add("sequence", calendar_sequence(reservation))
    event.add("dtstamp", reservation.updated_at)
    event.add("dtstart", reservation.starts_at.astimezone(venue.zone))
    event.add("dtend", reservation.ends_at.astimezone(venue.zone))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if venue.uses_nights else "OPAQUE")
    event.add("summary", _("%(venue)s: %(what)s") % {"venue": venue.name, "what": what_words(reservation)})
    event.add("organizer", _organizer(venue))
    if venue.address:
        event.add("location", venue.address.replace("\n", ", "))
    url = reservation_url(reservation)
    event.add("url", url)
    event.add("description", _("Reservation %(reference)s") % {"reference": reservation.reference} + f"\n{url}")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _wish_context(message: OutgoingMessage) -> dict:
    """What a message about a waitlist entry says: the wish, in the venue's time."""
    entry = message.waitlist_entry
    venue = entry.venue
    guests = ngettext("%(count)s guest", "%(count)s guests", entry.party_size) % {"count": entry.party_size}
    return {
        "formats": FORMATS,
        "entry": entry,
        "venue": venue,
        "guest_name": entry.guest.name if entry.guest else "",
        "what": _("%(space)s for %(guests)s") % {"space": entry.space.name, "guests": guests}
        if entry.space_id
        else guests,
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
        "formats": FORMATS,
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
    starts, ends = reservation.starts_at.astimezone(venue.zone), reservation.ends_at.astimezone(venue.zone)
    return {
        "formats": FORMATS,
        "reservation": reservation,
        "venue": venue,
        "guest_name": reservation.guest.name if reservation.guest else "",
        "what": what_words(reservation),
        "starts": starts,
        "ends": ends,
        "ends_same_day": starts.date() == ends.date(),  # "until 21:00", without the date again
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


def message_language(message: OutgoingMessage) -> str:
    """The language a message is written in: its guest's as it is when it is sent (a German guest's
    reminder is German whatever the worker's own locale), else the venue's. Staff messages: the venue's."""
    about = message.reservation or message.waitlist_entry
    guest = getattr(about, "guest", None) if about is not None else None
    language = getattr(guest, "language", "") if guest is not None else ""
    return language or _venue(message).language


def render_subject(message: OutgoingMessage) -> str:
    """The message's subject line as it was (or will be) sent, for a guest's data export."""
    with timezone.override(_venue(message).zone), translation.override(message_language(message)):
        return settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + _subject(message, _context(message))


def build_message(message: OutgoingMessage) -> EmailMultiAlternatives:
    with translation.override(message_language(message)):
        return _build_message(message)


def _build_message(message: OutgoingMessage) -> EmailMultiAlternatives:
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
        # The booking as it is when sent: a confirmation the outbox sends after a cancellation (a broker
        # that was down) cancels the event too, so no calendar keeps an event the booking no longer has.
        email.attach(
            f"{reservation.reference}.ics",
            calendar_file(reservation),
            f"text/calendar; method={calendar_method(reservation)}",
        )
    return email


def send_message(message: OutgoingMessage) -> None:
    build_message(message).send(fail_silently=False)
