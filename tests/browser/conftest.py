"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Every test in this folder is marked `browser` and is skipped, with the reason, where
/usr/bin/chromium is missing. Playwright's own browser downloads are never used (no
`playwright install`): the system Chromium is launched by path.

Building blocks for new tests (the booking flow will reuse them):
  page             a fresh browser context per test; its base URL is the live server, so
                   `page.goto("/venues/...")` works. Desktop size unless the test parametrizes
                   `viewport`, e.g. @pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"]).
  new_page         new_page(viewport=MOBILE) opens another context (its own cookies): a second
                   guest racing the first, or the same page at another width.
  login            login(page, email, password) through the real log-in form.
  axe_check        axe_check(page) fails the test on any serious or critical axe violation.
  screenshot       screenshot(page, "name") writes docs/screenshots/name.png (overwritten).
  venue, staff_user, guest_user, day_sheet_bookings   deterministic data (fixed names, dates,
                   references) so screenshots only change when the pages do.
  hotel, meeting_rooms   the other two kinds of venue: a hotel that assigns rooms by type, and
                   rooms that guests pick themselves.
"""

import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache

# Playwright's sync API runs an asyncio event loop in the test's thread; without this Django
# refuses ORM calls from that thread (SynchronousOnlyOperation) in fixtures and assertions.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = "Chromium not found at /usr/bin/chromium: browser tests skipped; install Debian's chromium package"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct-horse-battery-staple"
# The day the seeded bookings are for: fixed, so the day sheet's screenshot does not change daily.
SHEET_DAY = date(2030, 6, 4)  # a Tuesday
# When the seeded bookings were made: the `now` given to the services for fixed data.
BOOKED_ON = datetime(2030, 6, 1, 9, tzinfo=UTC)
BLOCKING_IMPACTS = {"serious", "critical"}
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE not in Path(item.path).resolve().parents:
            continue  # this hook sees the whole session's items, not only this folder's
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


# ---------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def viewport():
    """The window size of `page`; parametrize `viewport` with MOBILE to test at 375 px."""
    return DESKTOP


def _open_page(browser, base_url: str, viewport: dict):
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport,
        locale="en-GB",
        timezone_id="UTC",
        reduced_motion="reduce",
    )
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def page(browser, live_server, transactional_db, viewport):
    page = _open_page(browser, live_server.url, viewport)
    yield page
    page.context.close()


@pytest.fixture
def new_page(browser, live_server, transactional_db):
    """new_page(viewport=...) opens one more page in a context of its own (cookies, log-in)."""
    opened = []

    def new_page(viewport: dict = DESKTOP):
        opened.append(_open_page(browser, live_server.url, viewport))
        return opened[-1]

    yield new_page
    for page in opened:
        page.context.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_site(settings, live_server):
    # allauth counts log-ins and sign-ups per address in the cache; every browser test comes from
    # 127.0.0.1, so one test must not use up another's allowance. Links in e-mails point at the
    # live server, like they point at the real site in production.
    settings.SITE_URL = live_server.url
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login():
    def login(page, email: str, password: str = PASSWORD, *, next_url: str = ""):
        page.goto(f"/accounts/login/{'?next=' + next_url if next_url else ''}")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()

    return login


@pytest.fixture(scope="session")
def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def axe_check(_axe):
    def axe_check(page) -> list[dict]:
        """Run axe-core on the page as it is now; fail on serious or critical violations.

        Returns all violations (minor and moderate ones too) for tests that want to look closer.
        """
        violations = _axe.run(page).response["violations"]
        blocking = [violation for violation in violations if violation.get("impact") in BLOCKING_IMPACTS]
        if blocking:
            lines = [f"{len(blocking)} serious or critical accessibility violation(s) on {page.url}:"]
            for violation in blocking:
                impact, rule, help_text, url = (violation[key] for key in ("impact", "id", "help", "helpUrl"))
                lines.append(f"- [{impact}] {rule}: {help_text} ({url})")
                lines.extend(
                    f"    at {node['target']}: {node.get('failureSummary', '')}" for node in violation["nodes"]
                )
            pytest.fail("\n".join(lines), pytrace=False)
        return violations

    return axe_check


@pytest.fixture
def screenshot():
    def screenshot(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path

    return screenshot


# ---------------------------------------------------------------------------------------------
# Data: fixed names and dates, so pages (and their screenshots) look the same on every run.


def make_user(email: str, name: str, **extra):
    from allauth.account.models import EmailAddress

    from accounts.models import User

    user = User.objects.create_user(email=email, password=PASSWORD, name=name, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture
def staff_user(transactional_db):
    return make_user("host@example.com", "Hana Host", is_staff=True, is_superuser=True)


@pytest.fixture
def guest_user(transactional_db):
    return make_user("ada@example.com", "Ada Lovelace")


@pytest.fixture
def venue(transactional_db):
    from spaces.models import OpeningHours, Space, Venue

    trattoria = Venue.objects.create(
        name="Trattoria Aurora",
        slug="trattoria-aurora",
        kind=Venue.Kind.RESTAURANT,
        time_zone="Europe/Berlin",
        address="Kastanienallee 12\n10435 Berlin",
        description="Fresh pasta, a wood-fired oven and a small terrace under the chestnut trees.",
        booking_mode=Venue.BookingMode.SLOTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        slot_interval_minutes=15,
        default_duration_minutes=90,
        allowed_durations=[120],
        max_advance_days=3650,  # reaches SHEET_DAY and the other fixed dates in screenshot URLs
    )
    for weekday in range(1, 7):  # closed on Mondays
        OpeningHours.objects.create(venue=trattoria, weekday=weekday, opens_at=time(12), closes_at=time(15))
        OpeningHours.objects.create(venue=trattoria, weekday=weekday, opens_at=time(18), closes_at=time(23))
    for name, capacity, area in [
        ("Table 1", 2, "Dining room"),
        ("Table 2", 2, "Dining room"),
        ("Table 3", 4, "Dining room"),
        ("Table 4", 4, "Terrace"),
        ("Table 5", 6, "Terrace"),
    ]:
        Space.objects.create(venue=trattoria, name=name, capacity=capacity, category=area, price=Decimal("0"))
    return trattoria


@pytest.fixture
def hotel(transactional_db):
    """A small hotel booked by the night; guests choose a room type and the hotel assigns the room."""
    from spaces.models import Space, Venue

    harbour = Venue.objects.create(
        name="Harbour House",
        slug="harbour-house",
        kind=Venue.Kind.HOTEL,
        time_zone="Europe/London",
        address="3 Quay Street\nFalmouth TR11 3HH",
        description="Six rooms above the harbour, breakfast with a view of the boats.",
        booking_mode=Venue.BookingMode.NIGHTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        check_in_time=time(15),
        check_out_time=time(11),
        min_lead_minutes=0,
        max_advance_days=3650,
        cancellation_cutoff_hours=48,
        modification_cutoff_hours=48,
        currency="GBP",
    )
    for name, category, capacity, price in [
        ("101", "Single", 1, "60"),
        ("102", "Double", 2, "90"),
        ("103", "Double", 2, "90"),
        ("201", "Family", 4, "150"),
    ]:
        Space.objects.create(venue=harbour, name=name, category=category, capacity=capacity, price=Decimal(price))
    return harbour


@pytest.fixture
def meeting_rooms(transactional_db):
    """Rooms by the hour, Monday to Friday, that guests pick by name (New York time)."""
    from spaces.models import OpeningHours, Space, Venue

    foundry = Venue.objects.create(
        name="Foundry Rooms",
        slug="foundry-rooms",
        kind=Venue.Kind.OTHER,
        time_zone="America/New_York",
        address="210 Water Street\nBrooklyn, NY 11201",
        booking_mode=Venue.BookingMode.SLOTS,
        assignment=Venue.Assignment.GUEST_PICKS,
        slot_interval_minutes=30,
        default_duration_minutes=60,
        allowed_durations=[30, 120],
        min_lead_minutes=0,
        max_advance_days=3650,
        cancellation_cutoff_hours=2,
        modification_cutoff_hours=2,
        currency="USD",
    )
    for weekday in range(5):
        OpeningHours.objects.create(venue=foundry, weekday=weekday, opens_at=time(8), closes_at=time(20))
    # For a party of two only the Booth fits (the Loft takes four or more): one room to race for.
    Space.objects.create(venue=foundry, name="Loft", capacity=12, min_party_size=4, price=Decimal("80"))
    Space.objects.create(venue=foundry, name="Booth", capacity=4, price=Decimal("25"))
    return foundry


@pytest.fixture
def day_sheet_bookings(venue, guest_user):
    """Three bookings at the venue on SHEET_DAY, booked through the service as of a fixed `now`."""
    from reservations.models import Reservation
    from reservations.services import reservation_book

    other = make_user("grace@example.com", "Grace Hopper")
    bookings = []
    for guest, clock, party_size, notes, reference in [
        (guest_user, time(12, 30), 2, "Window seat if possible", "K7QM-2XPA-9RTD"),
        (other, time(19, 0), 4, "", "H3VN-8WCE-5JQB"),
        (guest_user, time(19, 0), 2, "Nut allergy", "P2MX-4TRA-7KDS"),
    ]:
        reservation = reservation_book(
            guest=guest,
            venue=venue,
            starts_at=datetime.combine(SHEET_DAY, clock, tzinfo=venue.zone),
            party_size=party_size,
            notes=notes,
            now=BOOKED_ON,
        )
        # References are random; fixed ones keep the screenshot byte-stable. Test data only.
        Reservation.objects.filter(pk=reservation.pk).update(reference=reference)
        reservation.reference = reference
        bookings.append(reservation)
    return bookings
