"""How a booking is put into words, one version each: for pages, e-mails, refusals and the API.

Times are worded by reservations.periods.format_local (in the venue's zone).
"""

from reservations.models import Reservation
from spaces.models import Venue


def duration_words(minutes: float) -> str:
    """90 -> '1 hour 30 minutes', 120 -> '2 hours', 45 -> '45 minutes'."""
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append("1 hour" if hours == 1 else f"{hours} hours")
    if rest or not hours:
        parts.append("1 minute" if rest == 1 else f"{rest} minutes")
    return " ".join(parts)


def contact_words(venue: Venue) -> str:
    """How a guest reaches the venue, for a request the site cannot take: "contact Trattoria Aurora
    (+49 30 1234567, tavola@example.com)", or just its name when it published neither."""
    ways = ", ".join(way for way in (venue.phone, venue.email) if way)
    return f"contact {venue.name}" + (f" ({ways})" if ways else "")


def space_noun(venue: Venue, plural: bool = False) -> str:
    """What a guest books here, in their words: a table, a room or a space."""
    if venue.uses_nights:
        noun = "room"
    elif venue.kind == Venue.Kind.RESTAURANT:
        noun = "table"
    else:
        noun = "space"
    return f"{noun}s" if plural else noun


def what_words(reservation: Reservation) -> str:
    """'a table for 4', 'Double room, 2 nights for 2', 'Loft for 6': the booking in a few words."""
    venue = reservation.space.venue
    if venue.uses_nights:
        nights = reservation.nights
        room = reservation.space.category or reservation.space.name
        return f"{room}, {nights} night{'s' if nights != 1 else ''} for {reservation.party_size}"
    if venue.assigns_spaces:
        return f"a table for {reservation.party_size}"
    return f"{reservation.space.name} for {reservation.party_size}"


def summary(reservation: Reservation) -> str:
    """The booking in one line for an e-mail: 'Tue 01 Dec 19:30–21:00, Table 3, 4 guests'."""
    venue = reservation.space.venue
    start, end = reservation.starts_at.astimezone(venue.zone), reservation.ends_at.astimezone(venue.zone)
    if venue.uses_nights:
        nights = reservation.nights
        when = f"{start:%a %d %b} – {end:%a %d %b} ({nights} night{'s' if nights != 1 else ''})"
    else:
        when = f"{start:%a %d %b %H:%M}–{end:%H:%M}"
    guests = reservation.party_size
    return f"{when}, {reservation.spaces_words}, {guests} guest{'s' if guests != 1 else ''}"
