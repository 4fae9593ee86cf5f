"""The home page (the venues) and a venue's page: what it is, and what a guest can book there,
found with one search form.

The slot picker (search form plus results) is also what the modify page and a refused hold show,
so it is built here once by `picker_context` and rendered from templates/spaces/_availability.html.
"""

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from guest.forms import AvailabilityForm, WaitlistForm
from payments.services import payment_words
from reservations.exceptions import PolicyViolation
from reservations.periods import local_datetime
from reservations.selectors import Availability, category_entries, venue_availability
from reservations.services import rules
from reservations.wording import space_noun
from spaces.models import OpeningHours, Space, Venue

ALTERNATIVES = 3


def home(request):
    venues = Venue.objects.filter(is_active=True)
    return render(request, "home.html", {"venues": venues})


def active_venue(slug: str) -> Venue:
    """The venue if it takes bookings, with its opening hours (used by the availability too)."""
    return get_object_or_404(Venue.objects.prefetch_related("opening_hours"), slug=slug, is_active=True)


def active_spaces(venue: Venue) -> list[Space]:
    spaces = list(venue.spaces.filter(is_active=True))
    for space in spaces:
        space.venue = venue  # spares a query per space wherever space.venue is read
    return spaces


def _availability(
    form: AvailabilityForm, *, category: str = "", now: datetime, exclude=None, setup=None, bookable=None
) -> Availability | None:
    """What is free for the search, or None with the reason added to the form."""
    if not form.is_valid():
        return None
    venue = form.venue
    data = form.cleaned_data
    try:
        return venue_availability(
            venue=venue,
            day=data["date"],
            party_size=data["party_size"],
            duration=data.get("duration"),
            nights=data.get("nights"),
            category=data.get("category") or category,
            now=now,
            exclude=exclude,
            setup=setup,
            bookable=bookable,
        )
    except PolicyViolation as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


def _results(availability: Availability) -> dict:
    """What the partial lists, the way the venue works."""
    venue = availability.venue
    if venue.assigns_spaces and venue.uses_nights:
        entries = category_entries(availability)
        categories = []
        for option in availability.options:
            entry = entries.get(option.category)
            categories.append(
                {
                    "option": option,
                    "price": entry.price if entry else None,
                    "breakdown": entry.breakdown if entry else "",
                    "free": option.free,
                    "reason": option.unavailable_reason,
                }
            )
        return {"mode": "categories", "categories": categories, "found": any(c["free"] for c in categories)}
    if venue.assigns_spaces:
        starts = availability.start_times
        # A class or tasting sold by the seat is picked by its session, even where tables are assigned.
        sessions = [
            entry for entry in availability.spaces if entry.space.sold_by_seat and (entry.slots or entry.sold_out)
        ]
        return {"mode": "times", "start_times": starts, "session_results": sessions, "found": bool(starts or sessions)}
    found = not availability.is_empty or any(entry.sold_out for entry in availability.spaces)
    # A room a stay limit refuses is listed with the reason, not left out (the guest learns what to change).
    explained = any(entry.unavailable_reason for entry in availability.spaces)
    return {"mode": "spaces", "space_results": availability.spaces, "found": found, "explained": explained}


def nearest_alternatives(availability: Availability | None, starts_at: datetime, space: Space | None = None):
    """Up to three free (slot, space) pairs of the same day, closest to the time that was refused."""
    if availability is None or availability.venue.uses_nights:
        return []
    if availability.venue.assigns_spaces:
        pairs = [(slot, None) for slot in availability.start_times]
    else:
        pairs = [(slot, entry.space) for entry in availability.spaces for slot in entry.slots]
        same_space = [pair for pair in pairs if space is not None and pair[1].pk == space.pk]
        pairs = same_space or pairs
    pairs = [pair for pair in pairs if pair[0].starts_at != starts_at]
    nearest = sorted(pairs, key=lambda pair: (abs(pair[0].starts_at - starts_at), pair[0].starts_at))[:ALTERNATIVES]
    return sorted(nearest, key=lambda pair: pair[0].starts_at)


def picker_context(
    *,
    venue: Venue,
    spaces: list[Space],
    data,
    search_url: str,
    action_url: str,
    fixed_category: str | None = None,
    refused_at: datetime | None = None,
    refused_space: Space | None = None,
    now: datetime | None = None,
    exclude=None,
) -> dict:
    """The search form and what it finds, for the venue page, the modify page and refused holds.

    `action_url` is where the time buttons post; `fixed_category` keeps the category of a booking
    being changed (the search then offers no area). With `refused_at`, the nearest free times.
    """
    now = now or timezone.now()
    fixed = ("category",) if fixed_category is not None else ()
    setup = rules.setup(venue)  # the venue's rules, read once for the form and the search
    form = AvailabilityForm(venue=venue, spaces=spaces, data=data, now=now, fixed=fixed, setup=setup)
    availability = _availability(
        form, category=fixed_category or "", now=now, exclude=exclude, setup=setup, bookable=spaces
    )
    context = {
        "venue": venue,
        "form": form,
        "availability": availability,
        "search_url": search_url,
        "action_url": action_url,
        "space_noun": space_noun(venue),
        "space_noun_plural": space_noun(venue, plural=True),
        "chosen_category": (form.cleaned_data.get("category") if availability else "") or fixed_category or "",
        "alternatives": [],
    }
    if availability is not None:
        context.update(_results(availability))
        refused_everything = availability.refusals and not context.get("found") and _all_refused(availability)
        if refused_everything and "nights" in form.fields:
            # Nothing is offered only because of the stay limits: say so next to the nights.
            for reason in dict.fromkeys(availability.refusals.values()):
                form.add_error("nights", reason)
        query = {key: value for key, value in form.data.items() if key in form.fields}
        query["date"] = (availability.day + timedelta(days=1)).isoformat()
        context["next_day_url"] = f"{search_url}?{urlencode(query)}" if availability.day < form.last_day else ""
        if refused_at is not None:
            context["alternatives"] = nearest_alternatives(availability, refused_at, refused_space)
        context["closed_words"] = closed_words(venue, availability.day)
        area = context["chosen_category"]
        if area and not context["closed_words"] and not context.get("found"):
            context["closed_words"] = area_closed_words(venue, availability.day, area)
    return context


def _all_refused(availability: Availability) -> bool:
    """Every fitting room type of the search is refused by a stay limit (none just sold out)."""
    areas = {entry.space.category for entry in availability.spaces if not entry.space.sold_by_seat}
    return bool(areas) and areas <= set(availability.refusals)


def closed_words(venue: Venue, day) -> str:
    """Why nothing is free on a day the venue never opens: "Trattoria Aurora is closed on Mondays."
    Empty for a day it opens, for hotels (stays span days), and before any hours are published."""
    hours = list(venue.opening_hours.all())  # prefetched with the venue
    if venue.uses_nights or not hours or any(period.weekday == day.weekday() for period in hours):
        return ""
    return f"{venue.name} is closed on {OpeningHours.Weekday(day.weekday()).label}s."


def area_closed_words(venue: Venue, day, area: str) -> str:
    """Why an area has nothing on a day it is closed all day: "The Terrace is closed from Sun 01 Nov
    00:00 to Thu 01 Apr 00:00 (winter)." Empty when it is open for part of the day or more."""
    start = local_datetime(venue, day, time(0))
    end = local_datetime(venue, day + timedelta(days=1), time(0))
    for span in rules.closures_meeting(venue, start, end):
        if span.closure.area == area and span.starts_at <= start and end <= span.ends_at:
            return rules.closure_words(venue, span)
    return ""


def render_picker(request, template: str, context: dict, *, status: int = 200):
    """The whole page, or only the results when htmx asks for them (the search form changed)."""
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "spaces/_availability.html" if partial else template, context, status=status)
    # One URL, two bodies: caches and the browser's back button must not mix them up.
    patch_vary_headers(response, ("HX-Request",))
    return response


def venue_page(request, venue: Venue, *, data, status: int = 200, **extra):
    """The venue page; the hold view re-renders it (with a message) when a choice was refused."""
    spaces = active_spaces(venue)
    url = venue.get_absolute_url()
    context = picker_context(
        venue=venue,
        spaces=spaces,
        data=data,
        search_url=url,
        action_url=reverse("spaces:hold", kwargs={"slug": venue.slug}),
        refused_at=extra.pop("refused_at", None),
        refused_space=extra.pop("refused_space", None),
    )
    wish = extra.pop("waitlist_form", None)
    context.update(spaces=spaces, payment_words=payment_words(venue), **extra)
    context.update(waitlist_context(venue, spaces, context, wish))
    return render_picker(request, "spaces/venue_detail.html", context, status=status)


def waitlist_form(venue: Venue, data=None, *, spaces: list[Space], initial=None) -> WaitlistForm:
    categories = {space.category for space in spaces if space.category}
    return WaitlistForm(data, venue=venue, categories=categories, initial=initial)


def waitlist_context(venue: Venue, spaces: list[Space], context: dict, wish: WaitlistForm | None) -> dict:
    """The "Join the waitlist" form below the results: where nothing is free, and always for a venue
    booked by the slot (the time a guest wants may be the one that is gone). `wish` is a form sent
    back (refused, or filled in after the log-in). A class's or tour's sold-out session has a button of
    its own (guest/waitlist.py: join_session)."""
    if wish is not None:
        return {"waitlist_form": wish, "waitlist_url": reverse("spaces:waitlist_join", kwargs={"slug": venue.slug})}
    availability = context.get("availability")
    if not venue.waitlist:  # the venue's switch (Venue.waitlist)
        return {}
    if availability is None or context.get("closed_words") or context["form"].errors:
        return {}  # a search to correct (a stay limit among them): waiting would not help
    if context.get("found") and venue.uses_nights:
        return {}
    initial = {"date": availability.day.isoformat(), "party_size": availability.party_size}
    if venue.uses_nights:
        initial["nights"] = availability.nights
    if context.get("chosen_category"):
        initial["category"] = context["chosen_category"]
    form = waitlist_form(venue, spaces=spaces, initial=initial)
    if not form.has_starts:
        return {}
    return {"waitlist_form": form, "waitlist_url": reverse("spaces:waitlist_join", kwargs={"slug": venue.slug})}


def venue_detail(request, slug):
    venue = active_venue(slug)
    return venue_page(request, venue, data=request.GET)
