"""The waitlist: when a place frees up, the first fitting guest in line is offered it — a hold for
the venue's offer window, made in the transaction that freed it — and the next one when they let it go."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from reservations.exceptions import PolicyViolation
from reservations.models import Reservation, SpaceClaim, WaitlistEntry
from reservations.services import (
    expire_stale_holds,
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_modify,
)
from reservations.services.waitlist import place_in_line, waitlist_join, waitlist_leave

from .conftest import at, make_user, next_weekday
from .test_concurrency import race

TUESDAY = 1
Status = WaitlistEntry.Status


def evening(venue):
    return next_weekday(venue, TUESDAY)


def fill_seven_pm(venue) -> list[Reservation]:
    """Every table of the restaurant booked at 19:00."""
    return [
        reservation_book(
            guest=make_user(f"diner{n}@example.com"),
            venue=venue,
            starts_at=at(venue, evening(venue), "19:00"),
            party_size=2,
        )
        for n in range(venue.spaces.count())
    ]


def join(venue, name, party=2, earliest="19:00", latest="19:00"):
    return waitlist_join(
        guest=make_user(f"{name}@example.com"),
        venue=venue,
        day=evening(venue),
        earliest=time.fromisoformat(earliest),
        latest=time.fromisoformat(latest),
        party_size=party,
    )


@pytest.mark.django_db
def test_guests_join_in_order_and_one_wish_a_day_each(restaurant):
    first, second = join(restaurant, "first"), join(restaurant, "second")
    assert (place_in_line(first), place_in_line(second)) == (1, 2)
    with pytest.raises(PolicyViolation, match="on Trattoria Test's waitlist for"):
        waitlist_join(
            guest=first.guest,
            venue=restaurant,
            day=evening(restaurant),
            earliest=time(20),
            latest=time(21),
            party_size=2,
        )


@pytest.mark.django_db
def test_a_cancellation_is_offered_to_the_first_fitting_guest_for_the_offer_window(restaurant):
    booked = fill_seven_pm(restaurant)
    too_big = join(restaurant, "eight", party=8)  # first in line, but the freed two-top does not seat eight
    fits = join(restaurant, "two", party=2)
    two_top = next(b for b in booked if b.space.name == "Table 1")

    before = timezone.now()
    reservation_cancel(reservation=two_top, actor=two_top.guest)

    too_big.refresh_from_db()
    fits.refresh_from_db()
    assert too_big.status == Status.WAITING
    assert fits.status == Status.OFFERED
    offer = fits.offer
    assert (offer.status, offer.guest, offer.space.name, offer.party_size) == ("held", fits.guest, "Table 1", 2)
    assert before + timedelta(minutes=30) <= offer.hold_expires_at <= timezone.now() + timedelta(minutes=30)


@pytest.mark.django_db
def test_an_offer_not_taken_goes_to_the_next_guest(restaurant):
    booked = fill_seven_pm(restaurant)
    first, second = join(restaurant, "first"), join(restaurant, "second")
    reservation_cancel(reservation=booked[0], actor=booked[0].guest)
    first.refresh_from_db()

    later = first.offer.hold_expires_at + timedelta(seconds=1)
    expire_stale_holds(now=later)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.LAPSED
    assert second.status == Status.OFFERED and second.offer.space == first.offer.space


@pytest.mark.django_db
def test_a_confirmed_offer_is_booked_and_leaving_releases_an_offer_to_the_next(restaurant):
    booked = fill_seven_pm(restaurant)
    first, second, third = join(restaurant, "first"), join(restaurant, "second"), join(restaurant, "third")
    reservation_cancel(reservation=booked[0], actor=booked[0].guest)
    reservation_cancel(reservation=booked[1], actor=booked[1].guest)
    first.refresh_from_db()
    second.refresh_from_db()

    reservation_confirm(reservation=first.offer, actor=first.guest)
    waitlist_leave(entry=second, actor=second.guest)

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert first.status == Status.BOOKED and first.offer.status == "confirmed"
    assert second.status == Status.LEFT and Reservation.objects.get(pk=second.offer_id).status == "cancelled"
    assert third.status == Status.OFFERED


@pytest.mark.django_db
def test_a_booking_moved_away_offers_its_old_time(restaurant):
    booked = fill_seven_pm(restaurant)
    waiting = join(restaurant, "waiting")
    reservation_modify(
        reservation=booked[0], actor=booked[0].guest, starts_at=at(restaurant, evening(restaurant), "12:00")
    )
    waiting.refresh_from_db()
    assert waiting.status == Status.OFFERED


@pytest.mark.django_db(transaction=True)
def test_two_places_freed_at_once_go_to_two_guests_and_none_is_offered_twice(restaurant):
    booked = fill_seven_pm(restaurant)
    line = [join(restaurant, f"waiting{n}") for n in range(4)]

    race([lambda b=b: reservation_cancel(reservation=b, actor=b.guest) for b in booked[:2]])

    offered = WaitlistEntry.objects.filter(status=Status.OFFERED).order_by("created_at")
    assert [entry.pk for entry in offered] == [line[0].pk, line[1].pk]  # first come, first served
    offers = Reservation.objects.filter(pk__in=[entry.offer_id for entry in offered])
    assert len({offer.space_id for offer in offers}) == 2
    assert len({offer.guest_id for offer in offers}) == 2
    active = SpaceClaim.objects.filter(active=True, starts_at=at(restaurant, evening(restaurant), "19:00"))
    assert active.count() == restaurant.spaces.count()  # every table taken once: never offered twice


@pytest.mark.django_db
def test_the_offer_and_its_lapse_are_e_mailed_with_the_deadline_in_the_venues_time(restaurant, mailoutbox):
    from reservations.models import OutgoingMessage
    from reservations.notifications import deliver

    booked = fill_seven_pm(restaurant)
    waiting = join(restaurant, "waiting")
    reservation_cancel(reservation=booked[0], actor=booked[0].guest)
    waiting.refresh_from_db()
    offer = OutgoingMessage.objects.get(kind="waitlist_offer")
    deliver(offer.pk)

    until = waiting.offer.hold_expires_at.astimezone(restaurant.zone)
    sent = mailoutbox[-1]
    assert sent.to == [waiting.guest.email]
    assert f"is yours until {until:%H:%M}" in sent.subject
    assert "we are keeping it for you until" in sent.body and waiting.offer.reference in sent.body

    expire_stale_holds(now=waiting.offer.hold_expires_at + timedelta(seconds=1))
    lapsed = OutgoingMessage.objects.get(kind="waitlist_lapsed")
    deliver(lapsed.pk, now=waiting.offer.hold_expires_at + timedelta(seconds=2))
    assert "went to the next guest" in mailoutbox[-1].subject
    assert not OutgoingMessage.objects.filter(kind="hold_expired", reservation=waiting.offer).exists()


@pytest.mark.django_db
def test_joining_is_e_mailed_with_the_place_in_line(restaurant, mailoutbox):
    from reservations.models import OutgoingMessage
    from reservations.notifications import deliver

    join(restaurant, "first")
    second = join(restaurant, "second", earliest="19:00", latest="20:30")
    message = OutgoingMessage.objects.get(kind="waitlist_joined", waitlist_entry=second)
    assert deliver(message.pk)

    sent = mailoutbox[-1]
    assert sent.to == [second.guest.email]
    assert sent.subject.endswith(f"You are on Trattoria Test's waitlist for {evening(restaurant):%a %-d %b}")
    assert "starting 19:00–20:30 Berlin time. You are number 2 in line." in sent.body
    assert "/reservations/" in sent.body
