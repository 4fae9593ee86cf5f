"""A guest's own data: everything we hold about them as one download, and deleting the account.

This sits above every domain app (accounts, spaces, reservations, payments): deleting an account
cancels bookings and refunds money, through those apps' own services.

Deleting an account does not delete the venues' bookings. A booking is the venue's record too (the
table was kept free, the room is prepared, money may have changed hands), so it stays, without the
person: `guest` becomes NULL and the free text the guest wrote is erased. Before that, every upcoming
booking the guest could still cancel themselves is cancelled through the booking service, with the
usual e-mail and the refund the venue's policy gives.

A booking past the venue's cancellation cut-off is not cancelled: the service refuses a guest at that
point, and deleting an account must not become a way round the venue's cancellation and refund policy
(cancelling "as staff" would refund in full). It stays booked, anonymised; the delete page lists such
bookings first, with their references, so the guest can still go or call the venue.
"""

from datetime import datetime

from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from core.replica import lag_tolerant
from payments.models import Payment
from reservations import webhooks
from reservations.emails import render_subject
from reservations.exceptions import PolicyViolation
from reservations.models import OutgoingMessage, Reservation, ReservationEvent, WaitlistEntry
from reservations.services import cancellation_deadline, reservation_cancel
from reservations.sms import render_sms
from spaces import powers
from spaces.powers import Power

ACCOUNT_DELETED_REASON = "Account deleted"
ERASED = "(erased)"
EXPORT_FORMAT = "holdfast-account-export/1"


# ---------------------------------------------------------------------------------------------
# Export


def _when(moment: datetime | None, zone=None) -> str | None:
    if moment is None:
        return None
    return (moment.astimezone(zone) if zone else moment).isoformat()


def _actor(event: ReservationEvent, user) -> str:
    # Other people's names and addresses are theirs, not the guest's: staff are "the venue".
    if event.actor_id is None:
        return "system"
    return "you" if event.actor_id == user.pk else "the venue"


def _reservation_data(reservation: Reservation, user) -> dict:
    venue = reservation.space.venue
    return {
        "reference": reservation.reference,
        "venue": venue.name,
        "space": reservation.space.name,
        "starts_at": _when(reservation.starts_at, venue.zone),
        "ends_at": _when(reservation.ends_at, venue.zone),
        "time_zone": venue.time_zone,
        "party_size": reservation.party_size,
        "status": reservation.status,
        "requested_category": reservation.requested_category,
        "notes": reservation.notes,
        "contact_name": reservation.contact_name,
        "contact_phone": reservation.contact_phone,
        "price": str(reservation.price),
        "amount_due": str(reservation.amount_due),
        "currency": reservation.currency,
        "created_at": _when(reservation.created_at),
        "cancelled_at": _when(reservation.cancelled_at),
        "cancellation_reason": reservation.cancellation_reason,
        "history": [
            {"at": _when(event.at), "event": event.kind, "by": _actor(event, user), "details": event.details}
            for event in reservation.events.all()
        ],
        "emails": [_email_data(message) for message in reservation.messages.all() if not _is_text(message)],
        "text_messages": [_text_data(message) for message in reservation.messages.all() if _is_text(message)],
        "payments": [
            {
                "amount": str(payment.amount),
                "currency": payment.currency,
                "status": payment.status,
                "created_at": _when(payment.created_at),
                "paid_at": _when(payment.paid_at),
                "refunds": [
                    {
                        "amount": str(refund.amount),
                        "currency": refund.currency,
                        "status": refund.status,
                        "created_at": _when(refund.created_at),
                        "completed_at": _when(refund.completed_at),
                    }
                    for refund in payment.refunds.all()
                ],
            }
            for payment in reservation.payments.all()
        ],
    }


def account_export(*, user, now: datetime | None = None) -> dict:
    """Everything Holdfast holds about `user`, ready for json.dumps: profile, e-mail addresses, and their
    reservations with history, e-mails and payments. Nothing about anybody else. A fixed number of
    queries, however many reservations (the e-mails' subjects are rendered from their templates)."""
    now = now or timezone.now()
    database = lag_tolerant(guest_id=user.pk)  # the replica, unless the guest has just changed a booking
    reservations = (
        Reservation.objects.using(database)
        .filter(guest=user)
        .select_related("space__venue", "guest")  # the e-mails' subjects read both
        .prefetch_related(
            Prefetch("events", queryset=ReservationEvent.objects.order_by("at", "pk")),
            Prefetch("messages", queryset=OutgoingMessage.objects.order_by("created_at", "pk")),
            Prefetch("payments", queryset=Payment.objects.order_by("created_at", "pk").prefetch_related("refunds")),
        )
        .order_by("starts_at", "pk")
    )
    wishes = (
        WaitlistEntry.objects.using(database)
        .filter(guest=user)
        .select_related("venue", "space", "offer", "guest")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=OutgoingMessage.objects.select_related(
                    "waitlist_entry__venue", "waitlist_entry__guest", "waitlist_entry__space"
                ).order_by("created_at", "pk"),
            )
        )
        .order_by("created_at", "pk")
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _when(now),
        "profile": {
            "email": user.email,
            "name": user.name,
            "phone": user.phone,
            "text_messages": user.sms_messages,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "email_addresses": [
            {"email": address.email, "primary": address.primary, "verified": address.verified}
            for address in EmailAddress.objects.using(database).filter(user=user).order_by("-primary", "email")
        ],
        "reservations": [_reservation_data(reservation, user) for reservation in reservations],
        "waitlist": [_wish_data(entry) for entry in wishes],
    }


def _is_text(message: OutgoingMessage) -> bool:
    return message.channel == OutgoingMessage.Channel.SMS


def _text_data(message: OutgoingMessage) -> dict:
    return {
        "text": render_sms(message),
        "kind": message.kind,
        "to": message.to_phone,
        "status": message.status,
        "created_at": _when(message.created_at),
        "sent_at": _when(message.sent_at),
    }


def _email_data(message: OutgoingMessage) -> dict:
    return {
        "subject": render_subject(message),
        "kind": message.kind,
        "to": message.to_email,
        "status": message.status,
        "created_at": _when(message.created_at),
        "sent_at": _when(message.sent_at),
    }


def _wish_data(entry: WaitlistEntry) -> dict:
    return {
        "venue": entry.venue.name,
        "date": entry.day.isoformat(),
        "earliest": entry.earliest.isoformat(timespec="minutes"),
        "latest": entry.latest.isoformat(timespec="minutes"),
        "party_size": entry.party_size,
        "nights": entry.nights,
        "category": entry.category,
        "space": entry.space.name if entry.space_id else None,
        "status": entry.status,
        "joined_at": _when(entry.created_at),
        "offered_at": _when(entry.offered_at),
        "offer": entry.offer.reference if entry.offer_id else None,
        "emails": [_email_data(message) for message in entry.messages.all() if not _is_text(message)],
        "text_messages": [_text_data(message) for message in entry.messages.all() if _is_text(message)],
    }


# ---------------------------------------------------------------------------------------------
# Deletion


def _upcoming(user, now: datetime):
    """Active bookings not yet over: the ones deleting the account cancels, or leaves with the venue."""
    return (
        Reservation.objects.filter(guest=user, status__in=Reservation.ACTIVE_STATUSES, ends_at__gt=now)
        .select_related("space__venue")
        .order_by("starts_at", "pk")
    )


def account_deletion_preview(*, user, now: datetime | None = None) -> dict:
    """What deleting the account would do to the guest's bookings, for the page that asks to confirm.

    The same rule as reservation_cancel: a hold is always released, a confirmed booking is cancelled
    until the venue's cut-off (staff may always); later, it stays with the venue.
    """
    now = now or timezone.now()
    cancelled, kept = [], []
    for reservation in _upcoming(user, now):
        cancellable = (
            powers.can(user, Power.CHANGE_BOOKINGS, reservation.space.venue)
            or reservation.status == Reservation.Status.HELD
            or now <= cancellation_deadline(reservation)
        )
        (cancelled if cancellable else kept).append(reservation)
    return {"cancelled": cancelled, "kept": kept, "total": Reservation.objects.filter(guest=user).count()}


def _erase_guest_text(reservation_ids: list[int], user) -> None:
    """Erase what the guest wrote in the bookings' history: their notes, and reasons they gave."""
    changed_notes = ReservationEvent.objects.filter(
        reservation_id__in=reservation_ids, kind=ReservationEvent.Kind.MODIFIED, details__changes__has_key="notes"
    )
    for event in changed_notes:
        event.details["changes"]["notes"] = {"before": ERASED, "after": ERASED}
        event.save(update_fields=["details"])
    own_reasons = ReservationEvent.objects.filter(
        reservation_id__in=reservation_ids, actor=user, kind=ReservationEvent.Kind.CANCELLED
    ).exclude(details__reason__in=["", ACCOUNT_DELETED_REASON])
    for event in own_reasons:
        event.details["reason"] = ERASED
        event.save(update_fields=["details"])
    Reservation.objects.filter(pk__in=reservation_ids, cancelled_by=user).exclude(
        cancellation_reason__in=["", ACCOUNT_DELETED_REASON]
    ).update(cancellation_reason=ERASED)


def account_delete(*, user, now: datetime | None = None) -> dict:
    """Delete `user`'s account: cancel what they may still cancel (e-mails and refunds as usual),
    keep the venues' bookings without the person, and delete the user with their e-mail addresses,
    log-in sessions and authenticators. One transaction; returns counts of what was done.

    Messages already sent lose the address (and phone) they went to; the cancellations queued here keep
    it until they are sent (reservations.notifications.deliver forgets it then).
    """
    now = now or timezone.now()
    User = get_user_model()
    counts = {"cancelled": 0, "kept": 0, "anonymised": 0, "email_addresses": 0, "sessions": 0}
    with transaction.atomic():
        # Holds of this guest lock the same row (reservation_hold): none is made while we delete.
        User.objects.select_for_update().filter(pk=user.pk).exists()
        for reservation in _upcoming(user, now):
            try:
                reservation_cancel(reservation=reservation, actor=user, reason=ACCOUNT_DELETED_REASON, now=now)
            except PolicyViolation:
                counts["kept"] += 1  # past the venue's cut-off: the booking stands (see the module's docstring)
            else:
                counts["cancelled"] += 1

        reservation_ids = list(Reservation.objects.filter(guest=user).values_list("pk", flat=True))
        _erase_guest_text(reservation_ids, user)
        OutgoingMessage.objects.filter(reservation_id__in=reservation_ids).exclude(
            status=OutgoingMessage.Status.PENDING
        ).update(to_email="", to_phone="", last_error="")
        webhooks.forget_guest(reservation_ids)  # partners' events about them say no more who they were
        counts["anonymised"] = Reservation.objects.filter(pk__in=reservation_ids).update(
            guest=None, notes="", contact_name="", contact_phone="", updated_at=now
        )

        counts["email_addresses"] = EmailAddress.objects.filter(user=user).count()
        if apps.is_installed("allauth.usersessions"):
            from allauth.usersessions.models import UserSession

            for session in UserSession.objects.filter(user=user):
                session.end()  # logs out every browser and app the account was logged in on
                counts["sessions"] += 1
        user.delete()  # e-mail addresses, authenticators, sessions' records and admin log go with it
    return counts
