# The booking tests' venues and users serve the guest pages' tests too.
from tests.reservations.conftest import (  # noqa: F401
    always_open,
    guest,
    hotel,
    meeting_rooms,
    other_guest,
    restaurant,
    staff,
    trattoria,
)
