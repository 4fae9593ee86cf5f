"""Demo data for a new installation: three venues of different shapes and two users who can log in
at once. Safe to run again: it only adds what is missing and never changes what is there (but for
a demo restaurant seeded before it had capacity rules: see _fill_in_capacity_settings)."""

from datetime import date, datetime, time
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from spaces.models import (
    CalendarFeed,
    Closure,
    Combination,
    OpeningHours,
    PacingRule,
    Rate,
    Session,
    Shift,
    Space,
    StayLimit,
    TurnTime,
    Venue,
    VenueRole,
)

STAFF = {"email": "staff@holdfast.local", "password": "holdfast-staff", "name": "Sam Staff"}  # a superuser
# The restaurant's own staff: its manager, and a host who keeps the day sheet.
MANAGER = {"email": "manager@holdfast.local", "password": "holdfast-manager", "name": "Mara Manager"}
HOST = {"email": "host@holdfast.local", "password": "holdfast-host", "name": "Hugo Host"}
RESTAURANT_ROLES = [(MANAGER, VenueRole.Role.MANAGER), (HOST, VenueRole.Role.HOST)]
GUEST = {"email": "guest@holdfast.local", "password": "holdfast-guest", "name": "Gina Guest"}

TUESDAY_TO_SUNDAY = range(1, 7)
MONDAY_TO_FRIDAY = range(0, 5)
SATURDAY = 5

HOURLY = {"price_per": Space.PricePer.HOUR}  # a meeting room's price is an hour's

# The restaurant's description before it had capacity rules: replaced when they are added to it.
OLD_RESTAURANT_DESCRIPTION = "Handmade pasta and wood-fired pizza; a terrace in summer. Closed on Mondays."

VENUES = [
    {
        "venue": {
            "slug": "trattoria-aurora",
            "name": "Trattoria Aurora",
            "kind": Venue.Kind.RESTAURANT,
            "time_zone": "Europe/Berlin",
            "address": "Kastanienallee 12, 10435 Berlin",
            "phone": "+49 30 4405 1234",
            "email": "tavola@trattoria-aurora.example",
            "description": "Handmade pasta and wood-fired pizza; the terrace is open from April to October. "
            "Lunch and dinner, closed on Mondays. Tables pushed together for up to 14 guests; for a bigger "
            "party, please call.",
            "booking_mode": Venue.BookingMode.SLOTS,
            "assignment": Venue.Assignment.VENUE_ASSIGNS,
            "slot_interval_minutes": 15,
            "default_duration_minutes": 90,
            "allowed_durations": [],
            "currency": "EUR",
            "buffer_minutes": 15,
            "max_online_party_size": 14,
        },
        "spaces": [
            *[
                {"name": f"Table {number}", "category": "Dining room", "capacity": capacity}
                for number, capacity in enumerate([2, 2, 2, 4, 4, 4, 6, 8], start=1)
            ],
            *[
                {"name": f"Table {number}", "category": "Terrace", "capacity": capacity}
                for number, capacity in enumerate([2, 2, 4, 4], start=9)
            ],
        ],
        "opening_hours": [
            (weekday, opens_at, closes_at)
            for weekday in TUESDAY_TO_SUNDAY
            for opens_at, closes_at in [(time(12), time(15)), (time(18), time(23))]
        ],
        # Capacity (docs/capacity.md): services, how long a party keeps its table, the kitchen's pace,
        # tables pushed together, and the terrace closed in winter.
        "shifts": [
            {"name": "Lunch", "starts_at": time(12), "ends_at": time(15), "weekdays": list(TUESDAY_TO_SUNDAY)},
            {"name": "Dinner", "starts_at": time(18), "ends_at": time(23), "weekdays": list(TUESDAY_TO_SUNDAY)},
        ],
        "turn_times": [(1, 2, 90), (3, 4, 120), (5, 8, 150), (9, 14, 180)],  # guests from, to: minutes
        "pacing_rules": [{"shift": "Dinner", "interval_minutes": 15, "max_covers": 12}],
        "combinations": [
            {"name": "Tables 4 + 5 + 6", "tables": ["Table 4", "Table 5", "Table 6"], "seats": (9, 12)},
            {"name": "Tables 7 + 8", "tables": ["Table 7", "Table 8"], "seats": (9, 14)},
        ],
        # Every year from 1 November until 1 April, in the venue's zone (first in the winter of 2024).
        "closures": [
            {
                "area": "Terrace",
                "from": (2024, 11, 1),
                "until": (2025, 4, 1),
                "repeats_yearly": True,
                "reason": "winter",
            }
        ],
    },
    {
        "venue": {
            "slug": "harbour-inn",
            "name": "Harbour Inn",
            "kind": Venue.Kind.HOTEL,
            "time_zone": "Europe/London",
            "address": "3 Quay Street, Whitby YO21 3PU",
            "description": "Ten rooms above the harbour; breakfast included.",
            "booking_mode": Venue.BookingMode.NIGHTS,
            "assignment": Venue.Assignment.VENUE_ASSIGNS,
            "check_in_time": time(15),
            "check_out_time": time(11),
            "currency": "GBP",
        },
        "spaces": [
            *[
                {"name": f"Room {number}", "category": "Single", "capacity": 1, "price": Decimal("70.00")}
                for number in (101, 102, 103)
            ],
            *[
                {"name": f"Room {number}", "category": "Double", "capacity": 2, "price": Decimal("110.00")}
                for number in (201, 202, 203, 204, 205)
            ],
            *[
                {"name": f"Room {number}", "category": "Family", "capacity": 4, "price": Decimal("160.00")}
                for number in (301, 302)
            ],
        ],
        "opening_hours": [],
        # Hotels (docs/hotels.md): a summer season's nightly rates by room type, a two-night minimum for
        # stays that include a Friday or Saturday night in July and August, and one room also listed
        # on a (made-up) channel whose calendar this site serves itself (/demo/channel.ics).
        "rates": [
            {
                "name": "Summer",
                "category": category,
                "starts_on": date(2000, 6, 1),
                "ends_on": date(2000, 8, 31),
                "nightly_price": price,
            }
            for category, price in [
                ("Single", Decimal("85.00")),
                ("Double", Decimal("135.00")),
                ("Family", Decimal("195.00")),
            ]
        ],
        "stay_limits": [
            {
                "name": "Summer weekends",
                "starts_on": date(2000, 7, 1),
                "ends_on": date(2000, 8, 31),
                "weekdays": [4, 5],
                "min_nights": 2,
            },
        ],
        "calendar_feeds": [{"space": "Room 205", "name": "Demo channel", "path": "/demo/channel.ics"}],
    },
    {
        "venue": {
            "slug": "foundry-rooms",
            "name": "Foundry Rooms",
            "kind": Venue.Kind.MEETING_ROOMS,  # a venue seeded before there was this kind keeps its own
            "time_zone": "America/New_York",
            "address": "210 Water Street, Brooklyn, NY 11201",
            "description": "Meeting rooms for four to twenty people, with screens and coffee.",
            "booking_mode": Venue.BookingMode.SLOTS,
            "assignment": Venue.Assignment.GUEST_PICKS,
            "slot_interval_minutes": 30,
            "default_duration_minutes": 60,
            "allowed_durations": [30, 60, 120, 240],
            "currency": "USD",
        },
        "spaces": [
            # Priced by the hour: a 30-minute stand-up in the Studio costs 10.00, an afternoon in the Loft 240.00.
            {"name": "Studio", "category": "Meeting room", "capacity": 4, "price": Decimal("20.00"), **HOURLY},
            {"name": "Workshop", "category": "Meeting room", "capacity": 8, "price": Decimal("30.00"), **HOURLY},
            {"name": "Boardroom", "category": "Meeting room", "capacity": 12, "price": Decimal("45.00"), **HOURLY},
            {"name": "Loft", "category": "Event space", "capacity": 20, "price": Decimal("60.00"), **HOURLY},
            # Sold by the seat (35.00 a guest) in its sessions, whatever the opening hours.
            {
                "name": "Pasta class",
                "category": "Class",
                "capacity": 12,
                "price": Decimal("35.00"),
                "sold_by_seat": True,
            },
        ],
        "opening_hours": [(weekday, time(8), time(20)) for weekday in MONDAY_TO_FRIDAY],
        "sessions": [{"space": "Pasta class", "weekday": SATURDAY, "starts_at": time(10), "minutes": 180, "seats": 12}],
    },
]


class Command(BaseCommand):
    help = "Create the demo venues, spaces, opening hours and the demo staff and guest users (only what is missing)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any venue exists (for `make run` on every start)."
        )

    def handle(self, *args, if_empty=False, **options):
        if if_empty and Venue.objects.exists():
            self.stdout.write("Venues exist already; --if-empty: nothing created.")
            return
        created = {
            "venues": 0,
            "spaces": 0,
            "opening hours": 0,
            "shifts": 0,
            "turn times": 0,
            "pacing rules": 0,
            "combinations": 0,
            "closures": 0,
            "sessions": 0,
            "rates and stay limits": 0,
            "calendar feeds": 0,
            "users": 0,
            "staff roles": 0,
        }
        with transaction.atomic():
            for data in VENUES:
                venue, venue_created = _get_or_create(
                    Venue, lookup={"slug": data["venue"]["slug"]}, defaults=data["venue"]
                )
                created["venues"] += venue_created
                for space in data["spaces"]:
                    _, space_created = _get_or_create(
                        Space, lookup={"venue": venue, "name": space["name"]}, defaults=space
                    )
                    created["spaces"] += space_created
                for weekday, opens_at, closes_at in data["opening_hours"]:
                    _, hours_created = _get_or_create(
                        OpeningHours,
                        lookup={"venue": venue, "weekday": weekday, "opens_at": opens_at},
                        defaults={"closes_at": closes_at},
                    )
                    created["opening hours"] += hours_created
                _seed_capacity(venue, data, created, venue_created=venue_created)
                created["sessions"] += _seed_sessions(venue, data.get("sessions", []))
                created["rates and stay limits"] += _seed_hotel(venue, data)
                created["calendar feeds"] += _seed_feeds(venue, data.get("calendar_feeds", []))
            created["users"] += _ensure_user(STAFF, is_staff=True, is_superuser=True)
            created["users"] += _ensure_user(GUEST, is_staff=False, is_superuser=False)
            restaurant = Venue.objects.get(slug="trattoria-aurora")
            for person, role in RESTAURANT_ROLES:
                created["users"] += _ensure_user(person, is_staff=True, is_superuser=False)
                user = User.objects.get(email__iexact=person["email"])
                _, role_created = VenueRole.objects.get_or_create(venue=restaurant, user=user, defaults={"role": role})
                created["staff roles"] += role_created

        if any(created.values()):
            summary = ", ".join(f"{count} {what}" for what, count in created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {summary}."))
        else:
            self.stdout.write("Demo data is complete already; nothing created.")
        self.stdout.write(f"Staff log-in: {STAFF['email']} / {STAFF['password']} (every venue)")
        for person, role in RESTAURANT_ROLES:
            self.stdout.write(
                f"{role.label.split(' (')[0]} of Trattoria Aurora: {person['email']} / {person['password']}"
            )
        self.stdout.write(f"Guest log-in: {GUEST['email']} / {GUEST['password']}")


def _seed_hotel(venue, data) -> int:
    """A hotel's rates and stay limits, when it has none yet (a demo seeded before it had them)."""
    added = 0
    if data.get("rates") and not venue.rates.exists():
        added += len(Rate.objects.bulk_create(Rate(venue=venue, **rate) for rate in data["rates"]))
    if data.get("stay_limits") and not venue.stay_limits.exists():
        added += len(StayLimit.objects.bulk_create(StayLimit(venue=venue, **limit) for limit in data["stay_limits"]))
    return added


def _seed_feeds(venue, feeds) -> int:
    """The demo channel's feed on its room: at this site's own address (SITE_URL)."""
    added = 0
    for feed in feeds:
        space = venue.spaces.get(name=feed["space"])
        url = settings.SITE_URL.rstrip("/") + feed["path"]
        _, feed_created = CalendarFeed.objects.get_or_create(space=space, url=url, defaults={"name": feed["name"]})
        added += feed_created
    return added


def _seed_capacity(venue, data, created, *, venue_created):
    """The venue's shifts, turn times, pacing rules, combinations and closures: those missing."""
    if not venue_created and data.get("turn_times") and not venue.turn_times.exists():
        _fill_in_capacity_settings(venue, data["venue"])
    shifts = {}
    for shift in data.get("shifts", []):
        shifts[shift["name"]], shift_created = _get_or_create(
            Shift, lookup={"venue": venue, "name": shift["name"]}, defaults=shift
        )
        created["shifts"] += shift_created
    for low, high, minutes in data.get("turn_times", []):
        _, turn_created = _get_or_create(
            TurnTime,
            lookup={"venue": venue, "shift": None, "min_party_size": low, "max_party_size": high},
            defaults={"minutes": minutes},
        )
        created["turn times"] += turn_created
    for rule in data.get("pacing_rules", []):
        shift = shifts.get(rule["shift"]) or Shift.objects.filter(venue=venue, name=rule["shift"]).first()
        if shift is None:
            continue
        limits = {key: value for key, value in rule.items() if key != "shift"}
        _, rule_created = _get_or_create(
            PacingRule, lookup={"venue": venue, "shift": shift, "area": ""}, defaults=limits
        )
        created["pacing rules"] += rule_created
    for combination in data.get("combinations", []):
        created["combinations"] += _ensure_combination(venue, combination)
    for closure in data.get("closures", []):
        _, closure_created = _get_or_create(
            Closure,
            lookup={
                "venue": venue,
                "space": None,
                "area": closure["area"],
                "repeats_yearly": closure["repeats_yearly"],
            },
            defaults={
                "starts_at": datetime(*closure["from"], tzinfo=venue.zone),
                "ends_at": datetime(*closure["until"], tzinfo=venue.zone),
                "reason": closure["reason"],
            },
        )
        created["closures"] += closure_created


def _seed_sessions(venue, sessions) -> int:
    """The sessions of the venue's spaces sold by the seat that are missing (a weekly session is known
    by its space, weekday and start); none for a space that is gone or no longer sold by the seat."""
    count = 0
    for data in sessions:
        space = Space.objects.filter(venue=venue, name=data["space"], sold_by_seat=True).first()
        if space is None:
            continue
        when = {key: data[key] for key in ("weekday", "starts_at")}
        _, session_created = _get_or_create(
            Session,
            lookup={"space": space, "date": None, **when},
            defaults={"minutes": data["minutes"], "seats": data["seats"]},
        )
        count += session_created
    return count


def _fill_in_capacity_settings(venue, defaults):
    """A demo venue seeded before it had capacity rules gets its buffer, online maximum and description,
    where they are still what the model (or the old demo) gave it."""
    changed = []
    if venue.buffer_minutes == 0 and defaults.get("buffer_minutes"):
        venue.buffer_minutes = defaults["buffer_minutes"]
        changed.append("buffer_minutes")
    if venue.max_online_party_size is None and defaults.get("max_online_party_size"):
        venue.max_online_party_size = defaults["max_online_party_size"]
        changed.append("max_online_party_size")
    if venue.description == OLD_RESTAURANT_DESCRIPTION:
        venue.description = defaults["description"]
        changed.append("description")
    if changed:
        venue.save(update_fields=changed)


def _ensure_combination(venue, data) -> bool:
    """The combination, unless one of that name is there (or one of its tables is not)."""
    if Combination.objects.filter(venue=venue, name=data["name"]).exists():
        return False
    tables = list(Space.objects.filter(venue=venue, name__in=data["tables"]))
    if len(tables) != len(data["tables"]):
        return False
    low, high = data["seats"]
    combination, _ = _get_or_create(
        Combination,
        lookup={"venue": venue, "name": data["name"]},
        defaults={"min_party_size": low, "max_party_size": high},
    )
    combination.spaces.set(tables)
    return True


def _get_or_create(model, *, lookup, defaults):
    """Like get_or_create, but a new row passes the model's validation first (the demo must be valid)."""
    instance = model.objects.filter(**lookup).first()
    if instance is not None:
        return instance, False
    instance = model(**{**defaults, **lookup})
    instance.full_clean()
    instance.save()
    return instance, True


def _ensure_user(data, *, is_staff, is_superuser) -> bool:
    """Create the user unless the address is taken, and make sure allauth sees the address as verified."""
    user = User.objects.filter(email__iexact=data["email"]).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            data["email"], data["password"], name=data["name"], is_staff=is_staff, is_superuser=is_superuser
        )
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return created
