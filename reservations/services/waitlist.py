"""The waitlist: a guest asks to be told when a full time frees up, and the first fitting guest in
line is offered the place — a hold for the venue's offer window, made in the same transaction as
the change that freed it.

Race-free by construction: the waiting entries of a venue's day are taken in order of joining under
row locks (FOR UPDATE SKIP LOCKED), so two freeings at once work through different guests; and an
offer is an ordinary hold, so the place it takes is claimed under the same locks and constraint as
any booking: it can never be offered twice. One open wish per guest and date (a unique constraint)
means one guest never holds two offers for the same wish.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from core.formats import DATE_WITH_DAY
from core.replica import pin_to_primary
from reservations import notifications, webhooks
from reservations.exceptions import BookingError, NotAllowed, PolicyViolation
from reservations.models import OutgoingMessage, Reservation, WaitlistEntry
from reservations.periods import local_datetime, stay_period
from reservations.services import rules, text_messages
from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power

Status = WaitlistEntry.Status
Kind = OutgoingMessage.Kind


def waitlist_join(
    *,
    guest,
    venue: Venue,
    day: date,
    earliest: time,
    latest: time,
    party_size: int,
    category: str = "",
    space: Space | None = None,
    nights: int = 1,
    by_sms: bool = False,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put `guest` in line for `day` at `venue`, for a start between `earliest` and `latest`. With
    `by_sms`, an offer is texted to the guest's phone too (they need one)."""
    now = now or timezone.now()
    if not venue.is_active:
        raise PolicyViolation(_("%(venue)s is not taking bookings.") % {"venue": venue.name}, field="venue")
    if not venue.waitlist:
        raise PolicyViolation(
            _("%(venue)s has no waitlist; please try another time.") % {"venue": venue.name}, field="venue"
        )
    if party_size < 1:
        raise PolicyViolation(_("The party needs at least one guest."), field="party_size")
    if venue.uses_nights and not 1 <= nights <= rules.MAX_NIGHTS:
        raise PolicyViolation(_("A stay lasts 1 to %(most)s nights.") % {"most": rules.MAX_NIGHTS}, field="nights")
    if latest < earliest:
        raise PolicyViolation(_("The latest start must not be before the earliest."), field="latest")
    if space is not None and space.venue_id != venue.pk:
        raise PolicyViolation(
            _("%(space)s is not one of %(venue)s's.") % {"space": space.name, "venue": venue.name}, field="space"
        )
    if by_sms:
        text_messages.check_profile_phone(guest.phone)
    last_start = local_datetime(venue, day, latest)
    if last_start <= now:
        raise PolicyViolation(_("That time has already passed."), field="day")
    rules.check_window(
        venue, max(local_datetime(venue, day, earliest), now + timedelta(minutes=venue.min_lead_minutes)), now=now
    )
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                guest=guest,
                venue=venue,
                space=space,
                category=category,
                day=day,
                earliest=earliest,
                latest=latest,
                party_size=party_size,
                nights=nights,
                by_sms=by_sms,
            )
            pin_to_primary(guest.pk)  # the guest's next reads see the wish (core/replica.py)
            notifications.enqueue_about_wish(
                entry, Kind.WAITLIST_JOINED, key=f"waitlist_joined:{entry.pk}", context={"place": place_in_line(entry)}
            )
            return entry
    except IntegrityError:
        raise PolicyViolation(
            _("You are on %(venue)s's waitlist for %(day)s already; leave it to ask for another time.")
            % {"venue": venue.name, "day": date_format(day, DATE_WITH_DAY)},
            field="day",
        ) from None


def waitlist_leave(*, entry: WaitlistEntry, actor, now: datetime | None = None) -> WaitlistEntry:
    """The guest (or the venue's staff) takes the wish off the line; an offer it holds is released,
    and goes to the next guest. Leaving twice changes nothing."""
    from reservations.services.lifecycle import reservation_cancel

    now = now or timezone.now()
    if actor is None or (actor.pk != entry.guest_id and not powers.may(actor, Power.CHANGE_BOOKINGS, entry.venue_id)):
        raise NotAllowed(_("Waitlist entry not found."))
    with transaction.atomic():
        current = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("offer").get(pk=entry.pk)
        if current.status not in WaitlistEntry.OPEN_STATUSES:
            return current
        WaitlistEntry.objects.filter(pk=current.pk).update(status=Status.LEFT)
        pin_to_primary(current.guest_id)
        current.status = Status.LEFT
        if current.offer is not None and current.offer.status == Reservation.Status.HELD:
            reservation_cancel(reservation=current.offer, actor=current.guest, now=now)  # frees it for the next
        return current


def place_in_line(entry: WaitlistEntry) -> int:
    """1 for the first guest waiting for that date at the venue."""
    ahead = WaitlistEntry.objects.filter(
        venue_id=entry.venue_id, day=entry.day, status=Status.WAITING, created_at__lt=entry.created_at
    ).count()
    return ahead + 1


def starts_to_try(entry: WaitlistEntry) -> list[datetime]:
    """The start times the wish would take, in order: a session's, or the venue's slot grid within
    the window (in absolute time, so a DST day has its real starts)."""
    venue = entry.venue
    if entry.space is not None and entry.space.sold_by_seat:
        return [
            local_datetime(venue, entry.day, session.starts_at)
            for session in entry.space.sessions.all()
            if session.runs_on(entry.day) and entry.earliest <= session.starts_at <= entry.latest
        ]
    if venue.uses_nights:
        return [local_datetime(venue, entry.day, venue.check_in_time)]
    start = local_datetime(venue, entry.day, entry.earliest).astimezone(UTC)
    end = local_datetime(venue, entry.day, entry.latest).astimezone(UTC)
    step = timedelta(minutes=venue.slot_interval_minutes)
    starts = []
    while start <= end:
        starts.append(start.astimezone(venue.zone))
        start += step
    return starts


def offer_freed(*, venue: Venue, day: date, now: datetime | None = None) -> list[WaitlistEntry]:
    """Offer what is free on `day` at `venue` to its waitlist, first come first served, skipping
    wishes that do not fit; call it in the transaction of the change that freed a place. Returns the
    entries offered a place."""
    now = now or timezone.now()
    waiting = (
        WaitlistEntry.objects.filter(venue=venue, day=day, status=Status.WAITING)
        .select_related("guest", "venue", "space")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("created_at", "pk")
    )
    return [entry for entry in waiting if _offer(entry, now)]


def offer_after(reservation: Reservation, *, now: datetime) -> None:
    """`reservation` let its place go (cancelled, expired, a no-show, moved): offer its day's freed
    capacity to the waitlist, in the same transaction."""
    venue = reservation.space.venue
    offer_freed(venue=venue, day=reservation.starts_at.astimezone(venue.zone).date(), now=now)


def _offer(entry: WaitlistEntry, now: datetime) -> bool:
    """Offer the (locked, waiting) `entry` the first of its starts that is free: a hold for the venue's
    offer window, e-mailed to the guest. False, and nothing changed, when none is."""
    from reservations.services.lifecycle import reservation_hold

    venue = entry.venue
    for starts_at in starts_to_try(entry):
        if starts_at <= now:
            continue
        place = {"space": entry.space} if entry.space is not None else {"venue": venue, "category": entry.category}
        ends_at = stay_period(venue, entry.day, entry.nights)[1] if venue.uses_nights else None
        try:
            with transaction.atomic():  # a refused attempt leaves nothing behind
                hold = reservation_hold(
                    guest=entry.guest,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    party_size=entry.party_size,
                    now=now,
                    **place,
                )
        except BookingError:
            continue
        until = now + timedelta(minutes=venue.waitlist_offer_minutes)
        # The offer is texted too where the wish asked for it (reservations/sms.py reads the hold's choice).
        Reservation.objects.filter(pk=hold.pk).update(hold_expires_at=until, by_sms=entry.by_sms)
        hold.hold_expires_at, hold.by_sms = until, entry.by_sms
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=Status.OFFERED, offer=hold, offered_at=now)
        webhooks.emit(
            webhooks.Event.WAITLIST_OFFERED,
            reservation=hold,
            data=lambda hold=hold, entry=entry: {
                **webhooks.reservation_data(hold),
                "waitlist_entry": {
                    "id": entry.pk,
                    "joined_at": entry.created_at.isoformat(),
                    "offered_at": now.isoformat(),
                },
            },
            now=now,
        )
        notifications.enqueue(
            hold, Kind.WAITLIST_OFFER, key=f"waitlist_offer:{hold.pk}", context={"until": until.isoformat()}
        )
        entry.status, entry.offer, entry.offered_at = Status.OFFERED, hold, now
        return True
    return False


def waitlist_offer_now(*, entry: WaitlistEntry, actor, now: datetime | None = None) -> WaitlistEntry:
    """The venue's staff offer a waiting guest a place by hand, now, out of turn (a host who sees a
    table is free, or who wants a regular in first): the first of the wish's starts that is free, held
    for the venue's offer window and e-mailed like any offer. Returns the entry, offered."""
    now = now or timezone.now()
    if actor is None or not powers.may(actor, Power.CHANGE_BOOKINGS, entry.venue_id):
        raise NotAllowed(_("Only the venue's staff may offer a place out of turn."))
    with transaction.atomic():
        # Locked: an offer_freed running now skips it (SKIP LOCKED) rather than offering it twice.
        current = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("guest", "venue", "space")
            .get(pk=entry.pk)
        )
        if current.status != Status.WAITING:
            raise PolicyViolation(
                _("This wish is no longer waiting: %(status)s.") % {"status": current.get_status_display().lower()}
            )
        if not _offer(current, now):
            raise PolicyViolation(_("Nothing that fits this wish is free now."))
        return current


def offer_words(entry: WaitlistEntry) -> str:
    """'QXYC-3D48-E59A, Table 1 at 19:00, held until 18:45': what an entry was offered, in the venue's time."""
    offer, zone = entry.offer, entry.venue.zone
    words = {
        "reference": offer.reference,
        "spaces": offer.spaces_words,
        "time": f"{offer.starts_at.astimezone(zone):%H:%M}",
    }
    if offer.status == Reservation.Status.HELD and offer.hold_expires_at:
        words["until"] = f"{offer.hold_expires_at.astimezone(zone):%H:%M}"
        return _("%(reference)s, %(spaces)s at %(time)s, held until %(until)s") % words
    return _("%(reference)s, %(spaces)s at %(time)s") % words
