"""Long unbroken text a person typed never widens a page: notes of one 400-character word, on the
guest's reservation page at phone width, on the day sheet (its Move column stays in view) and in the
e-mail."""

from datetime import datetime, time

import pytest

from reservations.models import OutgoingMessage, Reservation
from reservations.services import reservation_book

from .conftest import BOOKED_ON, DESKTOP, MOBILE, SHEET_DAY

ONE_LONG_WORD = "Allergies" + "x" * 391  # 400 characters, no space to break at


@pytest.fixture
def long_notes_booking(venue, guest_user):
    booking = reservation_book(
        guest=guest_user,
        venue=venue,
        starts_at=datetime.combine(SHEET_DAY, time(19), tzinfo=venue.zone),
        party_size=2,
        notes=ONE_LONG_WORD,
        now=BOOKED_ON,
    )
    return Reservation.objects.select_related("space__venue", "guest").get(pk=booking.pk)


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_the_reservation_page_at_phone_width_wraps_a_long_word(page, long_notes_booking, guest_user, login):
    login(page, guest_user.email)
    page.goto(f"/reservations/{long_notes_booking.reference}/")
    page.get_by_text(ONE_LONG_WORD[:9], exact=False).first.wait_for()

    assert page_width(page) <= MOBILE["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280px", "375px"])
def test_the_day_sheet_keeps_its_move_column_in_view(page, viewport, long_notes_booking, staff_user, login):
    login(page, staff_user.email)
    venue = long_notes_booking.space.venue
    page.goto(f"/staff/day-sheet/?venue={venue.pk}&day={SHEET_DAY.isoformat()}")

    assert page_width(page) <= viewport["width"]  # the page itself never scrolls sideways
    if viewport is DESKTOP:  # on a phone the sheet scrolls inside its own box, as wide tables do
        move = page.get_by_role("combobox", name=f"Move to {long_notes_booking.reference}")
        box = move.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"]


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_the_confirmation_email_wraps_a_long_word(page, long_notes_booking):
    from reservations.emails import build_message

    message = OutgoingMessage.objects.get(reservation=long_notes_booking, kind=OutgoingMessage.Kind.CONFIRMED)
    html = next(content for content, kind in build_message(message).alternatives if kind == "text/html")
    page.set_content(html)

    assert ONE_LONG_WORD in html
    assert page_width(page) <= MOBILE["width"]
