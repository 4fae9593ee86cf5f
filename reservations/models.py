"""Reservations and their history. A booking claims the spaces it takes (SpaceClaim), and PostgreSQL
itself refuses two active claims of one space whose periods overlap (the exclusion constraint
there): double booking is impossible by design. A space sold by the seat takes no claim: its seats
are counted under the space's lock (reservations/services/allocation.py)."""

import secrets

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
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
        HELD = "held", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    ACTIVE_STATUSES = (Status.HELD, Status.CONFIRMED)

    reference = models.CharField(max_length=14, unique=True, default=new_reference, editable=False)
    guest = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reservations"
    )
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="reservations")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    party_size = models.PositiveIntegerField()
    requested_category = models.CharField(
        max_length=100, blank=True, help_text="The category the guest asked for, when the venue assigns the space."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField("guest notes", blank=True, max_length=1000)
    # Who is coming, when not the account's holder (booking for someone else): the name the host
    # greets and the phone the venue calls. Filled from the guest's profile when left empty.
    contact_name = models.CharField(_("name for the booking"), max_length=150, blank=True, db_default="")
    contact_phone = models.CharField(_("phone for the booking"), max_length=32, blank=True, db_default="")
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    amount_due = models.DecimalField(
        "paid online up front",
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text="What the guest was asked to pay on booking (deposit or prepayment); 0 when nothing.",
    )
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancellation_reason = models.CharField(max_length=500, blank=True)
    # On the day, the host notes when the party came in and when it sat down (the status stays confirmed).
    arrived_at = models.DateTimeField(null=True, blank=True)
    seated_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(
        max_length=100,
        blank=True,
        db_default="",  # also for rows written by SQL (bench/data.py)
        editable=False,
        help_text="The Idempotency-Key of the API request that made it: a retry with the same key gets it back.",
    )

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
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

    feed = models.ForeignKey(CalendarFeed, on_delete=models.CASCADE, related_name="blocks")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="blocks", verbose_name=_("room"))
    key = models.CharField(max_length=400, help_text=_("The event's UID (and occurrence) in the feed."))
    summary = models.CharField(_("channel's summary"), max_length=200, blank=True)
    starts_on = models.DateField(_("first night"))
    ends_on = models.DateField(_("departure"))
    conflicts = models.JSONField(
        _("conflicting bookings"),
        default=list,
        blank=True,
        help_text=_("Our confirmed bookings on the same nights: [{reference, arrival, departure}]."),
    )
    conflict_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("conflict resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["space", "starts_on", "pk"]
        verbose_name = _("channel block")
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

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="claims")
    block = models.ForeignKey(Block, on_delete=models.CASCADE, null=True, blank=True, related_name="claims")
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="claims")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="The booking's end plus the space's buffer.")
    active = models.BooleanField(default=True)

    objects = SpaceClaimQuerySet.as_manager()

    class Meta:
        ordering = ["reservation", "space"]
        constraints = [
            ExclusionConstraint(
                name="claim_no_overlap",
                expressions=[
                    ("space", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True),
                violation_error_message="This space is already taken for an overlapping period.",
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
        return f"{self.space} for {self.reservation or self.block}"


class WaitlistEntry(models.Model):
    """A guest's wish for a time that was full: a date, a window of start times (or a session), a
    party size and optionally an area or space. When capacity frees, the first fitting guest in line
    is offered it: a hold for the venue's offer window (reservations/services/waitlist.py)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered a place"
        BOOKED = "booked", "Booked"
        LEFT = "left", "Left the waitlist"
        LAPSED = "lapsed", "Offer not taken"

    OPEN_STATUSES = (Status.WAITING, Status.OFFERED)

    guest = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries")
    venue = models.ForeignKey("spaces.Venue", on_delete=models.CASCADE, related_name="waitlist_entries")
    space = models.ForeignKey(
        Space,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="A session's space, or the space the guest picks.",
    )
    category = models.CharField(max_length=100, blank=True)
    day = models.DateField(help_text="The date, in the venue's time zone.")
    earliest = models.TimeField(help_text="The earliest start the guest would take, local time.")
    latest = models.TimeField(help_text="The latest start the guest would take, local time.")
    party_size = models.PositiveIntegerField()
    nights = models.PositiveIntegerField(default=1, help_text="For a stay: the nights from `day`.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    offer = models.OneToOneField(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entry"
    )
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "waitlist entries"
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
        return f"{self.guest} for {self.party_size} at {self.venue} on {self.day}"


class ReservationEvent(models.Model):
    """One change in a reservation's life, with who made it: the history guests and staff see."""

    class Kind(models.TextChoices):
        HELD = "held", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        MODIFIED = "modified", "Modified"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Hold expired"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "Marked no-show"
        ARRIVED = "arrived", "Arrived"
        SEATED = "seated", "Seated"
        PAID = "paid", "Paid"
        REFUND = "refund", "Refund"

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.reservation} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class OutgoingMessage(models.Model):
    """An e-mail to a guest, written in the same transaction as the change it tells about.

    Delivery happens after commit (a Celery task) and again from a periodic sweep for anything
    still pending, so a broker outage or a crashed worker delays a message but never loses it.
    A worker claims a message before sending it, so two deliveries of one message send it once.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmation"
        MODIFIED = "modified", "Modification"
        CANCELLED = "cancelled", "Cancellation"
        HOLD_EXPIRED = "hold_expired", "Hold expired"
        REMINDER = "reminder", "Reminder"
        PAYMENT_REFUNDED = "payment_refunded", "Payment refunded (slot gone)"
        WAITLIST_OFFER = "waitlist_offer", "Waitlist: a place is offered"
        WAITLIST_LAPSED = "waitlist_lapsed", "Waitlist: the offer was not taken"
        WAITLIST_JOINED = "waitlist_joined", "Waitlist: joined"
        CALENDAR_CONFLICT = "calendar_conflict", "To managers: a channel sold nights we had sold"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    # A message about a wish on the waitlist rather than a booking (the guest joined the line).
    waitlist_entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    # A message to a venue's managers about a channel's block: nights a channel sold that we had sold.
    block = models.ForeignKey(Block, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to_email = models.EmailField()
    context = models.JSONField(default=dict, blank=True, help_text="What the e-mail says beyond the reservation.")
    dedupe_key = models.CharField(
        max_length=100, unique=True, help_text="One message per key: a reminder is created once, however often asked."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(reservation__isnull=False) | Q(waitlist_entry__isnull=False) | Q(block__isnull=False),
                name="message_about_a_booking_a_wish_or_a_block",
            )
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} for {self.reservation or self.waitlist_entry or self.block} to {self.to_email}"
        )
