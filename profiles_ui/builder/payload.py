"""Form values -> an Altcraft payload dict, and problem paths back to form fields.

Only parsing happens here: typed text becomes numbers, lists and objects. Whether the result
is a valid request is for `altcraft.validation` to say; its problem paths are mapped back to
form fields by `locate`, so a problem found anywhere is marked where it was typed.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from altcraft.codec import PayloadError, decode_json
from altcraft.formats import DEFAULT_PHONE_REGION, MAX_NESTING, normalise_phone
from altcraft.matching import MATCHING_KEYS
from altcraft.operations import Operation
from altcraft.problems import Problem
from altcraft.schema import to_int, to_number

OPTION_FLAGS = ("skip_triggers", "skip_invalid_subscriptions", "detect_geo")
SEGMENTS = ("add_to_segments", "remove_from_segments")
SUB_SIMPLE_KEYS = ("email", "phone", "provider", "subscription_id")


@dataclass
class SubRow:
    index: int  # the row's position in the formset, which deleted rows make differ from data
    values: dict[str, Any]
    field_types: dict[str, str]


@dataclass
class Parts:
    """What the forms hold, already parsed by them, in plain values."""

    operation: Operation
    target: dict[str, Any]
    matching: dict[str, Any]
    matching_keys: tuple[str, ...]
    profile: list[tuple[str, str, str, str]]  # name, raw text, function, type
    profile_extra: str
    subs: list[SubRow]
    content: list[tuple[str, str]]
    attach: list[dict[str, str]]
    options: dict[str, Any]
    phone_region: str = DEFAULT_PHONE_REGION
    # Filled by build: (path, value sent) for every input sent otherwise than it was typed.
    converted: list[tuple[str, str]] = field(default_factory=list)


def split_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def typed(raw: str, field_type: str) -> Any:
    """A plain field value from its text; unparseable text stays text for validation to flag."""
    if field_type in ("int", "float"):
        return to_number(raw)
    if field_type == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if field_type in ("tags", "phones"):
        return split_list(raw)
    if field_type in ("object", "arr_object"):
        return decode_json(raw, max_depth=MAX_NESTING)
    if field_type == "enum":  # _sex: 0, 1, 2 as the examples send
        return to_int(raw)
    return raw


def field_value(raw: str, fn: str, field_type: str) -> Any:
    if fn == "unset":
        return {"action": "unset"}
    if fn == "incr":
        return {"action": "incr", "value": to_number(raw)}
    if fn in ("add", "delete"):
        return {"action": fn, "value": split_list(raw)}
    value = typed(raw, field_type)
    return {"action": "set", "value": value} if fn == "set" else value


def phone_example(region: str) -> str:
    """How a number of the region is written, internationally and nationally."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return f"+{phonenumbers.country_code_for_region(region)} and the number"
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return f"{international} or {national}"


def unreadable_phone(region: str) -> str:
    example = phone_example(region)
    return f"not a phone number we can read for region {region}; expected like {example}"


def _phone(raw: str, path: str, parts: Parts, problems: list[Problem]) -> str:
    """The E.164 form of a typed phone; unreadable text is kept as typed, and refused."""
    sent = normalise_phone(raw, parts.phone_region)
    if sent is None:
        problems.append(Problem(path, unreadable_phone(parts.phone_region)))
        return raw
    if sent != raw:
        parts.converted.append((path, sent))
    return sent


def _phones(value: Any, path: str, parts: Parts, problems: list[Problem]) -> Any:
    """The profile's phones (a list, or a function's list of values) in E.164."""
    if isinstance(value, dict):
        if isinstance(value.get("value"), list):
            return {**value, "value": _phones(value["value"], path, parts, problems)}
        return value
    if not isinstance(value, list):
        return value
    found: list[Problem] = []
    sent = []
    for raw in value:
        number = normalise_phone(raw, parts.phone_region)
        if number is None:
            found.append(Problem(path, f"{raw} is {unreadable_phone(parts.phone_region)}"))
        sent.append(number or raw)
    if found:
        problems.append(Problem(path, "; ".join(p.message for p in found)))
    elif sent != value:
        parts.converted.append((path, ", ".join(sent)))
    return sent


def _json_object(raw: str, path: str, problems: list[Problem]) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = decode_json(raw, max_depth=MAX_NESTING + 1)  # the object holds the values
    except PayloadError as exc:
        problems.append(Problem(path, f"not valid JSON ({exc})"))
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(path, 'must be a JSON object, like {"key": "value"}'))
        return {}
    return value


def _profile(parts: Parts, problems: list[Problem]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, raw, fn, field_type in parts.profile:
        if not raw and fn in ("", "set", "incr", "add", "delete"):
            problems.append(Problem(f"data.{name}", f"enter a value to {fn or 'set'}"))
            continue
        try:
            data[name] = field_value(raw, fn, field_type)
        except PayloadError as exc:
            problems.append(Problem(f"data.{name}", f"not valid JSON ({exc})"))
            continue
        if field_type == "phones":
            data[name] = _phones(data[name], f"data.{name}", parts, problems)
    for key, value in _json_object(parts.profile_extra, "@profile.extra", problems).items():
        data.setdefault(key, value)
    subscriptions = [_subscription(i, row, parts, problems) for i, row in enumerate(parts.subs)]
    if subscriptions:
        data["subscriptions"] = subscriptions
    return data


def _subscription(i: int, row: SubRow, parts: Parts, problems: list[Problem]) -> dict[str, Any]:
    # An identifier left empty is left out, so that validation says it is required.
    values = row.values
    path = f"data.subscriptions[{i}]"
    channel = values.get("channel") or ""
    sub: dict[str, Any] = {}
    if values.get("resource_id") is not None:
        sub["resource_id"] = values["resource_id"]
    sub["channel"] = channel
    for key in SUB_SIMPLE_KEYS:
        if values.get(key):
            value = values[key]
            sub[key] = _phone(value, f"{path}.phone", parts, problems) if key == "phone" else value
    if values.get("cc_id"):
        sub["cc_data"] = {"id": to_number(values["cc_id"])}
    elif values.get("cc_phone"):
        sub["cc_data"] = {
            "phone": _phone(values["cc_phone"], f"{path}.cc_data.phone", parts, problems)
        }
    if values.get("status"):
        sub["status"] = values["status"]
    if values.get("priority") is not None:
        sub["priority"] = values["priority"]
    if values.get("cats"):
        sub["cats"] = split_list(values["cats"])
    custom: dict[str, Any] = {}
    for name, field_type in row.field_types.items():
        raw = values.get(f"sf_{name}") or ""
        if raw:
            custom[name] = typed(raw, field_type)
    for key, value in _json_object(values.get("extra", ""), f"@sub[{i}].extra", problems).items():
        custom.setdefault(key, value)
    if custom:
        sub["custom_fields"] = custom
    return sub


def build(parts: Parts) -> tuple[dict[str, Any], list[Problem]]:
    """The payload the forms describe (no token), and the problems met while parsing them."""
    op = parts.operation
    problems: list[Problem] = []
    payload: dict[str, Any] = {}
    if op.needs_db_id:
        payload["db_id"] = parts.target.get("db_id")
    if op.needs_workflow_id:
        payload["workflow_id"] = parts.target.get("workflow_id")
    payload = {key: value for key, value in payload.items() if value is not None}
    if op.takes_matching:
        payload["matching"] = parts.matching.get("matching")
        for key in parts.matching_keys:
            value = parts.matching.get(key) or ""
            if value and key == "phone":
                payload[key] = _phone(value, key, parts, problems)
            elif value:
                payload[key] = to_number(value) if key == "field_value" else value
        if parts.matching.get("resource_id") is not None:
            payload["resource_id"] = parts.matching["resource_id"]
    for flag in OPTION_FLAGS:
        if parts.options.get(flag):
            payload[flag] = True
    for name in SEGMENTS:
        raw = parts.options.get(name) or ""
        if raw:
            items = [to_int(item) for item in split_list(raw)]
            if all(isinstance(item, int) for item in items):
                payload[name] = items
            else:
                problems.append(Problem(name, "must be segment IDs separated by commas"))
    data = _profile(parts, problems)
    if data or op.param("data") and op.param("data").required:
        payload["data"] = data
    content = {key: value for key, value in parts.content if key or value}
    if content:
        payload["content"] = content
    if parts.attach:
        payload["attach"] = [{k: v for k, v in item.items() if v} for item in parts.attach]
    for key, value in _json_object(
        parts.options.get("extra", ""), "@options.extra", problems
    ).items():
        payload.setdefault(key, value)
    return payload, problems


# --- Problems back to fields ---------------------------------------------------------------

_SUB_PATH = re.compile(r"data\.subscriptions\[(\d+)\](?:\.(\w+)(?:\.(\w+))?)?")
_ATTACH_PATH = re.compile(r"attach\[(\d+)\](?:\.(\w+))?")
_AT_PATH = re.compile(r"@(profile|options)\.extra|@sub\[(\d+)\]\.extra")


def locate(path: str, sub_rows: list[int]) -> tuple[str, int | None, str | None]:
    """Where a problem path belongs: (section, row index or None, field name or None)."""
    if m := _AT_PATH.fullmatch(path):
        if m.group(2) is not None:
            return "subs", sub_rows[int(m.group(2))], "extra"
        return m.group(1), None, "extra"
    if m := _SUB_PATH.match(path):
        row = sub_rows[int(m.group(1))] if int(m.group(1)) < len(sub_rows) else None
        key, inner = m.group(2), m.group(3)
        if key == "cc_data":
            return "subs", row, f"cc_{inner}" if inner else "cc_data"
        if key == "custom_fields":
            return "subs", row, f"sf_{inner}" if inner else "extra"
        if key in ("email_data", "phone_data"):
            return "subs", row, key.split("_")[0]
        return "subs", row, key
    if m := _ATTACH_PATH.match(path):
        return "attach", int(m.group(1)), m.group(2)
    head, _, rest = path.partition(".")
    head = head.split("[", 1)[0]
    if head == "data":
        if not rest or rest == "subscriptions":
            return "profile", None, None
        name, _, sub = rest.partition(".")
        name = name.split("[", 1)[0]
        return "profile", None, f"{name}__fn" if sub == "action" else name
    if head in ("db_id", "workflow_id", "operation"):
        return "target", None, head
    if head in ("matching", "resource_id", *MATCHING_KEYS):
        return "matching", None, head
    if head in (*OPTION_FLAGS, *SEGMENTS):
        return "options", None, head
    if head == "content":
        return "content", None, None
    if head == "attach":
        return "attach", None, None
    if not head:
        return "", None, None
    return "options", None, "extra"
