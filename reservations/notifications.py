"""The outbox: e-mails (and text messages) to guests that cannot be lost.

`enqueue` writes an OutgoingMessage in the caller's transaction (the booking change and its
message commit together or not at all) and asks a worker to deliver it after commit. `deliver`
claims a message before sending it, so a task that runs twice, or a task racing the sweep, sends it
once. `deliver_due` is the periodic sweep for anything still pending: a broker that was down, a
worker that crashed mid-send (its claim lapses after CLAIM_LEASE), an SMTP error (retried with
backoff). `create_due_reminders` makes each reminder once, from the data, not from queued tasks.

A message the guest also wants as a text (reservations/sms.py says when) is a second row, channel
"sms", with the same kind and its own dedupe key (`sms:<key>`): the same claim, lease, backoff and
MAX_ATTEMPTS, so it too is sent once. A refusal retrying cannot fix (an invalid number, one that
answered STOP) fails it at once; the provider's id and status are kept on the row for staff.
"""

import contextlib
import logging
from datetime import timedelta

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, sql
from django.utils import timezone

from core.sms import SmsError
from reservations import sms
from reservations.models import OutgoingMessage, Reservation
from spaces.models import Venue

logger = logging.getLogger(__name__)
Kind = OutgoingMessage.Kind
Status = OutgoingMessage.Status
Channel = OutgoingMessage.Channel

CLAIM_LEASE = timedelta(minutes=5)  # a claim older than this is a worker that died mid-send
MAX_ATTEMPTS = 10
SWEEP_BATCH = 200


def enqueue(reservation: Reservation, kind: str, *, key: str, context: dict | None = None) -> OutgoingMessage | None:
    """Record an e-mail about `reservation` in the current transaction; deliver it after commit.

    `key` makes the message unique: enqueueing the same key twice records one message.
    """
    return _record(reservation.guest, kind, key=key, context=context, reservation=reservation)


def enqueue_about_wish(entry, kind: str, *, key: str, context: dict | None = None) -> OutgoingMessage | None:
    """Like enqueue, for a message about a waitlist entry (no booking yet): joined the line."""
    return _record(entry.guest, kind, key=key, context=context, waitlist_entry=entry)


def enqueue_to_staff(user, block, kind: str, *, key: str, context: dict | None = None) -> OutgoingMessage | None:
    """A message to a member of a venue's staff about a channel's block (a conflict to sort out)."""
    return _record(user, kind, key=key, context=context, block=block)


def _record(guest, kind: str, *, key: str, context: dict | None, **about) -> OutgoingMessage | None:
    """The message to `guest` about `about` (its booking or wish), once per key, sent after commit: the
    e-mail, and the text too where the guest asked for one (reservations/sms.py). Returns the e-mail's
    row (the text's when there is no e-mail address)."""
    if guest is None:
        return None  # an anonymised booking has nobody to tell
    message = None
    if guest.email:
        message = _recorded(
            key, {**about, "kind": kind, "channel": Channel.EMAIL, "to_email": guest.email, "context": context or {}}
        )
    phone = sms.text_phone(guest, kind, **about)
    if phone:
        text = _recorded(
            f"sms:{key}", {**about, "kind": kind, "channel": Channel.SMS, "to_phone": phone, "context": context or {}}
        )
        message = message or text
    return message


def _recorded(key: str, defaults: dict) -> OutgoingMessage:
    """The message with dedupe key `key`: written now (and sent after commit), or the one written before.

    One statement when it is new, INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING, instead of
    get_or_create's SELECT, savepoint, INSERT and release; a key written before (or by a concurrent
    transaction, whose commit the INSERT waits for) is read back."""
    message = OutgoingMessage(dedupe_key=key, **defaults)
    if not _insert_unless_keyed(message):
        return OutgoingMessage.objects.get(dedupe_key=key)
    transaction.on_commit(lambda: dispatch(message.pk))
    return message


def _insert_unless_keyed(message: OutgoingMessage) -> bool:
    """INSERT the message unless its dedupe key is taken; False when it was. Django's own compiler writes
    the columns and values (defaults, auto_now_add, db_default) as save() would, and what the database
    fills in (the id, db_default values) comes back onto the instance as save() brings it."""
    meta = OutgoingMessage._meta
    using = router.db_for_write(OutgoingMessage)
    connection = connections[using]
    query = sql.InsertQuery(OutgoingMessage)
    query.insert_values([field for field in meta.local_concrete_fields if not field.primary_key], [message])
    [(insert, params)] = query.get_compiler(using=using).as_sql()
    returning = [meta.pk, *(field for field in meta.db_returning_fields if not field.primary_key)]
    quote = connection.ops.quote_name
    insert += f" ON CONFLICT ({quote(meta.get_field('dedupe_key').column)}) DO NOTHING RETURNING " + ", ".join(
        quote(field.column) for field in returning
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        row = cursor.fetchone()
    if row is None:
        return False
    for field, value in zip(returning, row, strict=True):
        setattr(message, field.attname, value)
    message._state.adding = False
    message._state.db = using
    return True


def dispatch(message_id: int) -> None:
    """Hand a message to a worker. If the broker is unreachable, the sweep delivers it later."""
    from reservations.tasks import deliver_message

    try:
        deliver_message.delay(message_id)
    except Exception:  # any broker or network failure: the row is safe in the database
        logger.warning("Could not queue message %s; the periodic sweep will deliver it.", message_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def deliver(message_id: int, *, now=None) -> bool:
    """Send one message if it is due and nobody else is sending it. True when this call sent it."""
    from reservations.emails import send_message

    now = now or timezone.now()
    claimable = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )
    # The lease starts when this message is claimed, not when the caller (a sweep working through a
    # batch behind a slow provider) began: otherwise a later sweep would think it abandoned.
    stamp = max(now, timezone.now())
    claimed = OutgoingMessage.objects.filter(claimable, pk=message_id).update(
        status=Status.SENDING, claimed_at=stamp, attempts=F("attempts") + 1
    )
    if not claimed:
        return False  # sent already, being sent by another worker, or not due yet
    message = OutgoingMessage.objects.select_related(
        "reservation__space__venue",
        "reservation__guest",
        "waitlist_entry__venue",
        "waitlist_entry__guest",
        "block__space__venue",
        "block__feed",
    ).get(pk=message_id)
    sent = None
    try:
        if message.channel == Channel.SMS:
            sent = sms.send_text(message)
        else:
            send_message(message)
    except DatabaseError as error:
        # Building the message reads the database (its calendar file): that failed, not the provider,
        # and nothing was sent. Not an attempt: hand the claim back for the next sweep if the database
        # lets us; if it is gone, the claim's lease lapses and a sweep after it takes the message.
        with contextlib.suppress(DatabaseError):
            OutgoingMessage.objects.filter(pk=message_id, claimed_at=stamp).update(
                status=Status.PENDING, claimed_at=None, attempts=F("attempts") - 1
            )
        logger.warning("Message %s not sent, the database failed: %s", message_id, type(error).__name__)
        return False
    except Exception as error:  # SMTP or provider failure: keep it, try again later
        # A text the provider refuses for good (an invalid number, one that answered STOP) is not tried
        # again: the same text to the same number would be refused again.
        refused = isinstance(error, SmsError) and error.permanent
        if isinstance(error, SmsError) and error.opted_out and message.to_phone:
            with contextlib.suppress(DatabaseError):  # the STOP is Twilio's to keep too; the row still fails
                sms.opt_out(message.to_phone, f"(provider error {error.code})")
        gave_up = refused or message.attempts >= MAX_ATTEMPTS
        OutgoingMessage.objects.filter(pk=message_id, claimed_at=stamp).update(
            status=Status.FAILED if gave_up else Status.PENDING,
            next_attempt_at=now + _backoff(message.attempts),
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        logger.warning("Message %s failed (attempt %s): %s", message_id, message.attempts, type(error).__name__)
        return False
    # A deleted account's last messages (its cancellations) keep the address only until they are sent.
    about = message.reservation or message.waitlist_entry
    forget = {"to_email": "", "to_phone": ""} if about is not None and about.guest_id is None else {}
    provider = {"provider_id": sent.id[:64], "provider_status": sent.status[:20]} if sent is not None else {}
    OutgoingMessage.objects.filter(pk=message_id, claimed_at=stamp).update(
        status=Status.SENT, sent_at=timezone.now(), last_error="", **provider, **forget
    )
    return True


def deliver_due(*, now=None) -> int:
    """The sweep: deliver every message that is due. Returns how many this call sent."""
    now = now or timezone.now()
    due = OutgoingMessage.objects.filter(
        Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, claimed_at__lt=now - CLAIM_LEASE)
    ).order_by("next_attempt_at", "pk")
    return sum(deliver(pk, now=now) for pk in due.values_list("pk", flat=True)[:SWEEP_BATCH])


def resend(message: OutgoingMessage) -> None:
    """Staff asked to send a message again (also one that was sent or gave up)."""
    OutgoingMessage.objects.filter(pk=message.pk).update(
        status=Status.PENDING, next_attempt_at=timezone.now(), claimed_at=None
    )
    transaction.on_commit(lambda: dispatch(message.pk))


def reminder_due_at(reservation: Reservation):
    """When the reminder goes out: the venue's lead time before the start, on the local clock.

    Wall-clock arithmetic on purpose: a dinner at 19:00 on the Sunday clocks change is reminded
    at 19:00 on Saturday, not at 18:00 or 20:00.
    """
    venue = reservation.space.venue
    local_start = reservation.starts_at.astimezone(venue.zone)
    return (local_start - timedelta(hours=venue.reminder_lead_hours)).astimezone(venue.zone)


def create_due_reminders(*, now=None) -> int:
    """Create the reminder of every confirmed booking whose reminder is due. Once per booking."""
    now = now or timezone.now()
    longest_lead = Venue.objects.aggregate(longest=Max("reminder_lead_hours"))["longest"] or 0
    # A day more than the longest lead time covers any DST shift; the exact moment is checked below.
    horizon = now + timedelta(hours=longest_lead + 24)
    has_reminder = OutgoingMessage.objects.filter(reservation=OuterRef("pk"), kind=Kind.REMINDER)
    candidates = (
        Reservation.objects.filter(status=Reservation.Status.CONFIRMED, starts_at__gt=now, starts_at__lte=horizon)
        .exclude(Exists(has_reminder))
        .select_related("space__venue", "guest")
    )
    created = 0
    with transaction.atomic():
        for reservation in candidates:
            due_at = reminder_due_at(reservation)
            if due_at > now or reservation.created_at >= due_at:
                continue  # not yet; or booked inside the lead time: the confirmation just went out
            if enqueue(reservation, Kind.REMINDER, key=f"reminder:{reservation.pk}"):
                created += 1
    return created
