"""How the guests' e-mails write times, dates and money (core/formats.py): the venue's zone in words
("10:00 New York time", never the IANA name), dates in the long format ("Tuesday 8 December 2026"),
amounts with the currency's symbol ("US$25.50" in British English), in the text and the HTML alike."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from reservations import notifications
from reservations.emails import build_message
from reservations.services import reservation_book, reservation_hold

from .conftest import at, next_weekday

pytestmark = pytest.mark.django_db
TUESDAY = 1


def visible(html: str) -> str:
    """The words of the HTML a guest reads: without its tags and their attributes."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def long_date(moment) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"  # DATE_LONG, "l j F Y"


@pytest.fixture
def venue(meeting_rooms):
    meeting_rooms.currency = "USD"
    meeting_rooms.save()
    meeting_rooms.spaces.filter(name="Booth").update(price=Decimal("25.50"))
    return meeting_rooms


@pytest.fixture
def start(venue):
    return at(venue, next_weekday(venue, TUESDAY), "10:00")


@pytest.mark.parametrize("kind", ["confirmed", "reminder", "cancelled", "modified"])
def test_a_bookings_emails_say_its_times_in_the_venues_zone_in_words_and_its_price(kind, venue, start, guest):
    booking = reservation_book(guest=guest, space=venue.spaces.get(name="Booth"), starts_at=start, party_size=2)
    context = {"before": "before", "after": "after"} if kind == "modified" else {}
    message = notifications.enqueue(booking, kind, key=f"{kind}-test", context=context)

    email = build_message(message)
    text, html = email.body, visible(email.alternatives[0][0])

    for body in (text, html):
        assert f"{long_date(start)}, 10:00 New York time" in body
        assert "11:00 New York time" in body  # the end, the same day: its time alone
        assert "US$25.50" in body and "USD" not in body  # in British English: the US dollar
        assert "America/New_York" not in body and "New_York" not in body
    assert 'data-venue-zone="America/New_York"' in email.alternatives[0][0]  # for a browser showing it


def test_the_refund_email_says_the_amount_with_its_symbol(venue, start, guest):
    hold = reservation_hold(guest=guest, space=venue.spaces.get(name="Booth"), starts_at=start, party_size=2)
    message = notifications.enqueue(
        hold, "payment_refunded", key="refunded-test", context={"amount": "40.00", "currency": "USD"}
    )

    email = build_message(message)

    for body in (email.body, visible(email.alternatives[0][0])):
        assert "your payment of US$40 for" in body
        assert f"on {long_date(start)}, 10:00 New York time arrived after your hold had run out" in body
        assert "the time had gone to someone else" in body


def test_a_waitlist_offer_says_until_when_in_the_long_format_and_the_zone_in_words(venue, start, guest):
    hold = reservation_hold(guest=guest, space=venue.spaces.get(name="Booth"), starts_at=start, party_size=2)
    until = start - timedelta(days=1)
    message = notifications.enqueue(hold, "waitlist_offer", key="offer-test", context={"until": until.isoformat()})

    email = build_message(message)

    for body in (email.body, visible(email.alternatives[0][0])):
        assert f"on {long_date(start)}, 10:00 New York time has freed up" in body
        assert f"until {long_date(until)}, 10:00" in body
    assert email.subject.endswith("is yours until 10:00")


def test_an_expired_hold_says_when_in_the_venues_zone_in_words(venue, start, guest):
    hold = reservation_hold(guest=guest, space=venue.spaces.get(name="Booth"), starts_at=start, party_size=2)
    message = notifications.enqueue(hold, "hold_expired", key="expired-test")

    email = build_message(message)

    for body in (email.body, visible(email.alternatives[0][0])):
        assert f"on {long_date(start)}, 10:00 New York time for you" in body
        assert "America/New_York" not in body
