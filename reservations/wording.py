"""How a booking is put into words, one version each: for pages, e-mails, refusals and the API.

Times are worded by reservations.periods.format_local (in the venue's zone); a booking's history
by history_words (the guest's page and the admin's history share it).
"""

from datetime import datetime

from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from core.formats import DATE_WITH_DAY, TIME, money
from reservations.models import Reservation, ReservationEvent
from spaces.models import Venue


def duration_words(minutes: float) -> str:
    """90 -> '1 hour 30 minutes', 120 -> '2 hours', 45 -> '45 minutes'."""
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours})
    if rest or not hours:
        parts.append(ngettext("%(count)s minute", "%(count)s minutes", rest) % {"count": rest})
    if len(parts) == 2:
        return _("%(hours)s %(minutes)s") % {"hours": parts[0], "minutes": parts[1]}
    return parts[0]


def contact_words(venue: Venue) -> str:
    """How a guest reaches the venue, for a request the site cannot take: "contact Trattoria Aurora
    (+49 30 1234567, tavola@example.com)", or just its name when it published neither."""
    ways = ", ".join(way for way in (venue.phone, venue.email) if way)
    if ways:
        return _("contact %(venue)s (%(ways)s)") % {"venue": venue.name, "ways": ways}
    return _("contact %(venue)s") % {"venue": venue.name}


def space_kind(venue: Venue) -> str:
    """What a guest books here, untranslated: "table" (restaurants), "room" (hotels, meeting rooms)
    or, where nothing more fitting is known, "space" (a key for whole sentences, not words to show)."""
    if venue.uses_nights or venue.kind == Venue.Kind.MEETING_ROOMS:
        return "room"
    if venue.kind == Venue.Kind.RESTAURANT:
        return "table"
    return "space"


def space_noun(venue: Venue, plural: bool = False) -> str:
    """What a guest books here, in their words: a table (restaurants), a room (hotels, meeting rooms)
    or, where nothing more fitting is known, a space."""
    kind = space_kind(venue)
    if kind == "room":
        return pgettext("what a guest books", "rooms") if plural else pgettext("what a guest books", "room")
    if kind == "table":
        return pgettext("furniture", "tables") if plural else pgettext("furniture", "table")
    return pgettext("what a guest books", "spaces") if plural else pgettext("what a guest books", "space")


def what_words(reservation: Reservation) -> str:
    """'a table for 4', 'Double room, 2 nights for 2', 'Loft for 6': the booking in a few words."""
    venue = reservation.space.venue
    if venue.uses_nights:
        nights = reservation.nights
        room = reservation.space.category or reservation.space.name
        return ngettext(
            "%(room)s, %(nights)s night for %(party)s", "%(room)s, %(nights)s nights for %(party)s", nights
        ) % {"room": room, "nights": nights, "party": reservation.party_size}
    if venue.assigns_spaces:
        return ngettext("a table for %(party)s", "a table for %(party)s", reservation.party_size) % {
            "party": reservation.party_size
        }
    return ngettext("%(space)s for %(party)s", "%(space)s for %(party)s", reservation.party_size) % {
        "space": reservation.space.name,
        "party": reservation.party_size,
    }


def summary(reservation: Reservation) -> str:
    """The booking in one line for an e-mail: 'Tue 1 Dec 19:30–21:00, Table 3, 4 guests'."""
    venue = reservation.space.venue
    start, end = reservation.starts_at.astimezone(venue.zone), reservation.ends_at.astimezone(venue.zone)
    if venue.uses_nights:
        nights = reservation.nights
        when = ngettext(
            "%(arrival)s – %(departure)s (%(nights)s night)", "%(arrival)s – %(departure)s (%(nights)s nights)", nights
        ) % {
            "arrival": date_format(start, DATE_WITH_DAY),
            "departure": date_format(end, DATE_WITH_DAY),
            "nights": nights,
        }
    else:
        when = f"{date_format(start, DATE_WITH_DAY)} {date_format(start, TIME)}–{date_format(end, TIME)}"
    guests = reservation.party_size
    return ngettext("%(when)s, %(spaces)s, %(count)s guest", "%(when)s, %(spaces)s, %(count)s guests", guests) % {
        "when": when,
        "spaces": reservation.spaces_words,
        "count": guests,
    }


# ---------------------------------------------------------------------------------------------
# A booking's history: what each event did, in the guest's words


def history_words(event: ReservationEvent, venue: Venue) -> str:
    """One line of a booking's history: "Modified: 19:00 → 19:30, 2 → 3 guests", "Confirmed, with
    notes", "Cancelled: the kitchen is closed". Times in the venue's zone. Events written before their
    details said what changed (or with details it cannot read) are just their kind: "Modified"."""
    label = str(event.get_kind_display())
    details = event.details if isinstance(event.details, dict) else {}
    Kind = ReservationEvent.Kind
    if event.kind == Kind.MODIFIED:
        what = changes_words(details.get("changes"), venue)
        if details.get("to_pay_at_the_venue"):
            due = money(details["to_pay_at_the_venue"], venue.currency)
            what = ", ".join(filter(None, [what, _("%(amount)s to pay at the venue") % {"amount": due}]))
        return _("%(label)s: %(what)s") % {"label": label, "what": what} if what else label
    if event.kind == Kind.CONFIRMED:
        with_words = _given_words(details.get("given") or [])
        if details.get("payment_waived"):
            with_words.append(_("to be paid at the venue"))
        return ", ".join([label, *with_words])
    if event.kind in (Kind.PAID, Kind.REFUND) and details.get("amount") and details.get("currency"):
        return _("%(label)s: %(what)s") % {"label": label, "what": money(details["amount"], details["currency"])}
    if event.kind == Kind.CANCELLED and details.get("reason"):
        return _("%(label)s: %(what)s") % {"label": label, "what": details["reason"]}
    return label


def _given_words(given: list) -> list[str]:
    words = []
    if "notes" in given:
        words.append(_("with notes"))
    if "contact" in given:
        words.append(_("for someone else (a name and phone of its own)"))
    return words


def changes_words(changes, venue: Venue) -> str:
    """A "modified" event's changes ({field: {"before", "after"}}) in words, in a fixed order:
    "Fri 14 Nov → Sat 15 Nov", "19:00 → 19:30", "2 → 3 guests", "Table 4 → Table 6", "Double →
    Family", "notes changed". "" when there is nothing it can read."""
    if not isinstance(changes, dict):
        return ""

    def pair(key):
        change = changes.get(key)
        if isinstance(change, dict) and "before" in change and "after" in change:
            return change["before"], change["after"]
        return None

    words = _when_words(pair("starts_at"), pair("ends_at"), venue)
    if party := pair("party_size"):
        words.append(
            ngettext("%(before)s → %(after)s guest", "%(before)s → %(after)s guests", _as_int(party[1]))
            % {"before": party[0], "after": party[1]}
        )
    for key in ("space", "category"):
        if names := pair(key):
            words.append(f"{names[0] or _('none')} → {names[1] or _('none')}")
    if notes := pair("notes"):
        if not notes[0]:
            words.append(_("notes added"))
        elif not notes[1]:
            words.append(_("notes removed"))
        else:
            words.append(_("notes changed"))
    name, phone = "contact_name" in changes, "contact_phone" in changes
    if name and phone:
        words.append(_("name and phone for the booking changed"))
    elif name:
        words.append(_("name for the booking changed"))
    elif phone:
        words.append(_("phone for the booking changed"))
    return ", ".join(words)


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 2


def _moment(value, venue: Venue) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(venue.zone) if moment.tzinfo is not None else None


def _day(moment: datetime) -> str:
    return date_format(moment, DATE_WITH_DAY)


def _time(moment: datetime) -> str:
    return date_format(moment, TIME)


def _when_words(starts, ends, venue: Venue) -> list[str]:
    """The start and end's changes: a stay's arrival date and nights (or check-out), a slot's time
    (with the day when the day changed) and length (or end)."""
    before_start, after_start = (_moment(value, venue) for value in starts) if starts else (None, None)
    before_end, after_end = (_moment(value, venue) for value in ends) if ends else (None, None)
    words = []
    if venue.uses_nights:
        if before_start and after_start:
            words.append(f"{_day(before_start)} → {_day(after_start)}")
        if before_end and after_end:
            if before_start and after_start:
                nights = [
                    (end.date() - start.date()).days
                    for start, end in ((before_start, before_end), (after_start, after_end))
                ]
                if nights[0] != nights[1]:
                    words.append(
                        ngettext("%(before)s → %(after)s night", "%(before)s → %(after)s nights", nights[1])
                        % {"before": nights[0], "after": nights[1]}
                    )
            else:
                words.append(
                    _("check-out %(before)s → %(after)s") % {"before": _day(before_end), "after": _day(after_end)}
                )
        return words
    if before_start and after_start:
        if before_start.date() == after_start.date():
            words.append(f"{_time(before_start)} → {_time(after_start)}")
        else:
            words.append(f"{_day(before_start)} {_time(before_start)} → {_day(after_start)} {_time(after_start)}")
    if before_end and after_end:
        if before_start and after_start:
            lengths = [
                (end - start).total_seconds() // 60
                for start, end in ((before_start, before_end), (after_start, after_end))
            ]
            if lengths[0] != lengths[1]:
                words.append(f"{duration_words(lengths[0])} → {duration_words(lengths[1])}")
        else:
            words.append(_("until %(before)s → %(after)s") % {"before": _time(before_end), "after": _time(after_end)})
    return words
