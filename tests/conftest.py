import pytest
from django.contrib.auth.models import Group
from django.test import Client

from profiles_ui.roles import ROLES


@pytest.fixture
def make_user(django_user_model):
    def make(role: str, username: str | None = None):
        user = django_user_model.objects.create_user(
            username=username or role, password="a-test-password-1"
        )
        if role == "admin":
            user.is_staff = user.is_superuser = True
            user.save()
        if role in ROLES:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client_for(make_user):
    """A logged-in test client for a role name."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return make
