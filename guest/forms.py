"""Forms of the guest booking pages: what a guest searches for, what they choose, what they add.

They only read and check input; booking is decided by reservations.services. Every value comes
from a query string or a POST a guest can edit, so each field says what is wrong in plain words.
"""

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.formats import DATE_WITH_DAY
from reservations import capacity
from reservations.capacity import Setup
from reservations.models import Reservation
from reservations.periods import opening_periods, slot_starts, stay_period
from reservations.search import first_bookable_day
from reservations.services import MAX_NIGHTS, MAX_PARTY_SIZE, rules
from reservations.wording import duration_words, space_kind
from spaces.models import Space, Venue

# Up to this many guests the party size is a select (quicker on a phone); above it, a number.
LARGEST_PARTY_SELECT = 30


def tomorrow(venue: Venue, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(venue.zone).date() + timedelta(days=1)


# Django's own messages ("Enter a whole number.", "Ensure this value is greater than or equal to
# 1.") never reach a guest: every field of these forms says what is wrong in our words, by code.
PLAIN_MESSAGES = {
    "required": _("Please fill this in."),
    "invalid_choice": _("Choose one of the options in the list."),
    "min_value": _("Give %(limit_value)s or more."),
    "max_value": _("Give %(limit_value)s or less."),
    "max_length": _("Up to %(limit_value)d characters, please (this has %(show_value)d)."),
    "min_length": _("At least %(limit_value)d characters, please (this has %(show_value)d)."),
    "step_size": _("Choose a value from the list."),
}
PLAIN_INVALID = {
    forms.DateField: _("Give a date as year-month-day, such as 2026-11-14."),
    forms.TimeField: _("Give a time such as 19:30."),
    forms.IntegerField: _("Give a whole number, such as 2."),
    forms.TypedChoiceField: _("Choose one of the options in the list."),
}


def _django_messages(field: forms.Field) -> dict[str, str]:
    """The messages Django gives a field of this class (its own and its validators'), by code."""
    messages = {}
    for cls in reversed(type(field).__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    for validator in field.validators:
        code, message = getattr(validator, "code", None), getattr(validator, "message", None)
        if code and message:
            messages.setdefault(code, message)
    return messages


def plain_errors(form: forms.Form) -> None:
    """Give every field of `form` our words for each error Django would word (what a field sets
    itself is kept). Call at the end of a form's __init__, once its fields are final."""
    for field in form.fields.values():
        django = _django_messages(field)
        for code in {*django, *PLAIN_MESSAGES, "invalid"}:
            current = field.error_messages.get(code)
            if current is not None and current != django.get(code):
                continue  # the field's own words
            if code == "invalid":
                words = next((text for cls, text in PLAIN_INVALID.items() if isinstance(field, cls)), None)
                if words is None and code in django:
                    words = _("Please check this value.")
            else:
                words = PLAIN_MESSAGES.get(code)
                if words is None and code in django:
                    words = _("Please check this value.")
            if words is not None:
                field.error_messages[code] = words


def _day_words(day: date, today: date | None = None) -> str:
    """'Fri 14 Nov'; with the year when it is not this year's ('Fri 14 Nov 2027')."""
    words = format_date(day, DATE_WITH_DAY)
    return f"{words} {day.year}" if today is not None and day.year != today.year else words


def _aria(field: forms.Field, auto_id: str) -> None:
    """Point the input at its hint and its error line, which is always on the page (empty while the
    value is fine), so a message that arrives without a reload is read with the field."""
    described = [f"{auto_id}_helptext"] if field.help_text else []
    field.widget.attrs["aria-describedby"] = " ".join([*described, f"{auto_id}_error"])


class ErrorsBesideFields:
    """A search form whose messages stand next to their fields; the summary above the results only
    names the fields (linking to them) and says what is not next to a visible field."""

    def fields_in_error(self) -> list[forms.BoundField]:
        """The visible fields with an error, in the form's order."""
        return [self[name] for name in self.fields if name in self.errors and not self.fields[name].widget.is_hidden]

    def errors_elsewhere(self) -> list[str]:
        """Errors not shown next to a visible field: the form's own, and hidden fields'."""
        shown = {bound.name for bound in self.fields_in_error()}
        return [str(message) for name, errors in self.errors.items() if name not in shown for message in errors]


def _nights_words(n: int) -> str:
    return ngettext("%(count)s night", "%(count)s nights", n) % {"count": n}


_nights_label = lazy(_nights_words, str)  # the choices are built once: worded when shown


NIGHT_CHOICES = [(n, _nights_label(n)) for n in range(1, MAX_NIGHTS + 1)]


def guest_choices(most: int) -> list[tuple[int, str]]:
    """The party sizes of a select, worded: "1 guest", "2 guests"..."""
    return [(n, ngettext("%(count)s guest", "%(count)s guests", n) % {"count": n}) for n in range(1, most + 1)]


# "Choose a table." and the like: one whole sentence per kind of reservations.wording.space_kind.
CHOOSE_SPACE = {
    "table": _("Choose a table."),
    "room": _("Choose a room."),
    "space": _("Choose a space."),
}
SPACE_UNBOOKABLE = {
    "table": _("That table cannot be booked."),
    "room": _("That room cannot be booked."),
    "space": _("That space cannot be booked."),
}


def bigger_party_words(venue: Venue, most: int) -> str:
    """The refusal of a party larger than the venue takes online, with how to reach it (as
    reservations.wording.contact_words words it)."""
    ways = ", ".join(way for way in (venue.phone, venue.email) if way)
    values = {"venue": venue.name, "most": most, "ways": ways}
    if ways:
        return (
            gettext(
                "%(venue)s takes parties of up to %(most)s online. "
                "For a bigger group, please contact %(venue)s (%(ways)s)."
            )
            % values
        )
    return (
        gettext("%(venue)s takes parties of up to %(most)s online. For a bigger group, please contact %(venue)s.")
        % values
    )


def bigger_group_words(venue: Venue) -> str:
    """The way to book a bigger party, in one sentence: "For a bigger group, please contact Trattoria Aurora (...)."""
    ways = ", ".join(way for way in (venue.phone, venue.email) if way)
    if ways:
        return gettext("For a bigger group, please contact %(venue)s (%(ways)s).") % {"venue": venue.name, "ways": ways}
    return gettext("For a bigger group, please contact %(venue)s.") % {"venue": venue.name}


class AvailabilityForm(ErrorsBesideFields, forms.Form):
    """The search on a venue's page (and on the modify page): day, party size and the venue's options.

    Always bound: missing values take the defaults, so the page can show what is free at once. The
    date defaults to today while today is still bookable (reservations.search.first_bookable_day),
    else tomorrow; the party to `default_party` (the guest's last one) or 2. `time` (hidden, from the
    search across venues) is the start the guest asked for: the page marks the nearest free one.
    `spaces` is the venue's list of active spaces, already loaded by the page (no extra query).
    """

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    party_size = forms.IntegerField(label=_("Guests"))
    nights = forms.IntegerField(
        label=_("Nights"),
        min_value=1,
        max_value=MAX_NIGHTS,
        widget=forms.Select(choices=NIGHT_CHOICES),
        error_messages={
            "min_value": _("A stay lasts at least one night."),
            "max_value": _("Stays can be booked online for up to %(limit_value)s nights."),
            "invalid": _("Choose the number of nights from the list."),
            "required": _("Choose the number of nights from the list."),
        },
    )
    duration = forms.TypedChoiceField(label=_("Duration"), coerce=int)
    category = forms.ChoiceField(label=_("Area"), required=False)
    time = forms.CharField(required=False, max_length=5, widget=forms.HiddenInput())

    def __init__(
        self,
        *,
        venue: Venue,
        spaces: list[Space],
        data=None,
        now: datetime | None = None,
        fixed=(),
        setup: Setup | None = None,
        default_party: int | None = None,
    ):
        self.venue = venue
        now = now or timezone.now()
        self.today = now.astimezone(venue.zone).date()
        self.last_day = (now + timedelta(days=venue.max_advance_days)).astimezone(venue.zone).date()

        # The largest party a table or combination seats, and no more than the venue takes online.
        self.largest_party = capacity.largest_party(setup, spaces) if setup else None
        self.largest_party = self.largest_party or max((space.capacity for space in spaces), default=None)
        if venue.max_online_party_size and self.largest_party:
            self.largest_party = min(self.largest_party, venue.max_online_party_size)
        self.smallest_party = min((space.min_party_size for space in spaces if not space.sold_by_seat), default=1)
        party = default_party or 2
        if self.largest_party:
            party = min(party, self.largest_party)

        first_day = first_bookable_day(setup, party_size=party, now=now) if setup else self.today + timedelta(days=1)
        defaults = {"date": first_day.isoformat(), "party_size": str(party)}
        if venue.uses_nights:
            defaults["nights"] = "1"
        else:
            defaults["duration"] = str(venue.default_duration_minutes)
        given = {key: value for key, value in (data or {}).items() if value != "" or key == "category"}
        super().__init__(data={**defaults, **given}, label_suffix="")
        self.categories = sorted({space.category for space in spaces if space.category})

        date_field = self.fields["date"]
        date_field.label = _("Arrival") if venue.uses_nights else _("Date")
        date_field.widget.attrs.update(
            {"min": self.today.isoformat(), "max": self.last_day.isoformat(), "required": True}
        )
        date_field.help_text = _("Today to %(last)s (%(days)s days ahead).") % {
            "last": _day_words(self.last_day, self.today),
            "days": venue.max_advance_days,
        }
        party_field = self.fields["party_size"]
        party_field.min_value, party_field.max_value = 1, MAX_PARTY_SIZE
        if self.largest_party and self.largest_party <= LARGEST_PARTY_SELECT:
            party_field.widget = forms.Select(choices=guest_choices(self.largest_party))
        else:
            party_field.widget = forms.NumberInput(attrs={"min": 1, "max": self.largest_party or MAX_PARTY_SIZE})
        if self.largest_party:
            party_field.help_text = _("Parties of %(low)s to %(high)s online.") % {
                "low": self.smallest_party,
                "high": self.largest_party,
            }

        if venue.uses_nights:
            del self.fields["duration"]
            self.fields["nights"].help_text = _("Up to %(most)s nights.") % {"most": MAX_NIGHTS}
        elif setup is not None and setup.turn_times:
            del self.fields["nights"], self.fields["duration"]  # the party's turn time is the length
        else:
            del self.fields["nights"]
            durations = venue.durations()
            self.fields["duration"].choices = [(minutes, duration_words(minutes)) for minutes in sorted(durations)]
            choose = gettext("Choose one of these durations: %(durations)s.") % {
                "durations": ", ".join(duration_words(m) for m in sorted(durations))
            }
            self.fields["duration"].error_messages["invalid_choice"] = choose
            self.fields["duration"].error_messages["required"] = choose
            if len(durations) < 2:
                self.fields["duration"].widget = forms.HiddenInput()
        # An area to prefer, where a restaurant assigns tables. A hotel's room types are the results
        # themselves, and a guest who picks a space sees every space: no filter needed there.
        if venue.assigns_spaces and not venue.uses_nights and len(self.categories) > 1 and "category" not in fixed:
            self.fields["category"].choices = [("", gettext("Any area")), *((c, c) for c in self.categories)]
            self.fields["category"].error_messages["invalid_choice"] = _("Choose an area from the list.")
        else:
            del self.fields["category"]
        for name in fixed:
            self.fields.pop(name, None)
        plain_errors(self)
        for name, field in self.fields.items():
            if not field.widget.is_hidden:
                _aria(field, self[name].auto_id)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < self.today:
            raise forms.ValidationError(_("That date has passed; choose today or later."), code="past")
        if day > self.last_day:
            raise forms.ValidationError(
                _("%(venue)s takes bookings up to %(days)s days ahead, until %(last)s.")
                % {
                    "venue": self.venue.name,
                    "days": self.venue.max_advance_days,
                    "last": _day_words(self.last_day, self.today),
                },
                code="too_far",
            )
        return day

    def clean_party_size(self):
        party_size = self.cleaned_data["party_size"]
        if party_size < 1:
            raise forms.ValidationError(_("The party needs at least one guest."), code="min_value")
        if self.largest_party is not None and party_size > self.largest_party:
            raise forms.ValidationError(bigger_party_words(self.venue, self.largest_party), code="max_value")
        if party_size > MAX_PARTY_SIZE:
            raise forms.ValidationError(
                _("Parties of up to %(most)s can book online.") % {"most": MAX_PARTY_SIZE}, code="max_value"
            )
        return party_size

    def clean_time(self):
        """The start the guest asked for ("20:00"), or None: a hint for the page, never an error."""
        try:
            return time.fromisoformat(self.cleaned_data["time"] or "")
        except ValueError:
            return None

    def error_summary(self) -> list[tuple[str, str]]:
        """(label, message) for every error, for the summary above the results."""
        summary = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            summary.extend((label, str(message)) for message in errors)
        return summary


KIND_CHOICES = [
    ("", _("Any kind")),
    (Venue.Kind.RESTAURANT, _("Restaurants")),
    (Venue.Kind.HOTEL, _("Hotels")),
    (Venue.Kind.MEETING_ROOMS, _("Meeting rooms")),
]
DEFAULT_TIME = time(19)


class SearchForm(ErrorsBesideFields, forms.Form):
    """The search across venues on the home page: a date, a time, a party, the nights (for hotels,
    where the time does not matter) and optionally the kind of venue.

    Always bound, like the venue page's search: missing values take the defaults — today while any of
    the venues still has a start today (else tomorrow), 19:00, the guest's last party size (else 2),
    one night. `venues` are the venues searched (reservations.search.venues_with_rules)."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(
        label=_("Time"),
        widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M"),
        help_text=_("At each venue, in its own time."),
    )
    party_size = forms.IntegerField(label=_("Guests"))
    nights = forms.IntegerField(
        label=_("Nights (hotels)"),
        min_value=1,
        max_value=MAX_NIGHTS,
        widget=forms.Select(choices=NIGHT_CHOICES),
        error_messages={
            "min_value": _("A stay lasts at least one night."),
            "max_value": _("Stays can be booked online for up to %(limit_value)s nights."),
            "invalid": _("Choose the number of nights from the list."),
        },
    )
    kind = forms.ChoiceField(label=_("Kind of place"), choices=KIND_CHOICES, required=False)

    def __init__(self, data=None, *, venues: list, now: datetime | None = None, default_party: int | None = None):
        now = now or timezone.now()
        self.venues = venues
        zones = [rules_.venue.zone for rules_ in venues]
        site_today = timezone.localdate(now)
        self.today = min((now.astimezone(zone).date() for zone in zones), default=site_today)
        self.last_day = max(
            ((now + timedelta(days=r.venue.max_advance_days)).astimezone(r.venue.zone).date() for r in venues),
            default=site_today + timedelta(days=90),
        )
        self.max_days = max((r.venue.max_advance_days for r in venues), default=90)
        self.largest_party = min(max((r.largest_party for r in venues), default=0) or MAX_PARTY_SIZE, MAX_PARTY_SIZE)
        party = min(default_party or 2, self.largest_party)
        first_days = [first_bookable_day(r.setup, party_size=party, now=now) for r in venues]
        defaults = {
            "date": min(first_days, default=site_today + timedelta(days=1)).isoformat(),
            "time": DEFAULT_TIME.strftime("%H:%M"),
            "party_size": str(party),
            "nights": "1",
            "kind": "",
        }
        given = {key: value for key, value in (data or {}).items() if key in defaults and value != ""}
        super().__init__(data={**defaults, **given}, label_suffix="", auto_id="search_%s")

        date_field = self.fields["date"]
        date_field.widget.attrs.update({"min": self.today.isoformat(), "max": self.last_day.isoformat()})
        date_field.help_text = _("Today to %(last)s (%(days)s days ahead).") % {
            "last": _day_words(self.last_day, self.today),
            "days": self.max_days,
        }
        party_field = self.fields["party_size"]
        if self.largest_party <= LARGEST_PARTY_SELECT:
            party_field.widget = forms.Select(choices=guest_choices(self.largest_party))
        else:
            party_field.widget = forms.NumberInput(attrs={"min": 1, "max": self.largest_party})
        party_field.help_text = _("Parties of 1 to %(high)s online.") % {"high": self.largest_party}
        self.fields["nights"].help_text = _("Up to %(most)s nights.") % {"most": MAX_NIGHTS}
        self.fields["kind"].error_messages["invalid_choice"] = _("Choose a kind of place from the list.")
        plain_errors(self)
        for name, field in self.fields.items():
            _aria(field, self[name].auto_id)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < self.today:
            raise forms.ValidationError(_("That date has passed; choose today or later."), code="past")
        if day > self.last_day:
            raise forms.ValidationError(
                _("Bookings can be made up to %(days)s days ahead, until %(last)s.")
                % {"days": self.max_days, "last": _day_words(self.last_day, self.today)},
                code="too_far",
            )
        return day

    def clean_party_size(self):
        party_size = self.cleaned_data["party_size"]
        if party_size < 1:
            raise forms.ValidationError(_("The party needs at least one guest."), code="min_value")
        if party_size > self.largest_party:
            raise forms.ValidationError(
                _("Parties of up to %(most)s can book online here; for more, please call the venue.")
                % {"most": self.largest_party},
                code="max_value",
            )
        return party_size


class ChoiceForm(forms.Form):
    """One time, room or space a guest chose: what the buttons of the slot picker send.

    `clean()` resolves it into the arguments of reservation_hold/reservation_modify: an aware
    `starts_at`, an `ends_at` (from the nights or the duration), and the space or category.
    """

    starts_at = forms.CharField(max_length=40)
    ends_at = forms.CharField(max_length=40, required=False)
    nights = forms.IntegerField(required=False, min_value=1, max_value=MAX_NIGHTS)
    duration = forms.IntegerField(required=False, min_value=1)
    party_size = forms.IntegerField(
        min_value=1,
        max_value=MAX_PARTY_SIZE,
        error_messages={
            "required": _("Choose how many guests are coming."),
            "invalid": _("Choose how many guests are coming."),
            "min_value": _("The party needs at least one guest."),
        },
    )
    space = forms.IntegerField(required=False, min_value=1)
    category = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, venue: Venue, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party_size"].error_messages["max_value"] = gettext(
            "Parties of up to %(most)s can book online."
        ) % {"most": MAX_PARTY_SIZE}
        self.venue = venue
        # The turn times decide a table's length: read the venue's rules once (not for stays).
        self.rules = None if venue.uses_nights else rules.setup(venue)
        plain_errors(self)  # our words for any error the fields above do not word themselves

    @staticmethod
    def _moment(value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError(gettext("Choose a time from the list."), code="invalid") from None
        if moment.tzinfo is None:
            raise forms.ValidationError(gettext("Choose a time from the list."), code="naive")
        return moment

    def clean_starts_at(self):
        return self._moment(self.cleaned_data["starts_at"])

    def clean_ends_at(self):
        value = self.cleaned_data["ends_at"]
        return self._moment(value) if value else None

    def clean_duration(self):
        duration = self.cleaned_data["duration"]
        if self.rules is not None and self.rules.turn_times:
            return None  # the party's turn time is the length (clean() fills in the end)
        if duration is not None and not self.venue.uses_nights and duration not in self.venue.durations():
            allowed = ", ".join(duration_words(m) for m in sorted(self.venue.durations()))
            raise forms.ValidationError(
                gettext("Bookings here last %(durations)s.") % {"durations": allowed}, code="duration"
            )
        return duration

    def clean_space(self):
        space_id = self.cleaned_data["space"]
        if self.venue.assigns_spaces:
            # The venue assigns: a guest cannot ask for table 7, only for a class's or tasting's session.
            seats = (
                self.venue.spaces.filter(pk=space_id, is_active=True, sold_by_seat=True).first() if space_id else None
            )
            if seats is not None:
                seats.venue = self.venue
            return seats
        if space_id is None:
            raise forms.ValidationError(CHOOSE_SPACE[space_kind(self.venue)], code="required")
        space = self.venue.spaces.filter(pk=space_id, is_active=True).first()
        if space is None:
            raise forms.ValidationError(SPACE_UNBOOKABLE[space_kind(self.venue)], code="unknown")
        space.venue = self.venue  # the venue is loaded already: no query for space.venue later
        return space

    def clean(self):
        data = super().clean()
        starts_at = data.get("starts_at")
        if starts_at is None or self.errors:
            return data
        venue = self.venue
        space = data.get("space")
        session = rules.session_at(space, starts_at) if space is not None and space.sold_by_seat else None
        if session is not None:  # a class or tour: the session sets the end
            data["ends_at"] = (starts_at.astimezone(UTC) + timedelta(minutes=session.minutes)).astimezone(venue.zone)
        elif data.get("ends_at") is None:
            if venue.uses_nights:
                arrival = starts_at.astimezone(venue.zone).date()
                data["ends_at"] = stay_period(venue, arrival, data.get("nights") or 1)[1]
            else:
                minutes = data.get("duration") or venue.default_duration_minutes
                if data.get("party_size") and self.rules is not None:
                    turn = capacity.turn_minutes(self.rules, data["party_size"], starts_at)
                    minutes = turn if turn is not None else minutes
                data["ends_at"] = (starts_at.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(venue.zone)
        if not venue.assigns_spaces:
            data["category"] = ""
        return data

    @property
    def local_day(self) -> date:
        return self.cleaned_data["starts_at"].astimezone(self.venue.zone).date()

    def query(self) -> dict[str, str]:
        """The choice as query-string values (kept across the log-in, and in the venue page's link)."""
        data = self.cleaned_data
        values = {"starts_at": data["starts_at"].isoformat(), "party_size": str(data["party_size"])}
        if self.venue.uses_nights:
            values["nights"] = str(data.get("nights") or 1)
        elif data.get("duration"):
            values["duration"] = str(data["duration"])
        if data.get("space") is not None:
            values["space"] = str(data["space"].pk)
        if data.get("category"):
            values["category"] = data["category"]
        return values

    def search_query(self) -> dict[str, str]:
        """The venue-page search that shows this choice (same day, party and length)."""
        data = self.cleaned_data
        values = {"date": self.local_day.isoformat(), "party_size": str(data["party_size"])}
        if self.venue.uses_nights:
            values["nights"] = str(data.get("nights") or 1)
        elif data.get("duration"):
            values["duration"] = str(data["duration"])
        if data.get("category") and not self.venue.uses_nights:
            values["category"] = data["category"]
        return values


MAX_NOTES = Reservation._meta.get_field("notes").max_length


class BookingDetailsForm(forms.Form):
    """What a guest adds to a booking as they confirm it (and changes later): notes for the venue and
    the name and phone the booking is under, prefilled from their profile ("booking for someone
    else?"). The limits are the service's (reservation_confirm, reservation_modify), which checks them
    and reads the phone: a refusal comes back as a BookingError and is shown next to its field.

    The notes' limit is visible before it bites: the help text says it, static/js/character-count.js
    counts down (and lifts `maxlength`, so a pasted text is never cut without a word; the server then
    says it is too long)."""

    notes = forms.CharField(
        label=_("Notes for the venue (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_NOTES, "data-character-count": MAX_NOTES}),
    )
    contact_name = forms.CharField(
        label=_("Name for the booking"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"max_length": _("A name can be up to 150 characters.")},
    )
    contact_phone = forms.CharField(
        label=_("Phone for the booking"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("The venue calls it if it needs to reach you about the booking."),
        error_messages={"max_length": _("This is not a phone number we can call.")},
    )

    def __init__(self, *args, texts: Venue | None = None, **kwargs):
        """`texts`: the venue, where the guest may ask for text messages about the booking here (the
        review page, when the venue sends them and the profile does not ask for them already)."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["notes"].help_text = gettext(
            "Allergies, a high chair, step-free access… Up to %(most)s characters."
        ) % {"most": f"{MAX_NOTES:,}"}
        if texts is not None:
            self.fields["by_sms"] = forms.BooleanField(
                label=texts_label(texts),
                required=False,
                help_text=_("To the phone for the booking, as well as the e-mail. Reply STOP to any text to end them."),
            )
        plain_errors(self)  # our words for any error the fields above do not word themselves

    def given(self) -> dict[str, str | bool | None]:
        """The values for the service: None for a field the page did not send (kept as it is). A box
        left unticked is not sent by the browser: the choice is False then, whenever the page had it."""
        return {
            name: self.cleaned_data[name] if name in self.data or name == "by_sms" else None for name in self.fields
        }

    def show_refusal(self, error) -> bool:
        """Show a BookingError next to its field, if it is one of ours."""
        if error.field in self.fields:
            self.add_error(error.field, error.message)
            return True
        return False


def texts_label(venue: Venue) -> str:
    """What a booking's text messages box says: what the venue sends by text."""
    if venue.sms_reminders and venue.sms_booking_changes:
        return gettext("Text me a reminder, and when the booking is confirmed or changed")
    if venue.sms_booking_changes:
        return gettext("Text me when the booking is confirmed or changed")
    return gettext("Text me a reminder")


def waitlist_starts(venue: Venue, day: date, *, now: datetime | None = None) -> list[list]:
    """The day's start times on the venue's slot grid, one list per opening period (lunch, dinner),
    as local wall-clock times of `day`; starts already past the lead time left out. A stay has one
    start: the check-in time."""
    if venue.uses_nights:
        return [[venue.check_in_time]]
    now = now or timezone.now()
    soonest = now + timedelta(minutes=venue.min_lead_minutes)
    hours = list(venue.opening_hours.all())  # prefetched with the venue
    periods = []
    for period in opening_periods(venue, day, hours):
        starts = slot_starts(period, venue.slot_interval_minutes, venue.default_duration_minutes)
        local = [start.astimezone(venue.zone) for start in starts if start >= soonest]
        # A wish is for one date: starts after midnight (a period closing the next day) are left out.
        times = [start.time() for start in local if start.date() == day]
        if times:
            periods.append(times)
    return periods


class WaitlistForm(forms.Form):
    """A wish for a full day: the search's date, party and area (hidden), and a window of starts
    (earliest and latest, on the venue's grid for that day). The rules are waitlist_join's."""

    date = forms.DateField(widget=forms.HiddenInput())
    party_size = forms.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE, widget=forms.HiddenInput())
    nights = forms.IntegerField(required=False, min_value=1, max_value=MAX_NIGHTS, widget=forms.HiddenInput())
    category = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput())
    earliest = forms.TypedChoiceField(label=pgettext_lazy("time window", "From"), coerce=time.fromisoformat)
    latest = forms.TypedChoiceField(label=pgettext_lazy("time window", "Until"), coerce=time.fromisoformat)
    by_sms = forms.BooleanField(
        label=_("Text me if a place frees up"),
        required=False,
        help_text=_("To the phone in My account, as well as the e-mail."),
    )

    def __init__(
        self, data=None, *, venue: Venue, categories=(), initial=None, now: datetime | None = None, texts: bool = False
    ):
        """`texts`: offer the box "Text me if a place frees up" (the venue texts its offers, and the
        guest's profile does not ask for texts already)."""
        # Its own ids: the search form on the same page has a date and a party size too.
        super().__init__(data, initial=initial, label_suffix="", auto_id="waitlist_%s")
        self.venue = venue
        self.categories = set(categories)
        raw = (data if data is not None else initial) or {}
        try:
            self.day = date.fromisoformat(str(raw.get("date", "")))
        except ValueError:
            self.day = None
        try:
            self.party = int(raw.get("party_size", ""))
        except ValueError:
            self.party = None
        self.stay_nights = int(raw["nights"]) if str(raw.get("nights", "")).isdigit() else 1
        self.area = str(raw.get("category", ""))
        self.periods = waitlist_starts(venue, self.day, now=now) if self.day else []
        starts = [start for period in self.periods for start in period]
        choices = [(start.strftime("%H:%M"), start.strftime("%H:%M")) for start in starts]
        for name in ("earliest", "latest"):
            field = self.fields[name]
            field.choices = choices
            field.error_messages["invalid_choice"] = field.error_messages["required"] = gettext(
                "Choose a time from the list."
            )
            if venue.uses_nights:
                field.widget = forms.HiddenInput()  # a stay starts at check-in
        if data is None and self.periods:
            # The whole evening where the day has lunch and dinner, else the whole day.
            last = self.periods[-1]
            self.initial.setdefault("earliest", last[0].strftime("%H:%M"))
            self.initial.setdefault("latest", last[-1].strftime("%H:%M"))
        if not venue.uses_nights:
            del self.fields["nights"]
        if not texts:
            del self.fields["by_sms"]
        plain_errors(self)

    @property
    def has_starts(self) -> bool:
        return bool(self.periods)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not self.periods:
            raise forms.ValidationError(
                gettext("%(venue)s takes no bookings on %(day)s.")
                % {"venue": self.venue.name, "day": format_date(day, DATE_WITH_DAY)}
            )
        return day

    def clean_category(self):
        category = self.cleaned_data["category"]
        if category and category not in self.categories:
            raise forms.ValidationError(gettext("Choose an area from the search."), code="unknown")
        return category

    def clean(self):
        data = super().clean()
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", gettext("The latest start must not be before the earliest."))
        return data

    def query(self) -> dict[str, str]:
        """The wish as query-string values (kept across the log-in)."""
        return {name: str(self.data[name]) for name in self.fields if self.data.get(name) not in (None, "")}

    def search_query(self) -> dict[str, str]:
        """The venue-page search for the wish's day, party and area."""
        keys = ("date", "party_size", "nights", "category")
        return {key: str(self.data[key]) for key in keys if self.data.get(key) not in (None, "")}
