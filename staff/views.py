"""Pages for the venue's staff: the day sheet (one service at a time: every table in 15-minute steps,
who comes when and to which tables, the covers against the pacing) and moving a booking to another
space from it. Every change goes through reservations.services."""

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from reservations import services
from reservations.calendars import channel_state
from reservations.capacity import Setup
from reservations.exceptions import BookingError
from reservations.models import Reservation, SpaceClaim, WaitlistEntry
from reservations.selectors import Service, day_sheet, day_waitlist, default_service, sheet_services
from reservations.services import rules
from reservations.services.waitlist import offer_words, waitlist_offer_now
from reservations.wording import space_noun
from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power
from staff.timeline import SheetEntry, step_words, timeline


class DaySheetForm(forms.Form):
    venue = forms.TypedChoiceField(label=gettext_lazy("Venue"), coerce=int)
    day = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    # The day's services are known once venue and day are: the view sets the choices, and shows the
    # service running now (or next) for one it does not know, such as a shift of another weekday.
    service = forms.CharField(
        label=pgettext_lazy("a meal service, a shift of the day", "Service"), required=False, widget=forms.Select
    )

    def __init__(self, *args, venues: list[Venue], **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from the venues the view already read: no second query to draw or check them.
        self.venues = {venue.pk: venue for venue in venues}
        self.fields["venue"].choices = [(venue.pk, venue.name) for venue in venues]

    def clean_venue(self) -> Venue:
        return self.venues[self.cleaned_data["venue"]]

    def offer(self, services: list[Service], chosen: Service) -> None:
        self.fields["service"].widget.choices = [(service.key, service.label) for service in services]
        self.data["service"] = chosen.key


class BackToSheetForm(forms.Form):
    """Where a day-sheet button leads back to: the day and service it was pressed on."""

    day = forms.DateField(required=False, widget=forms.HiddenInput)
    service = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)


class MoveForm(BackToSheetForm):
    space = forms.IntegerField(label=gettext_lazy("Move to"))


def _default_day(setup: Setup, now: datetime) -> tuple[date, Service | None]:
    """Today where the venue is, or yesterday while yesterday's service past midnight still runs."""
    today = now.astimezone(setup.venue.zone).date()
    yesterday = today - timedelta(days=1)
    late = [service for service in sheet_services(setup, yesterday) if not service.is_whole_day]
    running = next((service for service in late if service.holds(now)), None)
    return (yesterday, running) if running else (today, None)


def _free_spaces_to_move_to(
    venue: Venue, spaces: list[Space], entries: list[SheetEntry], now: datetime | None = None
) -> None:
    """Fill in each active reservation's possible moves, with two queries for the whole sheet.

    A table is free for a booking when no other booking's claim blocks it (SpaceClaim.blocking: of a
    confirmed booking or a live hold) from the booking's start to its end plus that table's buffer:
    the claims hold each table of a combined booking and each buffer, so neither is offered. Nor is
    a table closed then. A stay on a hotel's sheet may reach days beyond the one shown, so the claims
    are read for the whole span of the sheet's reservations. This only decides what the select
    offers; reservations.services.reservation_modify checks every rule again (pacing, a booking made
    a moment ago).
    """
    # A seat booking stays in its class or tour (its seats are moved by changing the booking): no targets.
    active = [entry for entry in entries if entry.reservation.is_active and not entry.reservation.space.sold_by_seat]
    bookable = [space for space in spaces if space.is_active]
    if not active or not bookable:
        return
    now = now or timezone.now()
    buffers = {space.pk: space.buffer(venue) for space in bookable}
    span_start = min(entry.reservation.starts_at for entry in active)
    span_end = max(entry.reservation.ends_at for entry in active) + max(buffers.values())
    claims = list(
        SpaceClaim.objects.blocking(now)
        .filter(space_id__in=list(buffers))
        .overlapping(span_start, span_end)
        .values_list("reservation_id", "space_id", "starts_at", "ends_at")
    )
    closures = rules.closures_meeting(venue, span_start, span_end)
    for entry in active:
        booking = entry.reservation
        own = [space.pk for space in entry.spaces]
        taken = {
            space_id
            for pk, space_id, starts_at, ends_at in claims
            if pk != booking.pk and starts_at < booking.ends_at + buffers[space_id] and booking.starts_at < ends_at
        }
        closed = {
            space.pk
            for span in closures
            for space in bookable
            if span.closes(space) or span.whole_venue
            if span.starts_at < booking.ends_at and booking.starts_at < span.ends_at
        }
        entry.move_to = [
            space
            for space in bookable
            if own != [space.pk] and space.pk not in taken and space.pk not in closed and space.fits(booking.party_size)
        ]


@staff_member_required
def day_sheet_view(request):
    """One venue's service (a shift, an opening period or the whole day) of one day: every table in
    15-minute steps with the bookings on it, then the covers starting per step against the pacing,
    then the bookings with what the host does to them. In the venue's local time."""
    # Being staff only opens the admin; the venues a member of staff sees are those of their roles.
    venues = list(powers.venues(request.user, Power.VIEW_BOOKINGS).order_by("name", "pk"))
    if not venues and not request.user.is_superuser:
        raise PermissionDenied
    now = timezone.now()
    data = request.GET.copy()
    # Without a choice: the staff member's own venue (a superuser's first role, else the first venue),
    # and today where that venue is (yesterday while its service past midnight runs).
    if venues and not data.get("venue"):
        own = powers.roles(request.user)
        data["venue"] = str(next((venue.pk for venue in venues if venue.pk in own), venues[0].pk))
    chosen = next((venue for venue in venues if str(venue.pk) == data.get("venue")), None)
    setup = rules.setup(chosen) if chosen is not None else None
    if chosen is not None and not data.get("day"):
        day, running = _default_day(setup, now)
        data["day"] = day.isoformat()
        if running is not None and not data.get("service"):
            data["service"] = running.key
    form = DaySheetForm(data, venues=venues)

    context = {"form": form, "venues": venues, "venue": None, "rows": []}
    if venues and form.is_valid():
        venue, day = form.cleaned_data["venue"], form.cleaned_data["day"]
        today = now.astimezone(venue.zone).date()
        services = sheet_services(setup, day)
        service = next((found for found in services if found.key == form.cleaned_data["service"]), None)
        service = service or default_service(services, day=day, today=today, now=now)
        form.offer(services, service)
        sheet = day_sheet(venue=venue, day=day, service=service, setup=setup, now=now)
        entries = [
            SheetEntry(reservation, arrivals_open=reservation.starts_at.astimezone(venue.zone).date() <= today)
            for reservation in sheet.reservations
        ]
        _free_spaces_to_move_to(venue, sheet.spaces, entries, now=now)
        grid = timeline(sheet, entries)
        context.update(
            venue=venue,
            day=day,
            service=service,
            sheet=sheet,
            timeline=grid,
            rows=grid.tables,
            entries=entries,
            pacing=[(step, step_words(step)) for step in sheet.steps if step.covers or step.full],
            has_pacing=any(step.pacing for step in sheet.steps),
            reservation_count=len(entries),
            space_noun=space_noun(venue),
            spaces_noun=space_noun(venue, plural=True),
            previous_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            waitlist=day_waitlist(venue=venue, day=day, now=now),
            channels=channel_state(venue, day, now=now),
        )
    return render(request, "reservations/staff/day_sheet.html", context)


def _day_sheet_url(venue: Venue, day: date, service: str = "") -> str:
    query = {"venue": venue.pk, "day": day.isoformat(), **({"service": service} if service else {})}
    return f"{reverse('staff:day_sheet')}?{urlencode(query)}"


def _back_to_sheet(request, reservation: Reservation) -> str:
    """The day sheet a button was pressed on: its day and service, else the booking's day."""
    return _back_to(request, reservation.space.venue, reservation.local_starts_at.date())


def _back_to(request, venue: Venue, day: date) -> str:
    """The venue's day sheet a button was pressed on: its day and service, else `day`."""
    form = BackToSheetForm(request.POST)
    shown = form.cleaned_data["day"] if form.is_valid() else None
    service = form.cleaned_data["service"] if form.is_valid() else ""
    return _day_sheet_url(venue, shown or day, service)


def _reservation_to_change(request, reference) -> Reservation:
    """The booking a day-sheet button acts on, if the member of staff may change its venue's bookings."""
    reservation = get_object_or_404(Reservation.objects.select_related("space__venue"), reference=reference)
    if not powers.can(request.user, Power.CHANGE_BOOKINGS, reservation.space.venue):
        raise PermissionDenied
    return reservation


@staff_member_required
@require_POST
def move_reservation(request, reference):
    reservation = _reservation_to_change(request, reference)
    venue = reservation.space.venue
    back = _back_to_sheet(request, reservation)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("%(reference)s: choose the space to move to.") % {"reference": reservation.reference})
        return redirect(back)
    space = Space.objects.filter(pk=form.cleaned_data["space"], venue=venue).first()
    if space is None:
        messages.error(
            request,
            _("%(reference)s: that space is not one of %(venue)s's.")
            % {"reference": reservation.reference, "venue": venue.name},
        )
        return redirect(back)
    moved_from = reservation.spaces_words  # 'Table 4 + Table 5' for a combined booking
    try:
        services.reservation_modify(reservation=reservation, actor=request.user, space=space)
    except BookingError as error:
        messages.error(
            request,
            _("%(reference)s was not moved: %(reason)s")
            % {"reference": reservation.reference, "reason": error.message},
        )
    else:
        messages.success(
            request,
            _("%(reference)s moved from %(from)s to %(to)s.")
            % {"reference": reservation.reference, "from": moved_from, "to": space.name},
        )
    return redirect(back)


ARRIVAL_STEPS = {"arrived": services.reservation_mark_arrived, "seated": services.reservation_mark_seated}


@staff_member_required
@require_POST
def mark_arrival(request, reference):
    """The host marks a party as arrived or seated, from the day sheet."""
    reservation = _reservation_to_change(request, reference)
    back = _back_to_sheet(request, reservation)
    step = ARRIVAL_STEPS.get(request.POST.get("step", ""))
    if step is None:
        messages.error(request, _("%(reference)s: choose arrived or seated.") % {"reference": reservation.reference})
        return redirect(back)
    try:
        done = step(reservation=reservation, actor=request.user)
    except BookingError as error:
        # Translators: a booking's reference, then why the day sheet could not mark it.
        messages.error(
            request, _("%(reference)s: %(reason)s") % {"reference": reservation.reference, "reason": error.message}
        )
    else:
        done_words = {"reference": reservation.reference, "spaces": done.spaces_words}
        if done.seated_at:
            messages.success(request, _("%(reference)s (%(spaces)s) seated.") % done_words)
        else:
            messages.success(request, _("%(reference)s (%(spaces)s) arrived.") % done_words)
    return redirect(back)


@staff_member_required
@require_POST
def offer_waitlist_place(request, pk):
    """The host offers a waiting guest a place now, out of turn, from the day sheet's waitlist."""
    entry = get_object_or_404(WaitlistEntry.objects.select_related("venue", "guest"), pk=pk)
    if not powers.can(request.user, Power.CHANGE_BOOKINGS, entry.venue):
        raise PermissionDenied
    back = _back_to(request, entry.venue, entry.day)
    who = entry.guest.name or entry.guest.email
    try:
        offered = waitlist_offer_now(entry=entry, actor=request.user)
    except BookingError as error:
        messages.warning(
            request, _("%(guest)s was not offered a place: %(reason)s") % {"guest": who, "reason": error.message}
        )
    else:
        messages.success(
            request,
            _("%(guest)s was offered %(offer)s; they are e-mailed to confirm.")
            % {"guest": who, "offer": offer_words(offered)},
        )
    return redirect(back)
