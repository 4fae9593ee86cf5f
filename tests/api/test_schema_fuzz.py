"""Schemathesis fuzzes every operation in /api/openapi.json, as a logged-in guest, with venues, spaces
and bookings in the database: no answer may be a 5xx, and every answer must match the schema.

Random ids, slugs and references would almost never name a real venue, space or booking, so hooks mix
real ones (and bookable times) into what Hypothesis generates: the fuzz reaches the services too.
Bounded and reproducible: a fixed number of examples per operation, derandomized, no example
database. Requests go through Django's WSGI handler in this process, inside the test's transaction.
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from reservations.services import reservation_book
from tests.reservations.conftest import at, next_weekday

from .conftest import session_token

EXAMPLES_PER_OPERATION = 50

# Loaded once, at collection, from the app's own /api/openapi.json (building it needs no database).
schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", get_wsgi_application(), config=schemathesis.Config.from_dict({"seed": 20261124})
)

# What exists in this test's database, for the hooks below; filled by the `known` fixture.
KNOWN: dict[str, list] = {}


def _real(key: str) -> st.SearchStrategy:
    return st.sampled_from(KNOWN[key]) if KNOWN.get(key) else st.nothing()


def _sometimes(value, *, add: bool = False, **replacements: st.SearchStrategy) -> st.SearchStrategy:
    """`value` as generated, or with some of its keys swapped for real ones (also missing keys, if `add`)."""
    if not isinstance(value, dict):
        return st.just(value)
    replacements = {key: strategy for key, strategy in replacements.items() if add or key in value}
    swapped = st.fixed_dictionaries({}, optional=replacements).map(lambda real: {**value, **real})
    return st.one_of(st.just(value), swapped)


def _bookable(body) -> st.SearchStrategy:
    """A generated booking, or one aimed at a real space or venue at a bookable time with a small party,
    keeping the generated notes and category: the schema cannot say "a space or a venue, not both"."""
    if not isinstance(body, dict):
        return st.just(body)
    rest = {key: value for key, value in body.items() if key not in ("space", "venue", "ends_at")}
    aimed = st.tuples(_real("requests"), st.integers(1, 4)).map(
        lambda parts: {**rest, **parts[0], "party_size": parts[1]}
    )
    return st.one_of(st.just(body), aimed)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return _sometimes(
        path_parameters,
        reference=_real("references"),
        slug=_real("slugs"),
        user_id=_real("user_ids"),
        date=_real("dates"),
    )


@schema.hook
def flatmap_query(context, query):
    generated = _sometimes(query, venue=_real("slugs"), category=_real("categories"), party_size=st.integers(1, 6))
    if not isinstance(query, dict) or "venue" not in query:
        return generated
    # Availability with the venue's own duration or number of nights (left out), as an app asks.
    rest = {key: value for key, value in query.items() if key not in ("duration", "nights", "category")}
    aimed = st.fixed_dictionaries({"venue": _real("slugs"), "party_size": st.integers(1, 6)})
    return st.one_of(generated, aimed.map(lambda real: {**rest, **real}))


@schema.hook
def flatmap_body(context, body):
    if context.operation.method.upper() == "POST":
        return _bookable(body)
    # A change: the generated one, some of its values swapped for real ones, or a plain move of the
    # guest's Booth booking to another free time with a small party.
    changed = _sometimes(
        body, space=_real("space_ids"), starts_at=_real("starts"), ends_at=_real("ends"), party_size=st.integers(1, 6)
    )
    moved = st.fixed_dictionaries({"party_size": st.integers(1, 4)}, optional={"starts_at": _real("booth_starts")})
    return st.one_of(changed, moved)


def iso(venue, day, clock: str) -> str:
    return at(venue, day, clock).isoformat()


@contextmanager
def requests_in_the_test_transaction():
    """Django closes a connection that is not in autocommit mode when a request ends, which would end
    the test's transaction after the first request. Its test client unhooks that handler around each
    request (and hooks it back); so do we, around the WSGI calls schemathesis makes."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def known(restaurant, hotel, meeting_rooms, guest, other_guest):
    booth = meeting_rooms.spaces.get(name="Booth")
    day = next_weekday(meeting_rooms, 1)
    mine = reservation_book(guest=guest, space=booth, starts_at=at(meeting_rooms, day, "10:00"), party_size=2)
    theirs = reservation_book(guest=other_guest, space=booth, starts_at=at(meeting_rooms, day, "12:00"), party_size=2)
    tuesday, thursday = next_weekday(restaurant, 1), next_weekday(hotel, 3)
    requests = [{"space": booth.pk, "starts_at": iso(meeting_rooms, day, clock)} for clock in ("09:00", "14:00")]
    requests += [
        {"venue": restaurant.slug, "starts_at": iso(restaurant, tuesday, clock)} for clock in ("12:00", "19:30")
    ]
    stay = {"starts_at": iso(hotel, thursday, "15:00"), "ends_at": iso(hotel, thursday + timedelta(days=2), "11:00")}
    requests += [{"venue": hotel.slug, **stay}]
    KNOWN.update(
        references=[mine.reference, theirs.reference],
        slugs=[restaurant.slug, hotel.slug, meeting_rooms.slug],
        user_ids=[guest.pk, other_guest.pk],
        space_ids=[space.pk for venue in (restaurant, hotel, meeting_rooms) for space in venue.spaces.all()],
        categories=["Terrace", "Double"],
        dates=[str(day), str(tuesday), str(thursday)],
        requests=requests,
        starts=[request["starts_at"] for request in requests],
        booth_starts=[request["starts_at"] for request in requests if request.get("space") == booth.pk],
        ends=[request["ends_at"] for request in requests if "ends_at" in request],
    )
    yield KNOWN
    KNOWN.clear()


@pytest.fixture
def auth_headers(guest, settings):
    # Rate limits are tested elsewhere; here they would only turn the later examples into 429s.
    settings.HOLDFAST_RATE_LIMITS = {**getattr(settings, "HOLDFAST_RATE_LIMITS", {}), "api": "", "hold": ""}
    return {"X-Session-Token": session_token(guest)}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_without_server_errors_and_as_documented(case, known, auth_headers):
    with requests_in_the_test_transaction():
        case.call_and_validate(headers=auth_headers, checks=[not_a_server_error, response_schema_conformance])
