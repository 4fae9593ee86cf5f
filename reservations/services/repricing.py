"""Money follows a change of a booking, in the change's own transaction."""

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from core.formats import money
from reservations import hooks
from reservations.exceptions import PolicyViolation
from reservations.models import Reservation
from reservations.pricing import amount_due, first_night_price
from spaces.models import PaymentMode

Status = Reservation.Status


def reprice(current: Reservation, *, moved_from: datetime, staff: bool, by_staff: bool, actor, now, rates=None) -> dict:
    """Money follows the change, in its transaction. A hold owes the new amount up front. A booking paid
    online owes the new amount too: a lower one gives back the difference as the policy allows (and a
    moved booking never refunds more than cancelling before the move would have: the `repriced`
    hook); a higher one is refused for a guest (nothing is taken online after booking) and, made by
    staff, leaves the difference to be paid at the venue. Returns what the history should say.

    The price is the row's (written by the change); where the venue asks for the first night up
    front, that night is priced at its rate (`rates`: the venue's, when read already)."""
    venue = current.space.venue
    first_night = None
    if venue.payment_mode == PaymentMode.FIRST_NIGHT:
        first_night = first_night_price(current.all_spaces, current.starts_at, current.ends_at, rates=rates)
    due = amount_due(
        venue, space=current.space, price=current.price, party_size=current.party_size, first_night=first_night
    )
    if current.status == Status.HELD:
        if due != current.amount_due:
            Reservation.objects.filter(pk=current.pk).update(amount_due=due)
            current.amount_due = due
        return {}
    balance = sum(hooks.balance.call(current), Decimal("0"))
    if balance <= 0:
        return {}  # nothing was paid online: the venue settles the bill
    extra = {}
    if due > balance:
        if not staff:
            raise PolicyViolation(
                _(
                    "This change would raise what is paid up front from %(paid)s to %(due)s. A paid booking "
                    "cannot cost more online: cancel it and book again, or ask %(venue)s."
                )
                % {"paid": money(balance, current.currency), "due": money(due, current.currency), "venue": venue.name}
            )
        extra = {"to_pay_at_the_venue": str(due - balance)}
        due = balance
    if due != current.amount_due:
        Reservation.objects.filter(pk=current.pk).update(amount_due=due)
        current.amount_due = due
    hooks.repriced.call(current, moved_from=moved_from, balance=balance, actor=actor, by_staff=by_staff, now=now)
    return extra
