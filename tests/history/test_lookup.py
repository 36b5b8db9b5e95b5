"""The History search box's "Look up in Altcraft": the profile page for the typed identifier."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

LOOKUP = "/history/lookup/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("Olga.Petrova@Example.com", "email=Olga.Petrova%40Example.com"),
        ("8 900 123-45-67", "phone=%2B79001234567"),
        ("+79001234567", "phone=%2B79001234567"),
        (" 5d1b2c3a4e5f60718293a4b5 ", "profile_id=5d1b2c3a4e5f60718293a4b5"),
    ],
)
def test_the_typed_identifier_opens_the_profile_page_by_its_kind(client_for, typed, query):
    response = client_for("support").get(LOOKUP, {"q": typed, "match": "contains", "state": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/profile/?{query}"


@pytest.mark.django_db
def test_the_connection_filter_is_the_connection_looked_in(client_for):
    response = client_for("auditor").get(LOOKUP, {"q": "ann@example.com", "connection": "sandbox"})
    assert response["Location"] == "/profile/?email=ann%40example.com&connection=sandbox"


@pytest.mark.django_db
def test_from_htmx_the_browser_is_sent_to_the_profile_page(client_for):
    response = client_for("marketer").get(LOOKUP, {"q": "ann@example.com"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/profile/?email=ann%40example.com"


@pytest.mark.django_db
def test_nothing_typed_goes_back_to_the_history_saying_so(client_for):
    client = client_for("support")
    response = client.get(LOOKUP, {"q": "  ", "state": "rejected"}, follow=True)
    assert response.redirect_chain[-1][0] == "/history/?q=++&state=rejected"
    html = response.content.decode()
    assert "Look up in Altcraft: type an email, phone or profile ID to look it up." in html


@pytest.mark.django_db
def test_the_button_is_shown_to_roles_that_may_look_up(client_for):
    html = client_for("auditor").get(reverse("history")).content.decode()
    assert f'formaction="{LOOKUP}"' in html and "Look up in Altcraft" in html


@pytest.mark.django_db
def test_without_the_lookup_permission_there_is_no_button_and_no_lookup(django_user_model):
    user = django_user_model.objects.create_user(username="reader", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client = Client()
    client.force_login(user)
    assert "Look up in Altcraft" not in client.get(reverse("history")).content.decode()
    assert client.get(LOOKUP, {"q": "ann@example.com"}).status_code == 403
