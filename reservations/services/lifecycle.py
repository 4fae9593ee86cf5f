"""A reservation's life: hold, confirm (or pay), modify, cancel, expire, no-show.

Views, the API, admin actions, tasks and commands all call these functions. Each runs in one
transaction and either succeeds or raises a BookingError having changed nothing.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import phones
from core.retry import retry_on_conflict
from reservations import capacity, hooks, notifications, webhooks
from reservations.capacity import Seating, Setup
from reservations.exceptions import HoldExpired, NotAllowed, PolicyViolation, SlotUnavailable
from reservations.models import OutgoingMessage, Reservation, ReservationEvent
from reservations.periods import format_local, stay_period
from reservations.pricing import amount_due, booking_price, first_night_price
from reservations.services import allocation, rules, text_messages, transitions, waitlist
from reservations.services.repricing import reprice
from reservations.sms import textable
from reservations.wording import space_noun, summary
from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power

Status = Reservation.Status
Event = ReservationEvent.Kind
Message = OutgoingMessage.Kind


def _as_read(reservation: Reservation) -> Reservation:
    """A row just written, its money as the database keeps it (2 places: "0.00", not "0"), so the
    instance answers as the row read back would."""
    for field in ("price", "amount_due"):
        places = Reservation._meta.get_field(field).decimal_places
        setattr(reservation, field, Decimal(getattr(reservation, field)).quantize(Decimal(1).scaleb(-places)))
    return reservation


def _reload(reservation: Reservation) -> Reservation:
    """The row as written, with its space and venue (callers render them; refresh_from_db drops them)."""
    return Reservation.objects.select_related("space__venue").get(pk=reservation.pk)


def _as_it_is(reservation: Reservation) -> Reservation:
    """The booking as it is now, its claims read at once: what a change's history compares with."""
    return Reservation.objects.select_related("space__venue").prefetch_related("claims__space").get(pk=reservation.pk)


def _lock(reservation: Reservation) -> Reservation:
    """Lock the booking's row. FOR NO KEY UPDATE: rows that only point at it (its history, payments,
    refunds) can still be written meanwhile. Locks are taken in one order everywhere (docs/architecture.md):
    the guest's row, the reservation, its payments, the space."""
    return Reservation.objects.select_for_update(no_key=True).select_related("space__venue").get(pk=reservation.pk)


# ---------------------------------------------------------------------------------------------
# Creating


@retry_on_conflict
def reservation_hold(
    *,
    guest,
    starts_at: datetime,
    ends_at: datetime | None = None,
    party_size: int,
    space: Space | None = None,
    venue: Venue | None = None,
    category: str = "",
    notes: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    by_sms: bool = False,
    actor=None,
    now: datetime | None = None,
    idempotency_key: str = "",
    setup: Setup | None = None,
) -> Reservation:
    """Hold a space for `guest` for the venue's hold length, or raise SlotUnavailable/PolicyViolation.

    With `idempotency_key` (a client's retry of a request whose answer it never got, say after a
    failover), the booking an earlier request with that key made comes back as it is now, with
    `replayed` set, instead of a second booking or "no longer free".

    Give `space` where the guest picks one; give `venue` (and optionally `category`) where the
    venue assigns: the smallest free space that fits is taken, and when a concurrent booking takes
    it first the next one is tried, so the guest hears "no longer free" only when none is left.

    `by_sms`: the guest asks for text messages about it too (needs a phone: `contact_phone` or theirs).
    `setup`: the venue's rules (rules.setup), when the caller has read them for this request already.
    """
    return _hold(
        book=False,
        guest=guest,
        starts_at=starts_at,
        ends_at=ends_at,
        party_size=party_size,
        space=space,
        venue=venue,
        category=category,
        notes=notes,
        contact_name=contact_name,
        contact_phone=contact_phone,
        by_sms=by_sms,
        actor=actor,
        now=now,
        idempotency_key=idempotency_key,
        setup=setup,
    )


def _hold(
    *,
    book: bool,
    guest,
    starts_at: datetime,
    ends_at: datetime | None = None,
    party_size: int,
    space: Space | None = None,
    venue: Venue | None = None,
    category: str = "",
    notes: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    by_sms: bool = False,
    actor=None,
    now: datetime | None = None,
    idempotency_key: str = "",
    setup: Setup | None = None,
) -> Reservation:
    """reservation_hold; with `book`, reservation_book: a booking with nothing to pay up front is
    written confirmed at once (its history and its partners' events those of a hold confirmed at
    once); one with something due is held, and reservation_book confirms it as before."""
    asked_now, now = now, now or timezone.now()
    actor = actor or guest
    if by_sms:
        text_messages.check_booking_phone(contact_phone.strip() or guest.phone)
    if space is None and venue is None:
        raise PolicyViolation(_("Choose a venue or a space."), field="space")
    venue = space.venue if space is not None else venue
    if not venue.is_active:
        raise PolicyViolation(_("%(venue)s is not taking bookings.") % {"venue": venue.name}, field="venue")
    # Staff of the venue book for guests (by phone, at the door) and may give them any fitting space.
    for_someone_else = actor.pk != guest.pk
    staff = powers.may(actor, Power.BOOK_FOR_GUESTS, venue) if for_someone_else else False
    if for_someone_else and not staff:
        raise NotAllowed(_("Only the venue's staff can book for someone else."))
    if space is not None and not for_someone_else:
        staff = powers.can(actor, Power.BOOK_FOR_GUESTS, venue)
    rules.check_space_choice(venue, space, staff=staff)
    by_seat = space is not None and space.sold_by_seat
    if space is not None and not by_seat and not idempotency_key and allocation.taken_at(space, starts_at, now=now):
        # Plainly gone (a booking committed a moment ago): said at once, before the rules are read.
        raise SlotUnavailable(rules.unavailable_message(venue, space, starts_at, party_size))
    setup = None if by_seat else (setup if setup is not None and setup.venue.pk == venue.pk else rules.setup(venue))
    if by_seat:
        starts_at = starts_at.astimezone(UTC)
    else:
        starts_at, ends_at = rules.period_for(venue, starts_at, ends_at, party_size=party_size, rules=setup)
    if idempotency_key and (earlier := _made_with_key(guest, idempotency_key, starts_at, party_size)):
        return earlier  # before the rules: the retry may come after the lead time has passed
    if by_seat:  # a class or tour: the session sets the times, its seats the party's limit
        session, ends_at = rules.check_session(space, starts_at, party_size, now=now)
        candidates = [Seating((space,))]
    else:
        rules.check_period(venue, starts_at, ends_at, now=now, party_size=party_size, rules=setup)
        candidates = rules.candidates(
            venue, space=space, category=category, party_size=party_size, rules=setup, staff=staff or for_someone_else
        )
        candidates = rules.check_stay_limits(setup, candidates, starts_at, ends_at)
    rates = setup.rates if setup is not None else []

    hold_until = now + timedelta(minutes=venue.hold_minutes)

    def new_hold(taken: Seating):
        price = booking_price(taken, starts_at, ends_at, party_size, rates=rates)
        first_night = _first_night(venue, taken, starts_at, ends_at, rates)
        due = amount_due(venue, space=taken.space, price=price, party_size=party_size, first_night=first_night)
        # Booked with nothing to pay up front: confirmed in this one write, never a hold to confirm.
        confirmed = book and not due
        reservation = Reservation.objects.create(
            guest=guest,
            space=taken.space,
            starts_at=starts_at,
            ends_at=ends_at,
            party_size=party_size,
            requested_category=category,
            status=Status.CONFIRMED if confirmed else Status.HELD,
            hold_expires_at=None if confirmed else hold_until,
            notes=notes,
            contact_name=contact_name.strip(),
            contact_phone=contact_phone.strip(),
            by_sms=by_sms,
            price=price,
            amount_due=due,
            currency=venue.currency,
            idempotency_key=idempotency_key,
        )
        _as_read(reservation)
        return reservation

    def made(reservation: Reservation, space_name: str) -> Reservation:
        """The new booking's history: "held", and "confirmed" with it when it was booked at once."""
        held = {"space": space_name}
        if reservation.status != Status.CONFIRMED:
            transitions.record(reservation, Event.HELD, actor, **held)
            if book:  # something to pay up front: confirmed as reservation_confirm does, in this transaction
                return reservation_confirm(reservation=reservation, actor=actor, now=asked_now)
            return reservation
        given = transitions.given(reservation)
        as_held = {"status": Status.HELD, "hold_expires_at": hold_until.isoformat()}
        transitions.record_all(
            reservation,
            [
                # What partners heard of a new booking before it was confirmed: a hold.
                (Event.HELD, held, lambda: {**webhooks.reservation_data(reservation), **as_held}),
                (Event.CONFIRMED, {"given": given} if given else {}, None),
            ],
            actor,
        )
        notifications.enqueue(reservation, Message.CONFIRMED, key=f"confirmed:{reservation.pk}")
        return reservation

    with transaction.atomic():
        # One guest's holds are counted under a lock on their row, so the cap cannot be raced.
        get_user_model().objects.select_for_update().filter(pk=guest.pk).exists()
        held = Reservation.objects.filter(guest=guest, status=Status.HELD, hold_expires_at__gt=now).count()
        # Under the guest's lock: a concurrent request with the same key has committed, or waits for us.
        if idempotency_key and (earlier := _made_with_key(guest, idempotency_key, starts_at, party_size)):
            return earlier
        if held >= settings.HOLDFAST_MAX_ACTIVE_HOLDS:
            raise PolicyViolation(
                ngettext(
                    "You are already holding %(count)s booking. Confirm or release one before holding another.",
                    "You are already holding %(count)s bookings. Confirm or release one before holding another.",
                    held,
                )
                % {"count": held},
            )
        candidates = rules.check_closures(venue, candidates, starts_at, ends_at)
        if by_seat:
            reservation = allocation.take_seats(
                space, session.seats, starts_at, party_size, lambda: new_hold(candidates[0]), now=now
            )
            if reservation is None:
                left = session.seats - allocation.seats_taken(space, starts_at, now=now)
                raise SlotUnavailable(rules.sold_out_message(space, starts_at, left))
            return made(reservation, space.name)
        allocation.expire_stale_holds_in_the_way(venue, candidates, starts_at, ends_at, now=now)
        pacing = allocation.Pacing(setup, starts_at, now=now).lock()
        paced = None
        for candidate in allocation.without_overlap(venue, candidates, starts_at, ends_at, now=now):
            if refusal := pacing.refusal(candidate.area, party_size):
                paced = paced or refusal
                continue
            reservation = allocation.claim(
                candidate,
                starts_at,
                ends_at,
                lambda candidate=candidate: new_hold(candidate),
                venue=venue,
                remember_claims=book,
            )
            if reservation is None:
                continue  # taken by a concurrent booking a moment ago: try the next candidate
            return made(reservation, candidate.name)
    if paced is not None:
        raise SlotUnavailable(rules.paced_message(venue, paced, starts_at))
    raise SlotUnavailable(rules.unavailable_message(venue, space, starts_at, party_size))


def _first_night(venue: Venue, taken, starts_at: datetime, ends_at: datetime, rates) -> Decimal | None:
    """The first night at its rate, where the venue asks for it up front (PaymentMode.FIRST_NIGHT)."""
    if venue.payment_mode != Venue.PaymentMode.FIRST_NIGHT:
        return None
    return first_night_price(taken, starts_at, ends_at, rates=rates)


def _made_with_key(guest, key: str, starts_at: datetime, party_size: int) -> Reservation | None:
    """The booking an earlier request of `guest` with Idempotency-Key `key` made, marked `replayed`."""
    earlier = Reservation.objects.select_related("space__venue").filter(guest=guest, idempotency_key=key).first()
    if earlier is None:
        return None
    if (earlier.starts_at, earlier.party_size) != (starts_at, party_size):
        raise PolicyViolation(
            _("This Idempotency-Key was used for another booking; send a new key with a new booking."),
            field="idempotency_key",
        )
    earlier.replayed = True
    return earlier


@retry_on_conflict
def reservation_book(**kwargs) -> Reservation:
    """Hold and confirm in one step (a booking that needs no payment). Same arguments as hold.

    Nothing to pay up front (the usual case): one transaction writes the booking confirmed, its claims,
    its history ("held" and "confirmed", in one INSERT), its partners' events and its confirmation
    e-mail. Something due: held, then confirmed as reservation_confirm does (staff waive it; a guest
    is told it is confirmed once paid), in the same transaction. A retry with the same
    `idempotency_key` gets the booking back as it is now (`replayed`)."""
    return _hold(**kwargs, book=True)


@retry_on_conflict
def reservation_confirm(
    *,
    reservation: Reservation,
    actor=None,
    now: datetime | None = None,
    notes: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    by_sms: bool | None = None,
) -> Reservation:
    """Turn a hold into a confirmed booking. Confirming a confirmed booking changes nothing.

    `notes`, `contact_name`, `contact_phone` (None: as they are): what the guest gives as they confirm
    (the review page), written with the confirmation; its one "confirmed" event says what was given.
    Given to a hold that has run out, they are kept on it (held again, it has them). `by_sms` too: the
    guest's choice of text messages about the booking (None: as it is)."""
    now = now or timezone.now()
    given = _given(notes=notes, contact_name=contact_name, contact_phone=contact_phone, by_sms=by_sms)
    with transaction.atomic():
        guest = None
        if given:
            # The guest's row first: the lock order.
            given, guest = _booking_details(reservation, actor, given, with_guest=True)
        locked = _lock(reservation)
        staff = rules.check_actor(locked, actor, Power.BOOK_FOR_GUESTS) if actor is not None else False
        if locked.status == Status.CONFIRMED:
            return locked
        if locked.status != Status.HELD:
            raise PolicyViolation(
                _("This reservation is %(status)s and cannot be confirmed.")
                % {"status": locked.get_status_display().lower()}
            )
        if guest is not None:
            locked.guest = guest  # read under its lock a moment ago: whom the confirmation goes to
        for name, value in given.items():  # written with the confirmation's UPDATE (or below, if it ran out)
            setattr(locked, name, value)
        waived = {}
        if locked.amount_due and not hooks.is_paid.any(locked):
            if not staff:
                raise PolicyViolation(_("This booking is confirmed once the payment is made."))
            waived = {"payment_waived": str(locked.amount_due)}  # staff book it to be paid at the venue
            Reservation.objects.filter(pk=locked.pk).update(amount_due=0)
            locked.amount_due = Decimal("0.00")
        if locked.hold_expires_at and locked.hold_expires_at <= now:
            if given:
                _write_details(locked, given, now=now)  # kept on it: held again, it has them
            transitions.expire(locked, now=now)
            waitlist.offer_after(locked, now=now)
            expired = locked
        else:
            # The row as written: the instance has every value the UPDATE set (and its space and venue).
            return transitions.confirm(locked, actor=actor, now=now, details=waived, fields=given)
    raise HoldExpired(hold_ran_out_words(expired))


def hold_ran_out_words(reservation: Reservation) -> str:
    """The words of a hold that ran out: "Your hold ran out at 19:10." (the page offers to hold it again)."""
    venue = reservation.space.venue
    return _("Your hold ran out at %(time)s.") % {
        "time": format_local(venue, reservation.hold_expires_at, with_date=False)
    }


@retry_on_conflict
def reservation_add_details(
    *,
    reservation: Reservation,
    actor,
    notes: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    by_sms: bool | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Write the notes and the name and phone for the booking on a hold before its payment page opens
    (the confirmation, when the payment arrives, says what was given). No history event: a hold is
    still being filled in. The same checks as reservation_confirm's."""
    now = now or timezone.now()
    given = _given(notes=notes, contact_name=contact_name, contact_phone=contact_phone, by_sms=by_sms)
    with transaction.atomic():
        if given:
            given = _booking_details(reservation, actor, given)
        locked = _lock(reservation)
        rules.check_actor(locked, actor, Power.BOOK_FOR_GUESTS)
        if locked.status != Status.HELD:
            raise PolicyViolation(
                _("This reservation is %(status)s and cannot be changed.")
                % {"status": locked.get_status_display().lower()}
            )
        if given:
            _write_details(locked, given, now=now)
        return _reload(locked)


def _given(**values) -> dict:
    return {name: value for name, value in values.items() if value is not None}


MAX_NOTES = Reservation._meta.get_field("notes").max_length
MAX_CONTACT_NAME = Reservation._meta.get_field("contact_name").max_length


def _booking_details(reservation: Reservation, actor, given: dict, *, with_guest: bool = False):
    """The notes, name and phone given for a booking, checked: notes of at most MAX_NOTES characters
    (never cut), a phone read with accounts.phones (E.164). A guest booking for themselves whose
    profile has no name or phone yet gets the ones given (asked once; a friend's phone, given with the
    friend's name, stays on the booking); a name or phone the same as the profile's is stored as ""
    (Reservation.who and .phone fall back to the profile's). `with_guest`: (the values, the guest's
    row as read under its lock, or None for a booking without a guest)."""
    checked = dict(given)
    if "notes" in checked:
        checked["notes"] = checked["notes"].strip()
        if len(checked["notes"]) > MAX_NOTES:
            raise PolicyViolation(
                _("Notes can be up to %(most)s characters; these are %(count)s. Please shorten them.")
                % {"most": f"{MAX_NOTES:,}", "count": f"{len(checked['notes']):,}"},
                field="notes",
            )
    if "contact_name" in checked:
        checked["contact_name"] = " ".join(checked["contact_name"].split())
        if len(checked["contact_name"]) > MAX_CONTACT_NAME:
            raise PolicyViolation(
                _("A name can be up to %(most)s characters.") % {"most": MAX_CONTACT_NAME}, field="contact_name"
            )
    if "contact_phone" in checked:
        try:
            checked["contact_phone"] = phones.normalise(checked["contact_phone"])
        except ValidationError as error:
            raise PolicyViolation(" ".join(error.messages), field="contact_phone") from None
    own_phone = checked.get("contact_phone", reservation.contact_phone)
    if reservation.guest_id is None:
        if checked.get("by_sms"):
            text_messages.check_booking_phone(own_phone)
        return (checked, None) if with_guest else checked
    User = get_user_model()
    guest = User.objects.select_for_update().get(pk=reservation.guest_id)
    name = checked.get("contact_name")
    for_themselves = not name or not guest.name or name == guest.name  # not booking for someone else
    if actor is not None and actor.pk == guest.pk and for_themselves:
        missing = {
            field: checked[f"contact_{field}"]
            for field in ("name", "phone")
            if checked.get(f"contact_{field}") and not getattr(guest, field)
        }
        if missing:
            User.objects.filter(pk=guest.pk).update(**missing)
            for field, value in missing.items():
                setattr(guest, field, value)
                if actor is not guest:
                    setattr(actor, field, value)  # the request's user shows the profile as it is now
    if checked.get("by_sms"):  # texts go to the booking's phone: its own, else the guest's (as updated above)
        text_messages.check_booking_phone(own_phone or guest.phone)
    for field in ("name", "phone"):
        if checked.get(f"contact_{field}") and checked[f"contact_{field}"] == getattr(guest, field):
            checked[f"contact_{field}"] = ""
    return (checked, guest) if with_guest else checked


def _write_details(locked: Reservation, given: dict, *, now: datetime) -> None:
    """Write the checked `given` values on the locked row and the instance."""
    Reservation.objects.filter(pk=locked.pk).update(**given, updated_at=now)
    for name, value in given.items():
        setattr(locked, name, value)


def hold_ran_out(reservation: Reservation, *, now: datetime | None = None) -> bool:
    """Has this hold run out (expired, or past its end and not yet swept)?"""
    now = now or timezone.now()
    if reservation.status == Status.EXPIRED:
        return True
    expires_at = reservation.hold_expires_at
    return reservation.status == Status.HELD and expires_at is not None and expires_at <= now


def reservation_hold_again(*, reservation: Reservation, guest, now: datetime | None = None) -> Reservation:
    """Hold again what a hold that ran out held: the same time, party, notes and name and phone, the
    same space where the guest chose it (or a session's seats), else the same category from the
    venue. Through reservation_hold: its rules, its limits, its refusals ("no longer free")."""
    now = now or timezone.now()
    current = Reservation.objects.select_related("space__venue").get(pk=reservation.pk)
    if current.guest_id != guest.pk:
        raise NotAllowed(_("No such reservation."))
    if not hold_ran_out(current, now=now):
        raise PolicyViolation(_("Only a hold that ran out can be held again."))
    venue = current.space.venue
    chosen = not venue.assigns_spaces or current.space.sold_by_seat
    return reservation_hold(
        guest=guest,
        starts_at=current.starts_at,
        ends_at=current.ends_at,
        party_size=current.party_size,
        space=current.space if chosen else None,
        venue=None if chosen else venue,
        category="" if chosen else current.requested_category,
        notes=current.notes,
        contact_name=current.contact_name,
        contact_phone=current.contact_phone,
        # The texts it asked for, while there is still a phone to text (never a refusal of its own).
        by_sms=current.by_sms and bool(textable(current.contact_phone or guest.phone)),
        now=now,
    )


def hold_ceiling(reservation: Reservation) -> datetime:
    """The latest a hold may last, however often it is extended: the venue's hold length plus
    HOLDFAST_HOLD_CEILING_EXTRA_MINUTES (enough for one payment page) from when it was made."""
    minutes = reservation.space.venue.hold_minutes + settings.HOLDFAST_HOLD_CEILING_EXTRA_MINUTES
    return reservation.created_at + timedelta(minutes=minutes)


@retry_on_conflict
def reservation_extend_hold(*, reservation: Reservation, until: datetime, now: datetime | None = None) -> Reservation:
    """Keep a live hold at least until `until` (a payment page is open), but never past its ceiling."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status != Status.HELD or current.hold_expires_at <= now:
            raise HoldExpired(_("Your hold ran out."))
        until = min(until, hold_ceiling(current))
        if current.hold_expires_at < until:
            Reservation.objects.filter(pk=current.pk).update(hold_expires_at=until, updated_at=now)
            current.hold_expires_at = until
        return current


def _seating_of(current: Reservation) -> Seating:
    """The spaces a booking takes (its claims; combined tables), its own space first."""
    return Seating(tuple(current.all_spaces))


def _fits(seating: Seating, party_size: int, setup) -> bool:
    """Does the booking's seating (its table, or its combination as the venue defines it now) still
    seat the party?"""
    if len(seating.spaces) == 1:
        return seating.space.fits(party_size)
    names = {space.pk for space in seating.spaces}
    return any(
        {space.pk for space in combination.members} == names and combination.fits(party_size)
        for combination in setup.combinations
    )


def _accepted_now(current: Reservation, *, now: datetime) -> bool:
    """Would this booking be taken now? Its start has not passed, no closure falls in it and the
    pacing has room (the spaces being free is asked under their locks, by the claim)."""
    if current.starts_at <= now:
        return False
    venue = current.space.venue
    try:
        rules.check_closures(venue, [_seating_of(current)], current.starts_at, current.ends_at)
    except PolicyViolation:
        return False
    if current.space.sold_by_seat:
        return True  # its seats are counted under the space's lock, by take_seats
    pacing = allocation.Pacing(rules.setup(venue), current.starts_at, now=now, exclude=current).lock()
    return pacing.refusal(current.space.category, current.party_size) is None


@retry_on_conflict
def reservation_confirm_paid(*, reservation: Reservation, now: datetime | None = None) -> bool:
    """The guest has paid: confirm the booking. A payment that arrives after its hold lapsed confirms
    it only when the booking would be accepted now: its start has not passed, no closure falls in it,
    and the space is free (stale holds in the way expire; checked under the space's lock, like any
    booking). False otherwise, or when the booking was cancelled meanwhile (the caller refunds and
    tells the guest). Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status in (Status.CONFIRMED, Status.COMPLETED, Status.NO_SHOW):
            return True
        if current.status not in (Status.HELD, Status.EXPIRED):
            return False  # cancelled before the payment arrived
        late = current.status == Status.EXPIRED or current.hold_expires_at <= now
        details = {"paid": True, **({"late_payment": True} if late else {})}

        def confirm():
            return transitions.confirm(current, actor=None, now=now, details=details)

        if not late:
            confirm()
            return True
        if _accepted_now(current, now=now) and current.space.sold_by_seat:
            session = rules.session_at(current.space, current.starts_at)
            seats = session.seats if session is not None else 0
            if allocation.take_seats(
                current.space, seats, current.starts_at, current.party_size, confirm, now=now, exclude=current
            ):
                return True
        elif _accepted_now(current, now=now):
            venue, seating = current.space.venue, _seating_of(current)
            allocation.expire_stale_holds_in_the_way(
                venue, [seating], current.starts_at, current.ends_at, now=now, exclude=current
            )
            claimed = allocation.claim(
                seating, current.starts_at, current.ends_at, confirm, venue=venue, exclude=current
            )
            if claimed is not None:
                return True
        if current.status == Status.HELD:
            transitions.expire(current, now=now)
        return False


@retry_on_conflict
def reservation_expire_hold(*, reservation: Reservation, now: datetime | None = None) -> Reservation:
    """End a hold now (its payment page expired). Does nothing to a booking that is not held."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(reservation)
        if current.status == Status.HELD:
            transitions.expire(current, now=now)
            waitlist.offer_after(current, now=now)
        return current


# ---------------------------------------------------------------------------------------------
# Changing


@retry_on_conflict
def reservation_modify(
    *,
    reservation: Reservation,
    actor,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    party_size: int | None = None,
    space: Space | None = None,
    category: str | None = None,
    notes: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Change the time, length, party size, space, category, notes or the name and phone for the
    booking, under the same rules as a new booking (a stay: its stay limits, closures and the claims'
    exclusion constraint); the price is that of the booking as changed.

    Where the venue assigns, the current space is kept if it still fits (and is of the `category`
    asked for), otherwise the best free one of that category is taken; `category` (a room type, an
    area; "" for any) changes what the booking asks for (`requested_category`), None keeps it: a
    stay's room type, a restaurant's area (terrace, dining room), with the same closures and pacing.
    Staff may move a booking to any free space. A change of the notes or the contact alone keeps the
    time, the spaces and the price: no availability can refuse it (the cut-off still applies).
    """
    now = now or timezone.now()
    given = _given(notes=notes, contact_name=contact_name, contact_phone=contact_phone)
    with transaction.atomic():
        if given:
            given = _booking_details(reservation, actor, given)  # the guest's row first: the lock order
        current = _lock(reservation)
        staff = rules.check_actor(current, actor, Power.CHANGE_BOOKINGS)
        venue = current.space.venue
        if not current.is_active:
            raise PolicyViolation(
                _("This reservation is %(status)s and cannot be changed.")
                % {"status": current.get_status_display().lower()}
            )
        if space is not None and space.pk != current.space_id:
            rules.check_space_choice(venue, space, staff=staff)
        if not staff:
            rules.check_cutoff(
                current, rules.CHANGES, rules.modification_deadline(current), venue.modification_cutoff_hours, now=now
            )
        if category is not None:
            category = _check_category(venue, current, category)
        notes = given.pop("notes", None)
        if current.space.sold_by_seat:
            return _modify_seats(
                current,
                actor=actor,
                staff=staff,
                starts_at=starts_at,
                party_size=party_size,
                space=space,
                notes=notes,
                contact=given,
                now=now,
            )
        new_start = starts_at.astimezone(UTC) if starts_at else current.starts_at
        new_party = party_size if party_size is not None else current.party_size
        setup = rules.setup(venue)
        turn = None if venue.uses_nights else capacity.turn_minutes(setup, new_party, new_start)
        if ends_at is None and turn is not None and (starts_at is not None or party_size is not None):
            ends_at = new_start + timedelta(minutes=turn)  # the turn time follows the party's size and shift
        elif ends_at is None and starts_at is None:
            ends_at = current.ends_at
        elif ends_at is None and venue.uses_nights:
            ends_at = stay_period(venue, new_start.astimezone(venue.zone).date(), current.nights)[1]
        elif ends_at is None:
            ends_at = new_start + (current.ends_at - current.starts_at)  # keep the booked length
        new_start, new_end = rules.period_for(venue, new_start, ends_at, party_size=new_party, rules=setup)
        new_notes = notes if notes is not None else current.notes
        time_changed = (new_start, new_end) != (current.starts_at, current.ends_at)
        if space is not None and space.pk != current.space_id and space.venue_id != venue.pk:
            raise PolicyViolation(_("A reservation can only move to a space of the same venue."), field="space")
        new_category = current.requested_category if category is None else category
        same_place = space is None or space.pk == current.space_id
        same_booking = (new_party, new_category) == (current.party_size, current.requested_category)
        if same_place and same_booking and not time_changed:  # only the notes or the contact: nothing moves
            was = _as_it_is(current)
            _write_details(current, {"notes": new_notes, **given}, now=now)
            by_staff = staff and actor.pk != current.guest_id
            return _changed(current, was, staff=staff, by_staff=by_staff, actor=actor, now=now)
        if time_changed:
            rules.check_period(venue, new_start, new_end, now=now, party_size=new_party, rules=setup)

        kept = _seating_of(current)
        if space is not None:
            candidates = rules.candidates(venue, space=space, category="", party_size=new_party, rules=setup)
        elif venue.assigns_spaces:
            others = rules.candidates(
                venue,
                space=None,
                category=new_category,
                party_size=new_party,
                rules=setup,
                staff=staff,
            )
            same_kind = not new_category or kept.area == new_category
            keep = [kept] if same_kind and _fits(kept, new_party, setup) else []
            candidates = keep + [other for other in others if other.name != kept.name]
        else:
            candidates = rules.candidates(venue, space=current.space, category="", party_size=new_party, rules=setup)
        candidates = _within_stay_limits(setup, candidates, kept, new_start, new_end, time_changed=time_changed)
        candidates = rules.check_closures(venue, candidates, new_start, new_end)
        allocation.expire_stale_holds_in_the_way(venue, candidates, new_start, new_end, now=now, exclude=current)
        pacing = allocation.Pacing(setup, new_start, now=now, exclude=current)
        pacing.lock()

        was = _as_it_is(current)
        by_staff = staff and actor.pk != current.guest_id
        paced = None
        for candidate in allocation.without_overlap(venue, candidates, new_start, new_end, now=now, exclude=current):
            if refusal := pacing.refusal(candidate.area, new_party):
                paced = paced or refusal
                continue
            moved = allocation.claim(
                candidate,
                new_start,
                new_end,
                lambda candidate=candidate, pk=current.pk: (
                    Reservation.objects.filter(pk=pk).update(
                        space=candidate.space,
                        starts_at=new_start,
                        ends_at=new_end,
                        party_size=new_party,
                        requested_category=new_category,
                        notes=new_notes,
                        **given,
                        price=booking_price(candidate, new_start, new_end, rates=setup.rates),
                        updated_at=now,
                    )
                    and None
                ),
                venue=venue,
                exclude=current,
            )
            if not moved:
                continue
            return _changed(current, was, staff=staff, by_staff=by_staff, actor=actor, now=now, rates=setup.rates)
    if paced is not None:
        raise SlotUnavailable(rules.paced_message(venue, paced, new_start))
    named = space or (None if venue.assigns_spaces else current.space)
    raise SlotUnavailable(rules.unavailable_message(venue, named, new_start, new_party))


def _changed(
    current: Reservation, was: Reservation, *, staff: bool, by_staff: bool, actor, now, rates=None
) -> Reservation:
    """After a change is written: money follows it, the history says what changed, the guest of a
    confirmed booking is told. `was` is the booking as it was before the change; `rates`: the
    venue's nightly rates, when read already."""
    before, summary_before = _snapshot(was), summary(was)
    current = _reload(current)
    money = reprice(
        current, moved_from=was.starts_at, staff=staff, by_staff=by_staff, actor=actor, now=now, rates=rates
    )
    after = _snapshot(current)
    moved = (was.starts_at, was.ends_at, was.space_id) != (current.starts_at, current.ends_at, current.space_id)
    if moved or current.party_size < was.party_size:
        waitlist.offer_after(was, now=now)  # what it let go goes to the waitlist
    if after != before:
        changed = {
            key: {"changed": True} if key in UNRECORDED_VALUES else {"before": before[key], "after": after[key]}
            for key in after
            if after[key] != before.get(key)
        }
        event = transitions.record(current, Event.MODIFIED, actor, changes=changed, **money)
        if current.status == Status.CONFIRMED:
            notifications.enqueue(
                current,
                Message.MODIFIED,
                key=f"modified:{event.pk}",
                context={"before": summary_before, "after": summary(current), "by_staff": by_staff},
            )
    return current


def _within_stay_limits(setup, candidates: list[Seating], kept: Seating, starts_at, ends_at, *, time_changed: bool):
    """The candidates a changed booking may move to under the venue's stay limits (rules.check_stay_limits):
    with new dates, all of them are held to the limits of its nights; with the same dates only another
    room type is (a change of notes or party alone is never refused by a limit set after booking)."""
    if time_changed:
        return rules.check_stay_limits(setup, candidates, starts_at, ends_at)
    other_types = [candidate for candidate in candidates if candidate.area != kept.area]
    if not other_types:
        return candidates
    try:
        allowed = rules.check_stay_limits(setup, other_types, starts_at, ends_at)
    except PolicyViolation:
        if len(other_types) == len(candidates):
            raise
        allowed = []
    return [candidate for candidate in candidates if candidate.area == kept.area or candidate in allowed]


def _check_category(venue: Venue, current: Reservation, category: str) -> str:
    """The category a booking may be changed to: one of the venue's (active) spaces', where the venue
    assigns them; where the guest picks a space they choose another space instead."""
    category = category.strip()
    if category == current.requested_category:
        return category
    if not venue.assigns_spaces or current.space.sold_by_seat:
        noun = space_noun(venue)
        raise PolicyViolation(
            _("At %(venue)s you choose the %(noun)s itself, not a type.") % {"venue": venue.name, "noun": noun},
            field="category",
        )
    if category and not venue.spaces.filter(is_active=True, category=category).exists():
        raise PolicyViolation(
            _("%(venue)s has no “%(category)s” to book.") % {"venue": venue.name, "category": category},
            field="category",
        )
    return category


def _modify_seats(
    current: Reservation, *, actor, staff, starts_at, party_size, space, notes, contact, now
) -> Reservation:
    """A seat booking changes its party or moves to another session of its space, under the seats'
    lock (allocation.take_seats), never beyond the session's seats."""
    seated = current.space
    if space is not None and space.pk != seated.pk:
        raise PolicyViolation(
            _("A booking of %(space)s stays in its sessions; cancel it to book another.") % {"space": seated.name}
        )
    new_start = starts_at.astimezone(UTC) if starts_at else current.starts_at
    new_party = party_size if party_size is not None else current.party_size
    session, new_end = rules.check_session(seated, new_start, new_party, now=now)
    was = _as_it_is(current)
    by_staff = staff and actor.pk != current.guest_id

    def write():
        Reservation.objects.filter(pk=current.pk).update(
            starts_at=new_start,
            ends_at=new_end,
            party_size=new_party,
            notes=notes if notes is not None else current.notes,
            **contact,
            price=booking_price(seated, new_start, new_end, new_party),
            updated_at=now,
        )

    if allocation.take_seats(seated, session.seats, new_start, new_party, write, now=now, exclude=current) is None:
        left = session.seats - allocation.seats_taken(seated, new_start, now=now, exclude=current)
        raise SlotUnavailable(rules.sold_out_message(seated, new_start, left))
    return _changed(current, was, staff=staff, by_staff=by_staff, actor=actor, now=now)


def reservation_modify_preview(**kwargs) -> dict:
    """What reservation_modify would do to the money, without doing it: the change is made and rolled
    back, so the answer is the service's own. {price, amount_due, refund, ...before} or a BookingError."""
    reservation = kwargs["reservation"]
    balance_before = sum(hooks.balance.call(reservation), Decimal("0"))
    with transaction.atomic():
        changed = reservation_modify(**kwargs)
        balance_after = sum(hooks.balance.call(changed), Decimal("0"))
        quote = {
            "price_before": reservation.price,
            "price": changed.price,
            "amount_due_before": reservation.amount_due,
            "amount_due": changed.amount_due,
            "refund": balance_before - balance_after,
            "currency": changed.currency,
        }
        transaction.set_rollback(True)
    return quote


def _snapshot(reservation: Reservation) -> dict:
    """What a change's history compares (reservations.wording.history_words says it)."""
    return {
        "space": reservation.spaces_words,
        "category": reservation.space.category,  # a room type, an area
        "starts_at": reservation.starts_at.isoformat(),
        "ends_at": reservation.ends_at.isoformat(),
        "party_size": reservation.party_size,
        "notes": reservation.notes,
        "contact_name": reservation.contact_name,
        "contact_phone": reservation.contact_phone,
    }


# Said to have changed, without their values: a name and phone stay on the booking, not in its history.
UNRECORDED_VALUES = ("contact_name", "contact_phone")


@retry_on_conflict
def reservation_cancel(
    *, reservation: Reservation, actor, reason: str = "", now: datetime | None = None
) -> Reservation:
    """Cancel. Guests may until the venue's cut-off; staff always, with a reason. Idempotent.

    Inside the transaction, after the status change and its event, the `cancelled` hook runs
    (payments refunds what the venue's policy gives; see reservations/hooks.py)."""
    now = now or timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        current = _lock(reservation)
        staff = rules.check_actor(current, actor, Power.CHANGE_BOOKINGS)
        if current.status == Status.CANCELLED:
            return current
        if not current.is_active:
            raise PolicyViolation(
                _("This reservation is %(status)s and cannot be cancelled.")
                % {"status": current.get_status_display().lower()}
            )
        venue = current.space.venue
        by_staff = staff and actor.pk != current.guest_id
        if by_staff and not reason:
            raise PolicyViolation(_("Give the guest a reason for the cancellation."), field="reason")
        if not staff:
            rules.check_cutoff(
                current,
                rules.CANCELLATION,
                rules.cancellation_deadline(current),
                venue.cancellation_cutoff_hours,
                now=now,
            )
        was_confirmed = current.status == Status.CONFIRMED
        transitions.transition(
            current,
            Status.CANCELLED,
            actor=actor,
            now=now,
            details={"by": "staff" if by_staff else "guest", "reason": reason},
            fields={"cancelled_at": now, "cancelled_by": actor, "cancellation_reason": reason, "hold_expires_at": None},
            # A released hold was never booked: nothing to tell.
            message=(Message.CANCELLED, f"cancelled:{current.pk}", {"by_staff": by_staff, "reason": reason})
            if was_confirmed
            else None,
        )
        current = _reload(current)
        hooks.cancelled.call(current, by_staff=by_staff, actor=actor, now=now)
        if not was_confirmed:
            hooks.hold_ended.call(current)
        waitlist.offer_after(current, now=now)
        return current
