# The booking tests' venues and users serve here too.
from tests.reservations.conftest import guest, meeting_rooms, other_guest, restaurant, staff  # noqa: F401
