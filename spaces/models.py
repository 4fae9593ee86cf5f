"""Venues and the spaces they rent out: a hotel's rooms, a restaurant's tables, meeting rooms."""

import re
import secrets
import zoneinfo
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "“%(value)s” is not a known time zone; use an IANA name such as Europe/Berlin.",
            params={"value": value},
        )


def new_calendar_token() -> str:
    """The secret in a calendar URL (/calendars/<token>.ics): 32 random bytes, unguessable."""
    return secrets.token_urlsafe(32)


def natural_key(name: str) -> str:
    """A name as it sorts for people: its numbers compared as numbers ("Table 9" before "Table 10"),
    letters without regard to case. Stored (Space.sort_key), so the database orders by it."""
    return re.sub(r"\d+", lambda match: match.group().lstrip("0").rjust(12, "0"), name.casefold())[:300]


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
        RESTAURANT = "restaurant", _("Restaurant")
        HOTEL = "hotel", _("Hotel")
        MEETING_ROOMS = "meeting_rooms", _("Meeting rooms")
        OTHER = "other", _("Other")

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
    buffer_minutes = models.PositiveIntegerField(
        "buffer (minutes)",
        default=0,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Minutes to clear and reset a table (or clean a room) after each booking before the next "
        "may start. A space may have its own.",
    )
    max_online_party_size = models.PositiveIntegerField(
        "largest party online",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Bigger parties are asked to call or write. Empty: as many as a table or combination seats.",
    )
    waitlist = models.BooleanField(
        "waitlist", default=True, help_text="Guests may join a waitlist for a full time and are offered what frees up."
    )
    waitlist_offer_minutes = models.PositiveIntegerField(
        "waitlist offer (minutes)",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text="How long a place freed for the first guest on the waitlist is held for them to confirm.",
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

    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_calendar_token,
        editable=False,
        help_text=_("The secret in the venue's calendar URL for staff; regenerate it to shut out old copies."),
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
        help_text="Per booking in slot mode, per night in night mode, per seat where sold by the seat. May be zero.",
    )

    class PricePer(models.TextChoices):
        BOOKING = "booking", _("per booking")
        HOUR = "hour", _("per hour")

    price_per = models.CharField(
        _("price is"),
        max_length=10,
        choices=PricePer.choices,
        default=PricePer.BOOKING,
        help_text=_(
            "For time slots: the price of a booking, or of each hour booked (a meeting room). "
            "By the night or by the seat, the price is per night or per seat."
        ),
    )
    sort_key = models.CharField(max_length=300, editable=False, default="", db_default="")
    sold_by_seat = models.BooleanField(
        default=False,
        help_text="A class, tour or tasting menu: sold by the seat in its sessions, a party taking a seat per guest.",
    )
    is_active = models.BooleanField("bookable", default=True)
    description = models.TextField(blank=True)
    buffer_minutes = models.PositiveIntegerField(
        "buffer (minutes)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Minutes to reset this space after a booking. Empty: the venue's buffer.",
    )
    calendar_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_calendar_token,
        editable=False,
        help_text=_(
            "The secret in this room's calendar URL, given to booking channels; regenerate it to shut out old copies."
        ),
    )

    class Meta:
        # sort_key: the name in natural order, so Table 9 comes before Table 10 everywhere.
        ordering = ["venue", "category", "capacity", "sort_key", "name"]
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

    def save(self, *args, **kwargs):
        self.sort_key = natural_key(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "sort_key"}
        super().save(*args, **kwargs)

    def fits(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.capacity

    def buffer(self, venue: "Venue | None" = None) -> timedelta:
        """How long the space stays blocked after a booking ends: its own buffer, else the venue's."""
        minutes = self.buffer_minutes if self.buffer_minutes is not None else (venue or self.venue).buffer_minutes
        return timedelta(minutes=minutes)

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
        help_text="Leave empty to close the whole venue (or an area).",
    )
    area = models.CharField(
        max_length=100,
        blank=True,
        help_text="Close every space of this category (an area such as “Terrace”); empty: the space, or the venue.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    repeats_yearly = models.BooleanField(
        "every year", default=False, help_text="A season: closed on the same dates every year (the terrace in winter)."
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Told to guests, e.g. “winter”.")

    class Meta:
        ordering = ["venue", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="closure_starts_before_end"
            ),
            models.CheckConstraint(
                condition=models.Q(space__isnull=True) | models.Q(area=""), name="closure_space_or_area"
            ),
        ]

    def __str__(self):
        what = self.space.name if self.space_id else (self.area or "whole venue")
        yearly = ", every year" if self.repeats_yearly else ""
        zone = self.venue.zone if self.venue_id else None  # in the venue's time zone, like the admin's fields
        start, end = (
            moment.astimezone(zone) if moment and zone else moment for moment in (self.starts_at, self.ends_at)
        )
        return f"{self.venue} closed ({what}) {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}{yearly}"

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "A closure must end after it starts."
        long = self.starts_at and self.ends_at and self.ends_at - self.starts_at > timedelta(days=365)
        if self.repeats_yearly and long:
            errors["ends_at"] = "A closure that repeats every year lasts less than a year."
        if self.space_id and self.venue_id and self.space.venue_id != self.venue_id:
            errors["space"] = "That space belongs to another venue."
        if self.space_id and self.area:
            errors["area"] = "Close either one space or an area, not both."
        if errors:
            raise ValidationError(errors)


class Session(models.Model):
    """When a space sold by the seat runs (a class, a tour, a tasting menu), and how many seats it
    offers: every week on a weekday, or once on a date. Sessions keep their own times, whatever the
    venue's opening hours."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="sessions")
    weekday = models.PositiveSmallIntegerField(
        choices=OpeningHours.Weekday.choices, null=True, blank=True, help_text="Every week on this day; or a date."
    )
    date = models.DateField(null=True, blank=True, help_text="Once, on this date.")
    starts_at = models.TimeField("starts at")
    minutes = models.PositiveIntegerField(
        "length (minutes)", validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    seats = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["space", "date", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=True, date__isnull=False)
                | models.Q(weekday__isnull=False, date__isnull=True),
                name="session_weekly_or_once",
            ),
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="session_has_seats"),
        ]

    def __str__(self):
        when = f"{self.date:%Y-%m-%d}" if self.date else f"{self.get_weekday_display()}s"
        return f"{self.space.name}: {when} {self.starts_at:%H:%M}, {self.seats} seats"

    def runs_on(self, day) -> bool:
        return self.date == day if self.date is not None else self.weekday == day.weekday()

    def clean(self):
        if (self.weekday is None) == (self.date is None):
            raise ValidationError({"weekday": "Give a weekday (every week) or a date (once), not both."})


class Shift(models.Model):
    """A service: lunch, dinner. Turn times and pacing may differ by shift; the day sheet shows one."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="shifts")
    name = models.CharField(max_length=60, help_text="Such as “Lunch” or “Dinner”.")
    starts_at = models.TimeField("from")
    ends_at = models.TimeField("until", help_text="Earlier than “from” for a service that ends after midnight.")
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=OpeningHours.Weekday.choices),
        blank=True,
        default=list,
        help_text="The days it runs, 0 (Monday) to 6 (Sunday), comma separated; empty: every day.",
    )

    class Meta:
        ordering = ["venue", "starts_at", "name"]
        constraints = [models.UniqueConstraint(fields=["venue", "name"], name="shift_name_unique_per_venue")]

    def __str__(self):
        return f"{self.name} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    @property
    def ends_next_day(self) -> bool:
        return self.ends_at <= self.starts_at

    def runs_on(self, weekday: int) -> bool:
        return not self.weekdays or weekday in self.weekdays

    def clean(self):
        if any(day not in range(7) for day in self.weekdays or []):
            raise ValidationError({"weekdays": "Weekdays are 0 (Monday) to 6 (Sunday)."})


class TurnTime(models.Model):
    """How long a party of a size keeps its table: a two-top 90 minutes, a six 2½ hours."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="turn_times")
    shift = models.ForeignKey(
        Shift,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="turn_times",
        help_text="Empty: every shift (a shift's own turn times come first).",
    )
    min_party_size = models.PositiveIntegerField("from guests", validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField("to guests", validators=[MinValueValidator(1)])
    minutes = models.PositiveIntegerField(validators=[MinValueValidator(5), MaxValueValidator(24 * 60)])

    class Meta:
        ordering = ["venue", "shift", "min_party_size"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_party_size__gte=1, max_party_size__gte=models.F("min_party_size")),
                name="turn_time_party_range",
            ),
            models.CheckConstraint(condition=models.Q(minutes__gte=5), name="turn_time_minutes_positive"),
        ]

    def __str__(self):
        shift = f" at {self.shift.name}" if self.shift_id else ""
        return f"{self.min_party_size}–{self.max_party_size} guests: {self.minutes} minutes{shift}"

    def covers(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.max_party_size

    def clean(self):
        errors = {}
        if self.min_party_size and self.max_party_size and self.max_party_size < self.min_party_size:
            errors["max_party_size"] = "“To guests” must be at least “from guests”."
        venue = self.venue if self.venue_id else None
        if venue and self.minutes and venue.slot_interval_minutes and self.minutes % venue.slot_interval_minutes:
            errors["minutes"] = (
                f"{self.minutes} minutes is not a multiple of the {venue.slot_interval_minutes}-minute slot interval."
            )
        if self.shift_id and self.venue_id and self.shift.venue_id != self.venue_id:
            errors["shift"] = "That shift belongs to another venue."
        if errors:
            raise ValidationError(errors)


class PacingRule(models.Model):
    """At most so many guests (covers) and/or parties starting in any interval: the kitchen is not hit
    by 40 covers at 19:00. Per shift or all day, per area or the whole venue."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="pacing_rules")
    shift = models.ForeignKey(
        Shift, on_delete=models.CASCADE, null=True, blank=True, related_name="pacing_rules", help_text="Empty: all day."
    )
    area = models.CharField(
        max_length=100, blank=True, help_text="A category of spaces (“Terrace”); empty: the whole venue."
    )
    interval_minutes = models.PositiveIntegerField(
        "interval (minutes)", default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    max_covers = models.PositiveIntegerField(
        "most guests starting", null=True, blank=True, help_text="Empty: no limit on guests."
    )
    max_parties = models.PositiveIntegerField(
        "most parties starting", null=True, blank=True, help_text="Empty: no limit on parties."
    )

    class Meta:
        ordering = ["venue", "shift", "area", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_covers__isnull=False) | models.Q(max_parties__isnull=False),
                name="pacing_rule_has_a_limit",
            ),
            models.CheckConstraint(condition=models.Q(interval_minutes__gte=5), name="pacing_rule_interval"),
        ]

    def __str__(self):
        limits = []
        if self.max_covers is not None:
            limits.append(f"{self.max_covers} guests")
        if self.max_parties is not None:
            limits.append(f"{self.max_parties} parties")
        where = f" on the {self.area}" if self.area else ""
        when = f" at {self.shift.name}" if self.shift_id else ""
        return f"At most {' and '.join(limits)} starting per {self.interval_minutes} minutes{where}{when}"

    def clean(self):
        errors = {}
        if self.max_covers is None and self.max_parties is None:
            errors["max_covers"] = "Give a limit on guests, on parties, or both."
        if self.shift_id and self.venue_id and self.shift.venue_id != self.venue_id:
            errors["shift"] = "That shift belongs to another venue."
        if errors:
            raise ValidationError(errors)


class Combination(models.Model):
    """Tables that staff push together for a bigger party: 4 + 5 + 6 seat 9 to 12. A booking of a
    combination takes every table in it."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="combinations")
    name = models.CharField(max_length=100, blank=True, help_text="Empty: the tables' names, such as “4 + 5 + 6”.")
    spaces = models.ManyToManyField(Space, related_name="combinations", help_text="At least two of the venue's tables.")
    min_party_size = models.PositiveIntegerField("from guests", validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField("to guests", validators=[MinValueValidator(1)])
    is_active = models.BooleanField("bookable", default=True)

    class Meta:
        ordering = ["venue", "max_party_size", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_party_size__gte=1, max_party_size__gte=models.F("min_party_size")),
                name="combination_party_range",
            )
        ]

    def __str__(self):
        return self.name or f"Combination {self.pk}"

    def fits(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.max_party_size

    def clean(self):
        if self.min_party_size and self.max_party_size and self.max_party_size < self.min_party_size:
            raise ValidationError({"max_party_size": "“To guests” must be at least “from guests”."})


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


# ---------------------------------------------------------------------------------------------
# Hotels: nightly rates and stay limits by date, calendar feeds of the booking channels


def _month_day(day: date) -> tuple[int, int]:
    return (day.month, day.day)


class NightRule(models.Model):
    """What applies to some nights of a venue's rooms: a date range (every year, for a season), some
    nights of the week, one room category or all. A night is the date a guest sleeps there."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("Such as “Summer” or “Weekends”."))
    category = models.CharField(
        _("room type"), max_length=100, blank=True, help_text=_("A room category; empty: every room.")
    )
    starts_on = models.DateField(_("first night"))
    ends_on = models.DateField(_("last night"))
    repeats_yearly = models.BooleanField(
        _("every year"), default=True, help_text=_("A season: the same dates every year (the year is ignored).")
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=OpeningHours.Weekday.choices),
        blank=True,
        default=list,
        verbose_name=_("nights of the week"),
        help_text=_(
            "0 (Monday night) to 6 (Sunday night), comma separated, e.g. 4,5 for Friday and Saturday "
            "nights; empty: every night."
        ),
    )

    class Meta:
        abstract = True
        ordering = ["venue", "starts_on", "pk"]

    def applies(self, night: date, category: str) -> bool:
        if self.category and self.category != category:
            return False
        if self.weekdays and night.weekday() not in self.weekdays:
            return False
        if not self.repeats_yearly:
            return self.starts_on <= night <= self.ends_on
        first, last, day = _month_day(self.starts_on), _month_day(self.ends_on), _month_day(night)
        if first <= last:
            return first <= day <= last
        return day >= first or day <= last  # a season across new year (20 Dec – 6 Jan)

    @property
    def span(self) -> int:
        """How many days its range covers: the narrower of two rules is the more specific."""
        if not self.repeats_yearly:
            return (self.ends_on - self.starts_on).days + 1
        first = self.starts_on.replace(year=2001) if _month_day(self.starts_on) != (2, 29) else date(2001, 3, 1)
        last = self.ends_on.replace(year=2001) if _month_day(self.ends_on) != (2, 29) else date(2001, 2, 28)
        return (last - first).days % 365 + 1

    def clean(self):
        errors = {}
        if self.starts_on and self.ends_on and not self.repeats_yearly and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The last night cannot come before the first.")
        if any(day not in range(7) for day in self.weekdays or []):
            errors["weekdays"] = _("Nights of the week are 0 (Monday) to 6 (Sunday).")
        if errors:
            raise ValidationError(errors)


class Rate(NightRule):
    """The price of a night in a room category for a season or for some nights of the week, instead
    of the room's own price. Where several apply to a night the most specific wins: a room type over
    every room, given nights of the week over every night, then the narrower dates."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="rates")
    nightly_price = models.DecimalField(
        _("price per night"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta(NightRule.Meta):
        verbose_name = _("nightly rate")
        constraints = [
            models.CheckConstraint(condition=models.Q(nightly_price__gte=0), name="rate_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.name or _('Rate')}: {self.nightly_price} {self.venue.currency if self.venue_id else ''}".strip()

    def specificity(self) -> tuple:
        return (bool(self.category), bool(self.weekdays), -self.span, self.pk or 0)


class StayLimit(NightRule):
    """The shortest (and longest) stay that includes one of these nights: two nights at weekends in
    summer, so a Saturday is not sold alone. Where several apply the strictest holds."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="stay_limits")
    min_nights = models.PositiveIntegerField(_("minimum nights"), default=1, validators=[MinValueValidator(1)])
    max_nights = models.PositiveIntegerField(
        _("maximum nights"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: no maximum.")
    )

    class Meta(NightRule.Meta):
        verbose_name = _("stay limit")
        constraints = [
            models.CheckConstraint(condition=models.Q(min_nights__gte=1), name="stay_limit_min_positive"),
            models.CheckConstraint(
                condition=models.Q(max_nights__isnull=True) | models.Q(max_nights__gte=models.F("min_nights")),
                name="stay_limit_max_covers_min",
            ),
        ]

    def __str__(self):
        limits = [str(_("at least %(n)s nights") % {"n": self.min_nights})]
        if self.max_nights:
            limits.append(str(_("at most %(n)s") % {"n": self.max_nights}))
        return f"{self.name or _('Stay limit')}: {', '.join(limits)}"

    def clean(self):
        super().clean()
        if self.max_nights is not None and self.min_nights and self.max_nights < self.min_nights:
            raise ValidationError({"max_nights": _("The maximum cannot be below the minimum.")})


class CalendarFeed(models.Model):
    """A booking channel's calendar of one room (Airbnb, Booking.com...): the nights it sold there,
    fetched every few minutes and kept as blocks of the room (reservations/services/channels.py)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="calendar_feeds", verbose_name=_("room"))
    name = models.CharField(_("name"), max_length=100, help_text=_("Such as “Airbnb” or “Booking.com”."))
    url = models.URLField(
        _("calendar URL"),
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("The channel's export (iCal) address for this room, http or https."),
    )
    is_active = models.BooleanField(_("sync"), default=True, help_text=_("Untick to stop fetching it (blocks stay)."))
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    notes = models.TextField(_("notes of the last sync"), blank=True, help_text=_("What was skipped or guessed."))
    events = models.PositiveIntegerField(_("events"), default=0, help_text=_("Events read at the last success."))
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        ordering = ["space", "name", "pk"]
        verbose_name = _("calendar feed")
        constraints = [models.UniqueConstraint(fields=["space", "url"], name="calendar_feed_once_per_room")]

    def __str__(self):
        return f"{self.name} → {self.space.name}" if self.space_id else self.name

    def is_stale(self, now=None) -> bool:
        """Not synced for longer than HOLDFAST_CALENDAR_STALE_MINUTES: its channel may have sold nights
        we still offer."""
        if not self.is_active:
            return False
        now = now or timezone.now()
        since = self.last_success_at or self.created_at
        return since is not None and now - since > timedelta(minutes=settings.HOLDFAST_CALENDAR_STALE_MINUTES)
