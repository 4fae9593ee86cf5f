"""Forms of the guest booking pages: what a guest searches for, what they choose, what they add.

They only read and check input; booking is decided by reservations.services. Every value comes
from a query string or a POST a guest can edit, so each field says what is wrong in plain words.
"""

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from reservations import capacity
from reservations.capacity import Setup
from reservations.periods import opening_periods, slot_starts, stay_period
from reservations.services import MAX_NIGHTS, MAX_PARTY_SIZE, rules
from reservations.wording import contact_words, duration_words, space_noun
from spaces.models import Space, Venue

# Up to this many guests the party size is a select (quicker on a phone); above it, a number.
LARGEST_PARTY_SELECT = 30


def tomorrow(venue: Venue, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(venue.zone).date() + timedelta(days=1)


class AvailabilityForm(forms.Form):
    """The search on a venue's page (and on the modify page): day, party size and the venue's options.

    Always bound: missing values take the defaults, so the page can show what is free at once.
    `spaces` is the venue's list of active spaces, already loaded by the page (no extra query).
    """

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    party_size = forms.IntegerField(label="Guests")
    nights = forms.IntegerField(
        label="Nights",
        min_value=1,
        max_value=MAX_NIGHTS,
        widget=forms.Select(choices=[(n, "1 night" if n == 1 else f"{n} nights") for n in range(1, MAX_NIGHTS + 1)]),
        error_messages={
            "min_value": "A stay lasts at least one night.",
            "max_value": f"Stays can be booked online for up to {MAX_NIGHTS} nights.",
        },
    )
    duration = forms.TypedChoiceField(label="Duration", coerce=int)
    category = forms.ChoiceField(label="Area", required=False)

    def __init__(
        self,
        *,
        venue: Venue,
        spaces: list[Space],
        data=None,
        now: datetime | None = None,
        fixed=(),
        setup: Setup | None = None,
    ):
        self.venue = venue
        self.today = (now or timezone.now()).astimezone(venue.zone).date()
        self.last_day = ((now or timezone.now()) + timedelta(days=venue.max_advance_days)).astimezone(venue.zone).date()
        defaults = {"date": (self.today + timedelta(days=1)).isoformat(), "party_size": "2"}
        if venue.uses_nights:
            defaults["nights"] = "1"
        else:
            defaults["duration"] = str(venue.default_duration_minutes)
        given = {key: value for key, value in (data or {}).items() if value != "" or key == "category"}
        super().__init__(data={**defaults, **given}, label_suffix="")

        # The largest party a table or combination seats, and no more than the venue takes online.
        self.largest_party = capacity.largest_party(setup, spaces) if setup else None
        self.largest_party = self.largest_party or max((space.capacity for space in spaces), default=None)
        if venue.max_online_party_size and self.largest_party:
            self.largest_party = min(self.largest_party, venue.max_online_party_size)
        self.categories = sorted({space.category for space in spaces if space.category})

        self.fields["date"].label = "Arrival" if venue.uses_nights else "Date"
        self.fields["date"].widget.attrs.update(
            {"min": self.today.isoformat(), "max": self.last_day.isoformat(), "required": True}
        )
        party = self.fields["party_size"]
        party.min_value, party.max_value = 1, MAX_PARTY_SIZE
        if self.largest_party and self.largest_party <= LARGEST_PARTY_SELECT:
            party.widget = forms.Select(
                choices=[(n, "1 guest" if n == 1 else f"{n} guests") for n in range(1, self.largest_party + 1)]
            )
        else:
            party.widget = forms.NumberInput(attrs={"min": 1, "max": self.largest_party or MAX_PARTY_SIZE})

        if venue.uses_nights:
            del self.fields["duration"]
        elif setup is not None and setup.turn_times:
            del self.fields["nights"], self.fields["duration"]  # the party's turn time is the length
        else:
            del self.fields["nights"]
            durations = venue.durations()
            self.fields["duration"].choices = [(minutes, duration_words(minutes)) for minutes in sorted(durations)]
            self.fields["duration"].error_messages["invalid_choice"] = (
                "Choose one of these durations: " + ", ".join(duration_words(m) for m in sorted(durations)) + "."
            )
            if len(durations) < 2:
                self.fields["duration"].widget = forms.HiddenInput()
        # An area to prefer, where a restaurant assigns tables. A hotel's room types are the results
        # themselves, and a guest who picks a space sees every space: no filter needed there.
        if venue.assigns_spaces and not venue.uses_nights and len(self.categories) > 1 and "category" not in fixed:
            self.fields["category"].choices = [("", "Any area"), *((c, c) for c in self.categories)]
        else:
            del self.fields["category"]
        for name in fixed:
            self.fields.pop(name, None)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < self.today:
            raise forms.ValidationError(f"That date has passed. Choose {self.today:%a %d %b} or later.", code="past")
        if day > self.last_day:
            raise forms.ValidationError(
                f"{self.venue.name} takes bookings up to {self.venue.max_advance_days} days ahead, "
                f"until {self.last_day:%a %d %b %Y}.",
                code="too_far",
            )
        return day

    def clean_party_size(self):
        party_size = self.cleaned_data["party_size"]
        if party_size < 1:
            raise forms.ValidationError("The party needs at least one guest.", code="min_value")
        if self.largest_party is not None and party_size > self.largest_party:
            raise forms.ValidationError(
                f"{self.venue.name} takes parties of up to {self.largest_party} online. "
                f"For a bigger group, please {contact_words(self.venue)}.",
                code="max_value",
            )
        if party_size > MAX_PARTY_SIZE:
            raise forms.ValidationError(f"Parties of up to {MAX_PARTY_SIZE} can book online.", code="max_value")
        return party_size

    def error_summary(self) -> list[tuple[str, str]]:
        """(label, message) for every error, for the summary above the results."""
        summary = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            summary.extend((label, str(message)) for message in errors)
        return summary


class ChoiceForm(forms.Form):
    """One time, room or space a guest chose: what the buttons of the slot picker send.

    `clean()` resolves it into the arguments of reservation_hold/reservation_modify: an aware
    `starts_at`, an `ends_at` (from the nights or the duration), and the space or category.
    """

    starts_at = forms.CharField(max_length=40)
    ends_at = forms.CharField(max_length=40, required=False)
    nights = forms.IntegerField(required=False, min_value=1, max_value=MAX_NIGHTS)
    duration = forms.IntegerField(required=False, min_value=1)
    party_size = forms.IntegerField(min_value=1, max_value=MAX_PARTY_SIZE)
    space = forms.IntegerField(required=False, min_value=1)
    category = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, venue: Venue, **kwargs):
        super().__init__(*args, **kwargs)
        self.venue = venue
        # The turn times decide a table's length: read the venue's rules once (not for stays).
        self.rules = None if venue.uses_nights else rules.setup(venue)

    @staticmethod
    def _moment(value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError("Choose a time from the list.", code="invalid") from None
        if moment.tzinfo is None:
            raise forms.ValidationError("Choose a time from the list.", code="naive")
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
            raise forms.ValidationError(f"Bookings here last {allowed}.", code="duration")
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
            raise forms.ValidationError(f"Choose a {space_noun(self.venue)}.", code="required")
        space = self.venue.spaces.filter(pk=space_id, is_active=True).first()
        if space is None:
            raise forms.ValidationError(f"That {space_noun(self.venue)} cannot be booked.", code="unknown")
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


class NotesForm(forms.Form):
    notes = forms.CharField(
        label="Notes for the venue (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
        help_text="Allergies, a high chair, step-free access… Up to 1000 characters.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


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
    earliest = forms.TypedChoiceField(label="From", coerce=time.fromisoformat)
    latest = forms.TypedChoiceField(label="Until", coerce=time.fromisoformat)

    def __init__(self, data=None, *, venue: Venue, categories=(), initial=None, now: datetime | None = None):
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
            field.error_messages["invalid_choice"] = field.error_messages["required"] = "Choose a time from the list."
            if venue.uses_nights:
                field.widget = forms.HiddenInput()  # a stay starts at check-in
        if data is None and self.periods:
            # The whole evening where the day has lunch and dinner, else the whole day.
            last = self.periods[-1]
            self.initial.setdefault("earliest", last[0].strftime("%H:%M"))
            self.initial.setdefault("latest", last[-1].strftime("%H:%M"))
        if not venue.uses_nights:
            del self.fields["nights"]

    @property
    def has_starts(self) -> bool:
        return bool(self.periods)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not self.periods:
            raise forms.ValidationError(f"{self.venue.name} takes no bookings on {day:%a} {day.day} {day:%b}.")
        return day

    def clean_category(self):
        category = self.cleaned_data["category"]
        if category and category not in self.categories:
            raise forms.ValidationError("Choose an area from the search.", code="unknown")
        return category

    def clean(self):
        data = super().clean()
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", "The latest start must not be before the earliest.")
        return data

    def query(self) -> dict[str, str]:
        """The wish as query-string values (kept across the log-in)."""
        return {name: str(self.data[name]) for name in self.fields if self.data.get(name) not in (None, "")}

    def search_query(self) -> dict[str, str]:
        """The venue-page search for the wish's day, party and area."""
        keys = ("date", "party_size", "nights", "category")
        return {key: str(self.data[key]) for key in keys if self.data.get(key) not in (None, "")}
