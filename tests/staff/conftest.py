# The booking tests' venues and users serve the staff pages' tests too.
from tests.reservations.conftest import always_open, guest, hotel, meeting_rooms, other_guest, restaurant, staff  # noqa: F401
