"""Spaces sold by the seat in the admin: a venue's managers tick “sold by seat” on the venue's page
and set the space's sessions on its own page; hosts do neither. Bad input comes back as a message."""

from datetime import time

import pytest
from django.urls import reverse

from spaces.models import Session, VenueRole
from tests.spaces.factories import SpaceFactory, VenueFactory
from tests.spaces.test_admin_capacity import add_row, errors_of, form_fields, member, page_data, page_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def venue():
    return VenueFactory(name="Foundry Test", time_zone="America/New_York")


@pytest.fixture
def pasta(venue):
    return SpaceFactory(venue=venue, name="Pasta class", capacity=12, category="Class", sold_by_seat=True)


@pytest.fixture
def manager(venue):
    return member(venue, VenueRole.Role.MANAGER, "manager@example.com")


@pytest.fixture
def host(venue):
    return member(venue, VenueRole.Role.HOST, "host@example.com")


def space_url(space) -> str:
    return reverse("admin:spaces_space_change", args=[space.pk])


def space_data(client, space) -> dict:
    """The space's page as the browser would post it back unchanged."""
    response = client.get(space_url(space))
    assert response.status_code == 200
    data = form_fields(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data |= form_fields(inline.formset.management_form)
        for form in inline.formset.forms:
            data |= form_fields(form)
    return data


SATURDAY_CLASS = {"weekday": "5", "date": "", "starts_at": "10:00", "minutes": "180", "seats": "12"}


def test_a_manager_marks_a_space_sold_by_the_seat_on_the_venues_page(manager, venue):
    space = SpaceFactory(venue=venue, name="Tasting", capacity=10)
    data = page_data(manager, venue)
    index = next(key for key, value in data.items() if key.endswith("-name") and value == "Tasting").split("-")[1]
    data[f"spaces-{index}-sold_by_seat"] = "on"

    response = manager.post(page_url(venue), data)

    assert response.status_code == 302, errors_of(response)
    space.refresh_from_db()
    assert space.sold_by_seat


def test_a_manager_adds_a_session_on_the_spaces_page(manager, pasta):
    data = add_row(space_data(manager, pasta), "sessions", **SATURDAY_CLASS)

    response = manager.post(space_url(pasta), data)

    assert response.status_code == 302, errors_of(response)
    session = pasta.sessions.get()
    assert (session.weekday, session.date, session.starts_at, session.minutes, session.seats) == (
        5,
        None,
        time(10),
        180,
        12,
    )


def test_a_host_neither_sees_nor_changes_the_sessions(manager, host, pasta):
    data = add_row(space_data(manager, pasta), "sessions", **SATURDAY_CLASS)

    assert host.get(space_url(pasta)).status_code == 403
    assert host.post(space_url(pasta), data).status_code == 403
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"weekday": "5", "date": "2031-05-03"}, "sessions-weekday", "not both"),
        ({"weekday": "", "date": ""}, "sessions-weekday", "Give a weekday"),
        ({"seats": "0"}, "sessions-seats", "greater than or equal to 1"),
        ({"minutes": "0"}, "sessions-minutes", "greater than or equal to 5"),
    ],
)
def test_a_bad_session_comes_back_with_a_message_next_to_its_field(manager, pasta, values, field, words):
    data = add_row(space_data(manager, pasta), "sessions", **(SATURDAY_CLASS | values))

    errors = errors_of(manager.post(space_url(pasta), data))

    assert any(words in message for message in errors[field]), errors
    assert not Session.objects.exists()


def test_only_a_space_sold_by_the_seat_has_sessions(manager, venue):
    room = SpaceFactory(venue=venue, name="Studio", capacity=4)
    data = add_row(space_data(manager, room), "sessions", **SATURDAY_CLASS)

    errors = errors_of(manager.post(space_url(room), data))

    assert "sold by the seat" in errors["sessions-__all__"][0], errors
    assert not Session.objects.exists()


def test_unticking_sold_by_the_seat_asks_to_delete_the_sessions_too(manager, pasta):
    Session.objects.create(space=pasta, weekday=5, starts_at=time(10), minutes=180, seats=12)
    data = space_data(manager, pasta)
    del data["sold_by_seat"]

    errors = errors_of(manager.post(space_url(pasta), data))
    assert "sold by the seat" in errors["sessions-__all__"][0], errors

    data["sessions-0-DELETE"] = "on"
    response = manager.post(space_url(pasta), data)
    assert response.status_code == 302, errors_of(response)
    pasta.refresh_from_db()
    assert not pasta.sold_by_seat and not pasta.sessions.exists()
