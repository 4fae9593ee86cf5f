from tests.reservations.conftest import guest, hotel, meeting_rooms, other_guest, restaurant, staff  # noqa: F401
