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
from django.utils.translation import ngettext, pgettext_lazy


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use an IANA name such as Europe/Berlin."),
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
    NONE = "none", _("No online payment")
    DEPOSIT_PER_GUEST = "deposit_per_guest", _("Deposit per guest")
    DEPOSIT_PERCENT = "deposit_percent", _("Deposit: a percentage of the price")
    FIRST_NIGHT = "first_night", _("The first night")
    FULL = "full", _("Full prepayment")


class Venue(models.Model):
    PaymentMode = PaymentMode

    class Kind(models.TextChoices):
        RESTAURANT = "restaurant", _("Restaurant")
        HOTEL = "hotel", _("Hotel")
        MEETING_ROOMS = "meeting_rooms", _("Meeting rooms")
        OTHER = "other", _("Other")

    class BookingMode(models.TextChoices):
        SLOTS = "slots", _("Time slots")
        NIGHTS = "nights", _("Nights")

    class Assignment(models.TextChoices):
        GUEST_PICKS = "guest_picks", _("The guest picks a space")
        VENUE_ASSIGNS = "venue_assigns", _("The venue assigns a space")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RESTAURANT)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(
        _("phone"), max_length=40, blank=True, help_text=_("Shown to guests, e.g. for a party too big to book online.")
    )
    email = models.EmailField(_("e-mail"), blank=True, help_text=_("Shown to guests next to the phone number."))
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_(
            "The venue's own language: its description is written in it, and guests whose "
            "browser asks for none of ours see its pages in it."
        ),
    )
    translations = models.JSONField(
        _("descriptions in other languages"),
        default=dict,
        blank=True,
        help_text=_(
            'The description in other languages, e.g. {"de": "…", "fr": "…"}; missing ones '
            "fall back to the description above."
        ),
    )
    is_active = models.BooleanField(_("bookable"), default=True)

    booking_mode = models.CharField(
        _("booking mode"), max_length=10, choices=BookingMode.choices, default=BookingMode.SLOTS
    )
    assignment = models.CharField(
        _("assignment"),
        max_length=20,
        choices=Assignment.choices,
        default=Assignment.VENUE_ASSIGNS,
        help_text=_(
            "A restaurant guest asks for a time, not for table 7; a hotel guest books a room "
            "category, not room 204. Meeting rooms are usually picked by the guest."
        ),
    )
    # Slot mode.
    slot_interval_minutes = models.PositiveIntegerField(
        _("slot interval minutes"), default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    default_duration_minutes = models.PositiveIntegerField(
        _("default duration (minutes)"),
        default=90,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text=_("How long a booking lasts unless the guest picks another allowed duration (turn time)."),
    )
    allowed_durations = ArrayField(
        models.PositiveIntegerField(validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]),
        blank=True,
        default=list,
        help_text=_("Other durations in minutes a guest may choose, comma separated (for example 30,60,120)."),
        verbose_name=_("allowed durations"),
    )
    # Night mode.
    check_in_time = models.TimeField(_("check in time"), default="15:00")
    check_out_time = models.TimeField(_("check out time"), default="11:00")
    # Rules.
    min_lead_minutes = models.PositiveIntegerField(
        _("minimum lead time (minutes)"), default=60, help_text=_("How long before the start a booking must be made.")
    )
    max_advance_days = models.PositiveIntegerField(
        _("booking window (days)"),
        default=90,
        validators=[MinValueValidator(1)],
        help_text=_("How far ahead guests may book."),
    )
    cancellation_cutoff_hours = models.PositiveIntegerField(
        _("cancellation cutoff hours"),
        default=24,
        help_text=_("Guests may cancel until this many hours before the start."),
    )
    modification_cutoff_hours = models.PositiveIntegerField(
        _("modification cutoff hours"),
        default=24,
        help_text=_("Guests may modify until this many hours before the start."),
    )
    hold_minutes = models.PositiveIntegerField(
        _("hold length (minutes)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("How long a slot is kept for a guest while they confirm (and pay)."),
    )
    buffer_minutes = models.PositiveIntegerField(
        _("buffer (minutes)"),
        default=0,
        validators=[MaxValueValidator(24 * 60)],
        help_text=_(
            "Minutes to clear and reset a table (or clean a room) after each booking before the next "
            "may start. A space may have its own."
        ),
    )
    max_online_party_size = models.PositiveIntegerField(
        _("largest party online"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Bigger parties are asked to call or write. Empty: as many as a table or combination seats."),
    )
    waitlist = models.BooleanField(
        _("waitlist"),
        default=True,
        help_text=_("Guests may join a waitlist for a full time and are offered what frees up."),
    )
    waitlist_offer_minutes = models.PositiveIntegerField(
        _("waitlist offer (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text=_("How long a place freed for the first guest on the waitlist is held for them to confirm."),
    )
    reminder_lead_hours = models.PositiveIntegerField(
        _("reminder lead hours"),
        default=24,
        help_text=_("The reminder e-mail goes out this many hours before the start."),
    )
    # Which messages may also go by text message, to guests who asked for them and gave a phone.
    sms_reminders = models.BooleanField(
        _("reminders by text message"),
        default=True,
        db_default=True,
        help_text=_("Guests who ask for it get the reminder by text message too."),
    )
    sms_waitlist_offers = models.BooleanField(
        _("waitlist offers by text message"),
        default=True,
        db_default=True,
        help_text=_("Guests who ask for it are told of a place offered from the waitlist by text message too."),
    )
    sms_booking_changes = models.BooleanField(
        _("confirmations and changes by text message"),
        default=False,
        db_default=False,
        help_text=_("Guests who ask for it get confirmations, changes and cancellations by text message too."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", help_text=_("ISO 4217 code, such as EUR or GBP.")
    )
    # Payment up front (Stripe Checkout). Without Stripe keys the site says "pay at the venue".
    payment_mode = models.CharField(
        _("payment mode"), max_length=20, choices=PaymentMode.choices, default=PaymentMode.NONE
    )
    deposit_per_guest = models.DecimalField(
        _("deposit per guest"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    deposit_percent = models.PositiveSmallIntegerField(
        _("deposit percent"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("For a deposit that is a percentage of the price."),
    )
    refund_policy = models.JSONField(
        _("refund policy"),
        default=default_refund_policy,
        blank=True,
        help_text=_(
            'Refund tiers by hours before the start, e.g. [{"hours_before": 48, "percent": 100}, '
            '{"hours_before": 24, "percent": 50}]: 100 % until 48 h before, 50 % until 24 h, nothing after.'
        ),
    )

    calendar_token = models.CharField(
        _("calendar token"),
        max_length=64,
        unique=True,
        default=new_calendar_token,
        editable=False,
        help_text=_("The secret in the venue's calendar URL for staff; regenerate it to shut out old copies."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("spaces:venue_detail", kwargs={"slug": self.slug})

    def description_in(self, language: str) -> str:
        """The description in `language` (its code, or its base: "de" for "de-at"), else the venue's own."""
        translations = self.translations if isinstance(self.translations, dict) else {}
        for code in (language, (language or "").split("-")[0]):
            text = translations.get(code)
            if isinstance(text, str) and text.strip():
                return text
        return self.description

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
                errors["currency"] = _("Use a three-letter currency code such as EUR.")
        if self.booking_mode == self.BookingMode.SLOTS and self.slot_interval_minutes:
            for minutes in [self.default_duration_minutes, *(self.allowed_durations or [])]:
                if minutes and minutes % self.slot_interval_minutes:
                    errors[
                        "allowed_durations" if minutes != self.default_duration_minutes else "default_duration_minutes"
                    ] = _("%(minutes)s minutes is not a multiple of the %(interval)s-minute slot interval.") % {
                        "minutes": minutes,
                        "interval": self.slot_interval_minutes,
                    }
        if self.payment_mode == PaymentMode.DEPOSIT_PER_GUEST and not self.deposit_per_guest:
            errors["deposit_per_guest"] = _("Give the deposit per guest.")
        if self.payment_mode == PaymentMode.DEPOSIT_PERCENT and not 1 <= (self.deposit_percent or 0) <= 100:
            errors["deposit_percent"] = _("Give the deposit as a percentage from 1 to 100.")
        if self.payment_mode == PaymentMode.FIRST_NIGHT and self.booking_mode != self.BookingMode.NIGHTS:
            errors["payment_mode"] = _("“The first night” is for venues booked by the night.")
        if self.translations in (None, ""):
            self.translations = {}  # a cleared field in the admin: no other language
        if not isinstance(self.translations, dict) or not all(
            code in dict(settings.LANGUAGES) and isinstance(text, str)
            for code, text in (self.translations or {}).items()
        ):
            errors["translations"] = _(
                'Give the other languages\' descriptions as {"de": "…", "fr": "…"}, with the languages %(codes)s.'
            ) % {"codes": ", ".join(code for code, _name in settings.LANGUAGES)}
        policy_error = refund_policy_error(self.refund_policy)
        if policy_error:
            errors["refund_policy"] = policy_error
        if errors:
            raise ValidationError(errors)


def refund_policy_error(policy) -> str | None:
    """Why a refund policy is malformed, or None."""
    if not isinstance(policy, list):
        return _("The refund policy is a list of tiers.")
    for tier in policy:
        if not isinstance(tier, dict) or set(tier) != {"hours_before", "percent"}:
            return _('Each tier is {"hours_before": hours, "percent": percent}.')
        hours, percent = tier["hours_before"], tier["percent"]
        if not isinstance(hours, int) or hours < 0 or not isinstance(percent, int) or not 0 <= percent <= 100:
            return _("Hours are whole numbers from 0, percentages from 0 to 100.")
    return None


class Space(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="spaces", verbose_name=_("venue"))
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(
        _("category"),
        max_length=100,
        blank=True,
        help_text=_("A room type such as “Deluxe double”, or an area such as “Terrace”."),
    )
    capacity = models.PositiveIntegerField(_("capacity (max guests)"), validators=[MinValueValidator(1)])
    min_party_size = models.PositiveIntegerField(_("min party size"), default=1, validators=[MinValueValidator(1)])
    price = models.DecimalField(
        _("price"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Per booking in slot mode, per night in night mode, per seat where sold by the seat. May be zero."),
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
    sort_key = models.CharField(_("sort key"), max_length=300, editable=False, default="", db_default="")
    sold_by_seat = models.BooleanField(
        _("sold by seat"),
        default=False,
        help_text=_(
            "A class, tour or tasting menu: sold by the seat in its sessions, a party taking a seat per guest."
        ),
    )
    is_active = models.BooleanField(_("bookable"), default=True)
    description = models.TextField(_("description"), blank=True)
    buffer_minutes = models.PositiveIntegerField(
        _("buffer (minutes)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
        help_text=_("Minutes to reset this space after a booking. Empty: the venue's buffer."),
    )
    calendar_token = models.CharField(
        _("calendar token"),
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
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
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
                {
                    "capacity": _("Capacity (%(capacity)s) is below the minimum party size (%(min_party_size)s).")
                    % {"capacity": self.capacity, "min_party_size": self.min_party_size}
                }
            )


class OpeningHours(models.Model):
    """One opening period of a venue on one weekday; a day may have several (lunch and dinner)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("venue"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    closes_next_day = models.BooleanField(
        _("closes after midnight"), default=False, help_text=_("Tick when the period ends on the following day.")
    )

    class Meta:
        ordering = ["venue", "weekday", "opens_at"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self):
        values = {
            "weekday": self.get_weekday_display(),
            "opens": f"{self.opens_at:%H:%M}",
            "closes": f"{self.closes_at:%H:%M}",
        }
        if self.closes_next_day:
            return _("%(weekday)s %(opens)s–%(closes)s (next day)") % values
        return _("%(weekday)s %(opens)s–%(closes)s") % values

    def clean(self):
        if self.opens_at is None or self.closes_at is None:
            return
        if not self.closes_next_day and self.closes_at <= self.opens_at:
            raise ValidationError(
                {
                    "closes_at": _(
                        "Closing time must be after opening time. For a period that ends after "
                        "midnight, tick “closes after midnight”."
                    )
                }
            )
        if self.closes_next_day and self.closes_at > self.opens_at:
            raise ValidationError({"closes_at": _("A period that ends the next day cannot last more than 24 hours.")})


class Closure(models.Model):
    """The venue, or one of its spaces, is closed for a while (holidays, maintenance)."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="closures", verbose_name=_("venue"))
    space = models.ForeignKey(
        Space,
        on_delete=models.CASCADE,
        related_name="closures",
        null=True,
        blank=True,
        help_text=_("Leave empty to close the whole venue (or an area)."),
        verbose_name=_("space"),
    )
    area = models.CharField(
        _("area"),
        max_length=100,
        blank=True,
        help_text=_("Close every space of this category (an area such as “Terrace”); empty: the space, or the venue."),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    repeats_yearly = models.BooleanField(
        _("every year"),
        default=False,
        help_text=_("A season: closed on the same dates every year (the terrace in winter)."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, help_text=_("Told to guests, e.g. “winter”."))

    class Meta:
        ordering = ["venue", "starts_at"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="closure_starts_before_end"
            ),
            models.CheckConstraint(
                condition=models.Q(space__isnull=True) | models.Q(area=""), name="closure_space_or_area"
            ),
        ]

    def __str__(self):
        what = self.space.name if self.space_id else (self.area or _("whole venue"))
        zone = self.venue.zone if self.venue_id else None  # in the venue's time zone, like the admin's fields
        start, end = (
            moment.astimezone(zone) if moment and zone else moment for moment in (self.starts_at, self.ends_at)
        )
        values = {"venue": self.venue, "what": what, "start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}"}
        if self.repeats_yearly:
            return _("%(venue)s closed (%(what)s) %(start)s–%(end)s, every year") % values
        return _("%(venue)s closed (%(what)s) %(start)s–%(end)s") % values

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("A closure must end after it starts.")
        long = self.starts_at and self.ends_at and self.ends_at - self.starts_at > timedelta(days=365)
        if self.repeats_yearly and long:
            errors["ends_at"] = _("A closure that repeats every year lasts less than a year.")
        if self.space_id and self.venue_id and self.space.venue_id != self.venue_id:
            errors["space"] = _("That space belongs to another venue.")
        if self.space_id and self.area:
            errors["area"] = _("Close either one space or an area, not both.")
        if errors:
            raise ValidationError(errors)


# A weekly session's day: "Mondays 18:00".
WEEKLY = [_("Mondays"), _("Tuesdays"), _("Wednesdays"), _("Thursdays"), _("Fridays"), _("Saturdays"), _("Sundays")]


class Session(models.Model):
    """When a space sold by the seat runs (a class, a tour, a tasting menu), and how many seats it
    offers: every week on a weekday, or once on a date. Sessions keep their own times, whatever the
    venue's opening hours."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("space"))
    weekday = models.PositiveSmallIntegerField(
        _("weekday"),
        choices=OpeningHours.Weekday.choices,
        null=True,
        blank=True,
        help_text=_("Every week on this day; or a date."),
    )
    date = models.DateField(_("date"), null=True, blank=True, help_text=_("Once, on this date."))
    starts_at = models.TimeField(_("starts at"))
    minutes = models.PositiveIntegerField(
        _("length (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    seats = models.PositiveIntegerField(_("seats"), validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["space", "date", "weekday", "starts_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=True, date__isnull=False)
                | models.Q(weekday__isnull=False, date__isnull=True),
                name="session_weekly_or_once",
            ),
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="session_has_seats"),
        ]

    def __str__(self):
        when = f"{self.date:%Y-%m-%d}" if self.date else WEEKLY[self.weekday]
        values = {"space": self.space.name, "when": when, "time": f"{self.starts_at:%H:%M}", "seats": self.seats}
        # Translators: "Pottery: Mondays 18:00, 8 seats" or "Pottery: 2026-05-04 18:00, 8 seats". Both forms
        # read "seats" in English (as before); give your language's singular in the first.
        return (
            ngettext(
                "%(space)s: %(when)s %(time)s, %(seats)s seats",
                "%(space)s: %(when)s %(time)s, %(seats)s seats",
                self.seats,
            )
            % values
        )

    def runs_on(self, day) -> bool:
        return self.date == day if self.date is not None else self.weekday == day.weekday()

    def clean(self):
        if (self.weekday is None) == (self.date is None):
            raise ValidationError({"weekday": _("Give a weekday (every week) or a date (once), not both.")})


class Shift(models.Model):
    """A service: lunch, dinner. Turn times and pacing may differ by shift; the day sheet shows one."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("venue"))
    name = models.CharField(_("name"), max_length=60, help_text=_("Such as “Lunch” or “Dinner”."))
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"), help_text=_("Earlier than “from” for a service that ends after midnight."))
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=OpeningHours.Weekday.choices),
        blank=True,
        default=list,
        help_text=_("The days it runs, 0 (Monday) to 6 (Sunday), comma separated; empty: every day."),
        verbose_name=_("weekdays"),
    )

    class Meta:
        ordering = ["venue", "starts_at", "name"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
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
            raise ValidationError({"weekdays": _("Weekdays are 0 (Monday) to 6 (Sunday).")})


class TurnTime(models.Model):
    """How long a party of a size keeps its table: a two-top 90 minutes, a six 2½ hours."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="turn_times", verbose_name=_("venue"))
    shift = models.ForeignKey(
        Shift,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="turn_times",
        help_text=_("Empty: every shift (a shift's own turn times come first)."),
        verbose_name=_("shift"),
    )
    min_party_size = models.PositiveIntegerField(_("from guests"), validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField(_("to guests"), validators=[MinValueValidator(1)])
    minutes = models.PositiveIntegerField(_("minutes"), validators=[MinValueValidator(5), MaxValueValidator(24 * 60)])

    class Meta:
        ordering = ["venue", "shift", "min_party_size"]
        verbose_name = _("turn time")
        verbose_name_plural = _("turn times")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_party_size__gte=1, max_party_size__gte=models.F("min_party_size")),
                name="turn_time_party_range",
            ),
            models.CheckConstraint(condition=models.Q(minutes__gte=5), name="turn_time_minutes_positive"),
        ]

    def __str__(self):
        values = {"min": self.min_party_size, "max": self.max_party_size, "minutes": self.minutes}
        if self.shift_id:
            values["shift"] = self.shift.name
            return _("%(min)s–%(max)s guests: %(minutes)s minutes at %(shift)s") % values
        return _("%(min)s–%(max)s guests: %(minutes)s minutes") % values

    def covers(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.max_party_size

    def clean(self):
        errors = {}
        if self.min_party_size and self.max_party_size and self.max_party_size < self.min_party_size:
            errors["max_party_size"] = _("“To guests” must be at least “from guests”.")
        venue = self.venue if self.venue_id else None
        if venue and self.minutes and venue.slot_interval_minutes and self.minutes % venue.slot_interval_minutes:
            errors["minutes"] = _("%(minutes)s minutes is not a multiple of the %(interval)s-minute slot interval.") % {
                "minutes": self.minutes,
                "interval": venue.slot_interval_minutes,
            }
        if self.shift_id and self.venue_id and self.shift.venue_id != self.venue_id:
            errors["shift"] = "That shift belongs to another venue."
        if errors:
            raise ValidationError(errors)


class PacingRule(models.Model):
    """At most so many guests (covers) and/or parties starting in any interval: the kitchen is not hit
    by 40 covers at 19:00. Per shift or all day, per area or the whole venue."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="pacing_rules", verbose_name=_("venue"))
    shift = models.ForeignKey(
        Shift,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="pacing_rules",
        help_text=_("Empty: all day."),
        verbose_name=_("shift"),
    )
    area = models.CharField(
        _("area"), max_length=100, blank=True, help_text=_("A category of spaces (“Terrace”); empty: the whole venue.")
    )
    interval_minutes = models.PositiveIntegerField(
        _("interval (minutes)"), default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    max_covers = models.PositiveIntegerField(
        _("most guests starting"), null=True, blank=True, help_text=_("Empty: no limit on guests.")
    )
    max_parties = models.PositiveIntegerField(
        _("most parties starting"), null=True, blank=True, help_text=_("Empty: no limit on parties.")
    )

    class Meta:
        ordering = ["venue", "shift", "area", "pk"]
        verbose_name = _("pacing rule")
        verbose_name_plural = _("pacing rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_covers__isnull=False) | models.Q(max_parties__isnull=False),
                name="pacing_rule_has_a_limit",
            ),
            models.CheckConstraint(condition=models.Q(interval_minutes__gte=5), name="pacing_rule_interval"),
        ]

    def __str__(self):
        counts = {"covers": self.max_covers, "parties": self.max_parties}
        if self.max_covers is not None and self.max_parties is not None:
            limits = _("%(covers)s guests and %(parties)s parties") % counts
        elif self.max_covers is not None:
            limits = _("%(covers)s guests") % counts
        else:
            limits = _("%(parties)s parties") % counts
        values = {"limits": limits, "minutes": self.interval_minutes, "area": self.area}
        if self.shift_id:
            values["shift"] = self.shift.name
        # Translators: "At most 40 guests starting per 15 minutes on the Terrace at Dinner".
        if self.area and self.shift_id:
            return _("At most %(limits)s starting per %(minutes)s minutes on the %(area)s at %(shift)s") % values
        if self.area:
            return _("At most %(limits)s starting per %(minutes)s minutes on the %(area)s") % values
        if self.shift_id:
            return _("At most %(limits)s starting per %(minutes)s minutes at %(shift)s") % values
        return _("At most %(limits)s starting per %(minutes)s minutes") % values

    def clean(self):
        errors = {}
        if self.max_covers is None and self.max_parties is None:
            errors["max_covers"] = _("Give a limit on guests, on parties, or both.")
        if self.shift_id and self.venue_id and self.shift.venue_id != self.venue_id:
            errors["shift"] = "That shift belongs to another venue."
        if errors:
            raise ValidationError(errors)


class Combination(models.Model):
    """Tables that staff push together for a bigger party: 4 + 5 + 6 seat 9 to 12. A booking of a
    combination takes every table in it."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="combinations", verbose_name=_("venue"))
    name = models.CharField(
        _("name"), max_length=100, blank=True, help_text=_("Empty: the tables' names, such as “4 + 5 + 6”.")
    )
    spaces = models.ManyToManyField(
        Space, related_name="combinations", help_text=_("At least two of the venue's tables."), verbose_name=_("spaces")
    )
    min_party_size = models.PositiveIntegerField(_("from guests"), validators=[MinValueValidator(1)])
    max_party_size = models.PositiveIntegerField(_("to guests"), validators=[MinValueValidator(1)])
    is_active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        ordering = ["venue", "max_party_size", "name", "pk"]
        verbose_name = _("combination")
        verbose_name_plural = _("combinations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_party_size__gte=1, max_party_size__gte=models.F("min_party_size")),
                name="combination_party_range",
            )
        ]

    def __str__(self):
        return self.name or _("Combination %(pk)s") % {"pk": self.pk}

    def fits(self, party_size: int) -> bool:
        return self.min_party_size <= party_size <= self.max_party_size

    def clean(self):
        if self.min_party_size and self.max_party_size and self.max_party_size < self.min_party_size:
            raise ValidationError({"max_party_size": _("“To guests” must be at least “from guests”.")})


# A role's short name, for "… — Manager of Café Linde".
ROLE_NAMES = {"manager": pgettext_lazy("staff role", "Manager"), "host": pgettext_lazy("staff role", "Host")}


class VenueRole(models.Model):
    """A member of staff's role at one venue: what they may do there (spaces/powers.py). Staff without
    a role at a venue have, for that venue, a guest's powers; superusers act everywhere."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager (everything for the venue)")
        HOST = "host", _("Host (day sheet and bookings, no settings or refunds beyond the policy)")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="roles", verbose_name=_("venue"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="venue_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)

    class Meta:
        ordering = ["venue", "role", "user"]
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [models.UniqueConstraint(fields=["venue", "user"], name="venue_role_one_per_user")]

    def __str__(self):
        # Translators: "ana@example.com — Manager of Café Linde".
        return _("%(user)s — %(role)s of %(venue)s") % {
            "user": self.user,
            "role": ROLE_NAMES.get(self.role, self.role),
            "venue": self.venue,
        }


# ---------------------------------------------------------------------------------------------
# Hotels: nightly rates and stay limits by date, calendar feeds of the booking channels


def _month_day(day: date) -> tuple[int, int]:
    return (day.month, day.day)


class NightRule(models.Model):
    """What applies to some nights of a venue's rooms: a date range (every year, for a season), some
    nights of the week, one room category or all. A night is the date a guest sleeps there."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, verbose_name=_("venue"))
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

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="rates", verbose_name=_("venue"))
    nightly_price = models.DecimalField(
        _("price per night"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta(NightRule.Meta):
        verbose_name = _("nightly rate")
        verbose_name_plural = _("nightly rates")
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

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="stay_limits", verbose_name=_("venue"))
    min_nights = models.PositiveIntegerField(_("minimum nights"), default=1, validators=[MinValueValidator(1)])
    max_nights = models.PositiveIntegerField(
        _("maximum nights"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: no maximum.")
    )

    class Meta(NightRule.Meta):
        verbose_name = _("stay limit")
        verbose_name_plural = _("stay limits")
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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    notes = models.TextField(_("notes of the last sync"), blank=True, help_text=_("What was skipped or guessed."))
    events = models.PositiveIntegerField(_("events"), default=0, help_text=_("Events read at the last success."))
    etag = models.CharField(_("etag"), max_length=300, blank=True, editable=False)
    last_modified = models.CharField(_("last modified"), max_length=100, blank=True, editable=False)

    class Meta:
        ordering = ["space", "name", "pk"]
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
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
