"""A pasted payload (or a recorded one, to fix and resend) -> the builder's form data.

Values that do not fit a widget go to the "other fields" JSON boxes; what cannot be kept at
all (a pasted token) is named in notes shown to the user.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import QueryDict

from altcraft.channels import CHANNELS, STATUS_WORDS, infer_channel
from altcraft.codec import PayloadError, decode
from altcraft.fields import SYSTEM_FIELDS
from altcraft.formats import MAX_NESTING
from altcraft.matching import MATCHING_MODES, effective_mode, mode_keys
from altcraft.operations import OPERATIONS, Operation
from profiles_ui import catalog
from profiles_ui.builder.forms import (
    ATTACH,
    CONTENT,
    MATCHING,
    OPTIONS,
    PROFILE,
    RESOURCE_MODES,
    SINGLE_OPERATIONS,
    SUBS,
    TARGET,
)
from profiles_ui.builder.payload import OPTION_FLAGS, SEGMENTS, SUB_SIMPLE_KEYS
from profiles_ui.builder.rows import identifier_fields
from profiles_ui.connections import Connection

# A pasted payload is one profile: these are far beyond any, and keep a paste cheap to read.
MAX_PASTE_BYTES = 1024 * 1024
MAX_PASTE_ELEMENTS = 10_000
# The request, its data, a field or subscription: then the field's own value may nest.
MAX_PASTE_DEPTH = MAX_NESTING + 3


class PasteForm(forms.Form):
    body = forms.CharField(
        label="Payload (JSON or XML)",
        required=False,
        max_length=MAX_PASTE_BYTES,
        error_messages={
            "max_length": "The payload is longer than 1 MB: one profile's payload is far "
            "smaller; batches go on the Bulk page."
        },
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    upload = forms.FileField(label="…or a file", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            if upload.size > MAX_PASTE_BYTES:
                raise forms.ValidationError(
                    "The file is larger than 1 MB: one profile's payload is far smaller; "
                    "batches go on the Bulk page."
                )
            cleaned["bytes"] = upload.read()
            cleaned["content_type"] = upload.content_type or ""
        elif cleaned.get("body", "").strip():
            cleaned["bytes"] = cleaned["body"].encode()
            cleaned["content_type"] = ""
        else:
            raise forms.ValidationError("Paste a payload or choose a file.")
        return cleaned


def pasted_form_data(
    body: bytes, fmt: str, operation: str, connection: Connection
) -> tuple[QueryDict, list[str]]:
    """The builder's form data for a payload body, and notes on what could not be kept."""
    limits = {"max_depth": MAX_PASTE_DEPTH, "max_elements": MAX_PASTE_ELEMENTS}
    payload = decode(body, fmt, operation=operation or None, **limits)
    op = SINGLE_OPERATIONS.get(operation) or guess_operation(payload, operation)
    db_id = payload.get("db_id") if isinstance(payload.get("db_id"), int) else None
    fields = catalog.database_fields(connection, db_id)
    types = {f.name: f.type for f in fields.items} if db_id and not fields.error else None
    if fmt == "xml" and types:
        payload = decode(body, fmt, operation=op.path, custom_field_types=types, **limits)

    def sub_fields(resource_id: object, channel: str) -> set[str]:
        rid = resource_id if isinstance(resource_id, int) else None
        return {f.name for f in catalog.resource_fields(connection, rid, channel).items}

    data, notes = form_data(
        payload,
        op,
        connection=connection.name,
        custom_fields=set(types) if types is not None else None,
        sub_fields=sub_fields,
    )
    query = QueryDict(mutable=True)
    query.update(data)
    return query, notes


def guess_operation(payload: dict, operation: str):
    if operation in OPERATIONS:
        raise PayloadError(f"{operation} is a batch operation: batches live on the Bulk page")
    if isinstance(payload.get("data"), list):
        raise PayloadError("this payload holds a list of profiles: batches live on the Bulk page")
    if "workflow_id" in payload or "content" in payload or "attach" in payload:
        return SINGLE_OPERATIONS["workflows/import_and_start"]
    if payload.get("matching") == "profile_id":
        return SINGLE_OPERATIONS["profiles/update"]
    return SINGLE_OPERATIONS["profiles/import"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def form_data(
    payload: dict[str, Any],
    operation: Operation,
    *,
    connection: str,
    custom_fields: set[str] | None,
    sub_fields: Callable[[Any, str], set[str]],
) -> tuple[dict[str, str], list[str]]:
    """Form data (as a POST would carry it) that builds `payload` again, and notes on what
    could not be kept. Values that do not fit a widget go to the "other" JSON boxes."""
    out: dict[str, str] = {
        f"{TARGET}-operation": operation.path,
        f"{TARGET}-connection": connection,
    }
    notes: list[str] = []
    extra: dict[str, Any] = {}
    # Lookup values the form shows: those of the payload's mode (others are sent as given).
    mode = effective_mode(payload, update=operation.path == "profiles/update")
    shown = ("matching",)
    if mode in MATCHING_MODES:
        shown += mode_keys(MATCHING_MODES[mode]) + (("resource_id",) * (mode in RESOURCE_MODES))
    for key, value in payload.items():
        if key == "token":
            if is_real_token(value):
                notes.append("The pasted token was dropped: the console adds the connection's own.")
        elif key in ("db_id", "workflow_id"):
            out[f"{TARGET}-{key}"] = _text(value)
        elif key in shown and operation.takes_matching:
            out[f"{MATCHING}-{key}"] = _text(value)
        elif key in OPTION_FLAGS and isinstance(value, bool) and key in operation.param_names:
            if value:
                out[f"{OPTIONS}-{key}"] = "on"
        elif key in SEGMENTS and isinstance(value, list) and key in operation.param_names:
            out[f"{OPTIONS}-{key}"] = _text(value)
        elif key == "content" and isinstance(value, dict) and "content" in operation.param_names:
            _rows(out, CONTENT, [{"key": k, "value": _text(v)} for k, v in value.items()])
        elif key == "attach" and isinstance(value, list) and "attach" in operation.param_names:
            rows = []
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    notes.append(f"attach[{i}]: not an object; left out.")
                    continue
                for k in item.keys() - set(ATTACHMENT_KEYS):
                    notes.append(f"attach[{i}].{k}: attachments hold no such key; left out.")
                rows.append({k: _text(item.get(k, "")) for k in ATTACHMENT_KEYS})
            _rows(out, ATTACH, rows)
        elif key == "data" and isinstance(value, dict):
            _profile_data(out, value, custom_fields, sub_fields, notes)
        else:
            extra[key] = value
    if extra:
        out[f"{OPTIONS}-extra"] = json.dumps(extra, ensure_ascii=False)
    out.setdefault(f"{OPTIONS}-fmt", "json")
    for prefix in (SUBS, CONTENT, ATTACH):
        out.setdefault(f"{prefix}-TOTAL_FORMS", "0")
        out.setdefault(f"{prefix}-INITIAL_FORMS", "0")
    return out, notes


ROW_KEYS = ("resource_id", "priority")
ATTACHMENT_KEYS = ("name", "file_key", "mimetype", "data")
TOKEN_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def is_real_token(value: Any) -> bool:
    """A token worth telling about: not empty and not a placeholder like $ALTCRAFT_TOKEN."""
    if value is None or value == "":
        return False
    return not (isinstance(value, str) and TOKEN_PLACEHOLDER.fullmatch(value.strip() or "$_"))


def _rows(out: dict[str, str], prefix: str, rows: list[dict[str, str]]) -> None:
    out[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
    out[f"{prefix}-INITIAL_FORMS"] = "0"
    for i, row in enumerate(rows):
        for key, value in row.items():
            out[f"{prefix}-{i}-{key}"] = value


def _is_simple_function(value: Any) -> bool:
    """A functional update the form can show: an offered action and at most a value."""
    return (
        isinstance(value, dict)
        and value.get("action") in ("set", "unset", "incr", "add", "delete")
        and set(value) <= {"action", "value"}
    )


def _profile_data(
    out: dict[str, str],
    data: dict[str, Any],
    custom_fields: set[str] | None,
    sub_fields: Callable[[Any, str], set[str]],
    notes: list[str],
) -> None:
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key == "subscriptions" and isinstance(value, list):
            _subscriptions(out, value, sub_fields, notes)
            continue
        known = key in SYSTEM_FIELDS or (custom_fields is not None and key in custom_fields)
        fn, inner = "", value
        if _is_simple_function(value):
            fn, inner = value["action"], value.get("value", "")
        if known and not (isinstance(inner, dict) and key in SYSTEM_FIELDS):
            out[f"{PROFILE}-{key}"] = _text(inner)
            if fn:
                out[f"{PROFILE}-{key}__fn"] = fn
        else:
            extra[key] = value
    if extra:
        out[f"{PROFILE}-extra"] = json.dumps(extra, ensure_ascii=False)


def _subscriptions(
    out: dict[str, str],
    subs: list[Any],
    sub_fields: Callable[[Any, str], set[str]],
    notes: list[str],
) -> None:
    rows = []
    for i, sub in enumerate(subs):
        if not isinstance(sub, dict):
            notes.append(f"data.subscriptions[{i}] was not an object and was left out.")
            continue
        channel = sub.get("channel") or infer_channel(sub) or ""
        path = f"data.subscriptions[{i}]"
        row: dict[str, str] = {"channel": _text(channel)}
        origin: dict[str, str] = {}  # row field -> where its value was in the payload
        for key, value in sub.items():
            if key in ("channel",):
                continue
            if key in ("resource_id", "priority", *SUB_SIMPLE_KEYS):
                row[key], origin[key] = _text(value), f"{path}.{key}"
            elif key == "status":
                row[key] = (
                    STATUS_WORDS.get(value, _text(value)) if type(value) is int else _text(value)
                )
            elif key == "cats":
                row[key] = _text(value)
            elif key in ("cc_data", "email_data", "phone_data") and isinstance(value, dict):
                for inner, inner_value in value.items():
                    name = f"cc_{inner}" if key == "cc_data" else inner
                    row[name], origin[name] = _text(inner_value), f"{path}.{key}.{inner}"
            elif key == "custom_fields" and isinstance(value, dict):
                known = sub_fields(sub.get("resource_id"), channel)
                rest = {}
                for name, field in value.items():
                    if name in known and not isinstance(field, dict):
                        row[f"sf_{name}"] = _text(field)
                    else:
                        rest[name] = field
                if rest:
                    row["extra"] = json.dumps(rest, ensure_ascii=False)
            else:
                notes.append(f"{path}.{key}: not a subscription key; left out.")
        # Identifiers another channel would hold: the row has no field for them.
        held = {*identifier_fields(channel if isinstance(channel, str) else ""), *ROW_KEYS}
        wanted = ", ".join(CHANNELS[channel].identifier_keys) if channel in CHANNELS else ""
        for name, where in origin.items():
            if name not in held:
                why = f"a {channel} subscription holds {wanted}" if wanted else "no channel"
                notes.append(f"{where}: not kept ({why}); left out.")
                del row[name]
        rows.append(row)
    _rows(out, SUBS, rows)
