"""Text messages of the outbox: which messages also go as a text, and to which number; their words;
sending one through the provider (core/sms.py); and what the provider tells us back (how a text
fared, a guest's STOP or START).

A message goes as a text too when all of these hold: texts are on (HOLDFAST_SMS_PROVIDER), the venue
sends that kind by text (reminders, waitlist offers; confirmations, changes and cancellations only
where it says so; never anything else, never a message to staff), the guest asked for it (on the
booking or the wish, `by_sms`, or for every booking in their profile, `sms_messages`), there is a
phone we can text and it has not answered STOP (accounts.SmsOptOut).

Each text is short: the booking in a few words, in the guest's language and the venue's time, a link
to the booking (for a waitlist offer, the page that confirms it), and how to opt out. Templates:
templates/sms/<kind>.txt, rendered as one line.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import phones
from accounts.models import SmsOptOut
from core import sms
from reservations import emails
from reservations.models import OutgoingMessage

Kind = OutgoingMessage.Kind
Channel = OutgoingMessage.Channel

# Which kinds may go as a text, each where the venue's own switch allows it.
VENUE_SWITCH = {
    Kind.REMINDER: "sms_reminders",
    Kind.WAITLIST_OFFER: "sms_waitlist_offers",
    Kind.CONFIRMED: "sms_booking_changes",
    Kind.MODIFIED: "sms_booking_changes",
    Kind.CANCELLED: "sms_booking_changes",
}

# The replies that opt a number out, or back in: Twilio's default keywords (and its Advanced Opt-Out
# ones), a reply of exactly one of them in any case. Twilio itself refuses further texts to the number
# (error 21610) and sends the carrier-required confirmation; we stop making texts for it.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})

# How far along a text is (Twilio's statuses): a report never moves it back, so a late "sent" after
# "delivered" changes nothing. The final ones share a rank: the first to arrive stays.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
FAILED_STATUSES = frozenset({"undelivered", "failed"})


def textable(phone: str) -> str:
    """`phone` in E.164 when it is a number we could text, else "" (a phone typed before numbers were
    checked may be anything)."""
    try:
        return phones.normalise(phone)
    except ValidationError:
        return ""


def is_opted_out(phone: str) -> bool:
    return SmsOptOut.objects.filter(phone=phone).exists()


def text_phone(guest, kind: str, *, reservation=None, waitlist_entry=None, block=None) -> str:
    """The number the message of `kind` to `guest` about `reservation` (or `waitlist_entry`) also goes
    to as a text, or "" when it goes by e-mail only (see the module's docstring). A booking's own
    choice texts the booking's phone (Reservation.phone: its own, else the guest's); the profile's
    choice texts the guest's own phone. At most one query (the opt-out), and none while texts are off."""
    if guest is None or block is not None or not sms.configured():
        return ""
    switch = VENUE_SWITCH.get(kind)
    about = reservation if reservation is not None else waitlist_entry
    if switch is None or about is None:
        return ""
    venue = reservation.space.venue if reservation is not None else waitlist_entry.venue
    if not getattr(venue, switch):
        return ""
    if about.by_sms:
        phone = reservation.phone if reservation is not None else guest.phone
    elif guest.sms_messages:
        phone = guest.phone
    else:
        return ""
    phone = textable(phone)
    if not phone or is_opted_out(phone):
        return ""
    return phone


def render_sms(message: OutgoingMessage) -> str:
    """The text of an SMS row as it is (or was) sent: in its guest's language (emails.message_language),
    times in the venue's zone, as one line."""
    venue = emails._venue(message)
    with translation.override(emails.message_language(message)), timezone.override(venue.zone):
        context = emails._context(message)
        if message.kind == Kind.WAITLIST_OFFER and message.reservation_id:
            # The offer is a hold: the link opens the page that confirms it.
            context["url"] = settings.SITE_URL.rstrip("/") + reverse(
                "reservations:review", kwargs={"reference": message.reservation.reference}
            )
        text = render_to_string(f"sms/{message.kind}.txt", context)
    return " ".join(text.split())


def send_text(message: OutgoingMessage) -> sms.SentSms:
    """Send an SMS row through the provider. Raises core.sms.SmsError: permanent for a number that
    answered STOP since the row was made, or whatever the provider refuses for good."""
    if is_opted_out(message.to_phone):
        raise sms.SmsError("opted-out", "The number answered STOP before the text was sent.", permanent=True)
    body = render_sms(message)
    provider = sms.get_provider()
    if provider is None:
        raise sms.SmsError(None, "Text messages are off (HOLDFAST_SMS_PROVIDER is empty).", permanent=False)
    return provider.send(message.to_phone, body, status_callback=provider.status_callback_url())


def opt_out(phone: str, words: str) -> bool:
    """No more texts to `phone` (E.164) until it answers START. True when it was not opted out yet."""
    _, created = SmsOptOut.objects.get_or_create(phone=phone, defaults={"words": words[:160]})
    return created


def opt_in(phone: str) -> bool:
    """`phone` answered START: texts may go to it again. True when it had opted out."""
    deleted, _ = SmsOptOut.objects.filter(phone=phone).delete()
    return bool(deleted)


def keyword(body: str) -> str:
    """A reply as a keyword: "  stop. " -> "STOP"."""
    return " ".join(body.split()).upper().rstrip(".!")


def record_reply(*, phone: str, body: str, opt_out_type: str = "") -> str:
    """A guest's reply from `phone` (E.164): STOP and its kind opt the number out, START and its kind
    back in; anything else is not for us. Twilio's own reading of the reply (OptOutType, where its
    Advanced Opt-Out is on) counts too. Returns "stop", "start" or ""."""
    word = keyword(body)
    if opt_out_type.upper() == "STOP" or word in STOP_WORDS:
        opt_out(phone, body.strip())
        return "stop"
    if opt_out_type.upper() == "START" or word in START_WORDS:
        opt_in(phone)
        return "start"
    return ""


def record_status(*, provider_id: str, status: str, error_code: str = "") -> bool:
    """The provider's report on a text: its status, never moving it back; a failed delivery's error
    code goes to `last_error` for staff (21610: the number opted out). True when the row changed."""
    with transaction.atomic():
        message = (
            OutgoingMessage.objects.select_for_update()
            .filter(channel=Channel.SMS, provider_id=provider_id)
            .exclude(provider_id="")
            .first()
        )
        if message is None or status not in STATUS_RANK:
            return False
        if STATUS_RANK[status] <= STATUS_RANK.get(message.provider_status, -1):
            return False  # late, or the same again
        changes = {"provider_status": status}
        if status in FAILED_STATUSES:
            changes["last_error"] = f"The provider reports the text {status} (error {error_code or 'unknown'})."
            if error_code == str(sms.TWILIO_UNSUBSCRIBED) and message.to_phone:
                opt_out(message.to_phone, f"(provider error {error_code})")
        OutgoingMessage.objects.filter(pk=message.pk).update(**changes)
    return True
