"""A guest's booking pages: hold a choice, review and confirm it, see, change and cancel bookings.

Each workflow step calls one service of reservations.services and redirects with a message; a
refusal (BookingError) is shown in the engine's own words. Someone else's reservation is a 404,
never a 403: its reference must not even be confirmed to exist.
"""

from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import ratelimit
from guest.forms import ChoiceForm, NotesForm
from guest.venue import active_spaces, active_venue, picker_context, render_picker, venue_page
from guest.waitlist import guest_entries
from payments.services import checkout_start, refund_preview
from reservations.exceptions import BookingError, HoldExpired, SlotUnavailable
from reservations.models import Reservation
from reservations.periods import format_local
from reservations.pricing import breakdown_words, night_prices, nights_of, price_for, venue_rates
from reservations.selectors import guest_reservations, space_to_assign
from reservations.services import (
    cancellation_deadline,
    modification_deadline,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
    reservation_modify,
    reservation_modify_preview,
)
from reservations.services import rules as booking_rules
from reservations.wording import duration_words, space_noun, summary
from spaces import powers
from spaces.powers import Power

PAST_PER_PAGE = 20
Status = Reservation.Status


def _status_for(error: BookingError) -> int:
    return 409 if isinstance(error, SlotUnavailable | HoldExpired) else 422


def _visible_reservation(request, reference) -> Reservation:
    """The reservation if it is the user's own (or the venue's staff may see it); otherwise 404, never 403.
    Staff whose role would let them see it but who have no authenticator yet are sent to set one up
    (TwoFactorRequired, answered by staff.two_factor's middleware)."""
    reservation = get_object_or_404(Reservation.objects.select_related("space__venue", "guest"), reference=reference)
    own = reservation.guest_id == request.user.pk
    if not (own or powers.may(request.user, Power.VIEW_BOOKINGS, reservation.space.venue)):
        raise Http404("No such reservation.")
    return reservation


def _acts_as_staff(user, reservation: Reservation) -> bool:
    """Does `user` change this reservation as the venue's staff (past the cut-offs, with a reason)?"""
    return powers.can(user, Power.CHANGE_BOOKINGS, reservation.space.venue)


def _own_reservation(request, reference) -> Reservation:
    """A hold is the guest's own business: only its guest reviews, confirms or releases it."""
    reservation = get_object_or_404(Reservation.objects.select_related("space__venue"), reference=reference)
    if reservation.guest_id != request.user.pk:
        raise Http404("No such reservation.")
    return reservation


def _search_query(reservation: Reservation) -> dict[str, str]:
    """The venue-page search that finds this reservation's day, party and length again."""
    venue = reservation.space.venue
    query = {"date": reservation.local_starts_at.date().isoformat(), "party_size": str(reservation.party_size)}
    if venue.uses_nights:
        query["nights"] = str(reservation.nights)
    else:
        minutes = int((reservation.ends_at - reservation.starts_at).total_seconds() // 60)
        if minutes in venue.durations():
            query["duration"] = str(minutes)
        if venue.assigns_spaces and reservation.requested_category:
            query["category"] = reservation.requested_category
    return query


def _search_url(reservation: Reservation) -> str:
    return f"{reservation.space.venue.get_absolute_url()}?{urlencode(_search_query(reservation))}"


def _rules(reservation: Reservation, user, now: datetime) -> dict:
    """What the guest may still do, and the venue's rules in plain words with their local times."""
    venue = reservation.space.venue
    staff = _acts_as_staff(user, reservation)
    modify_until = modification_deadline(reservation)
    cancel_until = cancellation_deadline(reservation)
    held = reservation.status == Status.HELD
    hours = venue.cancellation_cutoff_hours
    before = f"{duration_words(hours * 60)} before the start" if hours else "the start"
    return {
        "can_modify": reservation.is_active and (staff or now <= modify_until),
        "can_cancel": reservation.is_active and (staff or held or now <= cancel_until),
        "modify_until": format_local(venue, modify_until),
        "cancel_until": format_local(venue, cancel_until),
        "cancellation_rule": f"Free cancellation until {before} ({format_local(venue, cancel_until)}).",
    }


# ---------------------------------------------------------------------------------------------
# Holding a choice


@require_http_methods(["GET", "POST"])
def hold(request, slug):
    """GET: the guest's choice with a button to hold it (where a guest lands after logging in).
    POST: hold it, then review. A choice that was taken meanwhile shows the venue page again."""
    venue = active_venue(slug)
    form = ChoiceForm(request.POST if request.method == "POST" else request.GET, venue=venue)
    if not form.is_valid():
        problem = next(iter(form.errors.values()))[0]
        return venue_page(request, venue, data={}, status=400, problem=f"{problem} Choose again from the list.")
    data = form.cleaned_data
    if request.method == "GET":
        return render(request, "reservations/hold.html", _choice_context(venue, form))
    if not request.user.is_authenticated:
        # Keep the choice in the address the log-in returns to, so nothing has to be picked again.
        return redirect_to_login(f"{reverse('spaces:hold', kwargs={'slug': venue.slug})}?{urlencode(form.query())}")
    try:
        ratelimit.check(request, "hold")  # every hold blocks a slot for others: no hoarding
    except ratelimit.RateLimited as error:
        return ratelimit.too_many_page(
            request,
            error,
            message="You have tried to hold a booking too many times in a short time.",
            back_url=f"{venue.get_absolute_url()}?{urlencode(form.search_query())}",
            back_label=venue.name,
        )
    try:
        reservation = reservation_hold(
            guest=request.user,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            party_size=data["party_size"],
            space=data["space"],
            venue=None if data["space"] else venue,
            category=data["category"],
        )
    except BookingError as error:
        return venue_page(
            request,
            venue,
            data=form.search_query(),
            status=_status_for(error),
            problem=error.message,
            refused_at=data["starts_at"],
            refused_space=data["space"],
        )
    return redirect("reservations:review", reference=reservation.reference)


def _end_words(venue, starts_at: datetime, ends_at: datetime) -> str:
    """The end as a guest reads it after the start: just the time when it is the same day."""
    same_day = starts_at.astimezone(venue.zone).date() == ends_at.astimezone(venue.zone).date()
    return format_local(venue, ends_at, with_date=not same_day)


def _stay_price(venue, spaces, starts_at: datetime, ends_at: datetime, rates) -> tuple[Decimal, str]:
    """A stay's total at the nightly rates, and its nights in words ("3 nights × 120.00 EUR, ...")."""
    prices = night_prices(spaces, nights_of(venue, starts_at, ends_at), rates)
    return sum((night.price for night in prices), Decimal("0")), breakdown_words(prices, venue.currency)


def _choice_context(venue, form: ChoiceForm) -> dict:
    data = form.cleaned_data
    space = data["space"]
    priced = [space] if space is not None else []
    # A stay: the venue's rates and stay limits, read once for the price and for what would be refused.
    setup = booking_rules.setup(venue) if venue.uses_nights else None
    if space is None:  # the venue assigns: the price is that of the room (or tables) it would give now
        seating = space_to_assign(
            venue=venue,
            party_size=data["party_size"],
            category=data.get("category") or "",
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            setup=setup,
        )
        priced = list(seating.spaces) if seating is not None else []
    breakdown, refusal = "", ""
    if setup is not None:
        price, breakdown = _stay_price(venue, priced, data["starts_at"], data["ends_at"], setup.rates)
        category = space.category if space is not None else data.get("category") or ""
        if space is not None or category:
            refusal = booking_rules.stay_refusal(setup, category, data["starts_at"], data["ends_at"]) or ""
    else:
        price = sum((price_for(venue, one) for one in priced), Decimal("0"))
    if space is not None and space.sold_by_seat:
        price *= data["party_size"]  # a price per seat
    price = price or None
    return {
        "breakdown": breakdown if price else "",
        "problem": refusal,
        "venue": venue,
        "choice": data,
        "choice_fields": form.query(),
        "space": space,
        "price": price,
        "starts": format_local(venue, data["starts_at"]),
        "ends": _end_words(venue, data["starts_at"], data["ends_at"]),
        "nights": data.get("nights") or 1,
        "duration": duration_words(int((data["ends_at"] - data["starts_at"]).total_seconds() // 60)),
        "back_url": f"{venue.get_absolute_url()}?{urlencode(form.search_query())}",
        "space_noun": space_noun(venue),
    }


# ---------------------------------------------------------------------------------------------
# Review, confirm, release


def _breakdown(reservation: Reservation) -> str:
    """A stay's nights by rate, as the booking was priced; empty when the rates have changed since
    (the row's price is the truth) or for a booking by the slot."""
    venue = reservation.space.venue
    if not venue.uses_nights:
        return ""
    total, words = _stay_price(
        venue, reservation.all_spaces, reservation.starts_at, reservation.ends_at, venue_rates(venue)
    )
    return words if total == reservation.price else ""


def _review_page(request, reservation, *, notes_form=None, problem="", expired=False, status=200):
    venue = reservation.space.venue
    now = timezone.now()
    expires_at = reservation.hold_expires_at
    context = {
        "breakdown": _breakdown(reservation) if reservation.price else "",
        "reservation": reservation,
        "venue": venue,
        "notes_form": notes_form or NotesForm(initial={"notes": reservation.notes}),
        "notes_allowed": True,  # a hold takes notes until it is confirmed, whatever the cut-off
        "problem": problem,
        "expired": expired or reservation.status == Status.EXPIRED or (expires_at is not None and expires_at <= now),
        "expires_at": expires_at,
        "held_until": format_local(venue, expires_at, with_date=False) if expires_at else "",
        "now": now,
        "starts": format_local(venue, reservation.starts_at),
        "ends": _end_words(venue, reservation.starts_at, reservation.ends_at),
        "search_url": _search_url(reservation),
        **_rules(reservation, request.user, now),
    }
    return render(request, "reservations/review.html", context, status=status)


@login_required
def review(request, reference):
    reservation = _own_reservation(request, reference)
    if reservation.status not in (Status.HELD, Status.EXPIRED):
        return redirect(reservation)
    return _review_page(request, reservation)


@login_required
@require_POST
def confirm(request, reference):
    reservation = _own_reservation(request, reference)
    if reservation.status == Status.CONFIRMED:
        return redirect(reservation)  # a second click on Confirm: already done
    notes_form = NotesForm(request.POST)
    if not notes_form.is_valid():
        return _review_page(request, reservation, notes_form=notes_form, status=422)
    notes = notes_form.cleaned_data["notes"].strip()
    try:
        live = reservation.hold_expires_at is None or reservation.hold_expires_at > timezone.now()
        if notes and notes != reservation.notes and live:
            reservation = reservation_modify(reservation=reservation, actor=request.user, notes=notes)
        if reservation.amount_due > 0:
            # The venue asks for money up front: Stripe's page, then its webhook confirms.
            payment = checkout_start(reservation=reservation)
            return redirect(payment.checkout_url)
        reservation = reservation_confirm(reservation=reservation, actor=request.user)
    except HoldExpired as error:
        reservation.refresh_from_db()
        return _review_page(
            request, reservation, notes_form=notes_form, problem=error.message, expired=True, status=409
        )
    except BookingError as error:
        return _review_page(request, reservation, notes_form=notes_form, problem=error.message, status=422)
    messages.success(request, f"Your booking is confirmed. Your reference is {reservation.reference}.")
    return redirect(reservation)


@login_required
def payment_return(request, reference):
    """Where Stripe sends the guest back: "payment received, confirming…" until the webhook has
    confirmed the booking (the page refreshes itself), then the confirmation."""
    reservation = _own_reservation(request, reference)
    if reservation.status == Status.CONFIRMED:
        messages.success(
            request, f"Payment received. Your booking is confirmed. Your reference is {reservation.reference}."
        )
        return redirect(reservation)
    paid = reservation.payments.filter(status="paid").exists()
    if reservation.status in (Status.EXPIRED, Status.CANCELLED) and paid:
        if reservation.space.venue.uses_nights:
            taken = _("Your payment arrived after the hold ran out and the room was taken; it is being refunded.")
        else:
            taken = "Your payment arrived after the hold ran out and the time was taken; it is being refunded."
        messages.error(request, taken)
        return redirect(reservation)
    context = {"reservation": reservation, "venue": reservation.space.venue, "paid": paid}
    return render(request, "reservations/payment_return.html", context)


@login_required
@require_POST
def release(request, reference):
    reservation = _own_reservation(request, reference)
    if reservation.status != Status.HELD:
        return redirect(reservation)
    try:
        reservation_cancel(reservation=reservation, actor=request.user)
    except BookingError as error:
        messages.error(request, error.message)
        return redirect(reservation)
    if reservation.space.venue.uses_nights:
        messages.success(request, _("Hold released. Choose other dates whenever you like."))
    else:
        messages.success(request, "Hold released. Choose another time whenever you like.")
    return redirect(_search_url(reservation))


# ---------------------------------------------------------------------------------------------
# A guest's reservations


@login_required
def my_reservations(request):
    now = timezone.now()
    past = Paginator(guest_reservations(guest=request.user, when="past", now=now), PAST_PER_PAGE)
    context = {
        "upcoming": guest_reservations(guest=request.user, when="upcoming", now=now),
        "past_page": past.get_page(request.GET.get("page")),
        "waitlist": guest_entries(request.user, now=now),
    }
    return render(request, "reservations/list.html", context)


@login_required
def detail(request, reference):
    reservation = _visible_reservation(request, reference)
    events = reservation.events.select_related("actor")
    now = timezone.now()
    context = {
        "reservation": reservation,
        "events": events,
        "expired_hold": reservation.status == Status.HELD
        and reservation.hold_expires_at is not None
        and reservation.hold_expires_at <= now,
        **_rules(reservation, request.user, now),
    }
    return render(request, "reservations/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def modify(request, reference):
    """The slot picker for an existing booking; its buttons post here and move the booking."""
    reservation = _visible_reservation(request, reference)
    venue = reservation.space.venue
    rules = _rules(reservation, request.user, timezone.now())
    if not rules["can_modify"]:
        if reservation.is_active:
            messages.error(request, f"Changes were possible until {rules['modify_until']}.")
        else:
            messages.error(request, f"This reservation is {reservation.get_status_display().lower()}.")
        return redirect(reservation)

    problem, status, refused_at, refused_space = "", 200, None, None
    data = {**_search_query(reservation), **request.GET.dict()}
    if request.method == "POST":
        form = ChoiceForm(request.POST, venue=venue)
        if not form.is_valid():
            problem, status = f"{next(iter(form.errors.values()))[0]} Choose again from the list.", 400
        else:
            choice = form.cleaned_data
            change = {
                "reservation": reservation,
                "actor": request.user,
                "starts_at": choice["starts_at"],
                "ends_at": choice["ends_at"],
                "party_size": choice["party_size"],
                "space": choice["space"],
            }
            if venue.assigns_spaces and choice["space"] is None:
                change["category"] = choice["category"]  # a stay may move to another room type
            try:
                if "money_confirmed" not in request.POST:
                    # Money changes with the booking: the guest sees how before the change is made.
                    quote = reservation_modify_preview(**change)
                    if _money_changes(quote):
                        return _confirm_money_page(request, reservation, form, quote)
                reservation = reservation_modify(**change)
            except BookingError as error:
                problem, status = error.message, _status_for(error)
                refused_at, refused_space = choice["starts_at"], choice["space"]
                data = {**data, **form.search_query()}
            else:
                if venue.uses_nights:
                    messages.success(request, _("Your stay is changed: %(stay)s.") % {"stay": summary(reservation)})
                else:
                    when = format_local(venue, reservation.starts_at)
                    guests = "1 guest" if reservation.party_size == 1 else f"{reservation.party_size} guests"
                    messages.success(request, f"Your reservation is changed: {when}, {guests}.")
                return redirect(reservation)

    url = reverse("reservations:modify", kwargs={"reference": reservation.reference})
    context = picker_context(
        venue=venue,
        spaces=active_spaces(venue),
        data=data,
        search_url=url,
        action_url=url,
        # A stay may change its room type: every type is offered. A restaurant keeps its area.
        fixed_category=reservation.requested_category if venue.assigns_spaces and not venue.uses_nights else None,
        refused_at=refused_at,
        refused_space=refused_space,
        exclude=reservation,  # its own booking does not block the times it could move to
    )
    context.update(
        reservation=reservation,
        current_category=reservation.space.category,
        stay_words=summary(reservation) if venue.uses_nights else "",
        problem=problem,
        starts=format_local(venue, reservation.starts_at),
        ends=format_local(venue, reservation.ends_at),
        **rules,
    )
    return render_picker(request, "reservations/modify.html", context, status=status)


def _money_changes(quote: dict) -> bool:
    return bool(
        quote["refund"] or quote["price"] != quote["price_before"] or quote["amount_due"] != quote["amount_due_before"]
    )


def _confirm_money_page(request, reservation, form: ChoiceForm, quote: dict):
    """The change, its new price and what it does to the money, with a button that makes it."""
    venue = reservation.space.venue
    choice = form.cleaned_data
    context = {
        "reservation": reservation,
        "venue": venue,
        "quote": quote,
        "choice_fields": form.query(),
        "starts": format_local(venue, choice["starts_at"]),
        "ends": _end_words(venue, choice["starts_at"], choice["ends_at"]),
        "party_size": choice["party_size"],
        "new_space": choice["space"],
        "new_category": choice["category"] if venue.uses_nights and choice["space"] is None else "",
        "action_url": reverse("reservations:modify", kwargs={"reference": reservation.reference}),
    }
    return render(request, "reservations/modify_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, reference):
    """GET asks "are you sure?"; POST cancels. Staff cancelling a guest's booking give a reason."""
    reservation = _visible_reservation(request, reference)
    venue = reservation.space.venue
    rules = _rules(reservation, request.user, timezone.now())
    asks_reason = _acts_as_staff(request.user, reservation) and reservation.guest_id != request.user.pk
    problem, status = "", 200
    if not reservation.is_active:
        messages.info(request, f"Reservation {reservation.reference} is {reservation.get_status_display().lower()}.")
        return redirect(reservation)
    if request.method == "POST" and rules["can_cancel"]:
        reason = request.POST.get("reason", "")[:500]
        try:
            reservation_cancel(reservation=reservation, actor=request.user, reason=reason)
        except BookingError as error:
            problem, status = error.message, _status_for(error)
        else:
            messages.success(request, f"Reservation {reservation.reference} is cancelled.")
            return redirect(reservation)
    elif request.method == "POST":
        problem, status = "This reservation can no longer be cancelled online.", 422
    context = {
        "reservation": reservation,
        "venue": venue,
        "problem": problem,
        "asks_reason": asks_reason,
        "refund": refund_preview(reservation, by_staff=asks_reason, actor=request.user),
        "paid": reservation.payments.filter(status="paid").exists(),
        "starts": format_local(venue, reservation.starts_at),
        "ends": format_local(venue, reservation.ends_at),
        **rules,
    }
    return render(request, "reservations/cancel.html", context, status=status)
