"""A guest's waitlist pages: join a venue's waitlist for a full day, see it on My reservations, leave.

Thin, like the other booking pages: the rules are reservations.services.waitlist's, and a refusal
(PolicyViolation) is shown in its own words next to the form. Someone else's entry is a 404.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core import ratelimit
from core.formats import DATE_WITH_DAY
from core.replica import lag_tolerant
from guest.venue import active_spaces, active_venue, venue_page, waitlist_form
from reservations.exceptions import BookingError, PolicyViolation
from reservations.models import WaitlistEntry
from reservations.services.waitlist import place_in_line, waitlist_join, waitlist_leave

# My reservations lists the open entries and the latest others, this many at most.
SHOWN_ENTRIES = 20
Status = WaitlistEntry.Status

# Where a refusal of waitlist_join is shown on the form: next to the window, else at the top.
ERROR_FIELDS = {"latest": "latest", "starts_at": "earliest", "party_size": "party_size", "by_sms": "by_sms"}


def day_words(day) -> str:
    return date_format(day, DATE_WITH_DAY)  # "Tue 1 Dec"


def window_words(entry) -> str:
    """The starts a wish takes, as a guest reads them: "19:00–21:00", "19:00", "2 nights"."""
    if entry.venue.uses_nights:
        return ngettext("%(count)s night", "%(count)s nights", entry.nights) % {"count": entry.nights}
    earliest, latest = entry.earliest.strftime("%H:%M"), entry.latest.strftime("%H:%M")
    return earliest if earliest == latest else f"{earliest}–{latest}"


def wish_words(entry) -> str:
    """ "Tue 1 Dec, 19:00–21:00, 2 guests" (with the area when there is one)."""
    values = {
        "day": day_words(entry.day),
        "window": window_words(entry),
        "guests": ngettext("%(count)s guest", "%(count)s guests", entry.party_size) % {"count": entry.party_size},
        "area": entry.category,
    }
    if entry.category:
        return _("%(day)s, %(window)s, %(guests)s, %(area)s") % values
    return _("%(day)s, %(window)s, %(guests)s") % values


@require_http_methods(["GET", "POST"])
def join(request, slug):
    """POST: put the guest on the venue's waitlist, then My reservations. GET (where a guest lands
    after logging in): the venue page with the wish filled in, to send with one click."""
    venue = active_venue(slug)
    spaces = active_spaces(venue)
    data = request.POST if request.method == "POST" else request.GET
    form = waitlist_form(venue, data, spaces=spaces, user=request.user)
    if request.method == "GET" or not form.is_valid():
        status = 200 if request.method == "GET" else 422
        return venue_page(request, venue, data=form.search_query(), status=status, waitlist_form=form)
    if not request.user.is_authenticated:
        # Keep the wish in the address the log-in returns to, so nothing has to be chosen again.
        url = reverse("spaces:waitlist_join", kwargs={"slug": venue.slug})
        return redirect_to_login(f"{url}?{urlencode(form.query())}")
    try:
        ratelimit.check(request, "waitlist")  # a wish holds a place in line: no flooding the line
    except ratelimit.RateLimited as error:
        return ratelimit.too_many_page(
            request,
            error,
            message=_("You have tried to join a waitlist too many times in a short time."),
            back_url=f"{venue.get_absolute_url()}?{urlencode(form.search_query())}",
        )
    wish = form.cleaned_data
    try:
        entry = waitlist_join(
            guest=request.user,
            venue=venue,
            day=wish["date"],
            earliest=wish["earliest"],
            latest=wish["latest"],
            party_size=wish["party_size"],
            category=wish["category"],
            nights=wish.get("nights") or 1,
            by_sms=bool(wish.get("by_sms")),
        )
    except PolicyViolation as error:
        form.add_error(ERROR_FIELDS.get(error.field), error.message)
        return venue_page(request, venue, data=form.search_query(), status=422, waitlist_form=form)
    messages.success(
        request,
        _(
            "You are on %(venue)s's waitlist for %(wish)s: number %(place)s in line. "
            "We will e-mail you if a place frees up."
        )
        % {"venue": venue.name, "wish": wish_words(entry), "place": place_in_line(entry)},
    )
    return redirect(f"{reverse('reservations:list')}#waitlist")


@require_POST
def join_session(request, slug):
    """POST from a class's or tour's sold-out session: put the guest on the waitlist for its seats."""
    venue = active_venue(slug)
    space = venue.spaces.filter(pk=_number(request.POST.get("space")), is_active=True, sold_by_seat=True).first()
    party_size = _number(request.POST.get("party_size"))
    try:
        starts_at = datetime.fromisoformat(request.POST.get("starts_at", ""))
    except ValueError:
        starts_at = None
    if space is None or not party_size or starts_at is None or starts_at.tzinfo is None:
        return venue_page(request, venue, data={}, status=400, problem=_("Choose a session from the list."))
    local = starts_at.astimezone(venue.zone)
    if not request.user.is_authenticated:
        search = urlencode({"date": local.date().isoformat(), "party_size": party_size})
        return redirect_to_login(f"{venue.get_absolute_url()}?{search}")
    try:
        ratelimit.check(request, "waitlist")
    except ratelimit.RateLimited as error:
        return ratelimit.too_many_page(
            request,
            error,
            message=_("You have tried to join a waitlist too many times in a short time."),
            back_url=venue.get_absolute_url(),
        )
    try:
        entry = waitlist_join(
            guest=request.user,
            venue=venue,
            day=local.date(),
            earliest=local.time().replace(tzinfo=None),
            latest=local.time().replace(tzinfo=None),
            party_size=party_size,
            space=space,
        )
    except PolicyViolation as error:
        search = {"date": local.date().isoformat(), "party_size": party_size}
        return venue_page(request, venue, data=search, status=422, problem=error.message)
    messages.success(
        request,
        _(
            "You are on the waitlist for %(space)s, %(wish)s: number %(place)s in line. "
            "We will e-mail you if seats free up."
        )
        % {"space": space.name, "wish": wish_words(entry), "place": place_in_line(entry)},
    )
    return redirect(f"{reverse('reservations:list')}#waitlist")


def _number(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


@login_required
@require_POST
def leave(request, pk):
    entry = get_object_or_404(WaitlistEntry.objects.select_related("venue", "offer"), pk=pk, guest=request.user)
    if entry.status not in WaitlistEntry.OPEN_STATUSES:
        messages.info(
            request,
            _("You are no longer on %(venue)s's waitlist for %(day)s.")
            % {"venue": entry.venue.name, "day": day_words(entry.day)},
        )
        return redirect(f"{reverse('reservations:list')}#waitlist")
    try:
        waitlist_leave(entry=entry, actor=request.user)
    except BookingError as error:
        messages.error(request, error.message)
    else:
        values = {"venue": entry.venue.name, "day": day_words(entry.day)}
        if entry.status == Status.OFFERED:
            left = _("You have left %(venue)s's waitlist for %(day)s. The table held for you is released.") % values
        else:
            left = _("You have left %(venue)s's waitlist for %(day)s.") % values
        messages.success(request, left)
    return redirect(f"{reverse('reservations:list')}#waitlist")


def guest_entries(guest, *, now=None) -> list[WaitlistEntry]:
    """The guest's open entries (soonest day first), then the others of the last 30 days, at most
    SHOWN_ENTRIES; each with `place` (its place in line while waiting) and `when`, in one query."""
    now = now or timezone.now()
    ahead = (
        WaitlistEntry.objects.filter(venue_id=OuterRef("venue_id"), day=OuterRef("day"), status=Status.WAITING)
        .filter(created_at__lt=OuterRef("created_at"))
        .order_by()
        .values("venue_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    open_statuses = WaitlistEntry.OPEN_STATUSES
    closed = Case(When(status__in=open_statuses, then=Value(0)), default=Value(1), output_field=IntegerField())
    entries = list(
        WaitlistEntry.objects.using(lag_tolerant(guest_id=guest.pk))  # like the bookings: core/replica.py
        .filter(guest=guest)
        .filter(Q(status__in=WaitlistEntry.OPEN_STATUSES) | Q(created_at__gte=now - timedelta(days=30)))
        .select_related("venue", "offer")
        .annotate(ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), 0), closed=closed)
        .order_by("closed", "day", "earliest", "pk")[:SHOWN_ENTRIES]
    )
    for entry in entries:
        entry.place = entry.ahead + 1 if entry.status == Status.WAITING else None
        entry.window = window_words(entry)
        entry.offer_live = (
            entry.status == Status.OFFERED
            and entry.offer is not None
            and entry.offer.hold_expires_at is not None
            and entry.offer.hold_expires_at > now
        )
    return entries
