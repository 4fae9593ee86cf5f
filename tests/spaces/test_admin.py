from datetime import time

import pytest
from django.urls import reverse

from accounts.models import User
from spaces.models import Closure, OpeningHours, Space, Venue
from tests.spaces.factories import ClosureFactory, OpeningHoursFactory, SpaceFactory, VenueFactory

pytestmark = pytest.mark.django_db

INLINE_PREFIXES = [
    "spaces",
    "combinations",
    "opening_hours",
    "shifts",
    "turn_times",
    "pacing_rules",
    "closures",
    "roles",
]


@pytest.fixture
def venue_with_children():
    venue = VenueFactory(name="Trattoria Test")
    space = SpaceFactory(venue=venue, name="Table 1")
    OpeningHoursFactory(venue=venue)
    ClosureFactory(venue=venue, space=space)
    return venue


def admin_urls(venue):
    space = venue.spaces.get()
    closure = venue.closures.get()
    user = User.objects.get(email="boss@example.com")
    return [
        reverse("admin:index"),
        reverse("admin:spaces_venue_changelist"),
        reverse("admin:spaces_venue_changelist") + "?q=Trattoria&kind__exact=restaurant",
        reverse("admin:spaces_venue_add"),
        reverse("admin:spaces_venue_change", args=[venue.pk]),
        reverse("admin:spaces_space_changelist"),
        reverse("admin:spaces_space_changelist") + "?q=Table",
        reverse("admin:spaces_space_add"),
        reverse("admin:spaces_space_change", args=[space.pk]),
        reverse("admin:spaces_closure_changelist"),
        reverse("admin:spaces_closure_add"),
        reverse("admin:spaces_closure_change", args=[closure.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_changelist") + "?q=boss",
        reverse("admin:accounts_user_add"),
        reverse("admin:accounts_user_change", args=[user.pk]),
    ]


def test_staff_sees_every_admin_page(staff_client, venue_with_children):
    for url in admin_urls(venue_with_children):
        assert staff_client.get(url).status_code == 200, url


def test_venue_change_page_shows_spaces_hours_and_closures_inline(staff_client, venue_with_children):
    response = staff_client.get(reverse("admin:spaces_venue_change", args=[venue_with_children.pk]))
    prefixes = [inline.formset.prefix for inline in response.context["inline_admin_formsets"]]
    assert prefixes == INLINE_PREFIXES
    assert [len(inline.formset.forms) for inline in response.context["inline_admin_formsets"]] == [
        1,
        0,
        1,
        0,
        0,
        0,
        1,
        0,
    ]


def test_venue_changelist_counts_spaces(staff_client, venue_with_children):
    SpaceFactory(venue=venue_with_children, name="Table 2")
    response = staff_client.get(reverse("admin:spaces_venue_changelist"))
    [venue] = response.context["cl"].result_list
    assert venue.space_count == 2


def test_guest_is_refused_every_admin_page(guest_client, staff_user, venue_with_children):
    for url in admin_urls(venue_with_children):
        response = guest_client.get(url, follow=True)
        assert response.status_code == 403, url


def test_anonymous_visitor_is_sent_to_the_allauth_log_in(client, staff_user, venue_with_children):
    for url in admin_urls(venue_with_children):
        response = client.get(url, follow=True)
        final_url, _ = response.redirect_chain[-1]
        assert final_url.startswith(reverse("account_login") + "?next="), url


def test_admin_log_in_page_redirects_to_allauth_log_in(client):
    response = client.get(reverse("admin:login") + "?next=/admin/spaces/venue/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=%2Fadmin%2Fspaces%2Fvenue%2F"


def venue_form_data(**overrides):
    data = {
        "name": "Nuova",
        "slug": "nuova",
        "kind": "restaurant",
        "time_zone": "Europe/Rome",
        "is_active": "on",
        "currency": "EUR",
        "language": "en-gb",
        "translations": "",  # cleared: no other language
        "booking_mode": "slots",
        "assignment": "venue_assigns",
        "slot_interval_minutes": "15",
        "default_duration_minutes": "90",
        "allowed_durations": "",
        "check_in_time": "15:00",
        "check_out_time": "11:00",
        "min_lead_minutes": "60",
        "max_advance_days": "90",
        "cancellation_cutoff_hours": "24",
        "modification_cutoff_hours": "24",
        "hold_minutes": "10",
        "reminder_lead_hours": "24",
        "buffer_minutes": "0",
        "max_online_party_size": "",
        "waitlist": "on",
        "waitlist_offer_minutes": "30",
    }
    for prefix in INLINE_PREFIXES:
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0"}
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    return data | overrides


def form_errors(response) -> dict:
    """The errors of the admin page's main form and of each inline form, by field."""
    assert response.status_code == 200, "expected the form again, with errors"
    errors = dict(response.context["adminform"].form.errors)
    for inline in response.context.get("inline_admin_formsets", []):
        for form in inline.formset.forms:
            errors |= {f"{inline.formset.prefix}-{field}": messages for field, messages in form.errors.items()}
    return {field: list(messages) for field, messages in errors.items()}


def test_staff_adds_a_venue_with_spaces_and_opening_hours(staff_client):
    data = venue_form_data(
        **{
            "spaces-TOTAL_FORMS": "1",
            "spaces-0-name": "Table 1",
            "spaces-0-capacity": "4",
            "spaces-0-min_party_size": "1",
            "spaces-0-price": "0",
            "spaces-0-price_per": "booking",
            "spaces-0-is_active": "on",
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-0-weekday": "1",
            "opening_hours-0-opens_at": "12:00",
            "opening_hours-0-closes_at": "15:00",
        }
    )
    response = staff_client.post(reverse("admin:spaces_venue_add"), data)
    assert response.status_code == 302, form_errors(response)
    venue = Venue.objects.get(slug="nuova")
    assert (venue.language, venue.translations) == ("en-gb", {})  # a cleared translations field: none
    assert list(venue.spaces.values_list("name", "capacity")) == [("Table 1", 4)]
    assert list(venue.opening_hours.values_list("opens_at", "closes_at")) == [(time(12), time(15))]


def test_admin_shows_unknown_time_zone_as_a_form_error(staff_client):
    response = staff_client.post(reverse("admin:spaces_venue_add"), venue_form_data(time_zone="Mars/Olympus"))
    assert form_errors(response) == {
        "time_zone": ["“Mars/Olympus” is not a known time zone; use an IANA name such as Europe/Berlin."]
    }
    assert not Venue.objects.exists()


def test_admin_shows_durations_off_the_slot_grid_as_a_form_error(staff_client):
    response = staff_client.post(
        reverse("admin:spaces_venue_add"), venue_form_data(slot_interval_minutes="30", allowed_durations="60,45")
    )
    assert form_errors(response) == {
        "allowed_durations": ["45 minutes is not a multiple of the 30-minute slot interval."]
    }
    assert not Venue.objects.exists()


def test_admin_shows_closing_before_opening_as_a_form_error(staff_client):
    data = venue_form_data(
        **{
            "opening_hours-TOTAL_FORMS": "1",
            "opening_hours-0-weekday": "1",
            "opening_hours-0-opens_at": "18:00",
            "opening_hours-0-closes_at": "12:00",
        }
    )
    response = staff_client.post(reverse("admin:spaces_venue_add"), data)
    assert form_errors(response) == {
        "opening_hours-closes_at": [
            "Closing time must be after opening time. For a period that ends after midnight, "
            "tick “closes after midnight”."
        ]
    }
    assert not OpeningHours.objects.exists()


def test_admin_shows_capacity_below_minimum_party_as_a_form_error(staff_client):
    venue = VenueFactory()
    data = {
        "venue": venue.pk,
        "name": "Table 9",
        "capacity": "2",
        "min_party_size": "4",
        "price": "0",
        "price_per": "booking",
    }
    response = staff_client.post(reverse("admin:spaces_space_add"), data)
    assert form_errors(response) == {"capacity": ["Capacity (2) is below the minimum party size (4)."]}
    assert not Space.objects.exists()


def test_admin_shows_capacity_below_minimum_party_in_the_venue_inline(staff_client):
    data = venue_form_data(
        **{
            "spaces-TOTAL_FORMS": "1",
            "spaces-0-name": "Table 1",
            "spaces-0-capacity": "2",
            "spaces-0-min_party_size": "4",
            "spaces-0-price": "0",
            "spaces-0-price_per": "booking",
        }
    )
    response = staff_client.post(reverse("admin:spaces_venue_add"), data)
    assert form_errors(response) == {"spaces-capacity": ["Capacity (2) is below the minimum party size (4)."]}
    assert not Venue.objects.exists()


def test_admin_shows_closure_of_another_venues_space_as_a_form_error(staff_client):
    venue = VenueFactory()
    other_venues_space = SpaceFactory()
    data = {
        "venue": venue.pk,
        "space": other_venues_space.pk,
        "starts_at_0": "2030-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2030-01-02",
        "ends_at_1": "00:00:00",
    }
    response = staff_client.post(reverse("admin:spaces_closure_add"), data)
    assert form_errors(response) == {"space": ["That space belongs to another venue."]}
    assert not Closure.objects.exists()


def test_admin_shows_closure_ending_before_it_starts_as_a_form_error(staff_client):
    venue = VenueFactory()
    data = {
        "venue": venue.pk,
        "starts_at_0": "2030-01-02",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2030-01-01",
        "ends_at_1": "00:00:00",
    }
    response = staff_client.post(reverse("admin:spaces_closure_add"), data)
    assert form_errors(response) == {"ends_at": ["A closure must end after it starts."]}
    assert not Closure.objects.exists()


def test_venue_closure_inline_offers_only_that_venues_spaces(staff_client, venue_with_children):
    SpaceFactory(name="Elsewhere")
    response = staff_client.get(reverse("admin:spaces_venue_change", args=[venue_with_children.pk]))
    closures = next(
        inline for inline in response.context["inline_admin_formsets"] if inline.formset.prefix == "closures"
    )
    offered = closures.formset.forms[0].fields["space"].queryset
    assert list(offered) == list(venue_with_children.spaces.all())


def test_staff_adds_a_user_by_email(staff_client):
    data = {
        "email": "new.guest@example.com",
        "name": "New Guest",
        "phone": "+49 30 1234567",
        "usable_password": "true",
        "password1": "a-long-enough-password-42",
        "password2": "a-long-enough-password-42",
    }
    response = staff_client.post(reverse("admin:accounts_user_add"), data)
    assert response.status_code == 302, form_errors(response)
    user = User.objects.get(email="new.guest@example.com")
    assert user.name == "New Guest"
    assert user.check_password("a-long-enough-password-42")
    assert not user.is_staff


def test_admin_refuses_an_email_that_differs_from_anothers_only_in_case(staff_client, guest_user):
    data = {"email": "GUEST@example.com", "usable_password": "false"}
    response = staff_client.post(reverse("admin:accounts_user_add"), data)
    assert form_errors(response) == {"email": ["Another account already uses this e-mail address."]}


def test_staff_changes_a_users_name_and_staff_flag(staff_client, guest_user):
    url = reverse("admin:accounts_user_change", args=[guest_user.pk])
    data = {"email": guest_user.email, "name": "Gus Renamed", "phone": "", "is_active": "on", "is_staff": "on"}
    response = staff_client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    guest_user.refresh_from_db()
    assert (guest_user.name, guest_user.is_staff) == ("Gus Renamed", True)
