"""Every documented request, posted over HTTP to the running sandbox, is accepted and shows up
in profiles/get; the documented invalid one is refused with a reason.

IDs in the examples are replaced by seeded ones: database 1, resource 1 (all channels),
scenario 1, and the demo token.
"""

import json
import re
from pathlib import Path

import pytest
import requests

from altcraft.codec import decode, decode_response
from altcraft_sandbox import seed
from tests.helpers import EXAMPLES

IDS = {"db_id": 1, "resource_id": 1, "workflow_id": 1}
TYPES = {name: spec["type"] for name, spec in seed.DATABASES[0]["custom_fields"].items()}


def method_of(path: Path) -> str:
    area, _, action = path.name.split(".", 1)[0].split("-", 1)[1].partition("-")
    return f"{area}/{action}"


def request_files() -> list[Path]:
    """The documented requests that make a profile; the profiles/update examples change
    profiles that exist only in the documented account (the functional-update tests cover
    them against profiles of our own)."""
    found = sorted(EXAMPLES.glob("*.request.json")) + sorted(EXAMPLES.glob("*.request.xml"))
    return [path for path in found if method_of(path) != "profiles/update"]


def with_seeded_ids(value: object) -> object:
    if isinstance(value, dict):
        return {k: IDS.get(k, with_seeded_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_seeded_ids(item) for item in value]
    return value


def prepared(path: Path) -> tuple[bytes, str]:
    if path.suffix == ".json":
        body = with_seeded_ids(json.loads(path.read_text()))
        body["token"] = seed.demo_token()
        return json.dumps(body).encode(), "json"
    text = path.read_text()
    for name, value in IDS.items():
        text = re.sub(rf"<{name}>\d+</{name}>", f"<{name}>{value}</{name}>", text)
    text = re.sub(r"<token>[^<]*</token>", f"<token>{seed.demo_token()}</token>", text)
    return text.encode(), "xml"


def post(base: str, method: str, body: bytes, fmt: str) -> dict:
    response = requests.post(
        base + method, data=body, headers={"Content-Type": f"application/{fmt}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(f"application/{fmt}")
    return decode_response(response.content, fmt, method=method)


def profile(base: str, profile_id: str, db_id: int = 1) -> dict:
    body = {"token": seed.demo_token(), "db_id": db_id, "profile_id": profile_id}
    answer = post(base, "profiles/get", json.dumps(body).encode(), "json")
    assert answer["error"] == 0, answer
    return answer["profile"]


def assert_stored(stored: dict, data: dict) -> None:
    for name, value in data.items():
        if name == "subscriptions":
            assert len(stored["subscriptions"]) >= 1
        elif name != "phones":
            assert stored[name] == value, name


@pytest.mark.parametrize("path", request_files(), ids=lambda p: p.name)
def test_documented_request_is_accepted(live_sandbox, path):
    body, fmt = prepared(path)
    method = method_of(path)
    answer = post(live_sandbox, method, body, fmt)
    assert answer["error"] == 0, answer
    sent = decode(body, fmt, operation=method, custom_field_types=TYPES)
    if "profile_id" in answer:
        assert_stored(profile(live_sandbox, answer["profile_id"]), sent.get("data") or {})
    if "result" in answer:
        for item, result in zip(sent["data"], answer["result"], strict=True):
            assert result["error"] == 0, result
            assert_stored(profile(live_sandbox, result["profile_id"]), item)


def test_documented_import_batch_data_is_accepted(live_sandbox):
    data = json.loads((EXAMPLES / "10-profiles-import_batch.data-param.json").read_text())
    body = {"token": seed.demo_token(), "db_id": 1, "matching": "email"}
    body["data"] = with_seeded_ids(data)
    answer = post(live_sandbox, "profiles/import_batch", json.dumps(body).encode(), "json")
    assert [r["error"] for r in answer["result"]] == [0]
    stored = profile(live_sandbox, answer["result"][0]["profile_id"])
    assert (stored["custom_id"], stored["email"]) == (
        "abcdefghijklmnqrstuvwxyz",
        "john@example.com",
    )
    assert stored["subscriptions"][0]["email_data"] == {"email": "john@example.com"}


def test_documented_invalid_request_is_400_with_the_reason(live_sandbox):
    path = EXAMPLES / "05-profiles-import.combined.request.asdoc.txt"
    answer = post(live_sandbox, "profiles/import", path.read_bytes(), "json")
    assert answer["error"] == 400
    assert answer["error_text"].startswith("malformed JSON")
