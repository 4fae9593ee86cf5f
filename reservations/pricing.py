"""What a booking costs and what the venue asks for up front: one version, for the services, the
availability, the pages and payments.

Whether the money is taken online is not decided here: the `collects_payment` hook asks the app that
takes it (payments, when Stripe is set up). Without it a venue's guests pay at the venue and nothing
is due up front.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from reservations import hooks
from reservations.periods import nights_between
from spaces.models import PaymentMode, Space, Venue

CENT = Decimal("0.01")


def price_for(venue: Venue, space: Space, nights: int = 1) -> Decimal:
    """The price of booking `space`: per booking in slot mode, per night in night mode."""
    return space.price * nights if venue.uses_nights else space.price


def booking_price(taken, starts_at: datetime, ends_at: datetime, party_size: int = 1) -> Decimal:
    """What booking a space, or a seating (combined tables: the sum of theirs), costs for the period;
    a space sold by the seat costs its price per seat."""
    spaces = [taken] if isinstance(taken, Space) else list(taken.spaces)
    venue = spaces[0].venue
    nights = nights_between(venue, starts_at, ends_at) if venue.uses_nights else 1
    total = sum((price_for(venue, space, nights) for space in spaces), Decimal("0"))
    return total * party_size if spaces[0].sold_by_seat else total


def up_front(venue: Venue, *, space: Space, price: Decimal, party_size: int) -> Decimal:
    """What the venue's rules ask before the visit: a deposit, the first night or the whole price."""
    match venue.payment_mode:
        case PaymentMode.DEPOSIT_PER_GUEST:
            amount = venue.deposit_per_guest * party_size
        case PaymentMode.DEPOSIT_PERCENT:
            amount = price * venue.deposit_percent / 100
        case PaymentMode.FIRST_NIGHT:
            amount = min(space.price, price)
        case PaymentMode.FULL:
            amount = price
        case _:
            amount = Decimal("0")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_due(venue: Venue, *, space: Space, price: Decimal, party_size: int) -> Decimal:
    """What the guest pays online on booking; 0 where no app collects payment for this venue."""
    if not hooks.collects_payment.any(venue):
        return Decimal("0")
    return up_front(venue, space=space, price=price, party_size=party_size)
