"""`manage.py altcraft_payload convert` on documented payloads, good and bad."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from altcraft.codec import decode, encode_json, encode_xml
from tests.helpers import EXAMPLES, REQUESTS, ROOT, operation_of, read


def convert(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("altcraft_payload", "convert", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.name)
@pytest.mark.parametrize("to", ["json", "xml"])
def test_documented_requests_convert_to_canonical_output(path, to):
    out, err = convert("--operation", operation_of(path), "--to", to, str(path))

    expected = (encode_json if to == "json" else encode_xml)(read(path))
    assert out == expected.decode() + "\n"
    assert err == ""


def test_reads_standard_input(monkeypatch):
    path = EXAMPLES / "08-workflows-import_and_start.request.xml"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))

    out, _ = convert("--operation", "workflows/import_and_start", "--to", "json", "-")

    assert json.loads(out) == read(path)


def test_every_problem_goes_to_stderr_and_the_command_fails(tmp_path):
    payload = json.loads((EXAMPLES / "03-profiles-import.multi-channel.request.json").read_text())
    payload["data"]["subscriptions"][1]["phone"] = "8 900 000 00 00"
    payload["db_id"] = 0
    body = tmp_path / "request.json"
    body.write_text(json.dumps(payload))
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 problems: not a valid profiles/import request") as e:
        call_command(
            "altcraft_payload", "convert", "--operation", "profiles/import", "--to", "xml",
            str(body), stdout=io.StringIO(), stderr=err,
        )  # fmt: skip

    assert e.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "db_id: must be a positive integer, at most 2,147,483,647",
        "data.subscriptions[1].phone: not a valid E.164 phone number (+ and country code, "
        "digits only)",
    ]


def test_a_request_for_another_operation_is_invalid():
    with pytest.raises(CommandError, match="3 problems"):
        convert("--operation", "profiles/add", "--to", "json", str(REQUESTS[0]))


def test_documented_invalid_json_is_reported_with_its_position():
    path = EXAMPLES / "05-profiles-import.combined.request.asdoc.txt"

    with pytest.raises(CommandError, match="malformed JSON: Expecting ':' delimiter at line 40"):
        convert("--operation", "profiles/import", "--to", "xml", str(path))


def test_an_xml_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><token>&a;</token></xml>')

    with pytest.raises(CommandError, match="entities is refused"):
        convert("--operation", "profiles/add", "--to", "json", str(bomb))


def test_custom_field_types_type_xml_values(tmp_path):
    body = tmp_path / "request.xml"
    body.write_text("<xml><db_id>1</db_id><data><visits>3</visits></data></xml>")

    out, _ = convert(
        "--operation", "profiles/add", "--to", "json", "--field", "visits:int", str(body)
    )

    assert out == '{"db_id":1,"data":{"visits":3}}\n'


def test_pretty_prints_json_only():
    path = EXAMPLES / "06-profiles-add.request.xml"

    out, _ = convert("--operation", "profiles/add", "--to", "json", "--pretty", str(path))

    assert out.startswith('{\n  "token": "abcdefghijklmnqrstuvwxyz",\n')
    with pytest.raises(CommandError, match="--pretty only applies to JSON"):
        convert("--operation", "profiles/add", "--to", "xml", "--pretty", str(path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--operation", "profiles/import_fast", "--to", "xml", "x"], "unknown operation"),
        (["--operation", "profiles/add", "--to", "xml", "/no/such/file"], "cannot read"),
    ],
)
def test_bad_arguments_are_explained(args, message):
    with pytest.raises(CommandError, match=message):
        convert(*args)


def test_from_the_shell_invalid_input_exits_with_status_1():
    body = json.dumps({"db_id": 1, "data": {"phones": ["+7"]}}).encode()

    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "altcraft_payload", "convert", "--operation",
         "profiles/add", "--to", "xml", "-"],
        input=body, capture_output=True, cwd=ROOT, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stdout == b""
    assert b"data.phones: '+7' is not a valid E.164 phone number" in result.stderr


def test_converted_output_converts_back(tmp_path):
    path = EXAMPLES / "07-profiles-add_batch.request.xml"
    as_json = tmp_path / "request.json"
    as_json.write_text(convert("--operation", "profiles/add_batch", "--to", "json", str(path))[0])

    out, _ = convert("--operation", "profiles/add_batch", "--to", "xml", str(as_json))

    assert decode(out.strip().encode(), "xml", operation="profiles/add_batch") == read(path)
