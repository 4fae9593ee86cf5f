"""Text messages in the admin: the outbox shows each message's channel, the provider's status and id;
the venue's page has its three switches; opt-outs are listed for operators, and nobody lifts one."""

import pytest
from django.urls import reverse

from accounts.models import SmsOptOut
from reservations.models import OutgoingMessage
from spaces.models import VenueRole
from tests.sms_fixtures import GUEST_PHONE

from .conftest import make_user, with_authenticator
from .test_sms import book

pytestmark = pytest.mark.django_db
OUTBOX = reverse("admin:reservations_outgoingmessage_changelist")
OPT_OUTS = reverse("admin:accounts_smsoptout_changelist")


@pytest.fixture
def text_row(restaurant, guest):
    reservation = book(restaurant, guest)
    return OutgoingMessage.objects.create(
        reservation=reservation,
        kind=OutgoingMessage.Kind.REMINDER,
        channel=OutgoingMessage.Channel.SMS,
        to_phone=GUEST_PHONE,
        provider_id="SM" + "a" * 32,
        provider_status="delivered",
        status=OutgoingMessage.Status.SENT,
        dedupe_key="sms:reminder:x",
    )


def test_the_outbox_shows_a_texts_channel_number_and_provider_status(client, staff, text_row):
    client.force_login(staff)

    html = client.get(OUTBOX, {"channel__exact": "sms"}).content.decode()

    assert "Text message" in html and "+44 7400 123456" in html and "delivered" in html
    assert client.get(OUTBOX, {"q": text_row.provider_id}).context["cl"].result_count == 1
    page = client.get(reverse("admin:reservations_outgoingmessage_change", args=[text_row.pk])).content.decode()
    assert text_row.provider_id in page and GUEST_PHONE in page


def test_the_venue_page_has_the_text_message_switches(client, staff, restaurant):
    client.force_login(staff)

    html = client.get(reverse("admin:spaces_venue_change", args=[restaurant.pk])).content.decode()

    for field in ("sms_reminders", "sms_waitlist_offers", "sms_booking_changes"):
        assert f'name="{field}"' in html


def test_operators_see_opt_outs_found_by_the_number_as_typed_and_cannot_lift_them(client, staff):
    opt_out = SmsOptOut.objects.create(phone=GUEST_PHONE, words="STOP")
    client.force_login(staff)

    found = client.get(OPT_OUTS, {"q": "07400 123456"})

    assert found.status_code == 200 and found.context["cl"].result_count == 1
    change = reverse("admin:accounts_smsoptout_change", args=[opt_out.pk])
    assert 'name="phone"' not in client.get(change).content.decode()  # read only
    assert (
        client.post(reverse("admin:accounts_smsoptout_delete", args=[opt_out.pk]), {"post": "yes"}).status_code == 403
    )
    assert SmsOptOut.objects.exists()


def test_a_venues_manager_sees_no_opt_outs(client, restaurant):
    manager = with_authenticator(make_user("manager@example.com", is_staff=True))
    VenueRole.objects.create(venue=restaurant, user=manager, role=VenueRole.Role.MANAGER)
    client.force_login(manager)

    assert client.get(OPT_OUTS).status_code == 403
