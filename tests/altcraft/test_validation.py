"""Validation returns every problem as "path: message", for requests, profiles and subscriptions."""

import copy

import pytest

from altcraft.validation import (
    Problem,
    validate,
    validate_profile,
    validate_subscription,
)

IMPORT = {
    "db_id": 1,
    "matching": "email",
    "email": "olly@example.com",
    "data": {
        "email": "olly@example.com",
        "_fname": "Olly",
        "phones": ["+79000000000"],
        "subscriptions": [
            {"resource_id": 1, "channel": "email", "email": "olly@example.com"},
            {"resource_id": 2, "channel": "sms", "phone": "+79000000000", "status": "subscribed"},
            {"resource_id": 3, "channel": "telegram_bot", "cc_data": {"id": 12345}},
        ],
    },
}


def messages(operation: str, payload: dict, **kw) -> list[str]:
    return [str(p) for p in validate(operation, payload, **kw)]


def changed(path: tuple, value: object, base: dict = IMPORT) -> dict:
    payload = copy.deepcopy(base)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


def test_a_valid_import_has_no_problems():
    assert validate("profiles/import", IMPORT) == []


def test_problem_prints_as_path_and_message():
    assert str(Problem("data.subscriptions[2].phone", "bad")) == "data.subscriptions[2].phone: bad"


def test_every_problem_is_reported_at_once():
    payload = changed(("data", "subscriptions", 1, "phone"), "8 900 000-00-00")
    payload["db_id"] = "one"
    payload["data"]["_sex"] = "x"

    assert messages("profiles/import", payload) == [
        "db_id: must be a positive integer, at most 2,147,483,647",
        "data.subscriptions[1].phone: not a valid E.164 phone number (+ and country code, "
        "digits only)",
        'data._sex: must be "male" or "female" (0, 1 and 2 are accepted too)',
    ]


def test_unknown_top_level_keys_and_missing_required_ones():
    payload = {**IMPORT, "dbid": 1}
    del payload["db_id"]

    assert messages("profiles/import", payload) == [
        "dbid: unknown parameter for profiles/import",
        "db_id: required",
    ]


def test_token_is_not_required_but_must_be_a_string_when_sent():
    assert messages("profiles/import", {**IMPORT, "token": 5}) == ["token: must be a string"]


def test_unknown_operation_is_a_problem_not_an_exception():
    assert messages("profiles/import_fast", IMPORT) == [
        "operation: unknown operation 'profiles/import_fast'"
    ]


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_a_body_that_is_not_an_object(body):
    assert messages("profiles/add", body) == ["the request body must be an object"]


def test_profile_id_matching_is_refused_on_import():
    payload = {**IMPORT, "matching": "profile_id", "profile_id": "p"}
    del payload["email"]

    assert messages("profiles/import", payload) == [
        "matching: profile_id matching is only for finding existing profiles "
        "(profiles/update, the scenario operations)"
    ]


def test_update_with_profile_id_and_no_matching_is_profile_id_matching():
    payload = {"db_id": 1, "profile_id": "5a5b64a969d4265b958b9ac3", "data": {"_fname": "A"}}

    assert validate("profiles/update", payload) == []


@pytest.mark.parametrize(
    ("matching", "keys", "expected"),
    [
        ("email", {}, ["email: required by email matching"]),
        ("phone", {"phone": "+79000000000", "email": "a@b.co"},
         ["email: not used by phone matching"]),
        ("push_sub", {"provider": "ios-apns"}, ["subscription_id: required by push_sub matching"]),
        ("custom", {"field_name": "uid"}, ["field_value: required by custom matching"]),
        ("email_phone", {}, ["email: email_phone matching needs email or phone"]),
        ("email_phone_sub", {"phone": "+79000000000"}, []),
        ("custom_sub", {"field_name": "uid", "field_value": 42}, []),
        ("sms", {}, ["matching: unknown matching mode; one of email, email_profile, email_sub, "
                     "phone, phone_sub, profile_id, push_sub, custom, custom_sub, email_phone, "
                     "email_phone_sub"]),
    ],
)  # fmt: skip
def test_matching_needs_its_own_top_level_keys(matching, keys, expected):
    payload = {"db_id": 1, "matching": matching, **keys, "data": {"_fname": "A"}}

    assert messages("profiles/import", payload) == expected


def test_custom_matching_value_is_typed_by_the_field_when_known():
    payload = {
        "db_id": 1,
        "matching": "custom",
        "field_name": "uid",
        "field_value": "42",
        "data": {"uid": 42},
    }

    assert messages("profiles/import", payload, custom_field_types={"uid": "int"}) == [
        "field_value: must be an integer: the field is an int field"
    ]
    assert messages("profiles/import", payload, custom_field_types={"other": "int"}) == [
        "field_name: not a field of this database",
        "data.uid: not a field of this database",
    ]


BATCH = {
    "db_id": 1,
    "matching": "email",
    "data": [
        {"email": "a@example.com", "subscriptions": [
            {"resource_id": 1, "channel": "email", "email_data": {"email": "a@example.com"}}]},
        {"email": "b@example.com", "_fname": "B"},
    ],
}  # fmt: skip


def test_a_valid_batch_has_no_problems():
    assert validate("profiles/import_batch", BATCH) == []


def test_batch_items_carry_their_own_matching_value():
    payload = changed(("data", 1), {"_fname": "no email"}, BATCH)
    payload["email"] = "top@example.com"

    assert messages("profiles/import_batch", payload) == [
        "email: in a batch the matching value goes inside each profile (data[i].email)",
        "data[1].email: required: profiles are matched by email",
    ]


def test_batch_custom_matching_names_the_field_at_top_level():
    payload = {"db_id": 1, "matching": "custom", "field_name": "uid", "data": [{"uid": "1"}, {}]}

    assert messages("profiles/update_batch", payload) == [
        "data[1].uid: required: profiles are matched by uid"
    ]


def test_batch_phone_and_push_matching():
    phone = {"db_id": 1, "matching": "phone", "data": [{"phones": ["+79000000000"]}, {}]}
    push = {"workflow_id": 3, "matching": "push_sub", "data": [{"_fname": "A"}]}

    assert messages("profiles/import_batch", phone) == [
        "data[1].phones: required: profiles are matched by phone"
    ]
    assert messages("workflows/import_and_start_batch", push) == [
        "data[0].subscriptions: push_sub matching needs a push subscription"
    ]


def test_batch_over_ten_thousand_profiles_is_refused():
    payload = {"db_id": 1, "data": [{"_fname": "A"}] * 10_001}

    assert messages("profiles/add_batch", payload) == [
        "data: 10,001 profiles: at most 10,000 per request"
    ]


def test_batch_data_must_be_a_non_empty_list_of_objects():
    assert messages("profiles/add_batch", {"db_id": 1, "data": {}}) == [
        "data: must be a list of profiles"
    ]
    assert messages("profiles/add_batch", {"db_id": 1, "data": [3]}) == [
        "data[0]: must be an object with profile fields"
    ]


NOT_A_DATE = "not a date; expected like 2001-12-31 or 2001-12-31T23:59:59+03:00"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "not a valid email address"),
        ("email", "a@b", "not a valid email address"),
        ("phones", "+79000000000", "must be a list of phone numbers"),
        ("phones", ["+7900"], "'+7900' is not a valid E.164 phone number"),
        ("_bdate", "22.02.1990", NOT_A_DATE),
        ("_bdate", "2001-02-30", NOT_A_DATE),
        ("_regip", "999.1.1.1", "not a valid IPv4 or IPv6 address"),
        ("_tz", "Moscow", "not an IANA time zone (e.g. Europe/Moscow)"),
        ("_postal_code", 390000, 'must be a string (e.g. "390000"), not a number'),
        ("_regcountry", "Russia", "must be a two-letter country code (e.g. RU, US)"),
        ("_status", 9, "must be a profile status number from 0 to 6"),
        ("_fname", "tab\tok but bell \x07", "contains character U+0007, which XML cannot carry"),
        ("_fname", None, "must be a string"),
        ("_unknown", "x", "unknown system field"),
        ("1abc", "x", "not a valid field name (letters, digits, _ - . and no leading digit)"),
    ],
)  # fmt: skip
def test_system_field_formats(field, value, message):
    assert [str(p) for p in validate_profile({field: value}, batch=False)] == [
        f"data.{field}: {message}" if field[0] != "1" else f"data['1abc']: {message}"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("_bdate", "1990-02-22T21:00:00Z"),
        ("_bdate", "2001-12-31"),
        ("_bdate", "2001-12-31T00:00+03:00"),
        ("_regdate", "2023-12-31T23:59:59.123+03:00"),
        ("_regip", "2001:db8::1"),
        ("_sex", "female"),
        ("_sex", 0),
        ("_sex", 2),
        ("email", "пользователь@пример.рф"),
        ("phones", ["+12025550123", "+4915112345678"]),
        ("_tz", "America/Argentina/Buenos_Aires"),
    ],
)
def test_documented_system_field_forms_are_accepted(field, value):
    assert validate_profile({field: value}, batch=False) == []


def test_custom_fields_are_checked_by_type_when_types_are_known():
    types = {"visits": "int", "score": "float", "vip": "bool", "labels": "tags", "since": "date"}
    profile = {"visits": "3", "score": 1.5, "vip": 1, "labels": ["a", 2], "since": "yesterday"}

    assert [str(p) for p in validate_profile(profile, batch=False, custom_field_types=types)] == [
        "data.visits: must be an integer",
        "data.vip: must be true or false",
        "data.labels: must be a string",
        f"data.since: {NOT_A_DATE}",
    ]


def test_untyped_custom_fields_must_fit_both_formats():
    profile = {"a": None, "b": [[1]], "c": {"bad key": 1}, "d": float("nan"), "e": {"ok": [1, "x"]}}

    assert [str(p) for p in validate_profile(profile, batch=False)] == [
        "data.a: must not be null",
        "data.b: arrays of arrays cannot be sent",
        "data.c: 'bad key' is not a valid field name (letters, digits, _ - . and no leading digit)",
        "data.d: must be a finite number",
    ]


@pytest.mark.parametrize(
    ("field_type", "function", "expected"),
    [
        ("int", {"action": "incr", "value": -1000}, []),
        ("int", {"action": "incr", "value": 1.5}, ["data.f.value: must be a number"]),
        ("string", {"action": "incr", "value": 1},
         ["data.f.action: incr only applies to float, int fields"]),
        ("tags", {"action": "add", "value": ["cars", "cats"]}, []),
        ("tags", {"action": "delete", "value": "cars"},
         ["data.f.value: must be a list of strings"]),
        ("object", {"action": "upsert", "value": "y", "submatch": "x"}, []),
        ("object", {"action": "upsert", "value": "y"},
         ["data.f.submatch: required by upsert: the property path"]),
        ("string", {"action": "unset"}, []),
        ("string", {"action": "unset", "value": 1}, ["data.f.value: unset takes no value"]),
        ("string", {"action": "set"}, ["data.f.value: required by set"]),
        ("int", {"action": "set", "value": "x"}, ["data.f.value: must be an integer"]),
        (None, {"action": "set", "value": "x", "extra": 1},
         ["data.f.extra: not a key of a functional update"]),
    ],
)  # fmt: skip
def test_functional_updates(field_type, function, expected):
    types = {"f": field_type} if field_type else None
    problems = validate_profile({"f": function}, batch=False, custom_field_types=types)

    assert [str(p) for p in problems] == expected


def test_email_cannot_be_unset_and_add_operations_take_no_functions():
    assert messages("profiles/update", {"db_id": 1, "profile_id": "p", "data": {
        "email": {"action": "unset"}}}) == ["data.email.action: email cannot be unset"]  # fmt: skip
    assert messages(
        "profiles/add", {"db_id": 1, "data": {"n": {"action": "incr", "value": 1}}}
    ) == ["data.n: functional updates only work on import and update operations"]


@pytest.mark.parametrize(
    ("subscription", "expected"),
    [
        ({"resource_id": 1, "channel": "email", "email": "a@b.co"}, []),
        ({"resource_id": 1, "email": "a@b.co"}, []),  # the documented workflows example
        ({"channel": "email", "email": "a@b.co"}, ["s.resource_id: required"]),
        ({"resource_id": 1, "channel": "fax", "email": "a@b.co"}, [
            "s.channel: unknown channel; one of email, sms, push, telegram_bot, whatsapp, "
            "viber, notify"]),
        ({"resource_id": 1, "channel": "sms"}, ["s.phone: required for the sms channel"]),
        ({"resource_id": 1, "channel": "sms", "phone": "+79000000000", "email": "a@b.co"}, [
            "s.email: not a key of the sms channel"]),
        ({"resource_id": 1, "channel": "push", "provider": "ios-apns", "subscription_id": ""}, [
            "s.subscription_id: must not be empty"]),
        ({"resource_id": 1, "channel": "telegram_bot", "cc_data": {"id": "12"}}, [
            "s.cc_data.id: must be an integer"]),
        ({"resource_id": 1, "channel": "viber", "cc_data": {"phone": "+7", "id": 1}}, [
            "s.cc_data.id: not a key of cc_data here",
            "s.cc_data.phone: not a valid E.164 phone number (+ and country code, digits only)"]),
        ({"resource_id": 1, "cc_data": {"phone": "+79000000000"}}, [
            "s.channel: required: the channel cannot be told from the other keys"]),
        ({"resource_id": 1, "channel": "email", "email": "a@b.co", "status": "gone",
          "priority": -1, "cats": ["", 1]}, [
            "s.status: must be one of subscribed, unsubscribed, complained, hardbounced, "
            "unconfirmed, suspended, invalid or a number 0-6",
            "s.priority: must be an integer from 0 to 2,147,483,647",
            "s.cats[0]: must not be empty",
            "s.cats[1]: must be a string"]),
        ({"resource_id": 1, "channel": "email", "email": "a@b.co", "status": 6, "priority": 0,
          "custom_fields": {"_browser_name": "Firefox", "n": {"action": "incr", "value": 1}}}, []),
    ],
)  # fmt: skip
def test_single_subscriptions(subscription, expected):
    problems = validate_subscription(subscription, batch=False, path="s")

    assert [str(p) for p in problems] == expected


@pytest.mark.parametrize(
    ("subscription", "expected"),
    [
        ({"resource_id": 1, "channel": "email", "email_data": {"email": "a@b.co"}}, []),
        ({"resource_id": 1, "channel": "email", "email": "a@b.co"}, []),
        ({"resource_id": 1, "channel": "sms", "phone_data": {"phone": "+79000000000"}}, []),
        ({"resource_id": 1, "channel": "email", "email": "a@b.co",
          "email_data": {"email": "a@b.co"}}, [
            "s: use one form of the email identifier: email_data.email or email"]),
        ({"resource_id": 1, "channel": "email", "email_data": {}}, [
            "s.email_data.email: required for the email channel"]),
    ],
)  # fmt: skip
def test_batch_subscription_shapes(subscription, expected):
    problems = validate_subscription(subscription, batch=True, path="s")

    assert [str(p) for p in problems] == expected


def test_update_batch_may_keep_status_and_priority_with_minus_one():
    sub = {"resource_id": 1, "channel": "email", "email": "a@b.co", "status": -1, "priority": -1}
    payload = {
        "db_id": 1,
        "matching": "email",
        "data": [{"email": "a@b.co", "subscriptions": [sub]}],
    }

    assert validate("profiles/update_batch", payload) == []
    assert len(validate("profiles/import_batch", payload)) == 2


def test_validate_profile_serves_one_batch_row_with_its_own_prefix():
    problems = validate_profile(
        {"phones": ["+1"]}, batch=True, path_prefix="data[7]", matching="email"
    )

    assert [p.path for p in problems] == ["data[7].phones", "data[7].email"]


@pytest.mark.parametrize(
    ("priority", "problem"),
    [
        (0, None),
        (2_147_483_647, None),
        (2_147_483_648, "must be an integer from 0 to 2,147,483,647"),
        (-1, "must be an integer from 0 to 2,147,483,647"),
    ],
)
def test_a_priority_is_a_32_bit_integer(priority, problem):
    sub = {"resource_id": 1, "channel": "email", "email": "a@b.co", "priority": priority}
    found = validate_subscription(sub, batch=False, path="s")
    assert [p.message for p in found] == ([problem] if problem else [])


def test_integers_beyond_64_bits_are_named_not_sent():
    payload = {"db_id": 1, "matching": "email", "email": "a@b.co", "data": {"n": 2**64}}
    assert [str(p) for p in validate("profiles/import", payload)] == [
        "data.n: is out of range: integers go from -9,223,372,036,854,775,808 to "
        "9,223,372,036,854,775,807"
    ]


@pytest.mark.parametrize("action", ["multiply", 3, "SET", ""])
def test_an_unknown_update_action_is_named_with_the_allowed_ones(action):
    payload = {"db_id": 1, "matching": "email", "email": "a@b.co"}
    payload["data"] = {"loyalty": {"action": action, "value": 2}}
    assert [str(p) for p in validate("profiles/update", payload)] == [
        f"data.loyalty.action: unknown update action {action!r}; "
        "one of set, unset, incr, add, delete, upsert"
    ]


def test_an_object_with_more_than_update_keys_is_a_plain_value():
    payload = {"db_id": 1, "matching": "email", "email": "a@b.co"}
    payload["data"] = {"event": {"action": "click", "at": "home"}}
    assert validate("profiles/update", payload) == []
