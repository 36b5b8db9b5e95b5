import pytest
from django.conf import settings
from django.urls import reverse

PASSWORD = "a-test-password-1"


@pytest.mark.django_db
def test_login_lands_on_home_with_role(client, make_user):
    make_user("support")
    response = client.post(
        reverse("login"), {"username": "support", "password": PASSWORD}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("home")
    assert '<span class="role-badge">support</span>' in page


@pytest.mark.django_db
def test_wrong_password_says_so_and_keeps_the_username(client, make_user):
    make_user("marketer")
    response = client.post(reverse("login"), {"username": "marketer", "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in page
    assert 'value="marketer"' in page


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_even_with_the_right_password(client, make_user):
    make_user("marketer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "marketer", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "marketer", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_needs_post_and_ends_the_session(client_for):
    client = client_for("marketer")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302
