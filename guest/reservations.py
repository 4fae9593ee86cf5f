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
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import phones
from core import ratelimit
from core.formats import DATETIME_WITH_DAY, TIME, money
from guest.forms import AvailabilityForm, BookingDetailsForm, ChoiceForm
from guest.venue import active_spaces, active_venue, picker_context, render_picker, venue_page
from guest.waitlist import guest_entries
from payments.services import checkout_start, refund_preview
from reservations.exceptions import BookingError, HoldExpired, SlotUnavailable
from reservations.models import Reservation
from reservations.my_reservations import my_reservations as my_reservations_of
from reservations.pricing import breakdown_words, night_prices, nights_of, price_for, venue_rates
from reservations.selectors import space_to_assign
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
from reservations.services.lifecycle import hold_ran_out, reservation_add_details, reservation_hold_again
from reservations.services.text_messages import reservation_set_texts, texts_offered
from reservations.wording import duration_words, history_words, space_kind, space_noun, summary
from spaces import powers
from spaces.powers import Power

PAST_PER_PAGE = 20
Status = Reservation.Status


def _when(venue, moment: datetime, with_date: bool = True) -> str:
    """A moment at the venue as these pages write it (the glossary's one format for pages): "Fri 14 Nov
    19:00" in the venue's zone, or just "19:00"."""
    local = moment.astimezone(venue.zone)
    return date_format(local, DATETIME_WITH_DAY if with_date else TIME)


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
    if hours:
        cancellation_rule = _("Free cancellation until %(duration)s before the start (%(when)s).") % {
            "duration": duration_words(hours * 60),
            "when": _when(venue, cancel_until),
        }
    else:
        cancellation_rule = _("Free cancellation until the start (%(when)s).") % {"when": _when(venue, cancel_until)}
    return {
        "can_modify": reservation.is_active and (staff or now <= modify_until),
        "can_cancel": reservation.is_active and (staff or held or now <= cancel_until),
        "modify_until": _when(venue, modify_until),
        "cancel_until": _when(venue, cancel_until),
        "cancellation_rule": cancellation_rule,
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
        problem = _("%(problem)s Choose again from the list.") % {"problem": problem}
        return venue_page(request, venue, data={}, status=400, problem=problem)
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
            message=_("You have tried to hold a booking too many times in a short time."),
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
            setup=form.rules,  # the venue's rules, read by the form a moment ago
        )
    except BookingError as error:
        search = form.search_query()
        return venue_page(
            request,
            venue,
            data=search,
            status=_status_for(error),
            # One message per refusal: where the search itself refuses the day (passed, too far ahead),
            # its message next to the date says it; the engine's would say the same in other words.
            problem="" if _search_refuses(venue, search) else error.message,
            refused_at=data["starts_at"],
            refused_space=data["space"],
        )
    return redirect("reservations:review", reference=reservation.reference)


def _search_refuses(venue, search: dict[str, str]) -> bool:
    """Does the venue page's search form refuse this search by itself (a day that has passed or is
    beyond the booking window, a party no table could seat)? Its own checks only: no query."""
    return not AvailabilityForm(venue=venue, spaces=[], data=search).is_valid()


def _same_day(venue, starts_at: datetime, ends_at: datetime) -> bool:
    return starts_at.astimezone(venue.zone).date() == ends_at.astimezone(venue.zone).date()


def _end_words(venue, starts_at: datetime, ends_at: datetime) -> str:
    """The end as a guest reads it after the start: just the time when it is the same day."""
    return _when(venue, ends_at, with_date=not _same_day(venue, starts_at, ends_at))


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
        minutes = int((data["ends_at"] - data["starts_at"]).total_seconds() // 60)
        price = sum((price_for(venue, one, minutes=minutes) for one in priced), Decimal("0"))
    if space is not None and space.sold_by_seat:
        price *= data["party_size"]  # a price per seat
    price = price or None
    hourly = [one for one in priced if one.price_per == one.PricePer.HOUR and not venue.uses_nights]
    return {
        # A room priced by the hour says so beside the price of the chosen length.
        "price_words": _("%(price)s an hour") % {"price": money(hourly[0].price, venue.currency)}
        if price and len(hourly) == 1
        else "",
        "same_day": _same_day(venue, data["starts_at"], data["ends_at"]),
        "breakdown": breakdown if price else "",
        "problem": refusal,
        "venue": venue,
        "choice": data,
        "choice_fields": form.query(),
        "space": space,
        "price": price,
        "starts": _when(venue, data["starts_at"]),
        "ends": _end_words(venue, data["starts_at"], data["ends_at"]),
        "nights": data.get("nights") or 1,
        "duration": duration_words(int((data["ends_at"] - data["starts_at"]).total_seconds() // 60)),
        "back_url": f"{venue.get_absolute_url()}?{urlencode(form.search_query())}",
        "space_noun": space_noun(venue),
        "space_kind": space_kind(venue),
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


def _texts_box(reservation: Reservation, user):
    """The venue, where the review page asks "Text me a reminder": the venue sends it by text, and the
    guest's profile does not ask for texts about every booking already (then the page says so)."""
    venue = reservation.space.venue
    return venue if texts_offered(venue) and not user.sms_messages else None


def _details_form(reservation: Reservation, user, *, texts=None) -> BookingDetailsForm:
    """The notes and the name and phone for the booking, as they are: the booking's own, else the
    guest's profile's (a guest booking for someone else changes them). With `texts` (the venue), the
    box asking for text messages too, as the booking has it."""
    guest = reservation.guest if reservation.guest_id != user.pk else user
    phone = reservation.contact_phone or (guest.phone if guest is not None else "")
    return BookingDetailsForm(
        initial={
            "notes": reservation.notes,
            "contact_name": reservation.contact_name or (guest.name if guest is not None else ""),
            "contact_phone": phones.display(phone),
            "by_sms": reservation.by_sms,
        },
        texts=texts,
    )


def _review_page(request, reservation, *, notes_form=None, problem="", expired=False, gone=False, status=200):
    venue = reservation.space.venue
    user = request.user
    now = timezone.now()
    expires_at = reservation.hold_expires_at
    ran_out = expired or hold_ran_out(reservation, now=now)
    context = {
        "breakdown": _breakdown(reservation) if reservation.price else "",
        "reservation": reservation,
        "venue": venue,
        "notes_form": notes_form or _details_form(reservation, request.user, texts=_texts_box(reservation, user)),
        "texts_by_profile": texts_offered(venue) and request.user.sms_messages,
        "notes_allowed": True,  # a hold takes notes until it is confirmed, whatever the cut-off
        "problem": problem,
        "expired": ran_out,
        "gone": gone,  # held again, it was refused: no second "Hold again"
        "expires_at": expires_at,
        "held_until": _when(venue, expires_at, with_date=False) if expires_at else "",
        "now": now,
        "starts": _when(venue, reservation.starts_at),
        "ends": _end_words(venue, reservation.starts_at, reservation.ends_at),
        "search_url": _search_url(reservation),
        "space_noun": space_noun(venue),
        "space_kind": space_kind(venue),
        "same_day": _same_day(venue, reservation.starts_at, reservation.ends_at),
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
    notes_form = BookingDetailsForm(request.POST, texts=_texts_box(reservation, request.user))
    if not notes_form.is_valid():
        return _review_page(request, reservation, notes_form=notes_form, status=422)
    given = notes_form.given()  # the notes, name and phone (and texts): written with the confirmation, one event
    try:
        if reservation.amount_due > 0:
            # The venue asks for money up front: Stripe's page, then its webhook confirms.
            reservation = reservation_add_details(reservation=reservation, actor=request.user, **given)
            payment = checkout_start(reservation=reservation)
            return redirect(payment.checkout_url)
        reservation = reservation_confirm(reservation=reservation, actor=request.user, **given)
    except HoldExpired as error:
        reservation.refresh_from_db()
        return _review_page(
            request, reservation, notes_form=notes_form, problem=error.message, expired=True, status=409
        )
    except BookingError as error:
        # Next to its field (the phone, the notes), or above the form: one place, not both.
        problem = "" if notes_form.show_refusal(error) else error.message
        return _review_page(request, reservation, notes_form=notes_form, problem=problem, status=422)
    messages.success(
        request, _("Your booking is confirmed. Your reference is %(reference)s.") % {"reference": reservation.reference}
    )
    return redirect(reservation)


@login_required
def payment_return(request, reference):
    """Where Stripe sends the guest back: "payment received, confirming…" until the webhook has
    confirmed the booking (the page refreshes itself), then the confirmation."""
    reservation = _own_reservation(request, reference)
    if reservation.status == Status.CONFIRMED:
        messages.success(
            request,
            _("Payment received. Your booking is confirmed. Your reference is %(reference)s.")
            % {"reference": reservation.reference},
        )
        return redirect(reservation)
    paid = reservation.payments.filter(status="paid").exists()
    if reservation.status in (Status.EXPIRED, Status.CANCELLED) and paid:
        if reservation.space.venue.uses_nights:
            taken = _("Your payment arrived after the hold ran out and the room was taken; it is being refunded.")
        else:
            taken = _("Your payment arrived after the hold ran out and the time was taken; it is being refunded.")
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
        messages.success(request, _("Hold released. Choose another time whenever you like."))
    return redirect(_search_url(reservation))


@login_required
@require_POST
def hold_again(request, reference):
    """Hold again, on a hold that ran out: one click holds the same choice again (through
    reservation_hold: its rules and the hold rate limit), else the review page says it has gone and
    links to the venue's search for that day."""
    reservation = _own_reservation(request, reference)
    if not hold_ran_out(reservation):
        return redirect(reservation)
    venue = reservation.space.venue
    try:
        ratelimit.check(request, "hold")  # the same limit as any hold
    except ratelimit.RateLimited as error:
        return ratelimit.too_many_page(
            request,
            error,
            message=_("You have tried to hold a booking too many times in a short time."),
            back_url=_search_url(reservation),
            back_label=venue.name,
        )
    try:
        again = reservation_hold_again(reservation=reservation, guest=request.user)
    except BookingError as error:
        reservation.refresh_from_db()
        return _review_page(request, reservation, problem=error.message, expired=True, gone=True, status=409)
    messages.success(
        request,
        _("Held again for you until %(time)s.") % {"time": _when(venue, again.hold_expires_at, with_date=False)},
    )
    return redirect("reservations:review", reference=again.reference)


# ---------------------------------------------------------------------------------------------
# A guest's reservations


@login_required
def my_reservations(request):
    """Upcoming, then cancelled (still ahead), then past, each under its heading; a constant number
    of queries however many bookings (reservations/my_reservations.py)."""
    now = timezone.now()
    mine = my_reservations_of(guest=request.user, now=now)
    upcoming, cancelled = list(mine.upcoming), list(mine.cancelled)
    context = {
        "upcoming": upcoming,
        "cancelled": cancelled,
        "past_page": Paginator(mine.past, PAST_PER_PAGE).get_page(request.GET.get("page")),
        "waitlist": guest_entries(request.user, now=now),
        "now": now,
    }
    return render(request, "reservations/list.html", context)


@login_required
def detail(request, reference):
    reservation = _visible_reservation(request, reference)
    venue = reservation.space.venue
    events = reservation.events.select_related("actor")
    now = timezone.now()
    context = {
        "reservation": reservation,
        "venue": venue,
        "history": [(event, history_words(event, venue)) for event in events],
        "expired_hold": hold_ran_out(reservation, now=now),
        "search_url": _search_url(reservation),
        "space_noun": space_noun(venue),
        "space_kind": space_kind(venue),
        "contact_phone": phones.display(reservation.phone),
        **_texts_context(reservation, request.user, now),
        **_rules(reservation, request.user, now),
    }
    return render(request, "reservations/detail.html", context)


def _texts_context(reservation: Reservation, user, now: datetime) -> dict:
    """The reservation page's "Text messages" line: shown to its guest while texts can still come."""
    venue = reservation.space.venue
    shown = (
        reservation.guest_id == user.pk
        and texts_offered(venue)
        and reservation.is_active
        and reservation.starts_at > now
    )
    return {"texts_shown": shown, "texts_by_profile": user.sms_messages}


@login_required
@require_POST
def texts(request, reference):
    """Text messages about this booking, switched on or off from its page (reservation_set_texts)."""
    reservation = _visible_reservation(request, reference)
    by_sms = request.POST.get("by_sms") == "on"
    try:
        reservation_set_texts(reservation=reservation, actor=request.user, by_sms=by_sms)
    except BookingError as error:
        messages.error(request, error.message)
    else:
        if by_sms:
            messages.success(request, _("We will text you about this booking too."))
        else:
            messages.success(request, _("No more text messages about this booking."))
    return redirect(reservation)


def _may_modify(request, reservation: Reservation):
    """The rules, or the redirect that says why this booking cannot be changed any more."""
    rules = _rules(reservation, request.user, timezone.now())
    if rules["can_modify"]:
        return rules, None
    if reservation.is_active:
        messages.error(request, _("Changes were possible until %(time)s.") % {"time": rules["modify_until"]})
    else:
        messages.error(
            request,
            _("This reservation is %(status)s.") % {"status": reservation.get_status_display().lower()},
        )
    return rules, redirect(reservation)


def _changed_words(reservation: Reservation) -> str:
    """The success message after a change: the booking as it is now, in the venue's words."""
    venue = reservation.space.venue
    if venue.uses_nights:
        return _("Your stay is changed: %(stay)s.") % {"stay": summary(reservation)}
    when = _when(venue, reservation.starts_at)
    guests = ngettext("%(count)s guest", "%(count)s guests", reservation.party_size) % {"count": reservation.party_size}
    if venue.assigns_spaces and reservation.space.category and not reservation.space.sold_by_seat:
        return _("Your reservation is changed: %(when)s, %(guests)s, %(area)s.") % {
            "when": when,
            "guests": guests,
            "area": reservation.space.category,
        }
    return _("Your reservation is changed: %(when)s, %(guests)s.") % {"when": when, "guests": guests}


@login_required
@require_http_methods(["GET", "POST"])
def modify(request, reference):
    """The slot picker for an existing booking (with the venue's areas or room types, the current one
    chosen); its buttons post here and move the booking. Below it, the notes and the name and phone
    for the booking (they post to `details`)."""
    reservation = _visible_reservation(request, reference)
    venue = reservation.space.venue
    rules, refused = _may_modify(request, reservation)
    if refused is not None:
        return refused

    problem, status, refused_at, refused_space = "", 200, None, None
    data = {**_search_query(reservation), **request.GET.dict()}
    if request.method == "POST":
        form = ChoiceForm(request.POST, venue=venue)
        if not form.is_valid():
            problem = _("%(problem)s Choose again from the list.") % {"problem": next(iter(form.errors.values()))[0]}
            status = 400
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
                change["category"] = choice["category"]  # a stay's room type, a restaurant's area
            try:
                if "money_confirmed" not in request.POST:
                    # Money changes with the booking: the guest sees how before the change is made.
                    quote = reservation_modify_preview(**change)
                    if _money_changes(quote):
                        return _confirm_money_page(request, reservation, form, quote)
                reservation = reservation_modify(**change)
            except BookingError as error:
                data = {**data, **form.search_query()}
                # One message per refusal (as on the venue page): the search's own next to the date, or this.
                problem = "" if _search_refuses(venue, form.search_query()) else error.message
                status = _status_for(error)
                refused_at, refused_space = choice["starts_at"], choice["space"]
            else:
                messages.success(request, _changed_words(reservation))
                return redirect(reservation)
    return _modify_page(
        request,
        reservation,
        rules=rules,
        data=data,
        problem=problem,
        status=status,
        refused_at=refused_at,
        refused_space=refused_space,
    )


def _modify_page(
    request,
    reservation: Reservation,
    *,
    rules: dict,
    data: dict,
    problem: str = "",
    status: int = 200,
    refused_at=None,
    refused_space=None,
    details_form: BookingDetailsForm | None = None,
):
    venue = reservation.space.venue
    url = reverse("reservations:modify", kwargs={"reference": reservation.reference})
    context = picker_context(
        venue=venue,
        spaces=active_spaces(venue),
        data=data,
        search_url=url,
        action_url=url,
        # Every room type of a stay, every area of a restaurant is offered (the search keeps the
        # booking's own chosen); the service holds the change to the same rules as a new booking.
        fixed_category=None,
        refused_at=refused_at,
        refused_space=refused_space,
        exclude=reservation,  # its own booking does not block the times it could move to
    )
    context.update(
        reservation=reservation,
        current_category=reservation.space.category,
        stay_words=summary(reservation) if venue.uses_nights else "",
        problem=problem,
        starts=_when(venue, reservation.starts_at),
        ends=_when(venue, reservation.ends_at),
        details_form=details_form or _details_form(reservation, request.user),
        details_url=reverse("reservations:details", kwargs={"reference": reservation.reference}),
        **rules,
    )
    return render_picker(request, "reservations/modify.html", context, status=status)


@login_required
@require_POST
def details(request, reference):
    """The notes and the name and phone for a booking, changed after booking (reservation_modify: the
    time and the tables stay as they are, so no availability can refuse it; the cut-off applies)."""
    reservation = _visible_reservation(request, reference)
    rules, refused = _may_modify(request, reservation)
    if refused is not None:
        return refused
    form = BookingDetailsForm(request.POST)
    if form.is_valid():
        try:
            reservation_modify(reservation=reservation, actor=request.user, **form.given())
        except BookingError as error:
            if not form.show_refusal(error):
                messages.error(request, error.message)
                return redirect(reservation)
        else:
            messages.success(request, _("Your notes and the name and phone for the booking are saved."))
            return redirect(reservation)
    return _modify_page(
        request, reservation, rules=rules, data=_search_query(reservation), status=422, details_form=form
    )


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
        "starts": _when(venue, choice["starts_at"]),
        "ends": _end_words(venue, choice["starts_at"], choice["ends_at"]),
        "party_size": choice["party_size"],
        "new_space": choice["space"],
        "new_category": choice["category"] if venue.assigns_spaces and choice["space"] is None else "",
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
        messages.info(
            request,
            _("Reservation %(reference)s is %(status)s.")
            % {"reference": reservation.reference, "status": reservation.get_status_display().lower()},
        )
        return redirect(reservation)
    if request.method == "POST" and rules["can_cancel"]:
        reason = request.POST.get("reason", "")[:500]
        try:
            reservation_cancel(reservation=reservation, actor=request.user, reason=reason)
        except BookingError as error:
            problem, status = error.message, _status_for(error)
        else:
            messages.success(
                request, _("Reservation %(reference)s is cancelled.") % {"reference": reservation.reference}
            )
            return redirect(reservation)
    elif request.method == "POST":
        problem, status = _("This reservation can no longer be cancelled online."), 422
    context = {
        "reservation": reservation,
        "venue": venue,
        "problem": problem,
        "asks_reason": asks_reason,
        "refund": refund_preview(reservation, by_staff=asks_reason, actor=request.user),
        "paid": reservation.payments.filter(status="paid").exists(),
        "space_noun": space_noun(venue),
        "space_kind": space_kind(venue),
        "starts": _when(venue, reservation.starts_at),
        "ends": _when(venue, reservation.ends_at),
        **rules,
    }
    return render(request, "reservations/cancel.html", context, status=status)
