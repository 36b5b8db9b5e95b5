"""Operations, matching modes, channels, fields and error codes as the contract lists them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import altcraft
from altcraft.channels import CHANNELS, SUBSCRIPTION_STATUSES, infer_channel
from altcraft.error_codes import ERROR_CODES, describe_error
from altcraft.fields import ACTIONS, GROUPS, SYSTEM_FIELDS, actions_for
from altcraft.matching import MATCHING_MODES, matching_values
from altcraft.operations import OPERATIONS, UnknownOperation, get_operation
from tests.helpers import ROOT

PACKAGE = Path(altcraft.__file__).parent


IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
import altcraft
for module in pkgutil.iter_modules(altcraft.__path__):
    importlib.import_module(f"altcraft.{module.name}")
print(sorted(name for name in sys.modules if name == "django" or name.startswith("django.")))
"""


def test_every_module_of_the_package_imports_without_loading_django():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    finished = subprocess.run(  # noqa: S603 - this interpreter, with the script above
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    assert finished.stdout.strip() == "[]"
    assert len(list(PACKAGE.glob("*.py"))) >= 12  # the modules were there to import


def test_the_eight_operations_of_the_issue():
    assert list(OPERATIONS) == [
        "profiles/import",
        "profiles/update",
        "profiles/add",
        "profiles/add_batch",
        "profiles/import_batch",
        "profiles/update_batch",
        "workflows/import_and_start",
        "workflows/import_and_start_batch",
    ]


@pytest.mark.parametrize("path", list(OPERATIONS))
def test_batch_operations_carry_the_limits(path):
    op = OPERATIONS[path]

    assert op.is_batch == path.endswith("_batch")
    assert op.max_profiles == (10_000 if op.is_batch else None)
    assert op.max_bytes == 10 * 1024 * 1024
    assert op.param("data").required == (not path.startswith("workflows/") or op.is_batch)


def test_profile_id_matching_only_where_profiles_are_found_not_created():
    with_profile_id = {p for p, op in OPERATIONS.items() if "profile_id" in op.matching_modes}

    assert with_profile_id == {
        "profiles/update",
        "profiles/update_batch",
        "workflows/import_and_start",
        "workflows/import_and_start_batch",
    }


def test_add_operations_take_no_matching_and_workflows_no_db_id():
    assert not OPERATIONS["profiles/add"].takes_matching
    assert not OPERATIONS["profiles/add_batch"].takes_matching
    workflow = OPERATIONS["workflows/import_and_start"]
    assert workflow.needs_workflow_id and not workflow.needs_db_id
    assert "db_id" not in workflow.param_names
    assert workflow.param("matching").required


def test_params_carry_type_required_and_default():
    op = OPERATIONS["profiles/import"]

    assert op.param("db_id").type == "int" and op.param("db_id").required
    assert op.param("matching").default == "email"
    assert op.param("skip_triggers").default is False
    assert op.param("add_to_segments").type == "array[int]"


@pytest.mark.parametrize(
    "spelling", ["profiles/add_batch", "/api/v1.1/profiles/add_batch/", "v1.1/profiles/add_batch"]
)
def test_get_operation_accepts_the_documented_spellings(spelling):
    assert get_operation(spelling).api_path == "v1.1/profiles/add_batch/"


def test_unknown_operation_is_a_key_error():
    with pytest.raises(UnknownOperation):
        get_operation("profiles/import_fast")
    assert issubclass(UnknownOperation, KeyError)


def test_eleven_matching_modes_with_their_keys():
    assert len(MATCHING_MODES) == 11
    assert MATCHING_MODES["push_sub"].required_keys == ("provider", "subscription_id")
    assert MATCHING_MODES["custom"].required_keys == ("field_name", "field_value")
    assert MATCHING_MODES["email_phone"].any_of_keys == ("email", "phone")
    assert MATCHING_MODES["phone"].batch_value_key == "phones"
    assert MATCHING_MODES["custom_sub"].batch_top_level_keys == ("field_name",)
    assert all(m.description.count(".") == 0 for m in MATCHING_MODES.values())


def test_matching_values_of_a_single_request():
    payload = {"matching": "custom", "field_name": "uid", "field_value": 7, "email": "a@b.co"}

    assert matching_values(payload) == {"field_name": "uid", "field_value": 7}
    assert matching_values({"email": "a@b.co"}) == {"email": "a@b.co"}
    assert matching_values({"profile_id": "p1"}, update=True) == {"profile_id": "p1"}


def test_seven_channels_with_their_identifier_keys():
    assert {name: c.identifier_keys for name, c in CHANNELS.items()} == {
        "email": ("email",),
        "sms": ("phone",),
        "push": ("provider", "subscription_id"),
        "telegram_bot": ("cc_data.id",),
        "whatsapp": ("cc_data.phone",),
        "viber": ("cc_data.phone",),
        "notify": ("cc_data.phone",),
    }
    assert CHANNELS["email"].batch_identifier_keys == ("email_data.email",)


def test_subscription_statuses_word_and_number():
    assert SUBSCRIPTION_STATUSES["subscribed"] == 0
    assert SUBSCRIPTION_STATUSES["invalid"] == 6
    assert len(SUBSCRIPTION_STATUSES) == 7


@pytest.mark.parametrize(
    ("subscription", "channel"),
    [
        ({"email": "a@b.co", "resource_id": 7}, "email"),
        ({"email_data": {"email": "a@b.co"}}, "email"),
        ({"phone": "+79000000000"}, "sms"),
        ({"provider": "ios-apns", "subscription_id": "x"}, "push"),
        ({"cc_data": {"id": 1}}, "telegram_bot"),
        ({"cc_data": {"phone": "+79000000000"}}, None),
    ],
)
def test_channel_is_inferred_only_when_unambiguous(subscription, channel):
    assert infer_channel(subscription) == channel


def test_system_fields_with_groups_and_formats():
    assert {f.group for f in SYSTEM_FIELDS.values()} == set(GROUPS)
    assert SYSTEM_FIELDS["phones"].format == "phones"
    assert SYSTEM_FIELDS["_tz"].format == "time_zone"
    assert SYSTEM_FIELDS["_postal_code"].format == "postal_code"
    assert not SYSTEM_FIELDS["_mname"].confirmed


def test_functional_update_actions_by_field_type():
    assert set(ACTIONS) == {"set", "unset", "incr", "add", "delete", "upsert"}
    assert actions_for("int") == ("set", "unset", "incr")
    assert actions_for("tags") == ("set", "unset", "add", "delete")
    assert actions_for("object") == ("set", "unset", "upsert")
    assert ACTIONS["upsert"].needs_submatch


def test_error_codes_of_section_seven():
    assert sorted(ERROR_CODES) == [
        0,
        400,
        401,
        402,
        403,
        404,
        409,
        413,
        415,
        435,
        441,
        450,
        500,
        501,
    ]
    assert describe_error(435) == "Ambiguous search: several objects match"
    assert describe_error(999) == "Undocumented error code 999"
