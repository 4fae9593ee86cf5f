"""A real browser on the real pages: signing up, accessibility at phone width, the staff day sheet."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import User
from reservations.models import Reservation

from .conftest import DESKTOP, MOBILE, PASSWORD, SHEET_DAY


def test_a_new_guest_signs_up_verifies_the_address_and_is_logged_in(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Your name").fill("New Guest")  # asked once, at sign-up
    page.get_by_label("Email").fill("new.guest@example.com")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("verify", re.IGNORECASE))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # The live server runs in this process, so its locmem e-mail lands in this outbox.
    assert [message.to for message in mail.outbox] == [["new.guest@example.com"]]
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    page.goto(link.group(1))
    expect(page.get_by_text("new.guest@example.com")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="My account")).to_be_visible()
    assert User.objects.get(email="new.guest@example.com").emailaddress_set.get().verified


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375px", "1280px"])
def test_public_pages_have_no_serious_accessibility_violations(page, venue, axe_check, viewport):
    for path in ["/", venue.get_absolute_url(), "/accounts/login/", "/accounts/signup/"]:
        response = page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        axe_check(page)
        # Nothing may force a sideways scroll at phone width (WCAG 1.4.10 reflow).
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the {viewport['width']}px window"


def test_screenshots_of_the_main_pages(page, venue, staff_user, day_sheet_bookings, login, screenshot):
    page.goto("/")
    expect(page.get_by_role("link", name="Trattoria Aurora")).to_be_visible()
    screenshot(page, "home")

    page.goto(f"{venue.get_absolute_url()}?date={SHEET_DAY.isoformat()}")  # a fixed day, not tomorrow
    expect(page.get_by_role("heading", level=1)).to_have_text("Trattoria Aurora")
    screenshot(page, "venue")

    page.goto("/accounts/login/")
    screenshot(page, "login")

    login(page, staff_user.email)
    page.goto(f"/staff/day-sheet/?venue={venue.pk}&day={SHEET_DAY.isoformat()}")
    expect(page.get_by_role("link", name="K7QM-2XPA-9RTD")).to_be_visible()
    screenshot(page, "day-sheet")


def test_staff_see_the_day_sheet_move_a_booking_and_print_it(
    page, venue, staff_user, day_sheet_bookings, login, axe_check
):
    lunch, dinner_for_four, dinner_for_two = day_sheet_bookings
    login(page, staff_user.email, next_url="/staff/day-sheet/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Day sheet: Trattoria Aurora")

    page.get_by_label("Venue").select_option(label="Trattoria Aurora")
    page.get_by_label("Date").fill(SHEET_DAY.isoformat())
    page.get_by_label("Service").select_option(label="Whole day")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Day sheet: Trattoria Aurora, Tuesday 4 June 2030")
    expect(page.get_by_text("Europe/Berlin").first).to_be_visible()
    bookings = page.get_by_role("region", name="The bookings, by start")
    row = bookings.get_by_role("row").filter(has_text=lunch.reference)
    expect(row).to_contain_text("12:30–14:00")
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("Window seat if possible")
    axe_check(page)

    # Move the 19:00 booking for two from Table 1 to Table 2 (Table 3 holds the party of four).
    row = bookings.get_by_role("row").filter(has_text=dinner_for_two.reference)
    row.get_by_role("combobox", name=f"Move to {dinner_for_two.reference}").select_option(label="Table 2 (up to 2)")
    row.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status")).to_contain_text(f"{dinner_for_two.reference} moved from Table 1 to Table 2.")
    assert Reservation.objects.get(pk=dinner_for_two.pk).space.name == "Table 2"

    # On paper: the sheet only, no navigation or forms.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".day-sheet-form")).to_be_hidden()
    expect(page.locator(".move-form").first).to_be_hidden()
    expect(bookings.get_by_role("row").filter(has_text=lunch.reference)).to_be_visible()


def test_guests_cannot_open_the_day_sheet(page, guest_user, login):
    login(page, guest_user.email)

    response = page.goto("/staff/day-sheet/")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot open this page")


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_day_sheet_has_no_serious_accessibility_violations_at_phone_width(
    page, venue, staff_user, day_sheet_bookings, login, axe_check
):
    login(page, staff_user.email)
    page.goto(f"/staff/day-sheet/?venue={venue.pk}&day={SHEET_DAY.isoformat()}")
    expect(page.get_by_role("link", name=day_sheet_bookings[0].reference)).to_be_attached()

    axe_check(page)
    # The wide table scrolls inside its own (keyboard-focusable) region, not the whole page.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
