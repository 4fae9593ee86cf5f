"""The capacity rules in the admin (docs/capacity.md): a venue's managers set its shifts, turn times,
pacing rules, combined tables, buffers, online maximum and seasonal closures on the venue's page;
hosts see none of it. Every bad input comes back as a message next to its field."""

from datetime import UTC, datetime, time
from io import StringIO

import pytest
from django import forms
from django.contrib import admin
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.models import User
from spaces.models import Closure, Combination, PacingRule, Shift, Space, TurnTime, Venue, VenueRole
from tests.reservations.conftest import make_user, with_authenticator
from tests.spaces.factories import ClosureFactory, SpaceFactory, VenueFactory

pytestmark = pytest.mark.django_db
CAPACITY_PREFIXES = ["combinations", "shifts", "turn_times", "pacing_rules", "closures"]


@pytest.fixture
def venue():
    venue = VenueFactory(name="Trattoria Test", time_zone="Europe/Berlin")
    for name, capacity, area in [
        ("Table 1", 2, "Dining room"),
        ("Table 2", 4, "Dining room"),
        ("Table 3", 4, "Dining room"),
        ("Table 4", 6, "Terrace"),
    ]:
        SpaceFactory(venue=venue, name=name, capacity=capacity, category=area)
    return venue


@pytest.fixture
def elsewhere():
    """Another venue with a table and a shift of its own, which venue's page must never offer."""
    other = VenueFactory(name="Elsewhere")
    SpaceFactory(venue=other, name="Far table", capacity=10, category="Garden")
    Shift.objects.create(venue=other, name="Brunch", starts_at=time(10), ends_at=time(14))
    return other


def member(venue, role, email) -> Client:
    user = with_authenticator(make_user(email, is_staff=True))
    VenueRole.objects.create(venue=venue, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(venue):
    return member(venue, VenueRole.Role.MANAGER, "manager@example.com")


@pytest.fixture
def host(venue):
    return member(venue, VenueRole.Role.HOST, "host@example.com")


def page_url(venue) -> str:
    return reverse("admin:spaces_venue_change", args=[venue.pk])


def form_fields(form) -> dict:
    """What the browser would send back for `form` as drawn (times in the active zone)."""
    data = {}
    for bound in form:
        widget = getattr(bound.field.widget, "widget", bound.field.widget)  # inside a related-widget wrapper
        value = bound.value()
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)
    return data


def page_data(client, venue) -> dict:
    """The venue's page as a manager's browser would post it back unchanged."""
    response = client.get(page_url(venue))
    assert response.status_code == 200
    with timezone.override(venue.zone):  # the page is drawn in the venue's zone
        data = form_fields(response.context["adminform"].form)
        for inline in response.context["inline_admin_formsets"]:
            data |= form_fields(inline.formset.management_form)
            for form in inline.formset.forms:
                data |= form_fields(form)
    return data


def add_row(data: dict, prefix: str, **values) -> dict:
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data = data | {f"{prefix}-{index}-{name}": value for name, value in values.items()}
    return data | {f"{prefix}-TOTAL_FORMS": str(index + 1)}


def errors_of(response) -> dict:
    """The page's errors by field (inline fields as prefix-field), and each formset's own."""
    assert response.status_code == 200, "expected the page again, with errors"
    errors = {field: list(messages) for field, messages in response.context["adminform"].form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for form in formset.forms:
            errors |= {f"{formset.prefix}-{field}": list(messages) for field, messages in form.errors.items()}
        if formset.non_form_errors():
            errors[formset.prefix] = list(formset.non_form_errors())
    return errors


def formset_of(response, prefix):
    return next(i.formset for i in response.context["inline_admin_formsets"] if i.formset.prefix == prefix)


def inline_form(response, prefix):
    return formset_of(response, prefix).empty_form


def table_ids(venue, *names) -> list[str]:
    return [str(venue.spaces.get(name=name).pk) for name in names]


# --- What a manager sees and sets -----------------------------------------------------------------------


def test_the_venue_page_offers_only_this_venues_tables_shifts_and_areas(manager, venue, elsewhere):
    dinner = Shift.objects.create(venue=venue, name="Dinner", starts_at=time(18), ends_at=time(23))

    response = manager.get(page_url(venue))

    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert set(CAPACITY_PREFIXES) <= set(prefixes)
    assert list(inline_form(response, "combinations").fields["spaces"].queryset) == list(venue.spaces.all())
    for prefix in ("turn_times", "pacing_rules"):
        assert list(inline_form(response, prefix).fields["shift"].queryset) == [dinner], prefix
    for prefix in ("closures", "pacing_rules"):
        offered = [value for value, _ in inline_form(response, prefix).fields["area"].choices]
        assert offered == ["", "Dining room", "Terrace"], prefix
    text = response.content.decode()
    assert 'name="buffer_minutes"' in text and 'name="max_online_party_size"' in text
    assert 'name="spaces-0-buffer_minutes"' in text
    assert "Far table" not in text and "Brunch" not in text


def test_a_manager_sets_the_capacity_rules_on_the_venues_page(manager, venue):
    Shift.objects.create(venue=venue, name="Lunch", starts_at=time(12), ends_at=time(15))
    data = page_data(manager, venue) | {"buffer_minutes": "15", "max_online_party_size": "14"}
    data["spaces-3-buffer_minutes"] = "30"  # Table 4, on the terrace
    data = add_row(data, "shifts", name="Dinner", starts_at="18:00", ends_at="01:00", weekdays=["5", "4"])
    lunch = str(venue.shifts.get(name="Lunch").pk)
    data = add_row(data, "turn_times", shift="", min_party_size="1", max_party_size="2", minutes="90")
    data = add_row(data, "turn_times", shift=lunch, min_party_size="3", max_party_size="4", minutes="75")
    data = add_row(data, "pacing_rules", shift=lunch, area="Terrace", interval_minutes="15", max_covers="12")
    data = add_row(
        data,
        "combinations",
        name="2 + 3",
        spaces=table_ids(venue, "Table 2", "Table 3"),
        min_party_size="5",
        max_party_size="8",
        is_active="on",
    )
    data = add_row(
        data,
        "closures",
        area="Terrace",
        starts_at_0="2030-11-01",
        starts_at_1="00:00",
        ends_at_0="2031-04-01",
        ends_at_1="00:00",
        repeats_yearly="on",
        reason="winter",
    )

    response = manager.post(page_url(venue), data)

    assert response.status_code == 302, errors_of(response)
    venue.refresh_from_db()
    assert (venue.buffer_minutes, venue.max_online_party_size) == (15, 14)
    assert venue.spaces.get(name="Table 4").buffer_minutes == 30
    assert venue.spaces.get(name="Table 1").buffer_minutes is None  # the venue's
    dinner = venue.shifts.get(name="Dinner")
    assert (dinner.starts_at, dinner.ends_at, dinner.weekdays, dinner.ends_next_day) == (
        time(18),
        time(1),
        [4, 5],
        True,
    )
    turn_times = venue.turn_times.order_by("min_party_size")
    assert list(turn_times.values_list("shift__name", "min_party_size", "max_party_size", "minutes")) == [
        (None, 1, 2, 90),
        ("Lunch", 3, 4, 75),
    ]
    pacing = venue.pacing_rules.get()
    assert (pacing.shift.name, pacing.area, pacing.max_covers, pacing.max_parties) == ("Lunch", "Terrace", 12, None)
    combination = venue.combinations.get()
    assert sorted(combination.spaces.values_list("name", flat=True)) == ["Table 2", "Table 3"]
    assert (combination.name, combination.min_party_size, combination.max_party_size) == ("2 + 3", 5, 8)
    closure = venue.closures.get()
    assert (closure.space, closure.area, closure.repeats_yearly, closure.reason) == (None, "Terrace", True, "winter")
    # Typed as Berlin's wall time: midnight in Berlin is 23:00 UTC in winter, 22:00 in summer.
    assert closure.starts_at.astimezone(UTC) == datetime(2030, 10, 31, 23, tzinfo=UTC)
    assert closure.ends_at.astimezone(UTC) == datetime(2031, 3, 31, 22, tzinfo=UTC)


def test_the_page_saved_unchanged_keeps_every_rule(manager, venue):
    lunch = Shift.objects.create(venue=venue, name="Lunch", starts_at=time(12), ends_at=time(15), weekdays=[1, 2])
    TurnTime.objects.create(venue=venue, shift=lunch, min_party_size=1, max_party_size=2, minutes=90)
    PacingRule.objects.create(venue=venue, shift=lunch, area="Terrace", max_parties=3)
    combination = Combination.objects.create(venue=venue, name="2 + 3", min_party_size=5, max_party_size=8)
    combination.spaces.set(venue.spaces.filter(name__in=["Table 2", "Table 3"]))
    ClosureFactory(venue=venue, area="Patio", repeats_yearly=True)  # no space is on a "Patio" any more

    response = manager.post(page_url(venue), page_data(manager, venue))

    assert response.status_code == 302, errors_of(response)
    assert Shift.objects.get(pk=lunch.pk).weekdays == [1, 2]
    assert sorted(combination.spaces.values_list("name", flat=True)) == ["Table 2", "Table 3"]
    assert PacingRule.objects.get().area == "Terrace"
    assert Closure.objects.get().area == "Patio"  # kept as it was: not a new choice


# --- Bad input: a message next to the field -------------------------------------------------------------


def post_row(client, venue, prefix, **values):
    return client.post(page_url(venue), add_row(page_data(client, venue), prefix, **values))


@pytest.mark.parametrize(
    ("tables", "seats", "expected"),
    [
        (["Table 2"], ("5", "8"), {"combinations-spaces": ["Choose at least two tables to push together."]}),
        (
            ["Table 2", "Table 3"],
            ("5", "9"),
            {
                "combinations-max_party_size": [
                    "Table 2 + Table 3 seat 8 guests together; “to guests” can be at most 8."
                ]
            },
        ),
        (
            ["Table 2", "Table 3"],
            ("8", "6"),
            {"combinations-max_party_size": ["“To guests” must be at least “from guests”."]},
        ),
        ([], ("5", "8"), {"combinations-spaces": ["This field is required."]}),
    ],
)
def test_a_combination_needs_two_tables_and_seats_no_more_than_they_do(manager, venue, tables, seats, expected):
    low, high = seats
    response = post_row(
        manager,
        venue,
        "combinations",
        spaces=table_ids(venue, *tables),
        min_party_size=low,
        max_party_size=high,
        is_active="on",
    )

    assert errors_of(response) == expected
    assert not Combination.objects.exists()


def test_a_combination_cannot_take_another_venues_table(manager, venue, elsewhere):
    far = str(elsewhere.spaces.get().pk)
    response = post_row(
        manager,
        venue,
        "combinations",
        spaces=[*table_ids(venue, "Table 2"), far],
        min_party_size="5",
        max_party_size="8",
    )

    assert errors_of(response) == {
        "combinations-spaces": [f"Select a valid choice. {far} is not one of the available choices."]
    }
    assert not Combination.objects.exists()


def test_a_turn_time_cannot_name_another_venues_shift_or_leave_the_slot_grid(manager, venue, elsewhere):
    brunch = str(elsewhere.shifts.get().pk)
    data = page_data(manager, venue)
    data = add_row(data, "turn_times", shift=brunch, min_party_size="1", max_party_size="2", minutes="90")
    data = add_row(data, "turn_times", shift="", min_party_size="3", max_party_size="4", minutes="100")
    data = add_row(data, "turn_times", shift="", min_party_size="6", max_party_size="5", minutes="120")

    response = manager.post(page_url(venue), data)

    assert [dict(form.errors) for form in formset_of(response, "turn_times").forms] == [
        {"shift": ["Select a valid choice. That choice is not one of the available choices."]},
        {"minutes": ["100 minutes is not a multiple of the 15-minute slot interval."]},
        {"max_party_size": ["“To guests” must be at least “from guests”."]},
    ]
    assert not TurnTime.objects.exists()


def test_a_pacing_rule_needs_a_limit_and_an_area_of_the_venue(manager, venue):
    data = page_data(manager, venue)
    data = add_row(data, "pacing_rules", shift="", area="", interval_minutes="30", max_covers="", max_parties="")
    data = add_row(data, "pacing_rules", shift="", area="Garden", interval_minutes="15", max_covers="10")

    response = manager.post(page_url(venue), data)

    assert [dict(form.errors) for form in formset_of(response, "pacing_rules").forms] == [
        {"max_covers": ["Give a limit on guests, on parties, or both."]},
        {"area": ["Select a valid choice. Garden is not one of the available choices."]},
    ]
    assert not PacingRule.objects.exists()


def test_a_shift_needs_a_name_unique_at_the_venue(manager, venue):
    Shift.objects.create(venue=venue, name="Dinner", starts_at=time(18), ends_at=time(23))
    response = post_row(manager, venue, "shifts", name="Dinner", starts_at="19:00", ends_at="22:00")

    assert errors_of(response) == {
        "shifts-__all__": ["Please correct the duplicate values below."],
        "shifts": ["Please correct the duplicate data for name."],
    }
    assert Shift.objects.count() == 1


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"area": "Garden"}, {"closures-area": ["Select a valid choice. Garden is not one of the available choices."]}),
        ({"area": "Terrace", "space": "TABLE"}, {"closures-area": ["Close either one space or an area, not both."]}),
        (
            {"area": "Terrace", "repeats_yearly": "on", "ends_at_0": "2032-01-01"},
            {"closures-ends_at": ["A closure that repeats every year lasts less than a year."]},
        ),
    ],
)
def test_a_closure_of_an_area_names_one_of_the_venues_categories(manager, venue, values, expected):
    if values.get("space") == "TABLE":
        values = values | {"space": table_ids(venue, "Table 4")[0]}
    row = {
        "starts_at_0": "2030-11-01",
        "starts_at_1": "00:00",
        "ends_at_0": "2031-04-01",
        "ends_at_1": "00:00",
        "reason": "winter",
    }
    response = post_row(manager, venue, "closures", **(row | values))

    assert errors_of(response) == expected
    assert not Closure.objects.exists()


def test_the_closure_admin_checks_an_area_typed_by_hand(manager, venue):
    form = {
        "venue": str(venue.pk),
        "space": "",
        "area": "Garden",
        "starts_at_0": "2030-11-01",
        "starts_at_1": "00:00",
        "ends_at_0": "2031-04-01",
        "ends_at_1": "00:00",
        "repeats_yearly": "on",
        "reason": "winter",
    }
    url = reverse("admin:spaces_closure_add")

    refused = manager.post(url, form)
    saved = manager.post(url, form | {"area": "Terrace"})

    assert refused.context["adminform"].form.errors == {
        "area": ["No space of Trattoria Test has the category “Garden”; its categories are “Dining room”, “Terrace”."]
    }
    assert saved.status_code == 302
    closure = Closure.objects.get()
    assert (closure.area, closure.repeats_yearly) == ("Terrace", True)
    assert closure.starts_at.astimezone(UTC) == datetime(2030, 10, 31, 23, tzinfo=UTC)
    page = manager.get(reverse("admin:spaces_closure_change", args=[closure.pk])).content.decode()
    assert "Categories: “Dining room”, “Terrace”." in page


def test_a_manager_sets_a_spaces_own_buffer_in_the_space_admin(manager, venue):
    table = venue.spaces.get(name="Table 1")
    url = reverse("admin:spaces_space_change", args=[table.pk])
    form = {"venue": str(venue.pk), "name": "Table 1", "category": "Dining room", "capacity": "2"}
    form |= {"min_party_size": "1", "price": "0", "price_per": "booking", "is_active": "on", "buffer_minutes": "20"}
    form |= {"description": ""}
    form |= {"sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0"}  # the page's (empty) sessions
    form |= {"calendar_feeds-TOTAL_FORMS": "0", "calendar_feeds-INITIAL_FORMS": "0"}  # and channel feeds

    response = manager.post(url, form)

    assert response.status_code == 302
    assert Space.objects.get(pk=table.pk).buffer_minutes == 20


# --- Hosts, and managers of other venues, see none of it ---------------------------------------------------


def test_a_host_neither_sees_nor_changes_the_capacity_rules(manager, host, venue):
    Shift.objects.create(venue=venue, name="Dinner", starts_at=time(18), ends_at=time(23))
    data = add_row(page_data(manager, venue), "shifts", name="Lunch", starts_at="12:00", ends_at="15:00")
    data = add_row(data, "turn_times", shift="", min_party_size="1", max_party_size="2", minutes="90")
    data |= {"buffer_minutes": "30", "max_online_party_size": "4"}

    assert host.get(page_url(venue)).status_code == 403
    assert host.post(page_url(venue), data).status_code == 403
    closure = {"venue": str(venue.pk), "area": "Terrace", "repeats_yearly": "on", "reason": "winter"}
    closure |= {"starts_at_0": "2030-11-01", "starts_at_1": "00:00", "ends_at_0": "2031-04-01", "ends_at_1": "00:00"}
    assert host.post(reverse("admin:spaces_closure_add"), closure).status_code == 403
    assert not Closure.objects.exists()

    assert list(Shift.objects.values_list("name", flat=True)) == ["Dinner"]
    assert not TurnTime.objects.exists()
    venue.refresh_from_db()
    assert (venue.buffer_minutes, venue.max_online_party_size) == (0, None)
    index = host.get(reverse("admin:index"))
    sections = [model["object_name"] for app in index.context["app_list"] for model in app["models"]]
    assert not {"Venue", "Space", "Closure"} & set(sections)


@pytest.mark.parametrize("role", ["host", "manager"])
def test_the_capacity_inlines_are_for_managers_of_the_venue_only(venue, role):
    user = with_authenticator(make_user(f"{role}@example.com", is_staff=True))
    VenueRole.objects.create(venue=venue, user=user, role=role)
    request = RequestFactory().get(page_url(venue))
    request.user, request.resolver_match = user, resolve(page_url(venue))

    inlines = admin.site._registry[Venue].get_inline_instances(request, venue)

    prefixes = {inline.model._meta.model_name for inline in inlines}
    if role == "manager":
        assert {"shift", "turntime", "pacingrule", "combination", "closure"} <= prefixes
    else:
        assert prefixes == set()


def test_a_manager_of_another_venue_cannot_change_this_ones_rules(manager, venue, elsewhere):
    other_manager = member(elsewhere, VenueRole.Role.MANAGER, "other.manager@example.com")
    data = add_row(page_data(manager, venue), "shifts", name="Lunch", starts_at="12:00", ends_at="15:00")

    response = other_manager.post(page_url(venue), data)

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert not Shift.objects.filter(venue=venue).exists()


def test_a_row_may_not_name_a_shift_or_table_deleted_on_the_same_page(manager, venue):
    lunch = Shift.objects.create(venue=venue, name="Lunch", starts_at=time(12), ends_at=time(15))
    TurnTime.objects.create(venue=venue, shift=lunch, min_party_size=1, max_party_size=2, minutes=90)
    data = page_data(manager, venue) | {"shifts-0-DELETE": "on", "turn_times-0-minutes": "120"}
    data |= {"spaces-1-DELETE": "on"}  # Table 2
    data = add_row(data, "combinations", spaces=table_ids(venue, "Table 2", "Table 3"), min_party_size="5")
    data |= {"combinations-0-max_party_size": "8"}

    response = manager.post(page_url(venue), data)

    assert errors_of(response) == {
        "turn_times-shift": ["“Lunch” is deleted on this page: delete this row too, or keep it."],
        "combinations-spaces": ["“Table 2” is deleted on this page: delete this row too, or keep it."],
    }
    assert venue.shifts.exists() and venue.spaces.filter(name="Table 2").exists()
    assert TurnTime.objects.get().minutes == 90


def test_deleting_a_shift_with_its_turn_times_is_fine(manager, venue):
    lunch = Shift.objects.create(venue=venue, name="Lunch", starts_at=time(12), ends_at=time(15))
    TurnTime.objects.create(venue=venue, shift=lunch, min_party_size=1, max_party_size=2, minutes=90)
    data = page_data(manager, venue) | {"shifts-0-DELETE": "on", "turn_times-0-DELETE": "on"}

    response = manager.post(page_url(venue), data)

    assert response.status_code == 302, errors_of(response)
    assert not Shift.objects.exists() and not TurnTime.objects.exists()


def test_the_demo_restaurants_page_saves_back_unchanged_and_its_host_is_refused():
    call_command("seed_demo", stdout=StringIO())
    venue = Venue.objects.get(slug="trattoria-aurora")

    def rules():
        return (
            list(venue.shifts.values_list("name", "starts_at", "ends_at", "weekdays")),
            list(venue.turn_times.values_list("min_party_size", "max_party_size", "minutes")),
            list(venue.pacing_rules.values_list("shift__name", "area", "interval_minutes", "max_covers")),
            [(c.name, sorted(c.spaces.values_list("name", flat=True))) for c in venue.combinations.all()],
            list(venue.closures.values_list("area", "starts_at", "ends_at", "repeats_yearly", "reason")),
            Venue.objects.values_list("buffer_minutes", "max_online_party_size").get(pk=venue.pk),
        )

    before = rules()
    manager, host = Client(), Client()
    manager.force_login(User.objects.get(email="manager@holdfast.local"))
    host.force_login(User.objects.get(email="host@holdfast.local"))

    response = manager.post(page_url(venue), page_data(manager, venue))

    assert response.status_code == 302, errors_of(response)
    assert rules() == before
    assert host.get(page_url(venue)).status_code == 403
