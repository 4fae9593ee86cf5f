"""The home page (the search across venues) and a venue's page: what it is, and what a guest can
book there, found with one search form.

The home page asks a date, a time, a party (nights for hotels, a kind of venue) and answers with
each venue's nearest free times (reservations/search.py); its buttons hold a time as the venue
page's do, or open the venue page with the search kept (`time` marks the asked start there).

The slot picker (search form plus results) is also what the modify page and a refused hold show,
so it is built here once by `picker_context` and rendered from templates/spaces/_availability.html.
"""

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guest.forms import AvailabilityForm, SearchForm, WaitlistForm, bigger_group_words
from payments.services import payment_words
from reservations.exceptions import PolicyViolation
from reservations.periods import local_datetime
from reservations.search import KINDS, VenueAnswer, last_party_size, search, venues_with_rules
from reservations.selectors import Availability, Slot, category_entries, venue_availability
from reservations.services import rules
from reservations.services.text_messages import texts_offered_for_waitlist
from reservations.wording import space_kind, space_noun
from spaces.models import OpeningHours, Space, Venue

ALTERNATIVES = 3

# "Closed on Mondays", "Trattoria Aurora is closed on Sundays.": every weekday, by OpeningHours.Weekday.
WEEKDAYS_PLURAL = {
    0: gettext_lazy("Mondays"),
    1: gettext_lazy("Tuesdays"),
    2: gettext_lazy("Wednesdays"),
    3: gettext_lazy("Thursdays"),
    4: gettext_lazy("Fridays"),
    5: gettext_lazy("Saturdays"),
    6: gettext_lazy("Sundays"),
}


def home(request):
    """The search across venues: every bookable venue (of the kind asked) with its free times nearest
    the asked time, in a constant number of queries. A change of the form refreshes the answers in
    place (htmx); without JavaScript the form reloads the page and works the same."""
    now = timezone.now()
    kind = request.GET.get("kind", "")
    venues = venues_with_rules(kind if kind in KINDS else "")
    form = SearchForm(request.GET, venues=venues, now=now, default_party=last_party_size(request.user))
    context = {"form": form, "venues": [found.venue for found in venues], "answers": None, "kind_asked": kind}
    if form.is_valid():
        data = form.cleaned_data
        answers = search(
            venues,
            day=data["date"],
            at=data["time"],
            party_size=data["party_size"],
            nights=data["nights"],
            now=now,
        )
        # A page of venues at a time (those with something free first): a city's thousand venues
        # would be a page of megabytes nobody reads to the end. The next page keeps the search.
        page_number = _page_number(request.GET.get("page"), len(answers))
        shown = answers[(page_number - 1) * SEARCH_PAGE : page_number * SEARCH_PAGE]
        context["answers"] = [answer_links(answer, data) for answer in shown]
        context["day"] = data["date"]
        context["asked"] = data["time"]
        context["venue_count"] = len(answers)
        context["shown_from"] = (page_number - 1) * SEARCH_PAGE + 1 if shown else 0
        context["shown_to"] = (page_number - 1) * SEARCH_PAGE + len(shown)
        if page_number * SEARCH_PAGE < len(answers):
            context["more_url"] = "?" + urlencode({**request.GET.dict(), "page": page_number + 1})
    return render_picker(request, "home.html", context, partial_template="spaces/_search_results.html")


SEARCH_PAGE = 20  # venues a page of the search across venues shows


def _page_number(text: str | None, count: int) -> int:
    """The page asked for, from 1 to the last there is (anything else: the first)."""
    last = max(1, -(-count // SEARCH_PAGE))
    return int(text) if text and text.isdigit() and 1 <= int(text) <= last else 1


def answer_links(answer: VenueAnswer, data: dict) -> dict:
    """One venue of the search's answer with where its buttons go: the venue page keeping the
    search (the date, party, nights, the asked time, scrolled to it), the hold (a restaurant that
    assigns tables and a hotel's room types are held at once, as on the venue page); where the
    guest picks the space, each time opens the venue page at that time."""
    venue = answer.venue
    query = {"date": data["date"].isoformat(), "party_size": str(data["party_size"])}
    if venue.uses_nights:
        query["nights"] = str(data["nights"])
    else:
        query["time"] = data["time"].strftime("%H:%M")
    page = venue.get_absolute_url()
    nearest = answer.nearest
    times = []
    for slot in answer.times:
        at = slot.starts_at.astimezone(venue.zone).strftime("%H:%M")
        times.append(
            {
                "slot": slot,
                "url": f"{page}?{urlencode({**query, 'time': at})}#chosen-time",
                "nearest": slot is nearest,
            }
        )
    return {
        "answer": answer,
        "venue": venue,
        "availability": answer.availability,
        "page_url": f"{page}?{urlencode(query)}" + ("" if venue.uses_nights else "#chosen-time"),
        "hold_url": reverse("spaces:hold", kwargs={"slug": venue.slug}),
        "times": times,
        "nearest": nearest.starts_at if nearest else None,
        "holds_at_once": venue.assigns_spaces,
    }


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
    default_party: int | None = None,
) -> dict:
    """The search form and what it finds, for the venue page, the modify page and refused holds.

    `action_url` is where the time buttons post; `fixed_category` keeps the category of a booking
    being changed (the search then offers no area). With `refused_at`, the nearest free times.
    `default_party`: the party the search starts with (the guest's last one). A search that asks for
    a time (`time`, from the search across venues) marks the free start nearest to it.
    """
    now = now or timezone.now()
    fixed = ("category",) if fixed_category is not None else ()
    setup = rules.setup(venue)  # the venue's rules, read once for the form and the search
    form = AvailabilityForm(
        venue=venue, spaces=spaces, data=data, now=now, fixed=fixed, setup=setup, default_party=default_party
    )
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
        "space_kind": space_kind(venue),  # "table", "room", "space": picks whole sentences in templates
        "chosen_category": (form.cleaned_data.get("category") if availability else "") or fixed_category or "",
        "alternatives": [],
        "setup": setup,
    }
    if availability is not None:
        context.update(_results(availability))
        context.update(_chosen(availability, context, form.cleaned_data.get("time")))
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


def _apart(slot: Slot, moment: datetime) -> timedelta:
    """How far a start is from a moment, in real time (not the zone's wall clock)."""
    return abs(slot.starts_at.astimezone(UTC) - moment.astimezone(UTC))


def _nearest(slots: list[Slot], moment: datetime) -> Slot | None:
    return min(slots, key=lambda slot: (_apart(slot, moment), slot.starts_at.astimezone(UTC)), default=None)


def _chosen(availability: Availability, context: dict, asked) -> dict:
    """The free start nearest the time the guest asked for (`asked`, a wall-clock time), marked on
    the page and scrolled to (#chosen-time): in a restaurant's times, and in each space's where the
    guest picks (the anchor on the space whose start is nearest). Nothing for stays."""
    if asked is None or availability.venue.uses_nights:
        return {}
    moment = local_datetime(availability.venue, availability.day, asked)
    if context.get("mode") == "times":
        slot = _nearest(context["start_times"], moment)
        return {"chosen_start": slot.starts_at if slot else None}
    best = None
    for entry in context.get("space_results") or []:
        slot = _nearest(entry.slots, moment)
        entry.chosen_start = slot.starts_at if slot else None
        if slot and (best is None or _apart(slot, moment) < _apart(best[1], moment)):
            best = (entry.space.pk, slot)
    return {"chosen_space": best[0] if best else None}


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
    return _("%(venue)s is closed on %(weekdays)s.") % {"venue": venue.name, "weekdays": WEEKDAYS_PLURAL[day.weekday()]}


def area_closed_words(venue: Venue, day, area: str) -> str:
    """Why an area has nothing on a day it is closed all day: "The Terrace is closed from Sun 01 Nov
    00:00 to Thu 01 Apr 00:00 (winter)." Empty when it is open for part of the day or more."""
    start = local_datetime(venue, day, time(0))
    end = local_datetime(venue, day + timedelta(days=1), time(0))
    for span in rules.closures_meeting(venue, start, end):
        if span.closure.area == area and span.starts_at <= start and end <= span.ends_at:
            return rules.closure_words(venue, span)
    return ""


def render_picker(
    request, template: str, context: dict, *, status: int = 200, partial_template: str = "spaces/_availability.html"
):
    """The whole page, or only the results when htmx asks for them (the search form changed). The
    results then carry the form's error lines too, swapped next to their fields (hx-swap-oob)."""
    partial = bool(request.htmx and not request.htmx.history_restore_request)
    context["partial"] = partial
    response = render(request, partial_template if partial else template, context, status=status)
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
        default_party=last_party_size(request.user),
    )
    wish = extra.pop("waitlist_form", None)
    context.update(spaces=spaces, payment_words=payment_words(venue), **extra)
    context.update(about_venue(venue, spaces, context["setup"], context["form"]))
    context.update(waitlist_context(venue, spaces, context, wish, user=request.user))
    return render_picker(request, "spaces/venue_detail.html", context, status=status)


def about_venue(venue: Venue, spaces: list[Space], setup, form: AvailabilityForm) -> dict:
    """What the venue page says the place is like, the way it is booked: a restaurant that assigns
    its tables shows its areas and the parties it takes (never "Table 1 … Table 12": a guest asks for a
    time, not a table), a hotel its room types, a venue whose guests pick their space its spaces.
    Spaces sold by the seat (a class, a tour) are listed wherever they are. No queries (the spaces
    and rules are loaded)."""
    seats = [space for space in spaces if space.sold_by_seat]
    bookable = [space for space in spaces if not space.sold_by_seat]
    about = {"hours": hours_words(list(venue.opening_hours.all())), "seat_spaces": seats}
    if venue.assigns_spaces and not venue.uses_nights:
        combined = {}
        for combination in setup.combinations:
            if len(combination.members) >= 2:
                area = combination.members[0].category
                combined[area] = max(combined.get(area, 0), combination.max_party_size)
        areas = {}
        for space in bookable:
            low, high = areas.get(space.category, (space.min_party_size, space.capacity))
            areas[space.category] = (min(low, space.min_party_size), max(high, space.capacity))
        limit = venue.max_online_party_size
        about["areas"] = [
            {
                "name": name,
                "low": low,
                "high": min(max(high, combined.get(name, 0)), limit) if limit else max(high, combined.get(name, 0)),
            }
            for name, (low, high) in sorted(areas.items())
            if name
        ]
        about["about_mode"] = "areas"
    elif venue.assigns_spaces:
        types = {}
        for space in bookable:
            types.setdefault(space.category or "", []).append(space)
        about["room_types"] = [
            {
                "name": name,
                "low": min(space.min_party_size for space in rooms),
                "high": max(space.capacity for space in rooms),
                # The room's own price; with nightly rates the stay's price in the results is the one.
                "price_from": None if setup.rates else min(space.price for space in rooms) or None,
                "description": next((space.description for space in rooms if space.description), ""),
            }
            for name, rooms in types.items()
        ]
        about["about_mode"] = "room_types"
    else:
        about["listed_spaces"] = bookable
        about["about_mode"] = "spaces"
    about["party_low"] = form.smallest_party
    about["party_high"] = form.largest_party
    about["bigger_party"] = bigger_group_words(venue)  # a whole sentence
    return about


def _periods_words(periods: list[OpeningHours]) -> str:
    parts = []
    for period in periods:
        times = {"opens": f"{period.opens_at:%H:%M}", "closes": f"{period.closes_at:%H:%M}"}
        if period.closes_next_day:
            parts.append(_("%(opens)s to %(closes)s the next day") % times)
        else:
            parts.append(_("%(opens)s to %(closes)s") % times)
    words = parts[0] if parts else ""
    for part in parts[1:]:
        words = _("%(some)s and %(last)s") % {"some": words, "last": part}
    return words


def hours_words(hours: list[OpeningHours]) -> dict:
    """A venue's opening hours in words: runs of days with the same hours together ("Tuesday to
    Saturday": "12:00 to 15:00 and 18:00 to 23:00"), and the days it is closed ("Mondays")."""
    by_day = {}
    for period in hours:
        by_day.setdefault(period.weekday, []).append(period)
    runs = []  # [first day, last day, words]
    for weekday in sorted(by_day):
        words = _periods_words(by_day[weekday])
        if runs and runs[-1][1] == weekday - 1 and runs[-1][2] == words:
            runs[-1][1] = weekday
        else:
            runs.append([weekday, weekday, words])
    names = OpeningHours.Weekday
    days = []
    for first, last, words in runs:
        if first == last:
            label = names(first).label
        elif last == first + 1:
            label = _("%(first)s and %(last)s") % {"first": names(first).label, "last": names(last).label}
        else:
            label = _("%(first)s to %(last)s") % {"first": names(first).label, "last": names(last).label}
        days.append({"days": label, "hours": words})
    closed = [str(WEEKDAYS_PLURAL[day]) for day in range(7) if day not in by_day]
    if len(closed) > 1:
        closed_words = _("%(some)s and %(last)s") % {"some": ", ".join(closed[:-1]), "last": closed[-1]}
    else:
        closed_words = "".join(closed)
    return {"days": days, "closed": closed_words if hours else ""}


def waitlist_form(venue: Venue, data=None, *, spaces: list[Space], initial=None, user=None) -> WaitlistForm:
    categories = {space.category for space in spaces if space.category}
    # "Text me if a place frees up" where the venue texts its offers, unless the profile asks for texts already.
    texts = texts_offered_for_waitlist(venue) and not getattr(user, "sms_messages", False)
    return WaitlistForm(data, venue=venue, categories=categories, initial=initial, texts=texts)


def waitlist_context(venue: Venue, spaces: list[Space], context: dict, wish: WaitlistForm | None, user=None) -> dict:
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
    form = waitlist_form(venue, spaces=spaces, initial=initial, user=user)
    if not form.has_starts:
        return {}
    return {"waitlist_form": form, "waitlist_url": reverse("spaces:waitlist_join", kwargs={"slug": venue.slug})}


def venue_detail(request, slug):
    venue = active_venue(slug)
    if not getattr(request, "language_chosen", True):
        # A visitor whose browser asked for none of our languages reads the venue in its own.
        translation.activate(venue.language)
        request.LANGUAGE_CODE = translation.get_language()
    return venue_page(request, venue, data=request.GET)
