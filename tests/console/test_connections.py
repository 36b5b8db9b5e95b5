import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from profiles_ui.connections import SANDBOX, all_connections

CLOUD = {
    "name": "cloud",
    "label": "Altcraft Cloud",
    "base_url": "https://example.invalid/api/",
    "token_env": "ALTCRAFT_TOKEN_CLOUD",
    "token_placement": "bearer",
    "production": True,
}


def test_sandbox_always_exists_and_is_not_production(settings):
    settings.ALTCRAFT_CONNECTIONS = []
    connections = all_connections()
    assert list(connections) == [SANDBOX]
    assert connections[SANDBOX].production is False


def test_named_connections_come_from_the_setting(settings, monkeypatch):
    settings.ALTCRAFT_CONNECTIONS = [CLOUD]
    monkeypatch.setenv("ALTCRAFT_TOKEN_CLOUD", "secret-token-value")
    cloud = all_connections()["cloud"]
    assert cloud.production is True
    assert cloud.token_placement == "bearer"
    assert cloud.token() == "secret-token-value"
    assert "secret-token-value" not in repr(cloud)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x"}, "needs name, base_url and token_env"),
        ({**CLOUD, "token_placement": "query"}, "token_placement must be body or bearer"),
        ({**CLOUD, "name": "sandbox"}, "reserved"),
    ],
)
def test_bad_connection_settings_are_refused_with_a_reason(settings, entry, message):
    settings.ALTCRAFT_CONNECTIONS = [entry]
    with pytest.raises(ImproperlyConfigured, match=message):
        all_connections()


@pytest.mark.django_db
def test_banner_names_the_sandbox_by_default(client_for):
    page = client_for("marketer").get(reverse("home")).content.decode()
    assert 'class="connection-banner"' in page
    assert "a test environment" in page


@pytest.mark.django_db
def test_switching_to_production_turns_the_banner_red(client_for, settings):
    settings.ALTCRAFT_CONNECTIONS = [CLOUD]
    client = client_for("marketer")
    response = client.post(reverse("switch_connection"), {"connection": "cloud", "next": "/"})
    assert response.status_code == 302
    page = client.get(reverse("home")).content.decode()
    assert 'class="connection-banner production"' in page
    assert "Production: Altcraft Cloud" in page


@pytest.mark.django_db
def test_switching_to_an_unknown_connection_keeps_the_current_one(client_for):
    client = client_for("marketer")
    response = client.post(reverse("switch_connection"), {"connection": "nope"}, follow=True)
    page = response.content.decode()
    assert "there is no connection named" in page
    assert "a test environment" in page


@pytest.mark.django_db
def test_switch_ignores_offsite_next(client_for):
    response = client_for("marketer").post(
        reverse("switch_connection"), {"connection": "sandbox", "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")
