"""A guest's choice of text messages, for one booking, one wish or (in the profile) every booking: when
the pages offer it, what it needs (a phone we can text), and switching it for a booking later.

The pages and the API ask the same questions here; which messages then go as texts, and to which
number, is decided when each message is written (reservations/sms.py).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import sms
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.services import rules
from reservations.sms import textable
from spaces.models import Venue
from spaces.powers import Power


def texts_offered(venue: Venue) -> bool:
    """Do the pages offer texts for a booking at `venue`? Texts are on, and the venue sends a booking's
    reminder (or its confirmation and changes) by text."""
    return sms.configured() and (venue.sms_reminders or venue.sms_booking_changes)


def texts_offered_for_waitlist(venue: Venue) -> bool:
    """Do the pages offer texts for a wish at `venue` (the offer, when a place frees up)?"""
    return sms.configured() and venue.sms_waitlist_offers


def check_booking_phone(phone: str) -> None:
    """A booking's texts go to its phone (its own, else the guest's): refuse the choice without one."""
    if not textable(phone):
        raise PolicyViolation(_("To get text messages, give a phone for the booking."), field="by_sms")


def check_profile_phone(phone: str) -> None:
    """A wish's texts, and those the profile asks for, go to the guest's own phone."""
    if not textable(phone):
        raise PolicyViolation(_("To get text messages, add your phone number under My account first."), field="by_sms")


def reservation_set_texts(*, reservation: Reservation, actor, by_sms: bool, now: datetime | None = None) -> Reservation:
    """Switch text messages for a booking on or off (its page, the API). The guest may, and the venue's
    staff, while the booking is held or confirmed and has not started; no cut-off applies (it changes
    nothing the venue prepares). Switching on needs a phone to text. Setting it as it is changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            Reservation.objects.select_for_update(no_key=True, of=("self",))
            .select_related("space__venue", "guest")
            .get(pk=reservation.pk)
        )
        rules.check_actor(current, actor, Power.CHANGE_BOOKINGS)
        if current.by_sms == by_sms:
            return current
        if not current.is_active:
            raise PolicyViolation(
                _("This reservation is %(status)s and cannot be changed.")
                % {"status": current.get_status_display().lower()},
                field="by_sms",
            )
        if current.starts_at <= now:
            raise PolicyViolation(_("This booking has begun: there is nothing left to text about."), field="by_sms")
        if by_sms:
            check_booking_phone(current.phone)
        Reservation.objects.filter(pk=current.pk).update(by_sms=by_sms, updated_at=now)
        current.by_sms, current.updated_at = by_sms, now
        return current
