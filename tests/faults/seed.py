"""Seed a fresh, migrated database for a fault test and print what the test needs, as JSON.

    DJANGO_SETTINGS_MODULE=... DATABASE_URL=... python -m tests.faults.seed GUESTS

One venue open around the clock in UTC where guests pick one of eight rooms (30-minute slots, no
lead time), and GUESTS guests, each with a session token (see support.session_token).
"""

import json
import sys
from datetime import time

import django


def main(guests: int) -> None:
    django.setup()
    from accounts.models import User
    from spaces.models import OpeningHours, Space, Venue

    from .support import session_token

    venue = Venue.objects.create(
        name="Fault Rooms",
        slug="fault-rooms",
        kind=Venue.Kind.OTHER,
        time_zone="UTC",
        assignment=Venue.Assignment.GUEST_PICKS,
        slot_interval_minutes=30,
        default_duration_minutes=30,
        min_lead_minutes=0,
        max_advance_days=30,
    )
    for weekday in range(7):
        OpeningHours.objects.create(
            venue=venue, weekday=weekday, opens_at=time(0), closes_at=time(0), closes_next_day=True
        )
    rooms = [Space.objects.create(venue=venue, name=f"Room {n}", capacity=4) for n in range(1, 9)]
    users = [User.objects.create_user(email=f"steady{n}@example.com") for n in range(guests)]
    print(json.dumps({"rooms": [room.pk for room in rooms], "tokens": [session_token(user) for user in users]}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
