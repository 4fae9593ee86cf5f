"""The guest's side of issue 19 in a real browser: the search across venues on the home page, booking
for someone else, changing the area of a booking, holding again a hold that ran out, long words at
phone width, and the guest's own time beside a venue's.

Each runs at phone width (375 px) and on the desktop where the layout differs, and ends with axe.
"""

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reservations.models import Reservation
from reservations.services import reservation_book, reservation_hold

from .conftest import BOOKED_ON, DESKTOP, MOBILE, SHEET_DAY
from .test_booking_browser import DETAIL_URL, REVIEW_URL, days_ahead, detail, short_day

BOTH_WIDTHS = pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375px", "1280px"])
TUESDAY_TO_FRIDAY = range(1, 5)  # the Trattoria (closed Mondays) and the Foundry Rooms (weekdays) both open
ONE_LONG_WORD = "Allergies" + "x" * 291  # 300 characters, no space to break at


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


# ---------------------------------------------------------------------------------------------
# The search across venues


@BOTH_WIDTHS
def test_the_home_page_search_answers_with_each_venues_nearest_times_and_a_time_holds_it(
    page, venue, meeting_rooms, guest_user, login, axe_check
):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    login(page, guest_user.email)
    page.goto("/")
    search = page.get_by_role("region", name="Where and when?")
    search.get_by_label("Date").fill(day.isoformat())
    search.get_by_label("Time", exact=True).fill("19:30")
    search.get_by_label("Guests").select_option(label="4 guests")
    results = page.locator("#search-results")
    expect(results.locator(".results-heading")).to_have_text(f"For 4 guests on {short_day(day)} around 19:30")

    # The Trattoria assigns tables: its times are buttons that hold at once, 19:30 marked as nearest.
    trattoria = results.locator(".answer").filter(has=page.get_by_role("heading", name="Trattoria Aurora"))
    expect(trattoria).to_contain_text("Free times (Berlin time):")
    nearest = trattoria.locator("[aria-current='true']")
    expect(nearest).to_have_count(1)
    expect(nearest).to_have_accessible_name(re.compile(r"^19:30 at Trattoria Aurora"))
    expect(trattoria.get_by_role("button", name=re.compile(r"^\d\d:\d\d at Trattoria Aurora"))).not_to_have_count(0)
    # The Foundry Rooms let the guest pick a room: its times open the venue page at that time.
    foundry = results.locator(".answer").filter(has=page.get_by_role("heading", name="Foundry Rooms"))
    expect(foundry.get_by_role("link", name=re.compile(r"^19:00 at Foundry Rooms"))).to_be_visible()
    axe_check(page)

    trattoria.get_by_role("button", name=re.compile(r"^20:00 at Trattoria Aurora")).click()
    page.wait_for_url(REVIEW_URL)
    expect(detail(page, "Venue")).to_have_text("Trattoria Aurora")
    expect(detail(page, "From").locator("time")).to_have_text(f"{short_day(day)} 20:00")
    expect(detail(page, "Guests")).to_have_text("4")
    held = Reservation.objects.get(guest=guest_user)
    assert (held.status, held.party_size) == (Reservation.Status.HELD, 4)
    assert held.starts_at == datetime.combine(day, time(20), tzinfo=venue.zone)
    axe_check(page)


@BOTH_WIDTHS
def test_a_time_on_the_home_page_opens_the_venue_page_with_the_search_kept(
    page, venue, meeting_rooms, guest_user, login, axe_check
):
    day = days_ahead(meeting_rooms, 8, TUESDAY_TO_FRIDAY)
    login(page, guest_user.email)
    page.goto("/")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Time", exact=True).fill("10:00")
    page.get_by_label("Guests").select_option(label="2 guests")
    foundry = page.locator("#search-results .answer").filter(has=page.get_by_role("heading", name="Foundry Rooms"))
    expect(foundry.get_by_role("link", name=re.compile(r"^10:00 at Foundry Rooms"))).to_be_visible()

    foundry.get_by_role("link", name=re.compile(r"^10:30 at Foundry Rooms")).click()
    page.wait_for_url(re.compile(r"/venues/foundry-rooms/\?.*#chosen-time$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Foundry Rooms")
    # The search is kept: the date, the party and the time asked for, marked and scrolled to.
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Guests")).to_have_value("2")
    expect(page.locator(".results-heading")).to_have_text(f"Free on {short_day(day)} for 2 guests")
    chosen = page.locator("#chosen-time").get_by_role("button")
    expect(chosen).to_have_accessible_name(re.compile(r"^10:30 in Booth"))
    expect(chosen).to_have_attribute("aria-current", "true")
    expect(page.locator("[aria-current='true']")).to_have_count(1)
    expect(chosen).to_be_in_viewport()
    axe_check(page)

    chosen.click()
    page.wait_for_url(REVIEW_URL)
    expect(detail(page, "From").locator("time")).to_have_text(f"{short_day(day)} 10:30")
    axe_check(page)


# ---------------------------------------------------------------------------------------------
# Booking for someone else


@BOTH_WIDTHS
def test_a_guest_books_for_someone_else_and_keeps_their_own_name(page, venue, guest_user, login, axe_check):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    hold = reservation_hold(
        guest=guest_user, venue=venue, starts_at=datetime.combine(day, time(19), tzinfo=venue.zone), party_size=2
    )
    login(page, guest_user.email)
    page.goto(f"/reservations/{hold.reference}/review/")
    contact = page.get_by_role("group", name="Who the booking is for")
    expect(contact).to_contain_text("Booking for someone else? Change the name and phone.")
    name, phone = contact.get_by_label("Name for the booking"), contact.get_by_label("Phone for the booking")
    expect(name).to_have_value("Ada Lovelace")  # from the profile
    expect(phone).to_have_value("")
    axe_check(page)

    name.fill("Charles Babbage")
    phone.fill("+44 20 7946 0958")
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url(DETAIL_URL)
    expect(page.get_by_role("status")).to_contain_text("Your booking is confirmed.")
    expect(detail(page, "Booked for")).to_have_text("Charles Babbage, +44 20 7946 0958")
    expect(page.locator(".timeline li").last).to_have_text(
        re.compile(r" — Confirmed, for someone else \(a name and phone of its own\)$")
    )
    axe_check(page)
    booking = Reservation.objects.get(pk=hold.pk)
    assert (booking.status, booking.contact_name, booking.contact_phone) == (
        Reservation.Status.CONFIRMED,
        "Charles Babbage",
        "+442079460958",
    )

    page.goto("/accounts/profile/")
    expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    guest_user.refresh_from_db()
    assert (guest_user.name, guest_user.phone) == ("Ada Lovelace", "")


# ---------------------------------------------------------------------------------------------
# Changing the area


@BOTH_WIDTHS
def test_a_guest_moves_a_booking_from_the_dining_room_to_the_terrace(page, venue, guest_user, login, axe_check):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    booking = reservation_book(
        guest=guest_user,
        venue=venue,
        category="Dining room",
        starts_at=datetime.combine(day, time(19), tzinfo=venue.zone),
        party_size=2,
    )
    assert booking.space.category == "Dining room"
    login(page, guest_user.email)
    page.goto(booking.get_absolute_url())
    expect(detail(page, "Table")).to_have_text(f"{booking.space.name} (Dining room)")
    page.get_by_role("link", name="Modify reservation").click()
    page.wait_for_url(re.compile(r"/modify/$"))  # loaded: htmx listens to the search form from here on

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Change reservation {booking.reference}")
    area = page.get_by_label("Area")
    expect(area).to_have_value("Dining room")  # the booking's own, chosen
    expect(area.locator("option")).to_have_text(["Any area", "Dining room", "Terrace"])
    results = page.locator("#availability")
    area.select_option(label="Terrace")
    expect(page).to_have_url(re.compile(r"category=Terrace"))  # htmx has answered for the Terrace
    expect(results.locator(".results-heading")).to_have_text(f"Free times on {short_day(day)} for 2 guests")
    axe_check(page)
    results.get_by_role("button", name="19:00", exact=True).click()

    page.wait_for_url(DETAIL_URL)
    expect(page.get_by_role("status")).to_have_text(
        f"Your reservation is changed: {short_day(day)} 19:00, 2 guests, Terrace."
    )
    expect(detail(page, "Table")).to_have_text(re.compile(r"^Table [45] \(Terrace\)$"))
    expect(detail(page, "From").locator("time")).to_have_text(f"{short_day(day)} 19:00")
    expect(page.locator(".timeline li").last).to_have_text(re.compile(r" — Modified: .*Dining room → Terrace"))
    axe_check(page)
    booking.refresh_from_db()
    assert booking.space.category == "Terrace"
    assert booking.starts_at == datetime.combine(day, time(19), tzinfo=venue.zone)


# ---------------------------------------------------------------------------------------------
# Hold again


@BOTH_WIDTHS
def test_a_hold_that_ran_out_is_held_again_in_one_click(page, venue, guest_user, login, axe_check):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    starts_at = datetime.combine(day, time(19, 30), tzinfo=venue.zone)
    hold = reservation_hold(
        guest=guest_user, venue=venue, starts_at=starts_at, party_size=3, notes="Birthday", category="Terrace"
    )
    # Test setup, not a wait: the hold ran out a minute ago.
    Reservation.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    login(page, guest_user.email)

    page.goto(hold.get_absolute_url())
    expect(page.get_by_text("This hold ran out before it was confirmed.")).to_be_visible()
    expect(page.get_by_role("button", name="Hold again")).to_be_visible()  # offered here too
    page.goto(f"/reservations/{hold.reference}/review/")
    ran_out = page.locator(".hold-timer.expired")
    expect(ran_out).to_contain_text("Your hold ran out.")
    expect(page.get_by_text("Please search again.")).to_have_count(0)
    expect(page.get_by_role("button", name="Confirm booking")).to_be_disabled()
    search = f"{venue.get_absolute_url()}?date={day.isoformat()}&party_size=3&duration=90&category=Terrace"
    expect(ran_out.get_by_role("link", name="Choose another time")).to_have_attribute("href", search)
    axe_check(page)

    ran_out.get_by_role("button", name="Hold again").click()

    page.wait_for_url(REVIEW_URL)
    assert hold.reference not in page.url  # a fresh hold, with its own reference
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Held again for you until \d\d:\d\d\."))
    expect(page.get_by_text("Held for you until")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm booking")).to_be_enabled()
    expect(detail(page, "From").locator("time")).to_have_text(f"{short_day(day)} 19:30")
    expect(detail(page, "Guests")).to_have_text("3")
    expect(page.get_by_label("Notes for the venue (optional)")).to_have_value("Birthday")
    axe_check(page)
    again = Reservation.objects.exclude(pk=hold.pk).get(guest=guest_user)
    assert again.reference in page.url
    assert (again.status, again.starts_at, again.party_size, again.space.category) == (
        Reservation.Status.HELD,
        starts_at,
        3,
        "Terrace",
    )
    assert again.hold_expires_at > timezone.now()


# ---------------------------------------------------------------------------------------------
# Long unbroken words at phone width


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_long_words_in_the_notes_and_the_name_never_widen_the_review_and_detail_pages(
    page, venue, guest_user, login, axe_check
):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    hold = reservation_hold(
        guest=guest_user, venue=venue, starts_at=datetime.combine(day, time(19), tzinfo=venue.zone), party_size=2
    )
    login(page, guest_user.email)
    page.goto(f"/reservations/{hold.reference}/review/")
    name = page.get_by_label("Name for the booking")

    # A 300-character name is longer than a name may be: refused next to its field, the page as wide as the phone.
    name.evaluate("field => field.removeAttribute('maxlength')")  # what a pasted text past the limit looks like
    name.fill("Lovelace" + "x" * 292)
    page.get_by_label("Notes for the venue (optional)").fill(ONE_LONG_WORD)
    expect(page.locator("[data-character-count-for]")).to_have_text("700 characters left")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_text("A name can be up to 150 characters.")).to_be_visible()
    expect(page.get_by_label("Notes for the venue (optional)")).to_have_value(ONE_LONG_WORD)
    no_sideways_scroll(page)
    axe_check(page)

    longest_name = "Lovelace" + "x" * 142  # 150 characters, the longest a name may be
    page.get_by_label("Name for the booking").fill(longest_name)
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url(DETAIL_URL)
    expect(detail(page, "Notes")).to_have_text(ONE_LONG_WORD)
    expect(detail(page, "Booked for")).to_have_text(longest_name)
    no_sideways_scroll(page)
    axe_check(page)

    # The review page with both long words prefilled (a hold that has them): still as wide as the phone.
    second = reservation_hold(
        guest=guest_user,
        venue=venue,
        starts_at=datetime.combine(day, time(20), tzinfo=venue.zone),
        party_size=2,
        notes=ONE_LONG_WORD,
        contact_name=longest_name,
    )
    page.goto(f"/reservations/{second.reference}/review/")
    expect(page.get_by_label("Name for the booking")).to_have_value(longest_name)
    expect(page.get_by_label("Notes for the venue (optional)")).to_have_value(ONE_LONG_WORD)
    no_sideways_scroll(page)
    axe_check(page)


# ---------------------------------------------------------------------------------------------
# The guest's own time beside a venue's


@pytest.fixture
def page_in_zone(browser, live_server, transactional_db):
    """page_in_zone("America/New_York", viewport) opens a page whose browser lives in that zone."""
    contexts = []

    def page_in_zone(zone: str, viewport: dict = DESKTOP):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, locale="en-GB", timezone_id=zone, reduced_motion="reduce"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield page_in_zone
    for context in contexts:
        context.close()


@pytest.fixture
def berlin_dinner(venue, guest_user):
    """19:00 on SHEET_DAY at the Trattoria (Berlin, summer time: 17:00 UTC, 13:00 in New York)."""
    return reservation_book(
        guest=guest_user,
        venue=venue,
        starts_at=datetime.combine(SHEET_DAY, time(19), tzinfo=venue.zone),
        party_size=2,
        now=BOOKED_ON,
    )


@pytest.mark.parametrize(
    ("zone", "from_words", "until_words"),
    [
        ("America/New_York", "Tue 4 Jun 19:00 (13:00 your time)", "Tue 4 Jun 20:30 (14:30 your time)"),
        ("Asia/Tokyo", "Tue 4 Jun 19:00 (Wed 5 Jun 02:00 your time)", "Tue 4 Jun 20:30 (Wed 5 Jun 03:30 your time)"),
    ],
    ids=["new-york", "tokyo"],
)
@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375px", "1280px"])
def test_a_guest_in_another_zone_sees_their_own_time_beside_the_venues(
    page_in_zone, viewport, zone, from_words, until_words, berlin_dinner, guest_user, login, axe_check
):
    page = page_in_zone(zone, viewport)
    login(page, guest_user.email)
    page.goto(berlin_dinner.get_absolute_url())

    expect(detail(page, "From")).to_have_text(from_words)
    expect(detail(page, "Until")).to_have_text(until_words)
    expect(detail(page, "Times in")).to_have_text("Berlin time")
    expect(detail(page, "From").locator("time")).to_have_attribute("data-venue-zone", "Europe/Berlin")
    axe_check(page)
    no_sideways_scroll(page)

    page.goto("/reservations/")
    row = page.locator("h2:text-is('Upcoming') + table").get_by_role("row").filter(has_text="Trattoria Aurora")
    expect(row).to_contain_text(f"{from_words} (Berlin time)")
    axe_check(page)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Paris"], ids=["the-venues-zone", "same-clock"])
@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375px", "1280px"])
def test_a_guest_on_the_venues_clock_sees_no_second_time(
    page_in_zone, viewport, zone, berlin_dinner, guest_user, login, axe_check
):
    page = page_in_zone(zone, viewport)
    login(page, guest_user.email)
    page.goto(berlin_dinner.get_absolute_url())  # local-time.js is deferred: it has run once the page has loaded

    expect(detail(page, "From")).to_have_text("Tue 4 Jun 19:00")
    expect(detail(page, "Until")).to_have_text("Tue 4 Jun 20:30")
    expect(page.locator(".your-time")).to_have_count(0)
    expect(page.get_by_text("your time")).to_have_count(0)
    axe_check(page)
