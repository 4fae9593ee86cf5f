from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from tests.spaces.factories import ClosureFactory, OpeningHoursFactory, SpaceFactory, VenueFactory

pytestmark = pytest.mark.django_db


def validation_errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        instance.full_clean()
    return raised.value.message_dict


def test_factories_build_valid_objects():
    for instance in [
        VenueFactory(),
        VenueFactory(hotel=True),
        VenueFactory(meeting_rooms=True),
        SpaceFactory(),
        OpeningHoursFactory(),
        ClosureFactory(),
    ]:
        instance.full_clean()


def test_opening_hours_closing_before_opening_is_refused():
    hours = OpeningHoursFactory.build(venue=VenueFactory(), opens_at=time(18), closes_at=time(12))
    assert validation_errors(hours) == {
        "closes_at": [
            "Closing time must be after opening time. For a period that ends after midnight, "
            "tick “closes after midnight”."
        ]
    }


def test_opening_hours_closing_at_opening_time_is_refused():
    hours = OpeningHoursFactory.build(venue=VenueFactory(), opens_at=time(12), closes_at=time(12))
    assert "closes_at" in validation_errors(hours)


def test_opening_hours_past_midnight_are_accepted_when_marked():
    hours = OpeningHoursFactory.build(venue=VenueFactory(), opens_at=time(18), closes_at=time(2), closes_next_day=True)
    hours.full_clean()


def test_opening_hours_ending_next_day_cannot_last_more_than_a_day():
    hours = OpeningHoursFactory.build(venue=VenueFactory(), opens_at=time(18), closes_at=time(19), closes_next_day=True)
    assert validation_errors(hours) == {
        "closes_at": ["A period that ends the next day cannot last more than 24 hours."]
    }


def test_space_capacity_below_minimum_party_is_refused():
    space = SpaceFactory.build(venue=VenueFactory(), capacity=2, min_party_size=4)
    assert "Capacity (2) is below the minimum party size (4)." in validation_errors(space)["capacity"]


def test_database_refuses_space_capacity_below_minimum_party():
    with pytest.raises(IntegrityError):
        SpaceFactory(capacity=2, min_party_size=4)


def test_space_names_are_unique_per_venue_only():
    first = SpaceFactory(name="Table 1")
    SpaceFactory(name="Table 1")  # another venue
    duplicate = SpaceFactory.build(venue=first.venue, name="Table 1")
    assert "__all__" in validation_errors(duplicate)


def test_unknown_time_zone_is_refused():
    venue = VenueFactory.build(time_zone="Europe/Atlantis")
    assert validation_errors(venue) == {
        "time_zone": ["“Europe/Atlantis” is not a known time zone; use an IANA name such as Europe/Berlin."]
    }


def test_default_duration_off_the_slot_grid_is_refused():
    venue = VenueFactory.build(slot_interval_minutes=15, default_duration_minutes=100)
    assert validation_errors(venue) == {
        "default_duration_minutes": ["100 minutes is not a multiple of the 15-minute slot interval."]
    }


def test_allowed_duration_off_the_slot_grid_is_refused():
    venue = VenueFactory.build(slot_interval_minutes=30, default_duration_minutes=60, allowed_durations=[45, 120])
    assert validation_errors(venue) == {
        "allowed_durations": ["45 minutes is not a multiple of the 30-minute slot interval."]
    }


def test_night_mode_venue_ignores_the_slot_grid():
    venue = VenueFactory.build(hotel=True, slot_interval_minutes=15, default_duration_minutes=100)
    venue.full_clean()


def test_currency_is_upper_cased_and_must_be_three_letters():
    venue = VenueFactory.build(currency="gbp")
    venue.full_clean()
    assert venue.currency == "GBP"
    assert validation_errors(VenueFactory.build(currency="E1")) == {
        "currency": ["Use a three-letter currency code such as EUR."]
    }


def test_closure_ending_before_it_starts_is_refused():
    closure = ClosureFactory.build(venue=VenueFactory())
    closure.ends_at = closure.starts_at - timedelta(hours=1)
    assert validation_errors(closure) == {"ends_at": ["A closure must end after it starts."]}


def test_closure_of_a_space_from_another_venue_is_refused():
    other_venues_space = SpaceFactory()
    closure = ClosureFactory.build(venue=VenueFactory(), space=other_venues_space)
    assert validation_errors(closure) == {"space": ["That space belongs to another venue."]}


def test_closure_of_one_space_of_the_same_venue_is_accepted():
    space = SpaceFactory()
    ClosureFactory.build(venue=space.venue, space=space).full_clean()
