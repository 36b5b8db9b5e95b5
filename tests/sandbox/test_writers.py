"""The sandbox's profile and subscription methods, with the documented codes."""

import pytest

from altcraft_sandbox.models import Profile, Subscription


@pytest.fixture
def ann(api):
    answer = api.post(
        "profiles/import",
        {
            "db_id": 1,
            "matching": "email",
            "email": "ann@example.com",
            "data": {
                "email": "ann@example.com",
                "_lname": "Lee",
                "subscriptions": [
                    {"channel": "email", "email": "ann@example.com", "resource_id": 2}
                ],
            },
        },
    )
    assert answer.error == 0, answer.text
    return answer.data["profile_id"]


def test_profiles_get_answers_the_profile_under_data_as_documented(api, ann):
    answer = api.post("profiles/get", {"db_id": 1, "email": "ann@example.com"})
    assert answer.data["data"]["id"] == ann
    assert answer.data["data"]["_lname"] == "Lee"


def test_profiles_get_404_none_435_several_400_invalid(api, ann):
    assert api.post("profiles/get", {"db_id": 1, "email": "none@example.com"}).error == 404
    Profile.objects.create(
        database_id=1, email="ann@example.com", fields={"email": "ann@example.com"}
    )
    assert api.post("profiles/get", {"db_id": 1, "email": "ann@example.com"}).error == 435
    assert api.post("profiles/get", {"db_id": "one", "email": "a@example.com"}).error == 400


def test_subscriptions_set_changes_status_priority_cats_and_fields(api, ann):
    body = {"db_id": 1, "profile_id": ann, "resource_id": 2, "channel": "email",
            "email": "ann@example.com", "status": "suspended", "priority": 3, "cats": ["news"],
            "custom_fields": {"level": 2}}  # fmt: skip
    assert api.post("subscriptions/set", body).error == 0
    sub = Subscription.objects.get(profile_id=ann)
    assert (sub.status, sub.priority, sub.cats, sub.custom_fields) == (5, 3, ["news"], {"level": 2})


def test_subscriptions_set_refuses_an_unknown_status_naming_it(api, ann):
    body = {"db_id": 1, "profile_id": ann, "resource_id": 2, "channel": "email",
            "email": "ann@example.com", "status": "paused"}  # fmt: skip
    answer = api.post("subscriptions/set", body)
    assert answer.error == 400 and "status: 'paused'" in answer.text


def test_subscriptions_list_as_documented(api, ann):
    answer = api.post("subscriptions/list", {"db_id": 1, "profile_id": ann})
    assert answer.data["data"] == [
        {"resource_id": 2, "channel": "email", "email": "ann@example.com", "priority": 0,
         "status": "subscribed", "custom_fields": {}, "cats": []},
    ]  # fmt: skip


def test_subscriptions_delete_and_404_after(api, ann):
    body = {"db_id": 1, "profile_id": ann, "resource_id": 2, "channel": "email",
            "email": "ann@example.com"}  # fmt: skip
    assert api.post("subscriptions/delete", body).error == 0
    assert not Subscription.objects.filter(profile_id=ann).exists()
    assert api.post("subscriptions/delete", body).error == 404


def test_profiles_delete_answers_the_profile_id_in_data(api, ann):
    answer = api.post(
        "profiles/delete", {"db_id": 1, "matching": "email", "email": "ann@example.com"}
    )
    assert answer.error == 0
    assert answer.data["data"] == {"profile_id": ann}
    assert not Profile.objects.filter(pk=ann).exists()
    assert (
        api.post("profiles/delete", {"db_id": 1, "matching": "profile_id", "profile_id": ann}).error
        == 404
    )


def test_unknown_profile_is_404(api):
    answer = api.post("subscriptions/list", {"db_id": 1, "profile_id": "0" * 24})
    assert answer.error == 404


def test_the_profiles_page_shows_the_effect(api, ann, client_for):
    from django.urls import reverse

    body = {"db_id": 1, "profile_id": ann, "resource_id": 2, "channel": "email",
            "email": "ann@example.com", "status": "suspended"}  # fmt: skip
    assert api.post("subscriptions/set", body).error == 0
    support = client_for("support")
    html = support.get(reverse("sandbox:profiles")).content.decode()
    assert ann in html and "suspended" in html
    api.post("profiles/delete", {"db_id": 1, "matching": "profile_id", "profile_id": ann})
    assert ann not in support.get(reverse("sandbox:profiles")).content.decode()
