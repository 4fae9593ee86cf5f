"""Reservations and their history. A booking claims the spaces it takes (SpaceClaim), and PostgreSQL
itself refuses two active claims of one space whose periods overlap (the exclusion constraint
there): double booking is impossible by design. A space sold by the seat takes no claim: its seats
are counted under the space's lock (reservations/services/allocation.py)."""

import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Func, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reservations.periods import nights_between
from spaces.models import CalendarFeed, Space

# Crockford's base32 without look-alikes: references are read out over the phone.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """12 random characters (60 bits) in three groups: K7QM-2XPA-9RTD. Unguessable, never the id."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def period():
    """A reservation's booked period as PostgreSQL's `[)` range: what the GiST indexes hold."""
    return TsTzRange("starts_at", "ends_at", models.Value("[)"))


class ReservationQuerySet(models.QuerySet):
    def active(self):
        """Held or confirmed: what the exclusion constraint counts (a stale hold too, until it is expired)."""
        return self.filter(status__in=Reservation.ACTIVE_STATUSES)

    def blocking(self, now):
        """What blocks a space at `now`: confirmed bookings, and holds that have not run out. Spelled
        out from active() so the planner still sees the indexes' condition."""
        return self.active().filter(Q(status=Reservation.Status.CONFIRMED) | Q(hold_expires_at__gt=now))

    def stale_holds(self, now):
        """Holds whose time ran out but that are not expired yet: they block nobody."""
        return self.filter(status=Reservation.Status.HELD, hold_expires_at__lte=now)

    def overlapping(self, starts_at, ends_at):
        """Those whose period meets [starts_at, ends_at). Asked as a range overlap (`&&`), which
        the exclusion constraint's index (per space) and reservation_active_period (per venue)
        answer directly, however many bookings the table holds."""
        return self.alias(booked_period=period()).filter(
            booked_period__overlap=DateTimeTZRange(starts_at, ends_at, "[)")
        )


class Reservation(models.Model):
    class Status(models.TextChoices):
        HELD = "held", _("Held")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")

    ACTIVE_STATUSES = (Status.HELD, Status.CONFIRMED)

    reference = models.CharField(_("reference"), max_length=14, unique=True, default=new_reference, editable=False)
    guest = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reservations",
        verbose_name=_("guest"),
    )
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("space"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    party_size = models.PositiveIntegerField(_("party size"))
    requested_category = models.CharField(
        _("requested category"),
        max_length=100,
        blank=True,
        help_text=_("The category the guest asked for, when the venue assigns the space."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    notes = models.TextField(_("guest notes"), blank=True, max_length=1000)
    # Who is coming, when not the account's holder (booking for someone else): the name the host
    # greets and the phone the venue calls. Filled from the guest's profile when left empty.
    contact_name = models.CharField(_("name for the booking"), max_length=150, blank=True, db_default="")
    contact_phone = models.CharField(_("phone for the booking"), max_length=32, blank=True, db_default="")
    by_sms = models.BooleanField(
        _("text messages"),
        default=False,
        db_default=False,
        help_text=_("The guest asked for text messages about this booking (its reminder, where the venue sends them)."),
    )
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, default=0)
    amount_due = models.DecimalField(
        _("paid online up front"),
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text=_("What the guest was asked to pay on booking (deposit or prepayment); 0 when nothing."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=500, blank=True)
    # On the day, the host notes when the party came in and when it sat down (the status stays confirmed).
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    seated_at = models.DateTimeField(_("seated at"), null=True, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=100,
        blank=True,
        db_default="",  # also for rows written by SQL (bench/data.py)
        editable=False,
        help_text=_("The Idempotency-Key of the API request that made it: a retry with the same key gets it back."),
    )

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="reservation_starts_before_end"
            ),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="reservation_party_size_positive"),
            # One booking per key and guest: two requests with one key can never make two bookings.
            models.UniqueConstraint(
                fields=["guest", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="reservation_one_per_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["guest", "starts_at"], name="reservation_guest_start"),
            models.Index(fields=["status", "hold_expires_at"], name="reservation_status_hold"),
            models.Index(fields=["status", "ends_at"], name="reservation_status_end"),
            # A venue's active bookings of a day, whatever the space (availability).
            GistIndex(period(), name="reservation_active_period", condition=Q(status__in=["held", "confirmed"])),
            # The bookings starting in a pacing interval (allocation.Pacing, the availability).
            models.Index(
                fields=["starts_at"], name="reservation_active_start", condition=Q(status__in=["held", "confirmed"])
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("reservations:detail", kwargs={"reference": self.reference})

    @property
    def venue(self):
        return self.space.venue

    @property
    def who(self) -> str:
        """The name the venue greets: the booking's own (booking for someone else), else the guest's."""
        return self.contact_name or (self.guest.name if self.guest_id else "")

    @property
    def phone(self) -> str:
        """The phone the venue calls: the booking's own, else the guest's."""
        return self.contact_phone or (self.guest.phone if self.guest_id else "")

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def local_starts_at(self):
        return self.starts_at.astimezone(self.space.venue.zone)

    @property
    def local_ends_at(self):
        return self.ends_at.astimezone(self.space.venue.zone)

    @property
    def nights(self) -> int:
        return nights_between(self.space.venue, self.starts_at, self.ends_at)

    @property
    def all_spaces(self) -> list[Space]:
        """Every space the booking takes (combined tables), its own `space` first. From the claims
        (prefetch `claims__space` for a list); a booking without claims has just its space."""
        spaces = [claim.space for claim in self.claims.all()]
        spaces.sort(key=lambda space: (space.pk != self.space_id, space.sort_key))
        return spaces or [self.space]

    @property
    def spaces_words(self) -> str:
        """'Table 4 + Table 5 + Table 6', or the one space's name."""
        return " + ".join(space.name for space in self.all_spaces)


class Block(models.Model):
    """Nights a room is sold elsewhere: one event of one of its calendar feeds (a booking on Airbnb),
    followed by its key (the event's UID). The block claims the nights it can (SpaceClaim, under the
    same exclusion constraint as bookings), so no guest can book a night a channel sold. Nights a
    confirmed booking of ours already has are a conflict: the booking stays, the managers are told,
    and the block lists them until the booking is moved or a manager marks it resolved.
    (reservations/services/channels.py)"""

    feed = models.ForeignKey(CalendarFeed, on_delete=models.CASCADE, related_name="blocks", verbose_name=_("feed"))
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="blocks", verbose_name=_("room"))
    key = models.CharField(_("key"), max_length=400, help_text=_("The event's UID (and occurrence) in the feed."))
    summary = models.CharField(_("channel's summary"), max_length=200, blank=True)
    starts_on = models.DateField(_("first night"))
    ends_on = models.DateField(_("departure"))
    conflicts = models.JSONField(
        _("conflicting bookings"),
        default=list,
        blank=True,
        help_text=_("Our confirmed bookings on the same nights: [{reference, arrival, departure}]."),
    )
    conflict_since = models.DateTimeField(_("conflict since"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("conflict resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["space", "starts_on", "pk"]
        verbose_name = _("channel block")
        verbose_name_plural = _("channel blocks")
        constraints = [
            models.UniqueConstraint(fields=["feed", "key"], name="block_one_per_event"),
            models.CheckConstraint(condition=Q(starts_on__lt=models.F("ends_on")), name="block_has_nights"),
        ]
        indexes = [
            models.Index(
                fields=["space", "starts_on"], name="block_open_conflict", condition=Q(conflict_since__isnull=False)
            )
        ]

    def __str__(self):
        return f"{self.feed.name if self.feed_id else ''}: {self.space.name} {self.starts_on}–{self.ends_on}"

    @property
    def has_open_conflict(self) -> bool:
        return bool(self.conflicts) and self.resolved_at is None


class SpaceClaimQuerySet(models.QuerySet):
    def blocking(self, now):
        """Claims that block their space at `now`: of confirmed bookings, of holds not yet run out (the
        exclusion constraint also counts a stale hold's, until the hold is expired) and of channel blocks."""
        return self.filter(active=True).filter(
            Q(reservation__status=Reservation.Status.CONFIRMED)
            | Q(reservation__hold_expires_at__gt=now)
            | Q(block__isnull=False)
        )

    def overlapping(self, starts_at, ends_at):
        """Those whose period meets [starts_at, ends_at), asked as the constraint's range overlap."""
        return self.alias(claimed=period()).filter(claimed__overlap=DateTimeTZRange(starts_at, ends_at, "[)"))


class SpaceClaim(models.Model):
    """A space a booking takes: its period plus the space's buffer (the time to reset the table or
    clean the room). A booking of combined tables has one claim per table. PostgreSQL refuses two
    active claims of one space whose periods overlap: no table is ever double-booked, combined or not.
    A channel's block claims its room the same way (a claim of a block has no reservation).

    `active` follows the booking's status (reservations/services/transitions.py): held or confirmed.
    """

    reservation = models.ForeignKey(
        Reservation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="claims",
        verbose_name=_("reservation"),
    )
    block = models.ForeignKey(
        Block, on_delete=models.CASCADE, null=True, blank=True, related_name="claims", verbose_name=_("block")
    )
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="claims", verbose_name=_("space"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), help_text=_("The booking's end plus the space's buffer."))
    active = models.BooleanField(_("active"), default=True)

    objects = SpaceClaimQuerySet.as_manager()

    class Meta:
        ordering = ["reservation", "space"]
        verbose_name = _("space claim")
        verbose_name_plural = _("space claims")
        constraints = [
            ExclusionConstraint(
                name="claim_no_overlap",
                expressions=[
                    ("space", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True),
                violation_error_message=_("This space is already taken for an overlapping period."),
            ),
            models.UniqueConstraint(fields=["reservation", "space"], name="claim_one_per_space"),
            models.CheckConstraint(condition=Q(starts_at__lt=models.F("ends_at")), name="claim_starts_before_end"),
            models.CheckConstraint(
                condition=Q(reservation__isnull=False, block__isnull=True)
                | Q(reservation__isnull=True, block__isnull=False),
                name="claim_of_a_booking_or_a_block",
            ),
        ]
        indexes = [
            # The claims of a venue's day, whatever the space (availability).
            GistIndex(period(), name="claim_active_period", condition=Q(active=True)),
        ]

    def __str__(self):
        return _("%(space)s for %(holder)s") % {"space": self.space, "holder": self.reservation or self.block}


class WaitlistEntry(models.Model):
    """A guest's wish for a time that was full: a date, a window of start times (or a session), a
    party size and optionally an area or space. When capacity frees, the first fitting guest in line
    is offered it: a hold for the venue's offer window (reservations/services/waitlist.py)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a place")
        BOOKED = "booked", _("Booked")
        LEFT = "left", _("Left the waitlist")
        LAPSED = "lapsed", _("Offer not taken")

    OPEN_STATUSES = (Status.WAITING, Status.OFFERED)

    guest = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries", verbose_name=_("guest")
    )
    venue = models.ForeignKey(
        "spaces.Venue", on_delete=models.CASCADE, related_name="waitlist_entries", verbose_name=_("venue")
    )
    space = models.ForeignKey(
        Space,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A session's space, or the space the guest picks."),
        verbose_name=_("space"),
    )
    category = models.CharField(_("category"), max_length=100, blank=True)
    day = models.DateField(_("day"), help_text=_("The date, in the venue's time zone."))
    earliest = models.TimeField(_("earliest"), help_text=_("The earliest start the guest would take, local time."))
    latest = models.TimeField(_("latest"), help_text=_("The latest start the guest would take, local time."))
    party_size = models.PositiveIntegerField(_("party size"))
    nights = models.PositiveIntegerField(_("nights"), default=1, help_text=_("For a stay: the nights from `day`."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    offer = models.OneToOneField(
        Reservation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entry",
        verbose_name=_("offer"),
    )
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    by_sms = models.BooleanField(
        _("text messages"),
        default=False,
        db_default=False,
        help_text=_("The guest asked to be told of an offer by text message too."),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        constraints = [
            models.CheckConstraint(condition=Q(party_size__gte=1), name="waitlist_party_size_positive"),
            models.CheckConstraint(condition=Q(earliest__lte=models.F("latest")), name="waitlist_window_ordered"),
            # One open wish per guest and date at a venue: one guest never holds two offers for it.
            models.UniqueConstraint(
                fields=["guest", "venue", "day"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_wish_per_day",
            ),
        ]
        indexes = [models.Index(fields=["venue", "day", "status", "created_at"], name="waitlist_line")]

    def __str__(self):
        return _("%(guest)s for %(party_size)s at %(venue)s on %(day)s") % {
            "guest": self.guest,
            "party_size": self.party_size,
            "venue": self.venue,
            "day": self.day,
        }


class ReservationEvent(models.Model):
    """One change in a reservation's life, with who made it: the history guests and staff see."""

    class Kind(models.TextChoices):
        HELD = "held", _("Held")
        CONFIRMED = "confirmed", _("Confirmed")
        MODIFIED = "modified", _("Modified")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Hold expired")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("Marked no-show")
        ARRIVED = "arrived", _("Arrived")
        SEATED = "seated", _("Seated")
        PAID = "paid", _("Paid")
        REFUND = "refund", _("Refund")

    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="events", verbose_name=_("reservation")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("reservation event")
        verbose_name_plural = _("reservation events")

    def __str__(self):
        return _("%(reservation)s %(kind)s at %(at)s") % {
            "reservation": self.reservation,
            "kind": self.kind,
            "at": f"{self.at:%Y-%m-%d %H:%M}",
        }


class OutgoingMessage(models.Model):
    """An e-mail to a guest, written in the same transaction as the change it tells about.

    Delivery happens after commit (a Celery task) and again from a periodic sweep for anything
    still pending, so a broker outage or a crashed worker delays a message but never loses it.
    A worker claims a message before sending it, so two deliveries of one message send it once.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmation")
        MODIFIED = "modified", _("Modification")
        CANCELLED = "cancelled", _("Cancellation")
        HOLD_EXPIRED = "hold_expired", _("Hold expired")
        REMINDER = "reminder", _("Reminder")
        PAYMENT_REFUNDED = "payment_refunded", _("Payment refunded (slot gone)")
        WAITLIST_OFFER = "waitlist_offer", _("Waitlist: a place is offered")
        WAITLIST_LAPSED = "waitlist_lapsed", _("Waitlist: the offer was not taken")
        WAITLIST_JOINED = "waitlist_joined", _("Waitlist: joined")
        CALENDAR_CONFLICT = "calendar_conflict", _("To managers: a channel sold nights we had sold")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message")

    reservation = models.ForeignKey(
        Reservation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("reservation"),
    )
    # A message about a wish on the waitlist rather than a booking (the guest joined the line).
    waitlist_entry = models.ForeignKey(
        WaitlistEntry,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("waitlist entry"),
    )
    # A message to a venue's managers about a channel's block: nights a channel sold that we had sold.
    block = models.ForeignKey(
        Block, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", verbose_name=_("block")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(
        _("channel"), max_length=5, choices=Channel.choices, default=Channel.EMAIL, db_default=Channel.EMAIL
    )
    to_email = models.EmailField(_("to email"), blank=True)
    to_phone = models.CharField(_("to phone"), max_length=32, blank=True, db_default="")
    # A text message's id at the provider (Twilio's message SID) and the state it last reported.
    provider_id = models.CharField(_("provider's id"), max_length=64, blank=True, db_default="")
    provider_status = models.CharField(_("provider's status"), max_length=20, blank=True, db_default="")
    context = models.JSONField(
        _("context"), default=dict, blank=True, help_text=_("What the e-mail says beyond the reservation.")
    )
    dedupe_key = models.CharField(
        _("dedupe key"),
        max_length=100,
        unique=True,
        help_text=_("One message per key: a reminder is created once, however often asked."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due"),
            # A provider's report on a text message finds it by the provider's id.
            models.Index(fields=["provider_id"], name="message_provider_id", condition=~Q(provider_id="")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reservation__isnull=False) | Q(waitlist_entry__isnull=False) | Q(block__isnull=False),
                name="message_about_a_booking_a_wish_or_a_block",
            )
        ]

    def __str__(self):
        return _("%(kind)s for %(about)s to %(email)s") % {
            "kind": self.get_kind_display(),
            "about": self.reservation or self.waitlist_entry or self.block,
            "email": self.to_email or self.to_phone,
        }


class WebhookEndpoint(models.Model):
    """A partner's address that is told of a venue's bookings as they change (reservations/webhooks.py).

    Each event is POSTed as JSON signed with the endpoint's secret (docs/webhooks.md); the secret is
    shown to the manager once, when the endpoint is made or its secret is rolled."""

    class Event(models.TextChoices):
        RESERVATION_CREATED = "reservation.created", _("A reservation is made (held or booked)")
        RESERVATION_CONFIRMED = "reservation.confirmed", _("A reservation is confirmed")
        RESERVATION_MODIFIED = "reservation.modified", _("A reservation is changed")
        RESERVATION_CANCELLED = "reservation.cancelled", _("A reservation is cancelled")
        RESERVATION_EXPIRED = "reservation.expired", _("A hold ran out before it was booked")
        RESERVATION_NO_SHOW = "reservation.no_show", _("A guest did not come")
        WAITLIST_OFFERED = "waitlist.offered", _("A place is offered to a guest on the waitlist")
        PAYMENT_PAID = "payment.paid", _("A payment came in")
        PAYMENT_REFUNDED = "payment.refunded", _("A refund went through")

    venue = models.ForeignKey(
        "spaces.Venue", on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("venue")
    )
    url = models.URLField(_("URL"), max_length=500, help_text=_("Where the events are POSTed (https)."))
    description = models.CharField(
        _("description"), max_length=200, blank=True, help_text=_("Whose it is, what it does.")
    )
    events = ArrayField(
        models.CharField(max_length=40, choices=Event.choices),
        verbose_name=_("events"),
        default=list,
        help_text=_("The events sent to this address."),
    )
    secret = models.CharField(_("signing secret"), max_length=80, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why it was switched off"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["venue", "pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, written in the transaction of the change it tells of (the outbox).

    Delivered at least once, after commit and again by the sweep, retried with backoff for a day,
    and in order for each booking: a later event waits while an earlier one is still to go."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    reservation = models.ForeignKey(
        Reservation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
        verbose_name=_("reservation"),
    )
    event_id = models.CharField(_("event id"), max_length=40)
    event_type = models.CharField(_("event"), max_length=40, choices=WebhookEndpoint.Event.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    give_up_at = models.DateTimeField(
        _("retried until"), default=timezone.now, help_text=_("A day after it was written, or after it was resent.")
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_one_delivery_per_event")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["endpoint", "reservation", "id"], name="webhook_order"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back: what staff read when a partner says it got nothing."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("answer"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("took (ms)"), default=0)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self):
        return f"{self.status_code or self.error[:40]}"
