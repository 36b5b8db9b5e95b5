import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from profiles_ui.roles import ROLES, user_role


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_is_idempotent(settings):
    settings.DEMO_PASSWORD = "demo-password-for-tests"
    call_command("seed_demo")
    User = get_user_model()
    first = {u.username: (u.password, u.last_login) for u in User.objects.all()}
    call_command("seed_demo")
    second = {u.username: (u.password, u.last_login) for u in User.objects.all()}
    assert set(first) == set(ROLES)
    assert first == second
    for role in ROLES:
        user = User.objects.get(username=role)
        assert user.check_password("demo-password-for-tests")
        assert user_role(user) == role
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.filter(is_staff=True).exclude(username="admin").exists()
