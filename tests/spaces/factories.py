from datetime import time, timedelta

import factory
from django.utils import timezone

from spaces.models import Closure, OpeningHours, Space, Venue


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Venue {n}")
    slug = factory.Sequence(lambda n: f"venue-{n}")
    kind = Venue.Kind.RESTAURANT
    time_zone = "Europe/Berlin"
    booking_mode = Venue.BookingMode.SLOTS
    assignment = Venue.Assignment.VENUE_ASSIGNS
    slot_interval_minutes = 15
    default_duration_minutes = 90
    currency = "EUR"

    class Params:
        hotel = factory.Trait(
            kind=Venue.Kind.HOTEL,
            time_zone="Europe/London",
            booking_mode=Venue.BookingMode.NIGHTS,
            currency="GBP",
        )
        meeting_rooms = factory.Trait(
            kind=Venue.Kind.OTHER,
            time_zone="America/New_York",
            assignment=Venue.Assignment.GUEST_PICKS,
            slot_interval_minutes=30,
            default_duration_minutes=60,
            allowed_durations=[30, 60, 120, 240],
            currency="USD",
        )


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Table {n}")
    category = "Dining room"
    capacity = 4
    min_party_size = 1


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    venue = factory.SubFactory(VenueFactory)
    weekday = OpeningHours.Weekday.TUESDAY
    opens_at = time(12)
    closes_at = time(15)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    venue = factory.SubFactory(VenueFactory)
    space = None
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda closure: closure.starts_at + timedelta(days=1))
    reason = "Staff holiday"
