"""Who may do what at which venue: the one answer pages, the API, admin actions and services share.

Staff belong to venues with a role (VenueRole). A role gives a set of powers at that venue; a
superuser has every power everywhere. Nobody has a power because of `is_staff`: that flag only lets a
person into the admin, where they see the venues their roles name. A member of staff without a role
at a venue has, for that venue, exactly a guest's powers.

Every staff power also needs two-factor authentication. `has_power` answers from the roles alone;
`can` also asks for the authenticator; `may` is what a service calls where a staff power is needed:
True or False by the roles, and TwoFactorRequired when the role would allow it but there is no
authenticator yet, so the person is told to set one up rather than that they may not.
"""

from enum import StrEnum

from django.db.models import QuerySet

from accounts.two_factor import TwoFactorRequired, has_two_factor
from spaces.models import Venue, VenueRole


class Power(StrEnum):
    VIEW_BOOKINGS = "view_bookings"  # the day sheet, the admin's reservations and e-mails, a guest's booking
    BOOK_FOR_GUESTS = "book_for_guests"  # by phone or walk-in: any guest, any fitting space, pay at the venue
    CHANGE_BOOKINGS = "change_bookings"  # modify, move, cancel with a reason, mark no-show; past the cut-offs
    REFUND = "refund"  # beyond the policy: in full when cancelling, any part of a payment in the admin
    VIEW_PAYMENTS = "view_payments"
    EXPORT = "export"  # the CSV of bookings
    MANAGE_VENUE = "manage_venue"  # settings, spaces, opening hours, closures
    MANAGE_ROLES = "manage_roles"  # who is manager or host of the venue


ROLE_POWERS = {
    VenueRole.Role.MANAGER: frozenset(Power),
    VenueRole.Role.HOST: frozenset({Power.VIEW_BOOKINGS, Power.BOOK_FOR_GUESTS, Power.CHANGE_BOOKINGS}),
}


def roles(user) -> dict[int, str]:
    """venue id -> role, read once per user object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    if not hasattr(user, "_holdfast_roles"):
        user._holdfast_roles = dict(VenueRole.objects.filter(user=user).values_list("venue_id", "role"))
    return user._holdfast_roles


def _venue_id(venue) -> int:
    return venue if isinstance(venue, int) else venue.pk


def has_power(user, power: Power, venue) -> bool:
    """Does the user's role at `venue` (a Venue or its id) give `power`? Authenticator not asked."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    role = roles(user).get(_venue_id(venue))
    return role is not None and power in ROLE_POWERS[role]


def can(user, power: Power, venue) -> bool:
    """May the user use `power` at `venue` now: the role gives it and two-factor is set up."""
    return has_power(user, power, venue) and has_two_factor(user)


def may(user, power: Power, venue) -> bool:
    """For services: True when the user may use `power` at `venue`, False when their role does not give
    it (they act as a guest), and TwoFactorRequired when it would but no authenticator is set up."""
    if not has_power(user, power, venue):
        return False
    if not has_two_factor(user):
        raise TwoFactorRequired
    return True


def venue_ids(user, power: Power) -> set[int] | None:
    """The venues where the user has `power` (None: all of them, a superuser), two-factor included."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active or not has_two_factor(user):
        return set()
    if user.is_superuser:
        return None
    return {venue_id for venue_id, role in roles(user).items() if power in ROLE_POWERS[role]}


def venues(user, power: Power) -> QuerySet[Venue]:
    ids = venue_ids(user, power)
    return Venue.objects.all() if ids is None else Venue.objects.filter(pk__in=ids)


def is_venue_staff(user) -> bool:
    """Does the user have any staff power anywhere (by the roles, before two-factor)?"""
    return bool(user is not None and getattr(user, "is_authenticated", False) and (user.is_superuser or roles(user)))
