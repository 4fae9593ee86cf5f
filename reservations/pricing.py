"""What a booking costs and what the venue asks for up front: one version, for the services, the
availability, the pages and payments.

A booking by the slot costs its space's price, or, for a space priced by the hour (Space.price_per:
a meeting room), that price times the hours booked, to the cent; a space sold by the seat costs its
price per guest.

A night of a hotel room costs the most specific nightly rate (spaces.Rate) that applies to that
night and the room's category, else the room's own price; a stay costs the sum of its nights. The
rates are read once per request (`rules.setup(venue).rates`) and passed in; a caller without them
gets them read here (one query).

Whether the money is taken online is not decided here: the `collects_payment` hook asks the app that
takes it (payments, when Stripe is set up). Without it a venue's guests pay at the venue and nothing
is due up front.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.formats import money
from reservations import hooks
from reservations.periods import nights_between
from spaces.models import PaymentMode, Rate, Space, Venue

CENT = Decimal("0.01")


def price_for(venue: Venue, space: Space, nights: int = 1, *, minutes: int | None = None) -> Decimal:
    """The price of booking `space` at its own price: per booking in slot mode (per hour booked for a
    space priced by the hour, `minutes` long: the venue's default duration when not given), per night
    in night mode (no nightly rates: see `stay_price` for those)."""
    if venue.uses_nights:
        return space.price * nights
    return slot_price(space, venue.default_duration_minutes if minutes is None else minutes)


def slot_price(space: Space, minutes: int) -> Decimal:
    """A booking by the slot of `minutes` in `space`: its price, or (Space.price_per "hour", a meeting
    room) its price an hour times the hours booked, to the cent, halves up. Not per seat: see
    booking_price."""
    if space.price_per == Space.PricePer.HOUR:
        return (space.price * minutes / 60).quantize(CENT, rounding=ROUND_HALF_UP)
    return space.price


# ---------------------------------------------------------------------------------------------
# Nightly rates


def venue_rates(venue: Venue) -> list[Rate]:
    """The venue's nightly rates (one query); empty for a venue booked by the slot."""
    return list(Rate.objects.filter(venue=venue)) if venue.uses_nights else []


def nights_of(venue: Venue, starts_at: datetime, ends_at: datetime) -> list[date]:
    """The nights of a stay: the local dates a guest sleeps there, arrival first, departure not one.
    Counted in local dates, so a stay across a clock change has its nights, not 24-hour periods."""
    first = starts_at.astimezone(venue.zone).date()
    return [first + timedelta(days=offset) for offset in range(max(nights_between(venue, starts_at, ends_at), 0))]


def rate_for(rates: list[Rate], night: date, category: str) -> Rate | None:
    """The most specific rate applying to `night` in `category` (Rate.specificity), or None."""
    applying = [rate for rate in rates if rate.applies(night, category)]
    return max(applying, key=Rate.specificity, default=None)


@dataclass(frozen=True)
class NightPrice:
    """One night of a stay in one seating (a room, or the rooms of a combination)."""

    night: date
    price: Decimal
    rates: tuple[Rate, ...] = ()  # the rates that priced it (none: the rooms' own prices)

    @property
    def label(self) -> str:
        return ", ".join(rate.name for rate in self.rates if rate.name)


def night_prices(spaces, nights: list[date], rates: list[Rate]) -> list[NightPrice]:
    """Each night with its price: the sum over `spaces` of the rate that applies, else their price."""
    found = []
    for night in nights:
        total, used = Decimal("0"), []
        for space in spaces:
            rate = rate_for(rates, night, space.category)
            total += rate.nightly_price if rate is not None else space.price
            if rate is not None and rate not in used:
                used.append(rate)
        found.append(NightPrice(night, total, tuple(used)))
    return found


def stay_price(spaces, nights: list[date], rates: list[Rate]) -> Decimal:
    """What the nights cost in `spaces` (one room, or a combination's rooms)."""
    return sum((each.price for each in night_prices(spaces, nights, rates)), Decimal("0"))


def breakdown_words(prices: list[NightPrice], currency: str) -> str:
    """'3 nights × €120, 2 nights × €150 (Summer weekends)': the nights of a stay grouped by price and
    rate, in the order they first come, the amounts as the guest's language writes them."""
    groups: dict[tuple, int] = {}
    for each in prices:
        key = (each.price, each.label)
        groups[key] = groups.get(key, 0) + 1
    parts = []
    for (price, label), count in groups.items():
        words = ngettext("%(count)s night × %(price)s", "%(count)s nights × %(price)s", count)
        part = words % {"count": count, "price": money(price, currency)}
        parts.append(_("%(part)s (%(rate)s)") % {"part": part, "rate": label} if label else part)
    return ", ".join(parts)


def _spaces_of(taken) -> list[Space]:
    """A space, a seating (capacity.Seating: its spaces) or a list of spaces, as a list."""
    return [taken] if isinstance(taken, Space) else list(getattr(taken, "spaces", taken))


def booking_price(
    taken, starts_at: datetime, ends_at: datetime, party_size: int = 1, *, rates: list[Rate] | None = None
) -> Decimal:
    """What booking a space, or a seating (combined tables: the sum of theirs), costs for the period;
    a space sold by the seat costs its price per seat, one priced by the hour its price an hour times
    the period's length (slot_price). A stay costs the sum of its nights at their rates: give the
    venue's `rates` when they are read already (rules.setup), else they are read."""
    spaces = _spaces_of(taken)
    venue = spaces[0].venue
    if venue.uses_nights:
        rates = venue_rates(venue) if rates is None else rates
        return stay_price(spaces, nights_of(venue, starts_at, ends_at), rates)
    if spaces[0].sold_by_seat:
        return sum((space.price for space in spaces), Decimal("0")) * party_size
    minutes = int((ends_at - starts_at) / timedelta(minutes=1))
    return sum((slot_price(space, minutes) for space in spaces), Decimal("0"))


def first_night_price(
    taken, starts_at: datetime, ends_at: datetime, *, rates: list[Rate] | None = None
) -> Decimal | None:
    """What the first night of a stay costs at its rate (PaymentMode.FIRST_NIGHT); None for a booking
    by the slot or an empty period."""
    spaces = _spaces_of(taken)
    venue = spaces[0].venue
    nights = nights_of(venue, starts_at, ends_at)[:1] if venue.uses_nights else []
    if not nights:
        return None
    rates = venue_rates(venue) if rates is None else rates
    return stay_price(spaces, nights, rates)


# ---------------------------------------------------------------------------------------------
# Up front


def up_front(
    venue: Venue, *, space: Space, price: Decimal, party_size: int, first_night: Decimal | None = None
) -> Decimal:
    """What the venue's rules ask before the visit: a deposit, the first night or the whole price.
    `first_night`: the first night at its rate (first_night_price); without it the room's own price."""
    match venue.payment_mode:
        case PaymentMode.DEPOSIT_PER_GUEST:
            amount = venue.deposit_per_guest * party_size
        case PaymentMode.DEPOSIT_PERCENT:
            amount = price * venue.deposit_percent / 100
        case PaymentMode.FIRST_NIGHT:
            amount = min(space.price if first_night is None else first_night, price)
        case PaymentMode.FULL:
            amount = price
        case _:
            amount = Decimal("0")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_due(
    venue: Venue, *, space: Space, price: Decimal, party_size: int, first_night: Decimal | None = None
) -> Decimal:
    """What the guest pays online on booking; 0 where no app collects payment for this venue."""
    if not hooks.collects_payment.any(venue):
        return Decimal("0")
    return up_front(venue, space=space, price=price, party_size=party_size, first_night=first_night)
