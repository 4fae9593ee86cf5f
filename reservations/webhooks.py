"""Webhooks: a venue's partners (a till, a CRM, a channel manager) told of its bookings as they change.

A manager registers an endpoint per venue in the admin: a URL, the events it wants and a secret shown
once. `emit` writes one WebhookDelivery per interested endpoint in the transaction of the change it
tells of (the outbox, like the e-mails in notifications.py) and asks a worker to deliver it after
commit; `deliver_due` is the sweep for whatever is still to go.

Each delivery is a POST of a versioned JSON body,

    {"id": "evt_...", "type": "reservation.confirmed", "api_version": "2026-12-01",
     "created": "2026-12-01T18:30:00+00:00", "data": {"object": {...the reservation...}}}

signed with HMAC-SHA256 over "<timestamp>.<body>" in the `Holdfast-Signature` header,
`t=<timestamp>,v1=<hex digest>`: the scheme Stripe uses, so a partner's verification code for one
serves for the other (docs/webhooks.md has a snippet). A 2xx answer delivers it. Anything else, or no
answer, is retried with exponential backoff for HOLDFAST_WEBHOOK_RETRY_HOURS (a day), then the
delivery is marked failed; an endpoint that answers 410 Gone is switched off. Delivery is at least
once (a partner dedupes by the event id) and in order for each booking: a later event waits while an
earlier one of the same booking to the same endpoint is still to go.

Addresses are checked on every attempt (core/fetch.py): https only, unless
HOLDFAST_WEBHOOK_ALLOW_HTTP (development), and no private or loopback address unless
HOLDFAST_WEBHOOK_ALLOW_PRIVATE; a timeout bounds each POST and at most a small part of the answer is read.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import fetch
from reservations.models import Reservation, ReservationEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from spaces import powers
from spaces.powers import Power

logger = logging.getLogger(__name__)
Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status

API_VERSION = "2026-12-01"  # the body's shape; a change that breaks partners' code gets a new one
SIGNATURE_HEADER = "Holdfast-Signature"
CLAIM_LEASE = timedelta(minutes=5)  # a claim older than this is a worker that died mid-POST
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=2)  # between two attempts, however many came before
SWEEP_BATCH = 100

# The history's events that partners hear of, and under which name.
FROM_HISTORY = {
    ReservationEvent.Kind.HELD: Event.RESERVATION_CREATED,
    ReservationEvent.Kind.CONFIRMED: Event.RESERVATION_CONFIRMED,
    ReservationEvent.Kind.MODIFIED: Event.RESERVATION_MODIFIED,
    ReservationEvent.Kind.CANCELLED: Event.RESERVATION_CANCELLED,
    ReservationEvent.Kind.EXPIRED: Event.RESERVATION_EXPIRED,
    ReservationEvent.Kind.NO_SHOW: Event.RESERVATION_NO_SHOW,
}


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


# --- What is sent -----------------------------------------------------------------------------------


def reservation_data(reservation: Reservation) -> dict:
    """The booking as a partner sees it: times in UTC and on the venue's clock, who comes, the money."""
    venue = reservation.space.venue
    guest = reservation.guest
    return {
        "object": "reservation",
        "reference": reservation.reference,
        "status": reservation.status,
        "venue": {"slug": venue.slug, "name": venue.name, "time_zone": venue.time_zone},
        "space": reservation.space.name,
        "starts_at": reservation.starts_at.astimezone(UTC).isoformat(),
        "ends_at": reservation.ends_at.astimezone(UTC).isoformat(),
        "local_starts_at": reservation.starts_at.astimezone(venue.zone).isoformat(),
        "local_ends_at": reservation.ends_at.astimezone(venue.zone).isoformat(),
        "party_size": reservation.party_size,
        "guest": {
            "name": reservation.who,
            "email": guest.email if guest is not None else "",
            "phone": reservation.phone,
        },
        "notes": reservation.notes,
        "price": str(reservation.price),
        "amount_due": str(reservation.amount_due),
        "currency": reservation.currency,
        "hold_expires_at": reservation.hold_expires_at.isoformat() if reservation.hold_expires_at else None,
        "cancellation_reason": reservation.cancellation_reason,
        "created_at": reservation.created_at.isoformat() if reservation.created_at else None,
        "updated_at": reservation.updated_at.isoformat() if reservation.updated_at else None,
    }


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON of the payload written with the event."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Holdfast-Signature header's value: `t=<timestamp>,v1=<HMAC-SHA256(secret, "t.body") hex>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a partner does (docs/webhooks.md): one of the header's v1 signatures matches, and its
    timestamp is within `tolerance` seconds of now (a replayed old request is refused)."""
    pairs = [item.strip().partition("=")[::2] for item in header.split(",")]
    stamps = [value for key, value in pairs if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).partition("v1=")[2]
    return any(hmac.compare_digest(expected, value) for key, value in pairs if key == "v1")


# --- Recording (in the caller's transaction) -------------------------------------------------------------


def endpoints_of(reservation: Reservation) -> list[tuple[int, list[str]]]:
    """The active endpoints of the booking's venue, each with the events it wants: one query, for every
    event a change records at once (a booking's "created" and "confirmed")."""
    return list(
        WebhookEndpoint.objects.filter(venue__spaces=reservation.space_id, is_active=True)
        .order_by("pk")
        .values_list("pk", "events")
    )


def _endpoints(reservation: Reservation, event_type: str, known=None) -> list[int]:
    """The active endpoints of the booking's venue that want `event_type`: from `known` (endpoints_of,
    read in the same transaction), or one query."""
    if known is not None:
        return [pk for pk, events in known if event_type in events]
    return list(
        WebhookEndpoint.objects.filter(
            venue__spaces=reservation.space_id, is_active=True, events__contains=[event_type]
        ).values_list("pk", flat=True)
    )


def emit(
    event_type: str,
    *,
    reservation: Reservation,
    data: Callable[[], dict] | None = None,
    now: datetime | None = None,
    endpoints: list[tuple[int, list[str]]] | None = None,
) -> int:
    """Record `event_type` about `reservation` for every active endpoint of its venue that wants it,
    in the current transaction; each is delivered after commit. `data` makes the object sent (default:
    the booking as it is now), called only when someone wants it: one query when nobody does, none
    with `endpoints` (endpoints_of, read in the same transaction). How many deliveries were written."""
    endpoints = _endpoints(reservation, event_type, endpoints)
    if not endpoints:
        return 0
    now = now or timezone.now()
    event_id = new_event_id()
    payload = {
        "id": event_id,
        "type": event_type,
        "api_version": API_VERSION,
        "created": now.isoformat(),
        "data": {"object": data() if data is not None else reservation_data(reservation)},
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoint_id,
            reservation=reservation,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
            give_up_at=now + retry_window(),
        )
        for endpoint_id in endpoints
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: [dispatch(pk) for pk in ids])
    return len(ids)


def emit_for_history(
    reservation: Reservation,
    kind: str,
    details: dict,
    *,
    endpoints: list[tuple[int, list[str]]] | None = None,
    data: Callable[[], dict] | None = None,
) -> int:
    """The partners' event for one line of a booking's history (transitions.record), if they hear of
    it. A change carries what changed, as the history says it (before and after). `endpoints`: the
    venue's (endpoints_of), when read already in this transaction; `data`: the object sent, when it
    is not the booking as it is now."""
    event_type = FROM_HISTORY.get(kind)
    if event_type is None:
        return 0
    changes = details.get("changes") if event_type == Event.RESERVATION_MODIFIED else None
    if changes:
        return emit(
            event_type,
            reservation=reservation,
            data=lambda: {**reservation_data(reservation), "changes": changes},
            endpoints=endpoints,
        )
    return emit(event_type, reservation=reservation, data=data, endpoints=endpoints)


# --- Delivering (after commit, by a worker; again by the sweep) ---------------------------------------


def dispatch(delivery_id: int) -> None:
    """Hand a delivery to a worker. If the broker is unreachable, the sweep delivers it later."""
    from reservations.tasks import deliver_webhook

    try:
        deliver_webhook.delay(delivery_id)
    except Exception:  # any broker or network failure: the row is safe in the database
        logger.warning("Could not queue webhook delivery %s; the periodic sweep will deliver it.", delivery_id)


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 30 s, 1 min, 2 min, 4 min ... at most two hours."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def _claimable(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )


def _waits_for_earlier(delivery: WebhookDelivery) -> bool:
    """Is an earlier event of the same booking to the same endpoint still to go? (In order per booking.)"""
    if delivery.reservation_id is None:
        return False
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        reservation_id=delivery.reservation_id,
        pk__lt=delivery.pk,
        status__in=[Status.PENDING, Status.SENDING],
    ).exists()


def deliver(delivery_id: int, *, now: datetime | None = None) -> bool:
    """POST one delivery if it is due, its endpoint is on, no earlier event of its booking is still to
    go and nobody else is sending it. True when this call delivered it."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.filter(_claimable(now), pk=delivery_id, endpoint__is_active=True)
        .only("pk", "endpoint_id", "reservation_id")
        .first()
    )
    if delivery is None or _waits_for_earlier(delivery):
        return False  # delivered, being delivered, not due, switched off; or it waits its turn
    stamp = max(now, timezone.now())
    claimed = WebhookDelivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=Status.SENDING, claimed_at=stamp, attempts=F("attempts") + 1
    )
    if not claimed:
        return False  # another worker took it a moment ago
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = body_of(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Holdfast-Webhooks/1",
        SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body),
        "Holdfast-Event-Id": delivery.event_id,
        "Holdfast-Event-Type": delivery.event_type,
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        answer = fetch.post(
            endpoint.url,
            body,
            headers=headers,
            timeout=settings.HOLDFAST_WEBHOOK_TIMEOUT,
            max_bytes=settings.HOLDFAST_WEBHOOK_MAX_RESPONSE_BYTES,
            allow_private=settings.HOLDFAST_WEBHOOK_ALLOW_PRIVATE,
            allow_http=settings.HOLDFAST_WEBHOOK_ALLOW_HTTP,
        )
        status_code = answer.status
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {answer.body[:500].decode(errors='replace')}"
    except fetch.FetchError as refused:
        error = str(refused)
    took = int((time.monotonic() - started) * 1000)
    with contextlib.suppress(DatabaseError), transaction.atomic():
        WebhookAttempt.objects.create(
            delivery_id=delivery_id, at=stamp, status_code=status_code, error=error[:2000], duration_ms=took
        )
        mine = WebhookDelivery.objects.filter(pk=delivery_id, claimed_at=stamp)
        if not error:
            mine.update(
                status=Status.DELIVERED, delivered_at=timezone.now(), last_status_code=status_code, last_error=""
            )
        elif status_code == 410:  # Gone: the partner says this address is no more
            mine.update(status=Status.FAILED, last_status_code=status_code, last_error=error[:2000])
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False,
                disabled_reason=f"Answered 410 Gone on {timezone.now():%Y-%m-%d %H:%M} UTC",
            )
        else:
            gave_up = now + backoff(delivery.attempts) > delivery.give_up_at
            mine.update(
                status=Status.FAILED if gave_up else Status.PENDING,
                next_attempt_at=now + backoff(delivery.attempts),
                last_status_code=status_code,
                last_error=error[:2000],
            )
    if error:
        logger.warning("Webhook delivery %s failed (attempt %s): %s", delivery_id, delivery.attempts, error[:200])
        return False
    _dispatch_next(delivery)
    return True


def retry_window() -> timedelta:
    return timedelta(hours=settings.HOLDFAST_WEBHOOK_RETRY_HOURS)


def _dispatch_next(delivery: WebhookDelivery) -> None:
    """The next event of the same booking to the same endpoint waited for this one: send it now."""
    if delivery.reservation_id is None:
        return
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            reservation_id=delivery.reservation_id,
            pk__gt=delivery.pk,
            status=Status.PENDING,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        dispatch(following)


def deliver_due(*, now: datetime | None = None) -> int:
    """The sweep: deliver every delivery that is due, oldest first (so each booking's go in order)."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(_claimable(now), endpoint__is_active=True).order_by("pk")
    return sum(deliver(pk, now=now) for pk in due.values_list("pk", flat=True)[:SWEEP_BATCH])


def resend(deliveries, *, actor) -> int:
    """`actor` asked to send these again (delivered or failed ones too), each as it was, same event id,
    so a partner that had it already can tell; retried for another day. Only the deliveries of venues
    the actor manages. How many were queued."""
    allowed = powers.venue_ids(actor, Power.MANAGE_VENUE)
    if allowed is not None:
        deliveries = deliveries.filter(endpoint__venue__in=allowed)
    ids = sorted(deliveries.values_list("pk", flat=True))
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=Status.PENDING, next_attempt_at=now, claimed_at=None, give_up_at=now + retry_window()
    )
    transaction.on_commit(lambda: [dispatch(pk) for pk in ids])
    return len(ids)


GUEST_FIELDS = {"guest": {"name": "", "email": "", "phone": ""}, "notes": ""}


def forget_guest(reservation_ids: list[int]) -> int:
    """A guest deleted their account: the events about their bookings, sent or still to go, no longer
    carry who they were (name, e-mail, phone, notes); a partner still matches them by the reference.
    How many deliveries were rewritten."""
    deliveries = list(WebhookDelivery.objects.filter(reservation_id__in=reservation_ids).only("pk", "payload"))
    for delivery in deliveries:
        found = delivery.payload.get("data", {}).get("object", {})
        for booking in (found, found.get("reservation")):
            if isinstance(booking, dict) and booking.get("object") == "reservation":
                booking.update(GUEST_FIELDS)
    WebhookDelivery.objects.bulk_update(deliveries, ["payload"])
    return len(deliveries)


def forget_old_deliveries(*, now: datetime | None = None) -> int:
    """Deliveries delivered or given up on more than HOLDFAST_WEBHOOK_KEEP_DAYS ago go, with their
    attempts (the booking's history stays). How many."""
    now = now or timezone.now()
    old = WebhookDelivery.objects.filter(
        status__in=[Status.DELIVERED, Status.FAILED],
        created_at__lt=now - timedelta(days=settings.HOLDFAST_WEBHOOK_KEEP_DAYS),
    )
    _, deleted = old.delete()  # their attempts with them
    return deleted.get(WebhookDelivery._meta.label, 0)
