"""The sandbox pages: readable by every role, searchable, reset only for admins."""

import pytest
from django.urls import reverse

from altcraft_sandbox.models import Profile, ProfilePhone, Resource, Subscription
from profiles_ui.roles import ROLES

pytestmark = pytest.mark.django_db

PAGES = ["index", "databases", "resources", "workflows", "profiles"]


@pytest.mark.parametrize("role", ["support", "auditor", "admin"])
@pytest.mark.parametrize("page", PAGES)
def test_the_roles_that_see_all_history_see_the_pages(sandbox_db, client_for, role, page):
    response = client_for(role).get(reverse(f"sandbox:{page}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "style=" not in html
    assert "<script>" not in html


@pytest.mark.parametrize("page", PAGES)
def test_marketers_do_not_see_every_users_customers(sandbox_db, client_for, page):
    response = client_for("marketer").get(reverse(f"sandbox:{page}"))
    assert response.status_code == 403
    assert "This is for auditors, support staff and admins." in response.content.decode()


def test_a_nul_in_the_search_is_explained(sandbox_db, client_for):
    response = client_for("support").get(reverse("sandbox:profiles"), {"q": "a\x00b"})
    assert response.status_code == 200
    assert "Search: remove the NUL character" in response.content.decode()


def test_databases_page_lists_custom_fields(sandbox_db, client_for):
    html = client_for("support").get(reverse("sandbox:databases")).content.decode()
    assert "Partners" in html
    assert "<code>loyalty_level</code>" in html


def test_workflows_page_shows_inactive_scenarios(sandbox_db, client_for):
    html = client_for("support").get(reverse("sandbox:workflows")).content.decode()
    assert "Win-back (paused)" in html
    assert "inactive" in html


def add_profiles(api) -> None:
    sms = {"resource_id": 3, "channel": "sms", "phone": "+79000000000"}
    api.post(
        "profiles/add",
        {"db_id": 1, "data": {"email": "olly@example.com", "phones": ["+74951234567"]}},
    )
    api.post(
        "profiles/add", {"db_id": 2, "data": {"email": "bob@example.com", "subscriptions": [sms]}}
    )


@pytest.mark.parametrize(
    ("query", "found", "hidden"),
    [
        ("olly@", "olly@example.com", "bob@example.com"),
        ("+7 900 000", "bob@example.com", "olly@example.com"),
    ],
)
def test_profiles_search_by_email_and_phone(api, client_for, query, found, hidden):
    add_profiles(api)
    html = client_for("auditor").get(reverse("sandbox:profiles"), {"q": query}).content.decode()
    assert found in html
    assert hidden not in html


def test_profiles_search_by_profile_id_and_database(api, client_for):
    add_profiles(api)
    bob = Profile.objects.get(email="bob@example.com")
    client = client_for("auditor")
    html = client.get(reverse("sandbox:profiles"), {"q": bob.id}).content.decode()
    assert "bob@example.com" in html and "olly@example.com" not in html
    html = client.get(reverse("sandbox:profiles"), {"db": "1"}).content.decode()
    assert "olly@example.com" in html and "bob@example.com" not in html


def test_profiles_page_shows_subscriptions_and_count(api, client_for):
    add_profiles(api)
    html = client_for("support").get(reverse("sandbox:profiles")).content.decode()
    assert "Profiles <small>(2)</small>" in html
    assert "+79000000000" in html


def test_profiles_are_paginated(api, client_for):
    api.post("profiles/add_batch", {"db_id": 1, "data": [{} for _ in range(30)]})
    html = client_for("support").get(reverse("sandbox:profiles"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in html


@pytest.mark.parametrize("role", ROLES)
def test_reset_link_only_for_admins(sandbox_db, client_for, role):
    html = client_for(role).get(reverse("sandbox:index")).content.decode()
    assert (reverse("sandbox:reset") in html) == (role == "admin")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_reset_is_refused_to_other_roles(api, client_for, role):
    add_profiles(api)
    response = client_for(role).post(reverse("sandbox:reset"), {"confirm": "yes"})
    assert response.status_code == 403
    assert Profile.objects.count() == 2


def test_reset_needs_confirmation(api, client_for):
    add_profiles(api)
    response = client_for("admin").post(reverse("sandbox:reset"), {})
    assert response.status_code == 200
    assert Profile.objects.count() == 2


def test_admin_reset_removes_profiles_and_keeps_the_catalogue(api, client_for):
    add_profiles(api)
    assert ProfilePhone.objects.exists() and Subscription.objects.exists()
    response = client_for("admin").post(reverse("sandbox:reset"), {"confirm": "yes"})
    assert response.url == reverse("sandbox:index")
    assert Profile.objects.count() == 0
    # Phones and subscriptions have no row constraint: Django's cascade removes them.
    assert not ProfilePhone.objects.exists()
    assert not Subscription.objects.exists()
    assert api.post("databases/list", {}).error == 0


def test_deleting_a_resource_deletes_its_subscriptions(api):
    add_profiles(api)
    assert Subscription.objects.filter(resource_id=3).exists()
    Resource.objects.filter(pk=3).delete()
    assert not Subscription.objects.filter(resource_id=3).exists()
    assert Profile.objects.count() == 2


def test_statuses_are_named_and_scenario_content_is_json(api, client_for):
    sub = {"resource_id": 1, "channel": "email", "email": "s@example.com", "status": "suspended"}
    body = {"workflow_id": 1, "matching": "email", "email": "s@example.com"}
    body |= {"data": {"subscriptions": [sub]}, "content": {"coupon": "ЛЕТО", "n": 2}}
    assert api.post("workflows/import_and_start", body).error == 0
    html = client_for("support").get(reverse("sandbox:profiles"), {"q": "s@example.com"})
    page = html.content.decode()
    assert "<td>suspended</td>" in page
    assert "{&quot;coupon&quot;: &quot;ЛЕТО&quot;, &quot;n&quot;: 2}" in page
