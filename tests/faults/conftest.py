from tests.reservations.conftest import meeting_rooms, restaurant  # noqa: F401
