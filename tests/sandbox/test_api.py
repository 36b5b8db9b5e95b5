"""What the sandbox answers: auth, errors, batches, limits, updates and subscriptions."""

import json

import pytest

from altcraft_sandbox import seed
from altcraft_sandbox.models import Profile, ScenarioEntry, Subscription
from tests.helpers import Api

pytestmark = pytest.mark.django_db

EMAIL = "olly@example.com"


def import_one(api: Api, data: dict, **params) -> dict:
    body = {"db_id": 1, "matching": "email", "email": EMAIL, "data": {"email": EMAIL, **data}}
    answer = api.post("profiles/import", {**body, **params})
    assert answer.error == 0, answer.text
    return answer.data


def test_success_is_http_200_with_error_0(api):
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": {"email": EMAIL}})
    assert (answer.status, answer.error, answer.text) == (200, 0, "Successful operation")
    assert len(answer.data["profile_id"]) == 24


def test_missing_token_is_401(api):
    answer = api.post("databases/list", {"token": ""})
    assert (answer.status, answer.error) == (200, 401)


def test_unknown_token_is_403(api):
    assert api.post("databases/list", {"token": "not-a-token"}).error == 403


def test_bearer_token_is_accepted(api):
    answer = api.post("databases/list", b"{}", Authorization=f"Bearer {seed.demo_token()}")
    assert answer.error == 0


def test_token_sees_only_its_groups_databases(api):
    assert [d["id"] for d in api.post("databases/list", {}).data["data"]] == [1, 2]
    sub = api.post("databases/list", {"token": seed.SUBACCOUNT_TOKEN}).data["data"]
    assert [d["id"] for d in sub] == [3]


def test_database_of_another_group_is_441(api):
    answer = api.post("profiles/import", {"db_id": 3, "email": EMAIL, "data": {}})
    assert answer.error == 441
    assert answer.text == "db_id: database 3 belongs to another group"


def test_unknown_database_is_404(api):
    answer = api.post("profiles/import", {"db_id": 99, "email": EMAIL, "data": {}})
    assert (answer.error, answer.text) == (404, "db_id: database 99 not found")


def test_scenario_of_another_group_is_441(api):
    body = {"workflow_id": 4, "matching": "email", "email": EMAIL}
    answer = api.post("workflows/import_and_start", body)
    assert (answer.error, answer.text) == (441, "workflow_id: scenario 4 belongs to another group")


def test_resource_of_another_group_is_441(api):
    data = {"subscriptions": [{"resource_id": 10, "channel": "email", "email": EMAIL}]}
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": data})
    assert answer.error == 441
    assert "data.subscriptions[0].resource_id: resource 10 belongs to another group" in answer.text


def test_unknown_resource_is_404(api):
    data = {"subscriptions": [{"resource_id": 99, "channel": "email", "email": EMAIL}]}
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": data})
    assert answer.error == 404
    assert "data.subscriptions[0].resource_id" in answer.text


def test_unknown_workflow_is_404(api):
    body = {"workflow_id": 99, "matching": "email", "email": EMAIL}
    assert api.post("workflows/import_and_start", body).error == 404


def test_resource_without_the_database_is_413(api):
    data = {"subscriptions": [{"resource_id": 9, "channel": "email", "email": EMAIL}]}
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": data})
    assert answer.error == 413
    assert Profile.objects.count() == 0


def test_unsupported_content_type_is_415(api):
    answer = api.post(
        "databases/list", b"token=x", content_type="application/x-www-form-urlencoded"
    )
    assert (answer.status, answer.error) == (200, 415)


def test_unknown_method_is_501(api):
    assert api.post("profiles/import_fast", {"db_id": 1}).error == 501


def test_trailing_slash_spelling_is_accepted(api):
    assert api.post("databases/list/", {}).error == 0


def test_add_with_existing_email_is_409(api):
    assert api.post("profiles/add", {"db_id": 1, "data": {"email": EMAIL}}).error == 0
    assert api.post("profiles/add", {"db_id": 1, "data": {"email": EMAIL}}).error == 409


def test_invalid_input_is_400_naming_the_field(api):
    data = {"subscriptions": [{"resource_id": 3, "channel": "sms", "phone": "12345"}]}
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": data})
    assert answer.error == 400
    assert answer.text.startswith("data.subscriptions[0].phone: not a valid E.164 phone number")


def test_a_phone_with_no_such_country_code_is_400_naming_the_field(api):
    data = {"email": EMAIL, "phones": ["+99912345678"]}
    answer = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": data})
    assert answer.error == 400
    assert answer.text == "data.phones: '+99912345678' is not a valid E.164 phone number"


def test_malformed_json_is_400(api):
    answer = api.post("profiles/import", b'{"db_id": 1,')
    assert answer.error == 400
    assert "malformed JSON" in answer.text


def test_profile_id_matching_on_import_is_400(api):
    body = {"db_id": 1, "matching": "profile_id", "profile_id": "x" * 24, "data": {}}
    answer = api.post("profiles/import", body)
    assert answer.error == 400
    assert "matching: profile_id matching is only for finding existing profiles" in answer.text


def test_update_with_profile_id_and_no_matching_uses_profile_id(api):
    profile_id = import_one(api, {"_fname": "Olly"})["profile_id"]
    body = {"db_id": 1, "profile_id": profile_id, "data": {"_fname": "Molly"}}
    assert api.post("profiles/update", body).error == 0
    assert api.profile(profile_id=profile_id)["_fname"] == "Molly"


def test_update_never_creates(api):
    body = {"db_id": 1, "matching": "email", "email": EMAIL, "data": {"_fname": "X"}}
    assert api.post("profiles/update", body).error == 404
    assert Profile.objects.count() == 0


def test_answer_follows_the_request_format(api):
    answer = api.post("databases/get", {"id": 1}, fmt="xml")
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert answer.data["data"]["name"] == "Clients"


def test_format_parameter_chooses_the_answer_format(api):
    answer = api.post("databases/get", {"id": 1, "format": "xml"})
    assert answer.body.startswith(b"<xml>")


def test_batch_results_follow_input_order(api):
    data = [{"email": f"p{i}@example.com"} for i in range(5)]
    data[2]["email"] = "not-an-email"
    answer = api.post("profiles/import_batch", {"db_id": 1, "matching": "email", "data": data})
    assert answer.error == 0
    assert [r["error"] for r in answer.data["result"]] == [0, 0, 400, 0, 0]
    assert answer.data["result"][2]["error_text"].startswith("data[2].email")
    emails = Profile.objects.filter(id=answer.data["result"][4]["profile_id"]).values_list("email")
    assert list(emails) == [("p4@example.com",)]


def test_batch_item_matches_a_profile_created_earlier_in_the_batch(api):
    data = [{"email": EMAIL, "_fname": "A"}, {"email": EMAIL, "_lname": "B"}]
    answer = api.post("profiles/import_batch", {"db_id": 1, "data": data})
    first, second = answer.data["result"]
    assert first["profile_id"] == second["profile_id"]
    assert {"_fname": "A", "_lname": "B"}.items() <= api.profile(email=EMAIL).items()


def test_batch_over_10000_profiles_is_400_naming_the_limit(api):
    data = [{}] * 10_001
    answer = api.post("profiles/add_batch", {"db_id": 1, "data": data})
    assert answer.error == 400
    assert "at most 10,000" in answer.text


def test_batch_over_10_mb_is_400_naming_the_limit(api):
    body = json.dumps({"db_id": 1, "data": [{"custom_field": "x" * 1_000_000}] * 11})
    answer = api.post("profiles/add_batch", with_token_json(body))
    assert answer.error == 400
    assert "at most 10 MB per request" in answer.text


def with_token_json(body: str) -> bytes:
    return json.dumps({"token": seed.demo_token(), **json.loads(body)}).encode()


def test_update_batch_keeps_status_on_minus_one(api):
    sub = {"resource_id": 2, "channel": "email", "email": EMAIL, "status": "unsubscribed"}
    import_one(api, {"subscriptions": [sub]})
    item = {"email": EMAIL, "subscriptions": [{**sub, "status": -1, "priority": 3}]}
    assert api.post("profiles/update_batch", {"db_id": 1, "data": [item]}).error == 0
    stored = api.profile(email=EMAIL)["subscriptions"][0]
    assert (stored["status"], stored["priority"]) == (1, 3)


@pytest.mark.parametrize(
    ("start", "update", "expected"),
    [
        ({"loyalty_level": 2}, {"action": "incr", "value": 3}, 5),
        ({"loyalty_level": 2}, {"action": "unset"}, None),
        ({"interests": ["a", "b"]}, {"action": "add", "value": ["b", "c"]}, ["a", "b", "c"]),
        ({"interests": ["a", "b"]}, {"action": "delete", "value": ["a"]}, ["b"]),
        (
            {"address": {"city": "Ryazan"}},
            {"action": "upsert", "submatch": "zip", "value": "39"},
            {"city": "Ryazan", "zip": "39"},
        ),
    ],
)
def test_field_update_functions(api, start, update, expected):
    import_one(api, start)
    name = next(iter(start))
    import_one(api, {name: update})
    assert api.profile(email=EMAIL).get(name) == expected


def test_arr_object_upsert_replaces_the_matching_element(api):
    import_one(api, {"orders": [{"id": "1", "sum": 5}, {"id": "2", "sum": 7}]})
    import_one(
        api, {"orders": {"action": "upsert", "submatch": "id", "value": {"id": "2", "sum": 9}}}
    )
    assert api.profile(email=EMAIL)["orders"] == [{"id": "1", "sum": 5}, {"id": "2", "sum": 9}]


def test_subscription_is_updated_per_channel_and_resource(api):
    sub = {"resource_id": 2, "channel": "email", "email": EMAIL}
    import_one(api, {"subscriptions": [sub]})
    import_one(api, {"subscriptions": [{**sub, "status": "suspended", "cats": ["news"]}]})
    import_one(api, {"subscriptions": [{**sub, "resource_id": 1}]})
    subs = api.profile(email=EMAIL)["subscriptions"]
    assert [(s["resource_id"], s["status"], s["cats"]) for s in subs] == [
        (2, 5, ["news"]),
        (1, 0, []),
    ]


def test_skip_invalid_subscriptions_imports_the_rest(api):
    subs = [
        {"resource_id": 9, "channel": "email", "email": EMAIL},
        {"resource_id": 2, "channel": "email", "email": EMAIL},
    ]
    import_one(api, {"subscriptions": subs}, skip_invalid_subscriptions=True)
    assert Subscription.objects.get().resource_id == 2


def test_import_and_start_enters_the_scenario(api):
    body = {"workflow_id": 1, "matching": "email", "email": EMAIL, "content": {"one": "1"}}
    answer = api.post("workflows/import_and_start", body)
    assert answer.error == 0
    entry = ScenarioEntry.objects.get()
    assert (entry.profile_id, entry.workflow_id, entry.content) == (
        answer.data["profile_id"],
        1,
        {"one": "1"},
    )


def test_inactive_scenario_is_refused_and_nothing_is_imported(api):
    body = {"workflow_id": 2, "matching": "email", "email": EMAIL}
    answer = api.post("workflows/import_and_start", body)
    assert answer.error == 450
    assert "not active" in answer.text
    assert Profile.objects.count() == 0


def test_import_and_start_batch_enters_each_profile(api):
    data = [{"email": "a@example.com"}, {"email": "b@example.com"}]
    body = {"workflow_id": 3, "matching": "email", "data": data}
    answer = api.post("workflows/import_and_start_batch", body)
    assert [r["error"] for r in answer.data["result"]] == [0, 0]
    assert ScenarioEntry.objects.filter(workflow_id=3).count() == 2


def test_noop_answers_error_0(client):
    response = client.post("/sandbox/api/noop", b"{}", content_type="application/json")
    assert response.json() == {"error": 0}


def test_catalogue_methods_answer(api):
    assert api.post("resources/get", {"id": 1}).data["data"]["dbs_ids"] == [1, 2]
    fields = api.post("resources/fields_get", {"id": 4, "channel": "push"}).data["data"]
    assert "_device_type" in [f["name"] for f in fields]
    workflows = api.post("workflows/list", {}).data["data"]
    assert [(w["id"], w["is_active"]) for w in workflows] == [(1, True), (2, False), (3, True)]
    fields = api.post("databases/fields_get", {"id": 2}).data["data"]
    assert {f["name"]: f["type"] for f in fields}["regions"] == "tags"


def test_a_priority_it_cannot_store_is_refused_naming_it(api):
    sub = {"resource_id": 1, "channel": "email", "email": "p@example.com", "priority": 2**31}
    body = {"db_id": 1, "email": "p@example.com", "data": {"subscriptions": [sub]}}
    answer = api.post("profiles/import", body)
    assert answer.error == 400
    assert "data.subscriptions[0].priority: must be an integer from 0 to 2,147,483,647" in (
        answer.text
    )


def test_a_scenario_may_be_started_for_a_profile_found_by_its_id(api):
    created = api.post("profiles/import", {"db_id": 1, "email": EMAIL, "data": {"email": EMAIL}})
    pid = created.data["profile_id"]
    body = {"workflow_id": 1, "matching": "profile_id", "profile_id": pid, "data": {"_fname": "O"}}
    answer = api.post("workflows/import_and_start", body)
    assert (answer.error, answer.data["profile_id"]) == (0, pid)
    assert api.profile(profile_id=pid)["_fname"] == "O"
    missing = {**body, "profile_id": "000000000000000000000000"}
    assert api.post("workflows/import_and_start", missing).error == 404
