"""The demo restaurant's capacity rules (docs/capacity.md): turn times, buffer, shifts, pacing,
combined tables, the terrace closed in winter, the online maximum; and that seeding again adds only
what is missing."""

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from reservations.capacity import closure_spans
from reservations.services import reservation_book
from spaces.management.commands.seed_demo import OLD_RESTAURANT_DESCRIPTION
from spaces.models import Closure, Combination, PacingRule, Shift, TurnTime, Venue
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db
FRIDAY = 4


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def aurora() -> Venue:
    return Venue.objects.get(slug="trattoria-aurora")


def capacity_rows(venue: Venue) -> dict:
    return {
        "shifts": sorted(venue.shifts.values_list("name", "starts_at", "ends_at", "weekdays")),
        "turn times": sorted(venue.turn_times.values_list("shift", "min_party_size", "max_party_size", "minutes")),
        "pacing": list(venue.pacing_rules.values_list("shift__name", "area", "interval_minutes", "max_covers")),
        "combinations": {
            combination.name: (
                sorted(combination.spaces.values_list("name", flat=True)),
                combination.min_party_size,
                combination.max_party_size,
            )
            for combination in venue.combinations.all()
        },
        "closures": list(venue.closures.values_list("area", "starts_at", "ends_at", "repeats_yearly", "reason")),
        "settings": (venue.buffer_minutes, venue.max_online_party_size),
    }


def test_the_demo_restaurant_has_its_capacity_rules():
    seed()
    venue = aurora()

    assert (venue.buffer_minutes, venue.max_online_party_size) == (15, 14)
    assert venue.phone and venue.email
    tuesday_to_sunday = [1, 2, 3, 4, 5, 6]
    assert sorted(venue.shifts.values_list("name", "starts_at", "ends_at", "weekdays")) == [
        ("Dinner", time(18), time(23), tuesday_to_sunday),
        ("Lunch", time(12), time(15), tuesday_to_sunday),
    ]
    assert sorted(venue.turn_times.values_list("shift", "min_party_size", "max_party_size", "minutes")) == [
        (None, 1, 2, 90),
        (None, 3, 4, 120),
        (None, 5, 8, 150),
        (None, 9, 14, 180),
    ]
    [pacing] = venue.pacing_rules.all()
    assert (pacing.shift.name, pacing.area, pacing.interval_minutes, pacing.max_covers, pacing.max_parties) == (
        "Dinner",
        "",
        15,
        12,
        None,
    )
    combinations = {c.name: c for c in venue.combinations.all()}
    assert set(combinations) == {"Tables 4 + 5 + 6", "Tables 7 + 8"}
    small, large = combinations["Tables 4 + 5 + 6"], combinations["Tables 7 + 8"]
    assert sorted(small.spaces.values_list("name", "capacity")) == [("Table 4", 4), ("Table 5", 4), ("Table 6", 4)]
    assert (small.min_party_size, small.max_party_size) == (9, 12)
    assert sorted(large.spaces.values_list("name", "capacity")) == [("Table 7", 6), ("Table 8", 8)]
    assert (large.min_party_size, large.max_party_size) == (9, 14)
    for combination in (small, large):  # never more than the tables seat, all in the dining room
        tables = combination.spaces.all()
        assert combination.max_party_size <= sum(table.capacity for table in tables)
        assert {table.category for table in tables} == {"Dining room"}

    [winter] = venue.closures.all()
    assert (winter.space, winter.area, winter.repeats_yearly, winter.reason) == (None, "Terrace", True, "winter")
    local = [moment.astimezone(venue.zone) for moment in (winter.starts_at, winter.ends_at)]
    assert [(m.month, m.day, m.hour, m.minute) for m in local] == [(11, 1, 0, 0), (4, 1, 0, 0)]
    assert str(local[0].tzinfo) == "Europe/Berlin"
    assert "April to October" in venue.description and "terrace in summer" not in venue.description


def test_the_terrace_is_closed_every_winter_and_open_every_summer():
    seed()
    venue = aurora()
    closures = list(venue.closures.all())
    terrace = venue.spaces.filter(category="Terrace").first()
    dining = venue.spaces.filter(category="Dining room").first()
    year = date.today().year

    def closed(space, day: date) -> bool:
        start = datetime.combine(day, time(12), tzinfo=venue.zone)
        end = datetime.combine(day, time(15), tzinfo=venue.zone)
        return any(span.closes(space) for span in closure_spans(venue, closures, start, end))

    for day in (date(year, 1, 15), date(year, 3, 31), date(year, 11, 1), date(year + 1, 12, 24)):
        assert closed(terrace, day), day
        assert not closed(dining, day), day
    for day in (date(year, 4, 1), date(year, 7, 15), date(year + 1, 10, 31)):
        assert not closed(terrace, day), day


def test_a_party_of_eleven_on_a_friday_evening_gets_tables_4_5_and_6():
    seed()
    venue = aurora()
    guest = User.objects.get(email="guest@holdfast.local")
    starts_at = at(venue, next_weekday(venue, FRIDAY), "19:00")

    booking = reservation_book(guest=guest, venue=venue, starts_at=starts_at, party_size=11)

    assert [space.name for space in booking.all_spaces] == ["Table 4", "Table 5", "Table 6"]
    assert booking.ends_at - booking.starts_at == timedelta(hours=3)  # 9–14 guests: 180 minutes
    assert booking.starts_at.astimezone(venue.zone).strftime("%A %H:%M") == "Friday 19:00"


def test_seeding_twice_adds_the_capacity_rules_once():
    seed()
    venue = aurora()
    rules = capacity_rows(venue)

    output = seed()

    assert "nothing created" in output
    assert capacity_rows(aurora()) == rules
    assert Shift.objects.count() == 2 and TurnTime.objects.count() == 4 and PacingRule.objects.count() == 1
    assert Combination.objects.count() == 2 and Closure.objects.count() == 1


def test_seeding_again_adds_back_a_missing_rule_and_keeps_what_the_manager_changed():
    seed()
    venue = aurora()
    venue.combinations.get(name="Tables 7 + 8").delete()
    venue.turn_times.filter(min_party_size=9).delete()
    venue.turn_times.filter(min_party_size=1).update(minutes=105)
    venue.pacing_rules.update(max_covers=20)
    Venue.objects.filter(pk=venue.pk).update(buffer_minutes=0, max_online_party_size=None)

    output = seed()

    assert (
        "0 shifts, 1 turn times, 0 pacing rules, 1 combinations, 0 closures, 0 sessions, 0 rates and stay limits, "
        "0 calendar feeds, 0 users, 0 staff roles." in output
    )
    venue = aurora()
    assert sorted(venue.turn_times.values_list("min_party_size", "minutes")) == [(1, 105), (3, 120), (5, 150), (9, 180)]
    assert venue.pacing_rules.get().max_covers == 20
    assert sorted(venue.combinations.get(name="Tables 7 + 8").spaces.values_list("name", flat=True)) == [
        "Table 7",
        "Table 8",
    ]
    assert (venue.buffer_minutes, venue.max_online_party_size) == (0, None)  # the manager's choice, kept


def test_a_demo_restaurant_seeded_before_capacity_rules_gets_them_with_its_buffer_and_maximum():
    seed()
    venue = aurora()
    for rules in (venue.shifts, venue.turn_times, venue.pacing_rules, venue.combinations, venue.closures):
        rules.all().delete()
    Venue.objects.filter(pk=venue.pk).update(
        buffer_minutes=0, max_online_party_size=None, description=OLD_RESTAURANT_DESCRIPTION
    )

    output = seed()

    assert "2 shifts, 4 turn times, 1 pacing rules, 2 combinations, 1 closures" in output
    venue = aurora()
    assert (venue.buffer_minutes, venue.max_online_party_size) == (15, 14)
    assert "April to October" in venue.description


def test_a_restaurant_description_staff_wrote_is_kept():
    seed()
    venue = aurora()
    venue.turn_times.all().delete()
    Venue.objects.filter(pk=venue.pk).update(description="Our own words.")

    seed()

    assert aurora().description == "Our own words."


@pytest.mark.django_db
def test_the_waitlist_is_on_at_every_demo_venue():
    from django.core.management import call_command

    from spaces.models import Venue

    call_command("seed_demo", stdout=__import__("io").StringIO())
    assert sorted(Venue.objects.values_list("slug", "waitlist", "waitlist_offer_minutes")) == [
        ("foundry-rooms", True, 30),
        ("harbour-inn", True, 30),
        ("trattoria-aurora", True, 30),
    ]
