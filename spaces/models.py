"""Venues and the spaces they rent out: a hotel's rooms, a restaurant's tables, meeting rooms."""

import zoneinfo
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "“%(value)s” is not a known time zone; use an IANA name such as Europe/Berlin.",
            params={"value": value},
        )


def default_refund_policy():
    return [{"hours_before": 48, "percent": 100}, {"hours_before": 24, "percent": 50}]


class PaymentMode(models.TextChoices):
    NONE = "none", "No online payment"
    DEPOSIT_PER_GUEST = "deposit_per_guest", "Deposit per guest"
    DEPOSIT_PERCENT = "deposit_percent", "Deposit: a percentage of the price"
    FIRST_NIGHT = "first_night", "The first night"
    FULL = "full", "Full prepayment"


class Venue(models.Model):
    PaymentMode = PaymentMode

    class Kind(models.TextChoices):
        RESTAURANT = "restaurant", "Restaurant"
        HOTEL = "hotel", "Hotel"
        OTHER = "other", "Other"

    class BookingMode(models.TextChoices):
        SLOTS = "slots", "Time slots"
        NIGHTS = "nights", "Nights"

    class Assignment(models.TextChoices):
        GUEST_PICKS = "guest_picks", "The guest picks a space"
        VENUE_ASSIGNS = "venue_assigns", "The venue assigns a space"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RESTAURANT)
    time_zone = models.CharField(max_length=64, default="Europe/Berlin", validators=[validate_time_zone])
    address = models.TextField(blank=True)
    phone = models.CharField(
        max_length=40, blank=True, help_text="Shown to guests, e.g. for a party too big to book online."
    )
    email = models.EmailField("e-mail", blank=True, help_text="Shown to guests next to the phone number.")
    description = models.TextField(blank=True)
    is_active = models.BooleanField("bookable", default=True)

    booking_mode = models.CharField(max_length=10, choices=BookingMode.choices, default=BookingMode.SLOTS)
    assignment = models.CharField(
        max_length=20,
        choices=Assignment.choices,
        default=Assignment.VENUE_ASSIGNS,
        help_text="A restaurant guest asks for a time, not for table 7; a hotel guest books a room "
        "category, not room 204. Meeting rooms are usually picked by the guest.",
    )
    # Slot mode.
    slot_interval_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    default_duration_minutes = models.PositiveIntegerField(
        "default duration (minutes)",
        default=90,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="How long a booking lasts unless the guest picks another allowed duration (turn time).",
    )
    allowed_durations = ArrayField(
        models.PositiveIntegerField(validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]),
        blank=True,
        default=list,
        help_text="Other durations in minutes a guest may choose, comma separated (for example 30,60,120).",
    )
    # Night mode.
    check_in_time = models.TimeField(default="15:00")
    check_out_time = models.TimeField(default="11:00")
    # Rules.
    min_lead_minutes = models.PositiveIntegerField(
        "minimum lead time (minutes)", default=60, help_text="How long before the start a booking must be made."
    )
    max_advance_days = models.PositiveIntegerField(
        "booking window (days)",
        default=90,
        validators=[MinValueValidator(1)],
        help_text="How far ahead guests may book.",
    )
    cancellation_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Guests may cancel until this many hours before the start."
    )
    modification_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Guests may modify until this many hours before the start."
    )
    hold_minutes = models.PositiveIntegerField(
        "hold length (minutes)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="How long a slot is kept for a guest while they confirm (and pay).",
    )
    reminder_lead_hours = models.PositiveIntegerField(
        default=24, help_text="The reminder e-mail goes out this many hours before the start."
    )
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, such as EUR or GBP.")
    # Payment up front (Stripe Checkout). Without Stripe keys the site says "pay at the venue".
    payment_mode = models.CharField(max_length=20, choices=PaymentMode.choices, default=PaymentMode.NONE)
    deposit_per_guest = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    deposit_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="For a deposit that is a percentage of the price."
    )
    refund_policy = models.JSONField(
        default=default_refund_policy,
        blank=True,
        help_text='Refund tiers by hours before the start, e.g. [{"hours_before": 48, "percent": 100}, '
        '{"hours_before": 24, "percent": 50}]: 100 % until 48 h before, 50 % until 24 h, nothing after.',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("spaces:venue_detail", kwargs={"slug": self.slug})

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def uses_nights(self) -> bool:
        return self.booking_mode == self.BookingMode.NIGHTS

    @property
    def assigns_spaces(self) -> bool:
        return self.assignment == self.Assignment.VENUE_ASSIGNS

    def durations(self) -> list[int]:
        """The durations in minutes a guest may book in slot mode, the default first."""
        others = sorted(set(self.allowed_durations or []) - {self.default_duration_minutes})
        return [self.default_duration_minutes, *others]

    def clean(self):
        errors = {}
        if self.currency:
            self.currency = self.currency.upper()
            if len(self.currency) != 3 or not self.currency.isalpha():
                errors["currency"] = "Use a three-letter currency code such as EUR."
        if self.booking_mode == self.BookingMode.SLOTS and self.slot_interval_minutes:
            for minutes in [self.default_duration_minutes, *(self.allowed_durations or [])]:
                if minutes and minutes % self.slot_interval_minutes:
                    errors[
                        "allowed_durations" if minutes != self.default_duration_minutes else "default_duration_minutes"
                    ] = f"{minutes} minutes is not a multiple of the {self.slot_interval_minutes}-minute slot interval."
        if self.payment_mode == PaymentMode.DEPOSIT_PER_GUEST and not self.deposit_per_guest:
            errors["deposit_per_guest"] = "Give the deposit per guest."
        if self.payment_mode == PaymentMode.DEPOSIT_PERCENT and not 1 <= (self.deposit_percent or 0) <= 100:
            errors["deposit_percent"] = "Give the deposit as a percentage from 1 to 100."
        if self.payment_mode == PaymentMode.FIRST_NIGHT and self.booking_mode != self.BookingMode.NIGHTS:
            errors["payment_mode"] = "“The first night” is for venues booked by the night."
        policy_error = refund_policy_error(self.refund_policy)
        if policy_error:
            errors["refund_policy"] = policy_error
        if errors:
            raise ValidationError(errors)


def refund_policy_error(policy) -> str | None:
    """Why a refund policy is malformed, or None."""
    if not isinstance(policy, list):
        return "The refund policy is a list of tiers."
    for tier in policy:
        if not isinstance(tier, dict) or set(tier) != {"hours_before", "percent"}:
            return 'Each tier is {"hours_before": hours, "percent": percent}.'
        hours, percent = tier["hours_before"], tier["percent"]
        if not isinstance(hours, int) or hours < 0 or not isinstance(percent, int) or not 0 <= percent <= 100:
            return "Hours are whole numbers from 0, percentages from 0 to 100."
    return None


class Space(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="spaces")
    name = models.CharField(max_length=100)
    category = models.CharField(
        max_length=100, blank=True, help_text="A room type such as “Deluxe double”, or an area such as “Terrace”."
    )
    capacity = models.PositiveIntegerField("capacity (max guests)", validators=[MinValueValidator(1)])
    min_party_size = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Per booking in slot mode, per night in night mode. May be zero.",
    )
    is_active = models.BooleanField("bookable", default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["venue", "category", "capacity", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="space_name_unique_per_venue"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="space_capacity_positive"),
            models.CheckConstraint(condition=models.Q(min_party_size__gte=1), name="space_min_party_positive"),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=models.F("min_party_size")), name="space_capacity_covers_min_party"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.venue})" if self.venue_id else self.name

    def fits(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.capacity

    def clean(self):
        if self.capacity and self.min_party_size and self.capacity < self.min_party_size:
            raise ValidationError(
                {"capacity": f"Capacity ({self.capacity}) is below the minimum party size ({self.min_party_size})."}
            )


class OpeningHours(models.Model):
    """One opening period of a venue on one weekday; a day may have several (lunch and dinner)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()
    closes_next_day = models.BooleanField(
        "closes after midnight", default=False, help_text="Tick when the period ends on the following day."
    )

    class Meta:
        ordering = ["venue", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"

    def __str__(self):
        suffix = " (next day)" if self.closes_next_day else ""
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}{suffix}"

    def clean(self):
        if self.opens_at is None or self.closes_at is None:
            return
        if not self.closes_next_day and self.closes_at <= self.opens_at:
            raise ValidationError(
                {
                    "closes_at": "Closing time must be after opening time. For a period that ends after "
                    "midnight, tick “closes after midnight”."
                }
            )
        if self.closes_next_day and self.closes_at > self.opens_at:
            raise ValidationError({"closes_at": "A period that ends the next day cannot last more than 24 hours."})


class Closure(models.Model):
    """The venue, or one of its spaces, is closed for a while (holidays, maintenance)."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="closures")
    space = models.ForeignKey(
        Space,
        on_delete=models.CASCADE,
        related_name="closures",
        null=True,
        blank=True,
        help_text="Leave empty to close the whole venue.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["venue", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="closure_starts_before_end"
            )
        ]

    def __str__(self):
        what = self.space.name if self.space_id else "whole venue"
        return f"{self.venue} closed ({what}) {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "A closure must end after it starts."
        if self.space_id and self.venue_id and self.space.venue_id != self.venue_id:
            errors["space"] = "That space belongs to another venue."
        if errors:
            raise ValidationError(errors)


class VenueRole(models.Model):
    """A member of staff's role at one venue: what they may do there (spaces/powers.py). Staff without
    a role at a venue have, for that venue, a guest's powers; superusers act everywhere."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager (everything for the venue)"
        HOST = "host", "Host (day sheet and bookings, no settings or refunds beyond the policy)"

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="venue_roles")
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        ordering = ["venue", "role", "user"]
        verbose_name = "staff role"
        constraints = [models.UniqueConstraint(fields=["venue", "user"], name="venue_role_one_per_user")]

    def __str__(self):
        return f"{self.user} — {self.get_role_display().split(' (')[0]} of {self.venue}"
