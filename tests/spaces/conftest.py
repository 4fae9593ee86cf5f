import pytest

from accounts.models import User


@pytest.fixture
def staff_user(db):
    return User.objects.create_superuser("boss@example.com", "staff-password-1", name="Bo Boss")


@pytest.fixture
def guest_user(db):
    return User.objects.create_user("guest@example.com", "guest-password-1", name="Gus Guest")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def guest_client(client, guest_user):
    client.force_login(guest_user)
    return client
