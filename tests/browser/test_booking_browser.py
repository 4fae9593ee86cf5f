"""A real browser through the guest's booking pages: search, hold, review, confirm, change, cancel.

Flows use dates a week or more ahead of today; screenshots use the fixed dates of conftest.py so the
pictures only change when the pages do.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from reservations.models import Reservation, ReservationEvent
from reservations.periods import stay_period
from reservations.services import (
    complete_past_reservations,
    reservation_book,
    reservation_cancel,
    reservation_hold,
    reservation_modify,
)
from spaces.models import OpeningHours, Space, Venue

from .conftest import BOOKED_ON, MOBILE, PASSWORD, SHEET_DAY, make_user

REVIEW_URL = re.compile(r"/reservations/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/review/$")
DETAIL_URL = re.compile(r"/reservations/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/$")
WEEKDAYS = range(5)


# ---------------------------------------------------------------------------------------------
# Helpers


def days_ahead(venue: Venue, days: int, weekdays=range(7)) -> date:
    """The first day at least `days` after today (in the venue's zone) that falls on one of `weekdays`."""
    day = timezone.now().astimezone(venue.zone).date() + timedelta(days=days)
    while day.weekday() not in weekdays:
        day += timedelta(days=1)
    return day


def short_day(day: date) -> str:
    """As the pages write a day (results headings, booking details): 'Tue 4 Jun'."""
    return f"{day:%a} {day.day} {day:%b}"


def detail(page, term: str):
    """The value next to `term` in the page's list of details (Venue, From, Guests...)."""
    return (
        page.locator("dl.details dt").filter(has_text=re.compile(f"^{term}$")).locator("xpath=following-sibling::dd[1]")
    )


def section_after(page, heading: str, element: str = "*"):
    """What follows an h2 of "My reservations": its table, or the sentence saying it is empty."""
    return page.locator(f"h2:text-is('{heading}') + {element}")


def sign_up_and_verify(page, email: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("New Guest")  # asked once, at sign-up
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("verify", re.IGNORECASE))
    # The live server runs in this process, so its locmem e-mail lands in this outbox.
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(link.group(1))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


# ---------------------------------------------------------------------------------------------
# Booking flows


def test_a_new_guest_books_a_table_changes_the_time_and_cancels(page):
    # Tokyo is nine hours ahead of the browser (UTC): a time shown in the wrong zone would show.
    sakura = Venue.objects.create(
        name="Sakura Table",
        slug="sakura-table",
        kind=Venue.Kind.RESTAURANT,
        time_zone="Asia/Tokyo",
        booking_mode=Venue.BookingMode.SLOTS,
        assignment=Venue.Assignment.VENUE_ASSIGNS,
        slot_interval_minutes=30,
        default_duration_minutes=90,
        min_lead_minutes=30,
        max_advance_days=60,
    )
    for weekday in range(7):
        OpeningHours.objects.create(venue=sakura, weekday=weekday, opens_at=time(18), closes_at=time(22))
    for name, capacity, area in [("Table 1", 2, "Counter"), ("Table 2", 4, "Counter"), ("Table 3", 4, "Garden")]:
        Space.objects.create(venue=sakura, name=name, capacity=capacity, category=area)
    day = days_ahead(sakura, 8)

    sign_up_and_verify(page, "new.guest@example.com")

    page.goto(sakura.get_absolute_url())
    expect(page.get_by_role("heading", name="Book a table")).to_be_visible()
    expect(page.get_by_text("All times at Sakura Table are Tokyo time.")).to_be_visible()
    results = page.locator("#availability .results-heading")
    page.get_by_label("Date").fill(day.isoformat())
    expect(results).to_have_text(f"Free times on {short_day(day)} for 2 guests")
    page.get_by_label("Guests").select_option(label="4 guests")
    expect(results).to_have_text(f"Free times on {short_day(day)} for 4 guests")
    page.get_by_role("button", name="19:30", exact=True).click()

    page.wait_for_url(REVIEW_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your booking")
    # The venue's time, and the browser's own (UTC, nine hours behind) beside it.
    expect(detail(page, "From")).to_have_text(f"{short_day(day)} 19:30 (10:30 your time)")
    expect(detail(page, "Until")).to_have_text("21:00 (12:00 your time)")
    expect(detail(page, "Times in")).to_have_text("Tokyo time")
    expect(detail(page, "Guests")).to_have_text("4")
    expect(page.get_by_text("Held for you until")).to_contain_text("(Tokyo time)")
    page.get_by_label("Notes for the venue (optional)").fill("A high chair, please")
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url(DETAIL_URL)
    reservation = Reservation.objects.select_related("space").get(guest__email="new.guest@example.com")
    assert reservation.status == Reservation.Status.CONFIRMED
    # 19:30 in Tokyo, stored as the instant it is (10:30 UTC), on a four-seat table the venue chose.
    assert reservation.starts_at == datetime.combine(day, time(19, 30), tzinfo=ZoneInfo("Asia/Tokyo"))
    assert reservation.space.name in {"Table 2", "Table 3"}
    expect(page.get_by_role("status")).to_have_text(
        f"Your booking is confirmed. Your reference is {reservation.reference}."
    )
    expect(detail(page, "Notes")).to_have_text("A high chair, please")

    page.get_by_role("link", name="My reservations", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My reservations")
    row = section_after(page, "Upcoming", "table").get_by_role("row").filter(has_text="Sakura Table")
    expect(row).to_contain_text(f"{short_day(day)} 19:30 (10:30 your time) (Tokyo time)")
    expect(row).to_contain_text("Confirmed")
    expect(section_after(page, "Past")).to_have_text("No past reservations yet.")

    row.get_by_role("link").click()
    page.get_by_role("link", name="Modify reservation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Change reservation {reservation.reference}")
    expect(page.locator("#availability .results-heading")).to_have_text(f"Free times on {short_day(day)} for 4 guests")
    page.get_by_role("button", name="20:30", exact=True).click()

    page.wait_for_url(DETAIL_URL)
    reservation.refresh_from_db()
    expect(page.get_by_role("status")).to_have_text(
        f"Your reservation is changed: {short_day(day)} 20:30, 4 guests, {reservation.space.category}."
    )
    expect(detail(page, "From")).to_have_text(f"{short_day(day)} 20:30 (11:30 your time)")
    expect(detail(page, "Times in")).to_have_text("Tokyo time")

    page.get_by_role("link", name="Cancel reservation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Cancel reservation {reservation.reference}?")
    page.get_by_role("button", name="Yes, cancel reservation").click()

    expect(page.get_by_role("status")).to_have_text(f"Reservation {reservation.reference} is cancelled.")
    expect(detail(page, "Status")).to_have_text("Cancelled")
    expect(page.get_by_role("link", name="Modify reservation")).to_have_count(0)
    expect(page.locator(".timeline li")).to_have_text(
        [
            re.compile(f" — {re.escape(words)}$")
            for words in ["Held", "Confirmed, with notes", "Modified: 19:30 → 20:30", "Cancelled"]
        ]
    )

    page.get_by_role("link", name="All my reservations").click()
    expect(section_after(page, "Upcoming")).to_have_text("No upcoming reservations.")
    # Cancelled while still ahead: under Cancelled, not under Past.
    row = section_after(page, "Cancelled", "table").get_by_role("row").filter(has_text="Sakura Table")
    expect(row).to_contain_text(f"{short_day(day)} 20:30 (11:30 your time) (Tokyo time)")
    expect(row).to_contain_text("Cancelled")
    expect(section_after(page, "Past")).to_have_text("No past reservations yet.")


def test_a_guest_books_two_nights_in_a_double_room_logging_in_on_the_way(page, hotel, guest_user):
    arrival = days_ahead(hotel, 10)
    departure = arrival + timedelta(days=2)
    family_taken = reservation_book(
        guest=make_user("grace@example.com", "Grace Hopper"),
        venue=hotel,
        category="Family",
        party_size=3,
        starts_at=stay_period(hotel, arrival, 2)[0],
        ends_at=stay_period(hotel, arrival, 2)[1],
    )

    page.goto(hotel.get_absolute_url())
    expect(page.get_by_role("heading", name="Book a room")).to_be_visible()
    results = page.locator("#availability .results-heading")
    page.get_by_label("Arrival").fill(arrival.isoformat())
    expect(results).to_have_text(f"Rooms for 2 guests, 1 night from {short_day(arrival)}")
    page.get_by_label("Nights").select_option(label="2 nights")
    expect(results).to_have_text(f"Rooms for 2 guests, 2 nights from {short_day(arrival)}")
    double = page.locator(".option").filter(has=page.get_by_role("heading", name="Double", exact=True))
    expect(double).to_contain_text("£180 for 2 nights")
    expect(double).to_contain_text("2 left")
    family = page.locator(".option").filter(has=page.get_by_role("heading", name="Family", exact=True))
    expect(family).to_contain_text("Sold out for these dates")
    # Nothing to choose there, only its waitlist.
    expect(family.get_by_role("button")).to_have_count(1)
    expect(family.get_by_role("button", name="Join the waitlist for Family")).to_be_visible()
    page.get_by_role("button", name="Choose Double").click()

    # Not logged in: the log-in page, then back to the same choice without picking again.
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Email").fill(guest_user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/venues/harbour-house/hold/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choice")
    expect(detail(page, "Room type")).to_have_text("Double")
    expect(detail(page, "Check-in").locator("time")).to_have_text(f"{short_day(arrival)} 15:00")
    expect(detail(page, "Check-out").locator("time")).to_have_text(f"{short_day(departure)} 11:00")
    expect(detail(page, "Nights")).to_have_text("2")
    page.get_by_role("button", name="Hold this booking").click()

    page.wait_for_url(REVIEW_URL)
    expect(detail(page, "Room")).to_have_text(re.compile(r"^10[23] \(Double\)$"))
    # The venue's own time (London: the browser's UTC adds "your time" beside it in summer only).
    expect(detail(page, "Check-in").locator("time")).to_have_text(f"{short_day(arrival)} 15:00")
    expect(detail(page, "Check-out").locator("time")).to_have_text(f"{short_day(departure)} 11:00")
    expect(detail(page, "Times in")).to_have_text("London time")
    expect(detail(page, "Price")).to_have_text("£180")
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url(DETAIL_URL)
    expect(page.get_by_role("status")).to_contain_text("Your booking is confirmed.")
    expect(detail(page, "Check-in").locator("time")).to_have_text(f"{short_day(arrival)} 15:00")
    expect(detail(page, "Check-out").locator("time")).to_have_text(f"{short_day(departure)} 11:00")
    expect(detail(page, "Price")).to_have_text("£180")
    expect(detail(page, "Status")).to_have_text("Confirmed")
    stay = Reservation.objects.exclude(pk=family_taken.pk).get()
    assert (stay.guest, stay.requested_category, stay.nights, stay.price) == (guest_user, "Double", 2, 180)


def test_your_choice_page_shows_the_price_of_a_room_type(page, hotel):
    arrival = days_ahead(hotel, 10)
    query = {"starts_at": stay_period(hotel, arrival, 2)[0].isoformat(), "party_size": 2, "nights": 2}
    page.goto(f"/venues/{hotel.slug}/hold/?{urlencode({**query, 'category': 'Double'})}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choice")

    expect(detail(page, "Price")).to_have_text("£180", timeout=1_000)


def test_two_guests_race_for_the_last_room_and_the_second_is_offered_the_nearest_times(
    page, new_page, meeting_rooms, guest_user, login, axe_check
):
    day = days_ahead(meeting_rooms, 7, WEEKDAYS)
    url = f"{meeting_rooms.get_absolute_url()}?{urlencode({'date': day.isoformat(), 'party_size': 2})}"
    grace = make_user("grace@example.com", "Grace Hopper")
    ada_page, grace_page = page, new_page()
    login(ada_page, guest_user.email)
    login(grace_page, grace.email)
    # Both have the page open, showing 10:00 as free, before either of them clicks.
    for each in (ada_page, grace_page):
        each.goto(url)
        expect(each.get_by_role("button", name="10:00 in Booth")).to_be_visible()

    ada_page.get_by_role("button", name="10:00 in Booth").click()
    ada_page.wait_for_url(REVIEW_URL)
    ada_page.get_by_role("button", name="Confirm booking").click()
    expect(ada_page.get_by_role("status")).to_contain_text("Your booking is confirmed.")

    with grace_page.expect_navigation() as refused:
        grace_page.get_by_role("button", name="10:00 in Booth").click()
    assert refused.value.status == 409
    expect(grace_page.get_by_role("heading", level=1)).to_have_text("Foundry Rooms")
    expect(grace_page.locator(".booking-problem")).to_have_text(f"Booth is no longer free at {short_day(day)} 10:00.")
    nearest = grace_page.get_by_role("region", name="Nearest free times")
    expect(nearest.get_by_role("button")).to_have_text(["08:30 in Booth", "09:00 in Booth", "11:00 in Booth"])
    axe_check(grace_page)

    nearest.get_by_role("button", name="11:00 in Booth").click()
    grace_page.wait_for_url(REVIEW_URL)
    expect(detail(grace_page, "From").locator("time")).to_have_text(f"{short_day(day)} 11:00")

    at_ten = datetime.combine(day, time(10), tzinfo=meeting_rooms.zone)
    active = Reservation.objects.filter(status__in=Reservation.ACTIVE_STATUSES)
    assert [(r.guest, r.starts_at, r.status) for r in active.filter(starts_at=at_ten)] == [
        (guest_user, at_ten, Reservation.Status.CONFIRMED)
    ]
    assert active.filter(guest=grace).get().starts_at == at_ten + timedelta(hours=1)


def test_a_hold_that_runs_out_on_the_review_page_cannot_be_confirmed(page, venue, guest_user, login):
    Venue.objects.filter(pk=venue.pk).update(hold_minutes=1)
    venue.refresh_from_db()
    hold = reservation_hold(
        guest=guest_user,
        venue=venue,
        starts_at=datetime.combine(SHEET_DAY, time(19), tzinfo=venue.zone),
        party_size=2,
    )
    assert hold.hold_expires_at - timezone.now() <= timedelta(minutes=1)
    login(page, guest_user.email)
    # Test setup, not a wait: the one-minute hold has three seconds left when the page opens.
    expires_at = timezone.now() + timedelta(seconds=3)
    Reservation.objects.filter(pk=hold.pk).update(hold_expires_at=expires_at)

    page.goto(f"/reservations/{hold.reference}/review/")
    expect(page.get_by_text("Held for you until")).to_be_visible()
    confirm = page.get_by_role("button", name="Confirm booking")
    expect(confirm).to_be_enabled()

    expect(page.get_by_role("alert")).to_contain_text("Your hold ran out.", timeout=10_000)
    expect(page.get_by_text("Held for you until")).to_be_hidden()
    expect(confirm).to_be_disabled()
    # The countdown's own alert offers the same choice again, or that day's search.
    ran_out = page.locator("[data-countdown-expired]")
    expect(ran_out.get_by_role("button", name="Hold again")).to_be_visible()
    search_again = f"{venue.get_absolute_url()}?date={SHEET_DAY.isoformat()}&party_size=2&duration=90"
    expect(ran_out.get_by_role("link", name="Choose another time")).to_have_attribute("href", search_again)

    # A stale tab, or a browser without JavaScript, could still send the form: the server refuses it.
    confirm.evaluate("button => { button.disabled = false; }")
    with page.expect_navigation() as answered:
        confirm.click()
    assert answered.value.status == 409
    held_until = expires_at.astimezone(venue.zone).strftime("%H:%M")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        re.compile(f"^\\s*Your hold ran out at {held_until}.\\s+Hold again\\s+Choose another time\\s*$")
    )
    expect(alert).not_to_contain_text("Please search again.")
    expect(alert.get_by_role("link", name="Choose another time")).to_have_attribute("href", search_again)
    expect(page.get_by_role("button", name="Confirm booking")).to_be_disabled()
    assert Reservation.objects.get(pk=hold.pk).status == Reservation.Status.EXPIRED


# ---------------------------------------------------------------------------------------------
# Accessibility at phone width, and the keyboard


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_guest_booking_pages_have_no_serious_accessibility_violations_at_phone_width(
    page, venue, hotel, meeting_rooms, guest_user, day_sheet_bookings, login, axe_check
):
    def check(path: str, heading: str | re.Pattern) -> None:
        if path:
            response = page.goto(path)
            assert response.ok, f"{path}: {response.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        axe_check(page)
        no_sideways_scroll(page)

    login(page, guest_user.email)
    day = SHEET_DAY.isoformat()
    check(f"{hotel.get_absolute_url()}?date={day}&nights=2", "Harbour House")
    expect(page.get_by_role("button", name="Choose Double")).to_be_visible()
    check(f"{meeting_rooms.get_absolute_url()}?date={day}", "Foundry Rooms")
    expect(page.get_by_role("button", name="10:00 in Booth")).to_be_visible()
    query = urlencode(
        {"starts_at": datetime.combine(SHEET_DAY, time(20), tzinfo=venue.zone).isoformat(), "party_size": 2}
    )
    check(f"/venues/{venue.slug}/hold/?{query}", "Your choice")
    check(f"{venue.get_absolute_url()}?date={day}", "Trattoria Aurora")

    # From the search button, Tab through the times to 19:30 and hold it with Enter.
    page.get_by_role("button", name="Show availability").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "19:30":
            break
    else:
        pytest.fail("Tab never reached the 19:30 button")
    expect(page.get_by_role("button", name="19:30", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(REVIEW_URL)
    check("", "Review your booking")
    expect(detail(page, "From")).to_have_text("Tue 4 Jun 19:30 (17:30 your time)")  # Berlin, and the browser's UTC

    booking = day_sheet_bookings[2]
    check(booking.get_absolute_url(), f"Reservation {booking.reference}")
    check(f"{booking.get_absolute_url()}modify/", f"Change reservation {booking.reference}")
    check(f"{booking.get_absolute_url()}cancel/", f"Cancel reservation {booking.reference}?")
    check("/reservations/", "My reservations")
    check("/accounts/profile/", "My account")


# ---------------------------------------------------------------------------------------------
# Screenshots for the README (fixed data, fixed dates: they change only when the pages do)


def _freeze_review_countdown(page, server_now: datetime) -> None:
    """Show the review page as the server would have at `server_now`, with the browser's clock stopped.

    The countdown counts from the server's `now` (written into the page) to the hold's end. The
    fixed hold ends at a fixed time, so the page is answered as if rendered at that fixed `now`.
    """

    def at_server_now(route):
        response = route.fetch()
        body = re.sub(r'data-server-now="[^"]*"', f'data-server-now="{server_now.isoformat()}"', response.text())
        route.fulfill(response=response, body=body)

    page.route(REVIEW_URL, at_server_now)
    page.clock.set_fixed_time(server_now)


def test_screenshots_of_the_booking_pages(
    page, new_page, venue, hotel, guest_user, day_sheet_bookings, login, screenshot
):
    grace = day_sheet_bookings[1].guest
    stay = stay_period(hotel, SHEET_DAY, 2)
    reservation_book(
        guest=grace, venue=hotel, category="Family", party_size=4, starts_at=stay[0], ends_at=stay[1], now=BOOKED_ON
    )
    # Ada's history: the 19:00 dinner moved to 19:30, a stay on hold, one cancelled, one long past.
    dinner = reservation_modify(
        reservation=day_sheet_bookings[2],
        actor=guest_user,
        starts_at=datetime.combine(SHEET_DAY, time(19, 30), tzinfo=venue.zone),
        now=BOOKED_ON + timedelta(days=1),
    )
    for kind, at in [
        (ReservationEvent.Kind.HELD, BOOKED_ON),
        (ReservationEvent.Kind.CONFIRMED, BOOKED_ON),
        (ReservationEvent.Kind.MODIFIED, datetime(2030, 6, 2, 16, 45, tzinfo=UTC)),
    ]:
        dinner.events.filter(kind=kind).update(at=at)  # events are stamped with the real time: fix them
    summer = stay_period(hotel, date(2030, 7, 15), 2)
    hold = reservation_hold(
        guest=guest_user,
        venue=hotel,
        category="Double",
        party_size=2,
        starts_at=summer[0],
        ends_at=summer[1],
        now=BOOKED_ON,
    )
    autumn = stay_period(hotel, date(2030, 8, 10), 3)
    reservation_cancel(
        reservation=reservation_book(
            guest=guest_user,
            venue=hotel,
            category="Single",
            party_size=1,
            starts_at=autumn[0],
            ends_at=autumn[1],
            now=BOOKED_ON,
        ),
        actor=guest_user,
        now=BOOKED_ON + timedelta(days=2),
    )
    reservation_book(
        guest=guest_user,
        venue=venue,
        party_size=3,
        starts_at=datetime(2025, 9, 12, 19, 15, tzinfo=venue.zone),
        now=datetime(2025, 9, 1, tzinfo=UTC),
    )
    complete_past_reservations(now=datetime(2025, 9, 13, tzinfo=UTC))

    day = SHEET_DAY.isoformat()
    times_url = f"{venue.get_absolute_url()}?date={day}&party_size=4"
    page.goto(times_url)
    expect(page.locator(".results-heading")).to_have_text("Free times on Tue 4 Jun for 4 guests")
    screenshot(page, "venue-times")

    phone = new_page(MOBILE)
    phone.goto(times_url)
    expect(phone.locator(".results-heading")).to_have_text("Free times on Tue 4 Jun for 4 guests")
    screenshot(phone, "venue-times-mobile")

    page.goto(f"{hotel.get_absolute_url()}?date={day}&nights=2&party_size=2")
    expect(page.get_by_text("Sold out for these dates")).to_be_visible()
    screenshot(page, "hotel-rooms")

    login(page, guest_user.email)
    _freeze_review_countdown(page, BOOKED_ON)
    page.goto(f"/reservations/{hold.reference}/review/")
    expect(page.get_by_text("Held for you until")).to_contain_text("10:10 (London time). 10:00 left.")
    screenshot(page, "review")

    page.goto(dinner.get_absolute_url())
    expect(page.locator(".timeline li")).to_have_count(3)
    screenshot(page, "reservation")

    page.goto("/reservations/")
    # The autumn stay, cancelled but still ahead, under Cancelled; the 2025 dinner under Past.
    expect(section_after(page, "Cancelled", "table").get_by_role("row")).to_have_count(2)  # header and one
    expect(section_after(page, "Cancelled", "table")).to_contain_text("Harbour House")
    expect(section_after(page, "Past", "table").get_by_role("row")).to_have_count(2)  # header and one
    expect(section_after(page, "Past", "table")).to_contain_text("Trattoria Aurora")
    screenshot(page, "my-reservations")
