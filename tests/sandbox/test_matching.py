"""Each matching mode finds the profile it created again; more than one match is 435."""

import pytest

from altcraft_sandbox.models import Profile
from tests.helpers import Api

pytestmark = pytest.mark.django_db

EMAIL = "olly@example.com"
PHONE = "+79000000000"
EMAIL_SUB = {"resource_id": 2, "channel": "email", "email": EMAIL}
SMS_SUB = {"resource_id": 3, "channel": "sms", "phone": PHONE}
PUSH_SUB = {
    "resource_id": 4,
    "channel": "push",
    "provider": "android-firebase",
    "subscription_id": "a81c264a938b475",
}

# mode: (data the profile is created with, top-level lookup keys)
MODES = {
    "email": ({"email": EMAIL}, {"email": EMAIL}),
    "email_profile": ({"email": EMAIL}, {"email": EMAIL}),
    "email_sub": ({"subscriptions": [EMAIL_SUB]}, {"email": EMAIL}),
    "phone": ({"phones": [PHONE]}, {"phone": PHONE}),
    "phone_sub": ({"subscriptions": [SMS_SUB]}, {"phone": PHONE}),
    "push_sub": (
        {"subscriptions": [PUSH_SUB]},
        {"provider": "android-firebase", "subscription_id": "a81c264a938b475"},
    ),
    "custom": ({"custom_id": "C-1"}, {"field_name": "custom_id", "field_value": "C-1"}),
    "custom_sub": (
        {"subscriptions": [{**EMAIL_SUB, "custom_fields": {"custom_field": "S-1"}}]},
        {"field_name": "custom_field", "field_value": "S-1"},
    ),
    "email_phone": ({"phones": [PHONE]}, {"email": EMAIL, "phone": PHONE}),
    "email_phone_sub": ({"subscriptions": [SMS_SUB]}, {"email": EMAIL, "phone": PHONE}),
}


def post(api: Api, method: str, mode: str, lookup: dict, data: dict):
    return api.post(method, {"db_id": 1, "matching": mode, **lookup, "data": data})


@pytest.mark.parametrize("mode", sorted(MODES))
def test_import_creates_then_updates_the_same_profile(api, mode):
    data, lookup = MODES[mode]
    created = post(api, "profiles/import", mode, lookup, {**data, "_fname": "Olly"})
    assert created.error == 0, created.text
    updated = post(api, "profiles/import", mode, lookup, {"_fname": "Molly"})
    assert updated.error == 0, updated.text
    assert updated.data["profile_id"] == created.data["profile_id"]
    assert Profile.objects.get().fields["_fname"] == "Molly"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_update_finds_the_profile_by_its_key(api, mode):
    data, lookup = MODES[mode]
    created = api.post("profiles/add", {"db_id": 1, "data": data})
    updated = post(api, "profiles/update", mode, lookup, {"_lname": "Lambert"})
    assert (updated.error, updated.data["profile_id"]) == (0, created.data["profile_id"])


def test_update_by_profile_id(api):
    created = api.post("profiles/add", {"db_id": 1, "data": {}})
    lookup = {"profile_id": created.data["profile_id"]}
    answer = post(api, "profiles/update", "profile_id", lookup, {"_fname": "X"})
    assert answer.data["profile_id"] == created.data["profile_id"]
    assert api.profile(**lookup)["_fname"] == "X"


def test_email_profile_ignores_subscriptions(api):
    api.post("profiles/add", {"db_id": 1, "data": {"subscriptions": [EMAIL_SUB]}})
    post(api, "profiles/import", "email_profile", {"email": EMAIL}, {})
    assert Profile.objects.count() == 2


def test_resource_id_narrows_subscription_matching(api):
    api.post("profiles/add", {"db_id": 1, "data": {"subscriptions": [EMAIL_SUB]}})
    body = {"db_id": 1, "matching": "email_sub", "email": EMAIL, "resource_id": 1, "data": {}}
    assert api.post("profiles/import", body).error == 0
    assert Profile.objects.count() == 2


@pytest.mark.parametrize(
    ("mode", "first", "second", "lookup"),
    [
        ("email", {"email": EMAIL}, {"subscriptions": [EMAIL_SUB]}, {"email": EMAIL}),
        ("phone", {"phones": [PHONE]}, {"phones": [PHONE]}, {"phone": PHONE}),
        (
            "custom",
            {"custom_id": "C-1"},
            {"custom_id": "C-1"},
            {"field_name": "custom_id", "field_value": "C-1"},
        ),
    ],
)
def test_more_than_one_match_is_435(api, mode, first, second, lookup):
    api.post("profiles/add", {"db_id": 1, "data": first})
    api.post("profiles/add", {"db_id": 1, "data": second})
    answer = post(api, "profiles/import", mode, lookup, {"_fname": "X"})
    assert answer.error == 435
    assert Profile.objects.filter(fields___fname="X").count() == 0


def test_tag_fields_match_by_tag_combination(api):
    api.post("profiles/add", {"db_id": 1, "data": {"interests": ["tag_1", "tag_2", "tag_3"]}})
    lookup = {"field_name": "interests", "field_value": "tag_1, tag_2"}
    post(api, "profiles/import", "custom", lookup, {"_fname": "Tagged"})
    assert Profile.objects.get().fields["_fname"] == "Tagged"


@pytest.mark.parametrize(
    ("mode", "item", "extra"),
    [
        ("email", {"email": EMAIL}, {}),
        ("phone", {"phones": [PHONE]}, {}),
        ("custom", {"custom_id": "C-1"}, {"field_name": "custom_id"}),
        ("push_sub", {"subscriptions": [PUSH_SUB]}, {}),
        ("email_phone", {"email": EMAIL, "phones": [PHONE]}, {}),
    ],
)
def test_batch_items_carry_their_own_lookup_value(api, mode, item, extra):
    body = {"db_id": 1, "matching": mode, **extra}
    first = api.post("profiles/import_batch", {**body, "data": [item]})
    second = api.post("profiles/import_batch", {**body, "data": [{**item, "_fname": "B"}]})
    assert first.data["result"][0]["error"] == 0, first.data
    assert second.data["result"][0]["profile_id"] == first.data["result"][0]["profile_id"]
    assert Profile.objects.get().fields["_fname"] == "B"


def test_update_batch_by_profile_id(api):
    created = api.post("profiles/add", {"db_id": 1, "data": {}}).data["profile_id"]
    items = [{"profile_id": created, "_fname": "X"}, {"profile_id": "f" * 24, "_fname": "Y"}]
    answer = api.post(
        "profiles/update_batch", {"db_id": 1, "matching": "profile_id", "data": items}
    )
    assert [r["error"] for r in answer.data["result"]] == [0, 404]
    assert api.profile(profile_id=created)["_fname"] == "X"
