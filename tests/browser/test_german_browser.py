"""A guest books a table in German in a real browser: the footer's switcher changes the language
(and, logged in, saves it), and the search, the review page, the confirmation and the reservation
page are German, in German formats; axe stays at zero."""

import re

from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from accounts.models import User
from reservations.models import Reservation

from .test_booking_browser import DETAIL_URL, REVIEW_URL, days_ahead

TUESDAY_TO_FRIDAY = range(1, 5)


def german(text: str) -> str:
    with translation.override("de"):
        return gettext(text)


def test_a_guest_books_a_table_in_german(page, venue, guest_user, login, axe_check):
    day = days_ahead(venue, 8, TUESDAY_TO_FRIDAY)
    login(page, guest_user.email)
    page.goto("/")
    page.locator("#language-choice").select_option("de")
    page.locator(".language-switcher button").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert User.objects.get(pk=guest_user.pk).language == "de"  # saved: e-mails follow it
    expect(page.locator(".language-switcher button")).to_have_text(german("Change language"))

    page.locator("[name=date]").first.fill(day.isoformat())
    page.locator("[name=time]").first.fill("19:30")
    page.locator("[name=party_size]").first.select_option("2")
    trattoria = page.locator("#search-results .answer").filter(has=page.get_by_role("heading", name="Trattoria Aurora"))
    expect(trattoria.get_by_role("button", name=re.compile(r"^19:30 "))).to_be_visible()
    axe_check(page)
    trattoria.get_by_role("button", name=re.compile(r"^19:30 ")).click()

    page.wait_for_url(REVIEW_URL)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    confirm = page.get_by_role("button", name=german("Confirm booking"))
    expect(confirm).to_be_visible()
    assert german("Confirm booking") != "Confirm booking"
    expect(page.locator("main")).to_contain_text(f"{day.day}. ")  # a German date: "Fr., 4. Dez."
    axe_check(page)
    confirm.click()

    page.wait_for_url(DETAIL_URL)
    booking = Reservation.objects.get(guest=guest_user)
    assert booking.status == Reservation.Status.CONFIRMED
    expected = german("Your booking is confirmed. Your reference is %(reference)s.") % {"reference": booking.reference}
    expect(page.get_by_role("status")).to_contain_text(expected)
    expect(page.locator("main")).not_to_contain_text("Your booking is confirmed")
    axe_check(page)
