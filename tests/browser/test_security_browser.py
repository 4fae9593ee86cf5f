"""Chromium enforces our Content-Security-Policy: htmx, the review countdown, the admin (with its
autocomplete widgets), the day sheet and the authenticator app set-up work without a single violation."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reservations.services import reservation_hold

from .conftest import PASSWORD, SHEET_DAY


@pytest.fixture
def csp_violations(page):
    """What the browser refused under the policy, as it reports it on the console."""
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return refused


def test_guest_pages_and_htmx_work_under_the_policy(page, venue, guest_user, login, csp_violations):
    page.goto("/")
    expect(page.get_by_role("link", name="Trattoria Aurora")).to_be_visible()

    page.goto(venue.get_absolute_url())
    results = page.locator("#availability .results-heading")
    day = timezone.now().astimezone(venue.zone).date() + timedelta(days=9)
    while day.weekday() == 0:  # closed on Mondays
        day += timedelta(days=1)
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true"):
        page.get_by_label("Date").fill(day.isoformat())
    expect(results).to_contain_text("for 2 guests")
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true"):
        page.get_by_label("Guests").select_option(label="4 guests")
    expect(results).to_contain_text("for 4 guests")

    login(page, guest_user.email)
    starts_at = datetime.combine(day, time(19), tzinfo=venue.zone)
    held = reservation_hold(guest=guest_user, venue=venue, starts_at=starts_at, party_size=2)
    page.goto(f"/reservations/{held.reference}/review/")
    # countdown.js replaced the no-JavaScript sentence with a running count.
    expect(page.locator("[data-countdown-text]")).to_contain_text("left.")

    assert csp_violations == []


def test_the_admin_and_the_day_sheet_work_under_the_policy(
    page, venue, staff_user, day_sheet_bookings, login, csp_violations
):
    # The suite gives staff who log in an authenticator app (tests/conftest.py), so the admin opens.
    login(page, staff_user.email)

    page.goto("/admin/")
    expect(page.get_by_role("link", name="Venues")).to_be_visible()
    page.goto(f"/admin/spaces/venue/{venue.pk}/change/")
    expect(page.get_by_label("Name:")).to_have_value("Trattoria Aurora")
    page.goto("/admin/spaces/space/add/")
    page.locator(".select2-selection").first.click()  # the autocomplete widget's search opens
    expect(page.locator(".select2-results__option").filter(has_text="Trattoria Aurora")).to_be_visible()
    page.goto("/admin/reservations/reservation/")
    expect(page.get_by_role("link", name="Export these as CSV")).to_be_visible()

    page.goto(f"/staff/day-sheet/?venue={venue.pk}&day={SHEET_DAY.isoformat()}")
    expect(page.get_by_role("link", name=day_sheet_bookings[0].reference)).to_be_visible()
    # day-sheet.css (once an inline <style>) is applied.
    assert page.locator(".move-form").first.evaluate("form => getComputedStyle(form).display") == "flex"

    assert csp_violations == []


def test_the_authenticator_app_set_up_shows_its_qr_code(page, guest_user, login, csp_violations):
    login(page, guest_user.email)
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Activate").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    qr_code = page.locator("img[src^='data:image/svg+xml']")
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("image => image.naturalWidth") > 0
    assert csp_violations == []
