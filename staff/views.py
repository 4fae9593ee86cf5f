"""Pages for the venue's staff: the day sheet (who comes when, to which table or room) and moving a
booking to another space from it. Every change goes through reservations.services."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from reservations import services
from reservations.exceptions import BookingError
from reservations.models import Reservation
from reservations.selectors import day_sheet
from spaces import powers
from spaces.models import Space, Venue
from spaces.powers import Power


class DaySheetForm(forms.Form):
    venue = forms.TypedChoiceField(coerce=int)
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, venues: list[Venue], **kwargs):
        super().__init__(*args, **kwargs)
        # Choices from the venues the view already read: no second query to draw or check them.
        self.venues = {venue.pk: venue for venue in venues}
        self.fields["venue"].choices = [(venue.pk, venue.name) for venue in venues]

    def clean_venue(self) -> Venue:
        return self.venues[self.cleaned_data["venue"]]


class MoveForm(forms.Form):
    space = forms.IntegerField(label="Move to")
    day = forms.DateField(required=False, widget=forms.HiddenInput)


@dataclass
class SheetEntry:
    """One reservation as the day sheet shows it: the move targets are the free spaces that fit."""

    reservation: Reservation
    move_to: list[Space] = field(default_factory=list)


def _local_today(venue: Venue) -> date:
    return timezone.now().astimezone(venue.zone).date()


def _free_spaces_to_move_to(venue: Venue, spaces: list[Space], entries: list[SheetEntry]) -> None:
    """Fill in each active reservation's possible moves, with one query for the whole sheet.

    A stay on a hotel's sheet may reach days beyond the one shown, so the blocking bookings are read
    for the whole span of the sheet's reservations, not just the day. This only decides what the
    select offers; the booking service checks again (closures, a booking made a moment ago).
    """
    active = [entry for entry in entries if entry.reservation.is_active]
    if not active:
        return
    now = timezone.now()
    span_start = min(entry.reservation.starts_at for entry in active)
    span_end = max(entry.reservation.ends_at for entry in active)
    blocking = list(
        Reservation.objects.blocking(now)
        .filter(space__venue=venue, starts_at__lt=span_end, ends_at__gt=span_start)
        .values_list("pk", "space_id", "starts_at", "ends_at")
    )
    bookable = [space for space in spaces if space.is_active]
    for entry in active:
        booking = entry.reservation
        taken = {
            space_id
            for pk, space_id, starts_at, ends_at in blocking
            if pk != booking.pk and starts_at < booking.ends_at and ends_at > booking.starts_at
        }
        entry.move_to = [
            space
            for space in bookable
            if space.pk != booking.space_id and space.pk not in taken and space.fits(booking.party_size)
        ]


@staff_member_required
def day_sheet_view(request):
    """One venue's day: every space with its reservations, in the venue's local time."""
    # Being staff only opens the admin; the venues a member of staff sees are those of their roles.
    venues = list(powers.venues(request.user, Power.VIEW_BOOKINGS).order_by("name", "pk"))
    if not venues and not request.user.is_superuser:
        raise PermissionDenied
    data = request.GET.copy()
    # Without a choice: the staff member's own venue (a superuser's first role, else the first venue),
    # and today where that venue is.
    if venues and not data.get("venue"):
        own = powers.roles(request.user)
        data["venue"] = str(next((venue.pk for venue in venues if venue.pk in own), venues[0].pk))
    chosen = next((venue for venue in venues if str(venue.pk) == data.get("venue")), None)
    if chosen is not None and not data.get("day"):
        data["day"] = _local_today(chosen).isoformat()
    form = DaySheetForm(data, venues=venues)

    context = {"form": form, "venues": venues, "venue": None, "rows": []}
    if venues and form.is_valid():
        venue, day = form.cleaned_data["venue"], form.cleaned_data["day"]
        sheet = day_sheet(venue=venue, day=day)
        rows = [(space, [SheetEntry(reservation) for reservation in reservations]) for space, reservations in sheet]
        entries = [entry for _, space_entries in rows for entry in space_entries]
        _free_spaces_to_move_to(venue, [space for space, _ in sheet], entries)
        context.update(
            venue=venue,
            day=day,
            rows=rows,
            reservation_count=len(entries),
            arrivals_open=day <= _local_today(venue),  # arrivals are marked on the day
            previous_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
        )
    return render(request, "reservations/staff/day_sheet.html", context)


def _day_sheet_url(venue: Venue, day: date) -> str:
    return f"{reverse('staff:day_sheet')}?{urlencode({'venue': venue.pk, 'day': day.isoformat()})}"


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
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{reservation.reference}: choose the space to move to.")
        return redirect(_day_sheet_url(venue, reservation.local_starts_at.date()))
    day = form.cleaned_data["day"] or reservation.local_starts_at.date()
    space = Space.objects.filter(pk=form.cleaned_data["space"], venue=venue).first()
    if space is None:
        messages.error(request, f"{reservation.reference}: that space is not one of {venue.name}'s.")
        return redirect(_day_sheet_url(venue, day))
    try:
        services.reservation_modify(reservation=reservation, actor=request.user, space=space)
    except BookingError as error:
        messages.error(request, f"{reservation.reference} was not moved: {error.message}")
    else:
        messages.success(request, f"{reservation.reference} moved from {reservation.space.name} to {space.name}.")
    return redirect(_day_sheet_url(venue, day))


ARRIVAL_STEPS = {"arrived": services.reservation_mark_arrived, "seated": services.reservation_mark_seated}


@staff_member_required
@require_POST
def mark_arrival(request, reference):
    """The host marks a party as arrived or seated, from the day sheet."""
    reservation = _reservation_to_change(request, reference)
    venue = reservation.space.venue
    step = ARRIVAL_STEPS.get(request.POST.get("step", ""))
    day = reservation.local_starts_at.date()
    if step is None:
        messages.error(request, f"{reservation.reference}: choose arrived or seated.")
        return redirect(_day_sheet_url(venue, day))
    try:
        done = step(reservation=reservation, actor=request.user)
    except BookingError as error:
        messages.error(request, f"{reservation.reference}: {error.message}")
    else:
        what = "seated" if done.seated_at else "arrived"
        messages.success(request, f"{reservation.reference} ({done.space.name}) {what}.")
    return redirect(_day_sheet_url(venue, day))
