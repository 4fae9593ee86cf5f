"""Why a booking, change or cancellation was refused, in words fit to show a guest.

Views show `str(error)` as a message; the API answers 409 for SlotUnavailable, 404 for
NotAllowed (never reveal that someone else's reservation exists) and 422 for the rest.
"""


class BookingError(Exception):
    """Base class: the request was refused and nothing was changed."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field:
            self.field = field

    def __str__(self):
        return self.message


class SlotUnavailable(BookingError):
    """The space or time is taken (perhaps a moment ago, by someone else)."""


class PolicyViolation(BookingError):
    """The request breaks one of the venue's rules: hours, closures, party size, cut-offs..."""


class HoldExpired(BookingError):
    """The hold ran out before it was confirmed; the slot may have gone to someone else."""


class NotAllowed(BookingError):
    """The actor may not see or change this reservation."""
