"""Which reads go to the read replica (core/replica.py). In the test settings the alias `replica` is a
second connection to the test database; these tests turn READ_REPLICA on and watch which connection
runs each query: lag-tolerant reads (a guest's history, their data export, the staff's CSV export) on
the replica; availability, bookings and reads inside a transaction on the primary; and a guest who has
just changed a booking reads the primary until the pin lapses (read-your-writes)."""

import json

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.replica import lag_tolerant
from reservations.models import Reservation
from tests.reservations.conftest import at, next_weekday

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica(settings):
    settings.READ_REPLICA = "replica"
    cache.clear()  # no guest pinned from an earlier test
    yield


class Watch:
    """The SQL each connection ran inside the block, as lists of statements."""

    def __enter__(self):
        self._primary = CaptureQueriesContext(connections["default"]).__enter__()
        self._replica = CaptureQueriesContext(connections["replica"]).__enter__()
        return self

    def __exit__(self, *exc):
        self._replica.__exit__(*exc)
        self._primary.__exit__(*exc)

    def on(self, alias: str, table: str = "reservations_reservation") -> list[str]:
        queries = self._primary if alias == "default" else self._replica
        return [query["sql"] for query in queries.captured_queries if f'"{table}"' in query["sql"]]


def book(client, venue, clock="10:00"):
    space = venue.spaces.get(name="Booth")
    starts = at(venue, next_weekday(venue, 1), clock)
    payload = {"space": space.pk, "starts_at": starts.isoformat(), "party_size": 2}
    return client.post("/api/reservations", json.dumps(payload), content_type="application/json")


def test_without_a_replica_every_read_is_on_the_primary(settings, guest):
    settings.READ_REPLICA = None

    assert lag_tolerant(guest_id=guest.pk) == "default"


def test_a_guests_history_and_data_export_read_the_replica(client, replica, meeting_rooms, guest):
    client.force_login(guest)
    assert book(client, meeting_rooms).status_code == 201
    cache.clear()  # the pin after booking has lapsed

    with Watch() as watch:
        history = client.get("/api/reservations/me?when=upcoming")
        everything = client.get("/api/reservations/me")
        page = client.get("/reservations/")
        export = client.get("/accounts/data/holdfast-data.json")

    assert history.status_code == everything.status_code == page.status_code == export.status_code == 200
    assert len(history.json()["items"]) == len(everything.json()["items"]) == 1
    assert len(export.json()["reservations"]) == 1
    assert watch.on("replica") and not watch.on("default")
    assert watch.on("replica", "account_emailaddress")  # the export's e-mail addresses too


def test_the_staff_csv_export_reads_the_replica(client, replica, meeting_rooms, guest, staff):
    client.force_login(guest)
    assert book(client, meeting_rooms).status_code == 201
    desk = Client()
    desk.force_login(staff)

    with Watch() as watch:
        export = desk.get("/admin/reservations/reservation/export.csv")
        csv = b"".join(export.streaming_content).decode()

    assert export.status_code == 200 and len(csv.strip().splitlines()) == 2  # the header and the booking
    rows = 'SELECT "reservations_reservation"."id"'  # the rows themselves (the changelist counts on the primary)
    assert [sql for sql in watch.on("replica") if rows in sql]
    assert not [sql for sql in watch.on("default") if rows in sql]


def test_availability_and_booking_stay_on_the_primary(client, replica, meeting_rooms, guest):
    client.force_login(guest)
    day = next_weekday(meeting_rooms, 1)

    with Watch() as watch:
        free = client.get(f"/api/availability/{day.isoformat()}?venue={meeting_rooms.slug}&party_size=2")
        booked = book(client, meeting_rooms)
        taken = book(client, meeting_rooms)

    assert free.status_code == 200 and booked.status_code == 201 and taken.status_code == 409
    assert watch.on("default") and not watch.on("replica")
    assert not watch.on("replica", "spaces_space")


def test_a_read_inside_a_transaction_is_on_the_primary(replica, guest):
    with transaction.atomic():
        assert lag_tolerant(guest_id=guest.pk) == "default"
    assert lag_tolerant(guest_id=guest.pk) == "replica"


def test_a_guest_who_has_just_booked_reads_the_primary_until_the_pin_lapses(client, replica, meeting_rooms, guest):
    client.force_login(guest)

    booked = book(client, meeting_rooms)
    with Watch() as pinned:
        upcoming = client.get("/api/reservations/me?when=upcoming")
    cache.clear()  # HOLDFAST_REPLICA_PIN_SECONDS later
    with Watch() as lapsed:
        client.get("/api/reservations/me?when=upcoming")

    assert booked.status_code == 201
    assert [item["reference"] for item in upcoming.json()["items"]] == [booked.json()["reference"]]
    assert pinned.on("default") and not pinned.on("replica")
    assert lapsed.on("replica") and not lapsed.on("default")


def test_a_cancellation_pins_the_guest_and_a_refused_booking_does_not(client, replica, meeting_rooms, guest):
    client.force_login(guest)
    booked = book(client, meeting_rooms).json()
    cache.clear()

    assert book(client, meeting_rooms).status_code == 409  # refused: nothing changed, nothing pinned
    assert lag_tolerant(guest_id=guest.pk) == "replica"

    cancelled = client.delete(f"/api/reservations/{booked['reference']}")
    assert cancelled.status_code == 200
    assert Reservation.objects.get(reference=booked["reference"]).status == Reservation.Status.CANCELLED
    assert lag_tolerant(guest_id=guest.pk) == "default"
