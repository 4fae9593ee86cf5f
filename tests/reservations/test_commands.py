from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reservations.models import Reservation, ReservationEvent
from reservations.services import reservation_book, reservation_cancel, reservation_hold

from .conftest import at, make_user

pytestmark = pytest.mark.django_db
TUESDAY = 1


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def tuesday_days_ago(venue, days: int):
    """A Tuesday at least `days` days before today, in the venue's zone."""
    day = timezone.now().astimezone(venue.zone).date() - timedelta(days=days)
    return day - timedelta(days=(day.weekday() - TUESDAY) % 7)


def tuesday_ahead(venue):
    day = timezone.now().astimezone(venue.zone).date() + timedelta(days=7)
    return day + timedelta(days=(TUESDAY - day.weekday()) % 7)


def book_in_the_past(venue, guest, days_ago: int, clock="19:00", party_size=2):
    """A booking for a Tuesday `days_ago` days back, made two days before it (so it has ended now)."""
    day = tuesday_days_ago(venue, days_ago)
    return reservation_book(
        guest=guest,
        venue=venue,
        starts_at=at(venue, day, clock),
        party_size=party_size,
        now=at(venue, day, "12:00") - timedelta(days=2),
    )


def reload(reservation):
    reservation.refresh_from_db()
    return reservation


# --- expire_holds -----------------------------------------------------------------------------------


def test_expire_holds_expires_stale_holds_once_and_leaves_live_ones(restaurant, guest, other_guest):
    day = tuesday_ahead(restaurant)
    past = timezone.now() - timedelta(minutes=restaurant.hold_minutes + 1)
    stale = reservation_hold(
        guest=guest, venue=restaurant, starts_at=at(restaurant, day, "19:00"), party_size=2, now=past
    )
    # A later booking of an overlapping slot would expire the stale hold itself: keep clear of it.
    live = reservation_hold(guest=other_guest, venue=restaurant, starts_at=at(restaurant, day, "21:00"), party_size=2)
    confirmed = reservation_book(
        guest=other_guest, venue=restaurant, starts_at=at(restaurant, day, "12:00"), party_size=2
    )

    assert run("expire_holds") == "Expired 1 hold(s)."
    assert run("expire_holds") == "Expired 0 hold(s)."

    assert reload(stale).status == Reservation.Status.EXPIRED
    expired_event = stale.events.get(kind=ReservationEvent.Kind.EXPIRED)
    assert expired_event.actor is None
    assert expired_event.details == {"hold_expired_at": stale.hold_expires_at.isoformat()}
    assert reload(live).status == Reservation.Status.HELD
    assert reload(confirmed).status == Reservation.Status.CONFIRMED
    assert not live.events.filter(kind="expired").exists()


# --- complete_past_reservations ------------------------------------------------------------------------


def test_complete_past_reservations_completes_ended_bookings_once(restaurant, guest, other_guest):
    ended = book_in_the_past(restaurant, guest, days_ago=3)
    assert ended.ends_at < timezone.now() and ended.status == Reservation.Status.CONFIRMED
    upcoming = reservation_book(
        guest=other_guest, venue=restaurant, starts_at=at(restaurant, tuesday_ahead(restaurant), "19:00"), party_size=2
    )

    assert run("complete_past_reservations") == "Completed 1 reservation(s)."
    assert run("complete_past_reservations") == "Completed 0 reservation(s)."

    assert reload(ended).status == Reservation.Status.COMPLETED
    assert [event.kind for event in ended.events.all()] == ["held", "confirmed", "completed"]
    assert reload(upcoming).status == Reservation.Status.CONFIRMED
    assert not upcoming.events.filter(kind="completed").exists()


def test_complete_past_reservations_leaves_cancelled_bookings_alone(restaurant, guest):
    cancelled = book_in_the_past(restaurant, guest, days_ago=3)
    reservation_cancel(reservation=cancelled, actor=guest, now=cancelled.starts_at - timedelta(days=2))

    assert run("complete_past_reservations") == "Completed 0 reservation(s)."
    assert reload(cancelled).status == Reservation.Status.CANCELLED


# --- purge_reservations ------------------------------------------------------------------------------------


@pytest.fixture
def history(restaurant, guest):
    """Old finished bookings (one completed, one cancelled), a recent finished one, an old one still
    confirmed (never completed) and an upcoming one."""
    other = make_user("third@example.com")
    old_completed = book_in_the_past(restaurant, guest, days_ago=45, clock="19:00")
    old_cancelled = book_in_the_past(restaurant, other, days_ago=45, clock="12:00")
    reservation_cancel(reservation=old_cancelled, actor=other, now=old_cancelled.starts_at - timedelta(days=2))
    recent = book_in_the_past(restaurant, guest, days_ago=10)
    call_command("complete_past_reservations", stdout=StringIO())
    old_unfinished = book_in_the_past(restaurant, other, days_ago=45, clock="20:30")  # not completed yet
    upcoming = reservation_book(
        guest=guest, venue=restaurant, starts_at=at(restaurant, tuesday_ahead(restaurant), "19:00"), party_size=2
    )
    return {
        "old_completed": reload(old_completed),
        "old_cancelled": reload(old_cancelled),
        "recent": reload(recent),
        "old_unfinished": old_unfinished,
        "upcoming": upcoming,
    }


def test_purge_dry_run_reports_what_it_would_delete_and_deletes_nothing(history):
    assert history["old_completed"].status == Reservation.Status.COMPLETED
    assert history["recent"].status == Reservation.Status.COMPLETED
    before = Reservation.objects.count(), ReservationEvent.objects.count()

    output = run("purge_reservations", "--older-than", "30", "--dry-run")

    # completed: held, confirmed, completed; cancelled: held, confirmed, cancelled
    assert output == "Would delete 2 reservation(s) and 6 history event(s) that ended more than 30 day(s) ago."
    assert (Reservation.objects.count(), ReservationEvent.objects.count()) == before


def test_purge_deletes_old_finished_reservations_and_their_history_only(history):
    old = [history["old_completed"].pk, history["old_cancelled"].pk]
    kept = [history[name].pk for name in ("recent", "old_unfinished", "upcoming")]
    kept_events = ReservationEvent.objects.filter(reservation__in=kept).count()

    output = run("purge_reservations", "--older-than", "30")

    assert output == "Deleted 2 reservation(s) and 6 history event(s) that ended more than 30 day(s) ago."
    assert not Reservation.objects.filter(pk__in=old).exists()
    assert not ReservationEvent.objects.filter(reservation_id__in=old).exists()
    assert sorted(Reservation.objects.values_list("pk", flat=True)) == sorted(kept)
    assert ReservationEvent.objects.count() == kept_events
    assert run("purge_reservations", "--older-than", "30") == (
        "Deleted 0 reservation(s) and 0 history event(s) that ended more than 30 day(s) ago."
    )


def test_a_shorter_retention_also_purges_recent_finished_reservations(history):
    output = run("purge_reservations", "--older-than", "5")
    assert output.startswith("Deleted 3 reservation(s)")
    assert set(Reservation.objects.values_list("pk", flat=True)) == {
        history["old_unfinished"].pk,
        history["upcoming"].pk,
    }


@pytest.mark.parametrize("days", ["0", "-3"])
def test_purge_refuses_a_retention_below_one_day(history, days):
    with pytest.raises(CommandError, match="at least one day"):
        run("purge_reservations", "--older-than", days)
    assert Reservation.objects.count() == 5


def test_purge_requires_a_retention_period(db):
    with pytest.raises(CommandError, match="--older-than"):
        run("purge_reservations")
