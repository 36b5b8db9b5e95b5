"""The documented Altcraft payloads parse, validate and convert between JSON and XML."""

import json
import os
from pathlib import Path

import pytest

from altcraft.codec import (
    PayloadError,
    decode,
    decode_response,
    detect_format,
    encode_json,
    encode_xml,
)
from altcraft.validation import validate, validate_profile
from tests.helpers import EXAMPLES, GOLDEN, REQUESTS, examples, operation_of, read

CANONICAL = GOLDEN / "canonical"


def source_note(path: Path) -> str:
    return path.with_name(path.name + ".src.txt").read_text().strip().splitlines()[-1]


INVALID_AS_DOCUMENTED = sorted(EXAMPLES.glob("*.asdoc.txt"))


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.name)
def test_documented_request_parses_and_validates(path):
    payload = read(path)

    assert validate(operation_of(path), payload) == []


@pytest.mark.parametrize("path", INVALID_AS_DOCUMENTED, ids=lambda p: p.name)
def test_invalid_documented_payload_gets_a_clear_error_not_a_crash(path):
    body = path.read_bytes()
    try:
        decode_response(body, detect_format(body))
    except PayloadError as exc:
        assert "line" in str(exc)  # malformed: the message says where
    else:
        assert path.name.startswith("07-")  # well-formed XML, only odd in shape


def test_documented_missing_comma_is_reported_with_its_position():
    body = (EXAMPLES / "33-profile-data-object.asdoc.txt").read_bytes()

    with pytest.raises(PayloadError, match=r"Expecting ',' delimiter at line 24, column 1"):
        decode(body, "json")


def test_documented_profile_object_with_its_comma_back_shows_the_phone_typo():
    text = (EXAMPLES / "33-profile-data-object.asdoc.txt").read_text()
    fixed = json.loads(text.replace('"custom_value"\n', '"custom_value",\n'))

    problems = validate_profile(fixed["data"], batch=False)

    assert [str(p) for p in problems] == [
        "data.phones: '+790000000000' is not a valid E.164 phone number"
    ]


def test_documented_arr_object_upsert_validates_once_its_trailing_commas_go():
    text = EXAMPLES / "23-profiles-update.functional-upsert-arr-object.request.asdoc.txt"
    payload = json.loads(text.read_text().replace(",\n}", "\n}"))

    assert validate("profiles/update", payload) == []
    assert (
        validate("profiles/update", payload, custom_field_types={"myArrOfObject": "arr_object"})
        == []
    )


def test_import_batch_data_param_validates_inside_an_envelope():
    data = json.loads((EXAMPLES / "10-profiles-import_batch.data-param.json").read_text())
    for operation in ("profiles/import_batch", "profiles/update_batch"):
        payload = {"token": "t", "db_id": 1, "matching": "email", "data": data}

        assert validate(operation, payload) == []
        assert decode(encode_xml(payload), "xml", operation=operation) == payload


@pytest.mark.parametrize("path", [p for p in REQUESTS if p.suffix == ".json"], ids=lambda p: p.name)
def test_our_xml_of_a_json_example_parses_back_to_it(path):
    payload = read(path)

    assert decode(encode_xml(payload), "xml", operation=operation_of(path)) == payload


@pytest.mark.parametrize("path", [p for p in REQUESTS if p.suffix == ".xml"], ids=lambda p: p.name)
def test_our_json_of_an_xml_example_parses_back_to_it(path):
    payload = read(path)

    assert decode(encode_json(payload), "json") == payload


def shape(value: object, path: str = "") -> set[tuple[str, str]]:
    """(path, type) pairs, list positions collapsed: what the two tabs must agree on."""
    if isinstance(value, dict):
        pairs = {(path, "object")}
        for key, item in value.items():
            pairs |= shape(item, f"{path}.{key}")
        return pairs
    if isinstance(value, list):
        return {(path, "array")}.union(*(shape(item, f"{path}[]") for item in value))
    return {(path, type(value).__name__)}


PAIRS = [p for p in REQUESTS if p.suffix == ".xml" and p.with_suffix(".json") in REQUESTS]


@pytest.mark.parametrize("xml_path", PAIRS, ids=lambda p: p.name)
def test_xml_tab_decodes_to_the_types_of_the_json_tab(xml_path):
    """The tabs differ in some values as documented, never in the type of a shared key."""
    from_xml, from_json = shape(read(xml_path)), shape(read(xml_path.with_suffix(".json")))

    assert from_xml <= from_json


def test_identical_json_and_xml_tabs_decode_equal():
    stem = "06-profiles-add.request"

    assert read(EXAMPLES / f"{stem}.xml") == read(EXAMPLES / f"{stem}.json")


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_canonical_output_matches_golden_file(path, fmt):
    body = (encode_json if fmt == "json" else encode_xml)(read(path))
    golden = CANONICAL / f"{path.name}.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(body)

    assert body == golden.read_bytes()


@pytest.mark.parametrize("stem", ["12-databases-list", "14-resources-list", "15-resources-get"])
def test_documented_json_and_xml_responses_decode_equal(stem):
    json_body = (EXAMPLES / f"{stem}.response.json").read_bytes()
    xml_body = (EXAMPLES / f"{stem}.response.xml").read_bytes()

    assert decode_response(xml_body, "xml") == decode_response(json_body, "json")


@pytest.mark.parametrize("path", examples("*.response.*"), ids=lambda p: p.name)
def test_documented_response_has_the_json_tabs_shape(path):
    answer = decode_response(path.read_bytes(), detect_format(path.read_bytes()))
    json_twin = path.with_suffix(".json")

    assert answer["error"] == 0
    assert shape(answer) <= shape(decode_response(json_twin.read_bytes(), "json"))


def test_documented_batch_response_with_nested_xml_items_gives_a_result_list():
    body = (EXAMPLES / "07-profiles-add_batch.response.asdoc.txt").read_bytes()
    documented_json = (EXAMPLES / "07-profiles-add_batch.response.json").read_bytes()

    assert decode_response(body, "xml") == decode_response(documented_json, "json")


def test_documented_single_item_list_response_in_xml_has_a_data_list():
    body = (EXAMPLES / "14-resources-list.response.xml").read_bytes()

    assert decode_response(body, "xml", method="resources/list")["data"] == [
        {"id": 1, "name": "Resource", "groups": [{"id": 1, "name": "subaccount"}]}
    ]
