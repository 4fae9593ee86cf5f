"""Text messages end to end in a real browser and over real HTTP: a guest ticks "Text me a reminder" on
the review page (checked with axe at 375 px), the reminder goes through Twilio's library to the fake,
whose status callback and the guest's STOP come back to the live server, signed as Twilio signs them."""

from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import SmsOptOut
from reservations import notifications
from reservations.models import OutgoingMessage, Reservation
from reservations.services import reservation_hold
from tests.sms_fixtures import GUEST_PHONE

from .conftest import MOBILE
from .test_booking_browser import DETAIL_URL, days_ahead


@pytest.mark.parametrize("viewport", [MOBILE], ids=["375px"])
def test_a_guest_asks_for_a_text_reminder_and_replies_stop(
    page, live_server, venue, guest_user, login, axe_check, fake_twilio
):
    fake_twilio.transport = None  # over HTTP, to the live server: the site's public address in this test
    fake_twilio.incoming_url = f"{live_server.url}/sms/twilio/incoming"
    guest_user.phone = GUEST_PHONE
    guest_user.save()
    day = days_ahead(venue, 7, weekdays=range(1, 6))
    hold = reservation_hold(
        guest=guest_user, venue=venue, starts_at=datetime.combine(day, time(19, 30), tzinfo=venue.zone), party_size=2
    )
    login(page, guest_user.email)

    page.goto(f"/reservations/{hold.reference}/review/")
    box = page.get_by_label("Text me a reminder")
    expect(box).not_to_be_checked()
    axe_check(page)
    box.check()
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url(DETAIL_URL)
    expect(page.get_by_text("We text you about this booking too, at +44 7400 123456.")).to_be_visible()
    axe_check(page)
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.CONFIRMED and hold.by_sms

    due = notifications.reminder_due_at(hold)
    Reservation.objects.filter(pk=hold.pk).update(created_at=due - timedelta(days=1))
    notifications.create_due_reminders(now=due)  # committed: the outbox sends at once (eager tasks)
    text = OutgoingMessage.objects.get(channel=OutgoingMessage.Channel.SMS)
    assert text.status == OutgoingMessage.Status.SENT
    (sent,) = fake_twilio.sent
    assert sent["to"] == GUEST_PHONE and f"{live_server.url}/reservations/{hold.reference}/" in sent["body"]

    assert [status for status, _ in fake_twilio.advance(text.provider_id, "sent", "delivered")] == [200, 200]
    text.refresh_from_db()
    assert text.provider_status == "delivered"

    status, body = fake_twilio.inbound(GUEST_PHONE, "Stop")
    assert status == 200 and "<Response" in body
    assert SmsOptOut.objects.filter(phone=GUEST_PHONE).exists()
