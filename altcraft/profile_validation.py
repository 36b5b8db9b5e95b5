"""Checks of one profile data object: system and custom fields, updates, subscriptions."""

from collections.abc import Callable
from typing import NamedTuple

from .channels import (
    CHANNELS,
    SUBSCRIPTION_STATUSES,
    Channel,
    channel_keys,
    infer_channel,
)
from .fields import ACTIONS, FUNCTION_KEYS, SYSTEM_FIELDS, is_function, meant_as_function
from .formats import (
    FORMAT_CHECKS,
    ID_MAX,
    MAX_NESTING,
    int_problem,
    is_int,
    is_number,
    name_problem,
    phone_problem,
    string_problem,
    text_problem,
)
from .matching import MATCHING_MODES
from .problems import Problem, join_path

Check = Callable[[object], str | None]
Report = Callable[[Problem], None]
# One key of an identifier form: (dotted path, top-level key, inner key or "", check).
_Step = tuple[str, str, str, Check]


def validate_profile(
    profile: object,
    *,
    batch: bool,
    custom_field_types: dict[str, str] | None = None,
    path_prefix: str = "data",
    matching: str | None = None,
    field_name: str | None = None,
    allow_functions: bool = True,
    allow_keep_value: bool = False,
) -> list[Problem]:
    """Every problem of one profile; with ``batch`` and ``matching`` also its lookup value."""
    if not isinstance(profile, dict):
        return [Problem(path_prefix, "must be an object with profile fields")]
    problems: list[Problem] = []
    out = problems.append
    # Paths are spelled only when there is a problem to report: most values have none.
    for key, value in profile.items():
        if key == "subscriptions":
            path = f"{path_prefix}.subscriptions"
            if not isinstance(value, list):
                out(Problem(path, "must be a list of subscriptions"))
                continue
            for i, sub in enumerate(value):
                problems += validate_subscription(
                    sub,
                    batch=batch,
                    path=f"{path}[{i}]",
                    allow_keep_value=allow_keep_value,
                    allow_functions=allow_functions,
                )
        elif (system := _SYSTEM_CHECKS.get(key)) is not None:
            field_type, check = system
            if not isinstance(value, dict):  # a plain value, as nearly all are
                if message := check(value):
                    out(Problem(join_path(path_prefix, key), message))
                continue
            if key == "email" and is_function(value) and value["action"] == "unset":
                out(Problem(f"{path_prefix}.email.action", "email cannot be unset"))
            _check_field(value, field_type, check, path_prefix, key, allow_functions, out)
        elif key == "profile_id" and batch and matching == "profile_id":
            _report(out, path_prefix, key, FORMAT_CHECKS["non_empty_string"](value))
        elif isinstance(key, str) and key.startswith("_"):
            _report(out, path_prefix, key, "unknown system field")
        elif bad_name := name_problem(key):
            _report(out, path_prefix, key, bad_name)
        elif custom_field_types is not None and key not in custom_field_types:
            _report(out, path_prefix, key, "not a field of this database")
        else:
            field_type = custom_field_types.get(key) if custom_field_types else None
            check = _type_check(field_type)
            _check_field(value, field_type, check, path_prefix, key, allow_functions, out)
    if batch and matching in MATCHING_MODES:
        _check_item_matching(profile, matching, field_name, path_prefix, out)
    return problems


def validate_subscription(
    sub: object,
    *,
    batch: bool,
    path: str = "subscription",
    allow_keep_value: bool = False,
    allow_functions: bool = True,
) -> list[Problem]:
    """Every problem of one subscription object (§5); batch shapes follow the decisions table."""
    if not isinstance(sub, dict):
        return [Problem(path, "must be an object")]
    problems: list[Problem] = []
    out = problems.append
    channel: Channel | None = None
    name = sub.get("channel")
    if "channel" in sub:
        if isinstance(name, str) and name in CHANNELS:
            channel = CHANNELS[name]
        else:
            out(Problem(f"{path}.channel", f"unknown channel; one of {', '.join(CHANNELS)}"))
    elif inferred := infer_channel(sub):
        channel = CHANNELS[inferred]
    else:
        out(Problem(f"{path}.channel", "required: the channel cannot be told from the other keys"))
    shape = _SHAPES[channel.name, batch] if channel is not None else None

    if "resource_id" not in sub:
        out(Problem(f"{path}.resource_id", "required"))
    keep = allow_keep_value
    for key, value in sub.items():
        if key == "resource_id":
            _report(out, path, key, FORMAT_CHECKS["positive_int"](value))
        elif key == "status":
            if not (
                (isinstance(value, str) and value in SUBSCRIPTION_STATUSES)
                or (is_int(value) and (0 <= value <= 6 or (keep and value == -1)))
            ):
                words = ", ".join(SUBSCRIPTION_STATUSES)
                extra = " (or -1 to keep it)" if keep else ""
                _report(out, path, key, f"must be one of {words} or a number 0-6{extra}")
        elif key == "priority":
            if not (is_int(value) and (0 <= value <= ID_MAX or (keep and value == -1))):
                extra = " (or -1 to keep it)" if keep else ""
                _report(out, path, key, f"must be an integer from 0 to {ID_MAX:,}{extra}")
        elif key == "custom_fields":
            if not isinstance(value, dict):
                _report(out, path, key, "must be an object")
                continue
            cf_prefix = f"{path}.custom_fields"
            for cf_name, cf_value in value.items():
                if bad := name_problem(cf_name):
                    _report(out, cf_prefix, cf_name, bad)
                else:
                    check = _check_untyped
                    _check_field(cf_value, None, check, cf_prefix, cf_name, allow_functions, out)
        elif key == "cats":
            _check_strings(value, f"{path}.cats", out, allow_empty=False)
        elif key == "channel" or channel is None:
            continue
        elif key not in shape.top_keys:
            owner = next((c for c in CHANNELS.values() if key in channel_keys(c)), None)
            message = f"not a key of the {channel.name} channel" if owner else "unknown key"
            _report(out, path, key, message)
    if channel is not None:
        _check_identifiers(sub, channel, shape.forms, path, out)
    return problems


def _report(out: Callable[[Problem], None], prefix: str, key: object, message: str | None) -> None:
    if message:
        out(Problem(join_path(prefix, key), message))


def _system_check(fmt: str) -> Check:
    if fmt == "phones":
        return _check_phones
    return FORMAT_CHECKS[fmt]


def _check_phones(value: object) -> str | None:
    if not isinstance(value, list):
        return "must be a list of phone numbers"
    for phone in value:
        if bad := phone_problem(phone):
            return f"{phone!r} is {bad}" if isinstance(phone, str) else bad
    return None


def _type_check(field_type: str | None) -> Check:
    return _TYPE_CHECKS.get(field_type, _check_untyped) if field_type else _check_untyped


def _check_untyped(value: object, depth: int = 0) -> str | None:
    """Any JSON value that both formats can carry: no nulls, no arrays of arrays."""
    if depth > MAX_NESTING:
        return f"nested more than {MAX_NESTING} levels deep"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or is_int(value):
        return None
    if isinstance(value, int):
        return int_problem(value)
    if isinstance(value, float):
        return None if is_number(value) else "must be a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            if bad := name_problem(key):
                return f"{key!r} is {bad}"
            if bad := _check_untyped(item, depth + 1):
                return bad
        return None
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list):
                return "arrays of arrays cannot be sent"
            if bad := _check_untyped(item, depth + 1):
                return bad
        return None
    if value is None:
        return "must not be null"
    return f"unsupported value of type {type(value).__name__}"


def _check_list(item_check: Check, what: str) -> Check:
    def check(value: object) -> str | None:
        if not isinstance(value, list):
            return f"must be a list of {what}"
        for item in value:
            if bad := item_check(item):
                return bad
        return None

    return check


def _must(predicate: Callable[[object], bool], message: str) -> Check:
    return lambda value: None if predicate(value) else message


def _object_check(value: object) -> str | None:
    return _check_untyped(value) if isinstance(value, dict) else "must be an object"


_TYPE_CHECKS: dict[str, Check] = {
    "string": string_problem,
    "int": int_problem,
    "float": _must(is_number, "must be a number"),
    "bool": _must(lambda v: isinstance(v, bool), "must be true or false"),
    "date": FORMAT_CHECKS["date"],
    "tags": _check_list(string_problem, "strings"),
    "object": _object_check,
    "arr_object": _check_list(_object_check, "objects"),
}


def _check_field(
    value: object,
    field_type: str | None,
    check: Check,
    prefix: str,
    key: object,
    allow_functions: bool,
    out: Callable[[Problem], None],
) -> None:
    if meant_as_function(value) and not is_function(value):
        actions = ", ".join(ACTIONS)
        message = f"unknown update action {value['action']!r}; one of {actions}"
        out(Problem(f"{join_path(prefix, key)}.action", message))
        return
    if not isinstance(value, dict) or not is_function(value):
        _report(out, prefix, key, check(value))
        return
    path = join_path(prefix, key)
    if not allow_functions:
        out(Problem(path, "functional updates only work on import and update operations"))
        return
    action = ACTIONS[value["action"]]
    for key in value:
        if key not in FUNCTION_KEYS:
            out(Problem(join_path(path, key), "not a key of a functional update"))
    if field_type and action.field_types and field_type not in action.field_types:
        allowed = ", ".join(sorted(action.field_types))
        out(Problem(f"{path}.action", f"{action.name} only applies to {allowed} fields"))
    value_path = f"{path}.value"
    if action.value == "none":
        if "value" in value:
            out(Problem(value_path, "unset takes no value"))
    elif "value" not in value:
        out(Problem(value_path, f"required by {action.name}"))
    elif action.value == "number":
        number_ok = is_int if field_type == "int" else is_number
        if not number_ok(value["value"]):
            out(Problem(value_path, "must be a number"))
    elif action.value == "strings":
        _check_strings(value["value"], value_path, out, allow_empty=True)
    elif action.value == "field":
        _report(out, path, "value", check(value["value"]))
    else:
        _report(out, path, "value", _check_untyped(value["value"]))
    if action.needs_submatch:
        if "submatch" not in value:
            out(Problem(f"{path}.submatch", f"required by {action.name}: the property path"))
        else:
            _report(out, path, "submatch", FORMAT_CHECKS["non_empty_string"](value["submatch"]))
    elif "submatch" in value:
        out(Problem(f"{path}.submatch", "only used with upsert"))


def _check_strings(
    value: object, path: str, out: Callable[[Problem], None], *, allow_empty: bool
) -> None:
    if not isinstance(value, list):
        out(Problem(path, "must be a list of strings"))
        return
    for i, item in enumerate(value):
        _report(out, path, i, string_problem(item, allow_empty=allow_empty))


_IDENTIFIER_CHECKS: dict[str, Check] = {
    "email": FORMAT_CHECKS["email"],
    "phone": phone_problem,
    "int": int_problem,
    "string": FORMAT_CHECKS["non_empty_string"],
}


class _Shape(NamedTuple):
    """What a channel's subscriptions may hold, in single or in batch requests."""

    top_keys: frozenset[str]  # the keys its identifier lives under
    forms: tuple[tuple[_Step, ...], ...]  # the ways of writing it, the canonical one first


def _shape(channel: Channel, batch: bool) -> _Shape:
    forms = [channel.identifier_keys]
    if batch:
        forms = [channel.batch_identifier_keys]
        if channel.batch_alternative_keys:
            forms.append(channel.batch_alternative_keys)
    formats = dict(zip(channel.identifier_keys, channel.identifier_formats, strict=True))
    steps = tuple(
        tuple(
            (
                dotted,
                *dotted.partition(".")[::2],
                _IDENTIFIER_CHECKS[formats.get(dotted) or formats[dotted.rsplit(".", 1)[-1]]],
            )
            for dotted in form
        )
        for form in forms
    )
    top_keys = frozenset(step[1] for form in steps for step in form)
    return _Shape(top_keys, steps)


def _check_identifiers(
    sub: dict, channel: Channel, forms: tuple[tuple[_Step, ...], ...], path: str, out: Report
) -> None:
    present = [form for form in forms if any(step[1] in sub for step in form)]
    if len(present) > 1:
        names = " or ".join(form[0][0] for form in forms)
        out(Problem(path, f"use one form of the {channel.name} identifier: {names}"))
        return
    for dotted, container_key, inner, check in present[0] if present else forms[0]:
        if container_key not in sub:
            out(Problem(f"{path}.{dotted}", f"required for the {channel.name} channel"))
            continue
        value = sub[container_key]
        if inner:
            if not isinstance(value, dict):
                out(Problem(f"{path}.{container_key}", f"must be an object with {inner}"))
                continue
            if len(value) != 1 or inner not in value:
                key_path = f"{path}.{container_key}"
                for extra in value.keys() - {inner}:
                    out(Problem(join_path(key_path, extra), f"not a key of {container_key} here"))
                if inner not in value:
                    out(Problem(f"{key_path}.{inner}", f"required for the {channel.name} channel"))
                    continue
            value = value[inner]
        if message := check(value):
            where = f"{path}.{container_key}.{inner}" if inner else f"{path}.{container_key}"
            out(Problem(where, message))


def _check_item_matching(
    profile: dict, mode_name: str, field_name: str | None, path: str, out: Callable[[Problem], None]
) -> None:
    """The lookup value each batch item carries (decisions table: inside data[i])."""
    mode = MATCHING_MODES[mode_name]
    if mode.batch_value_key and mode.batch_value_key not in profile:
        out(
            Problem(
                f"{path}.{mode.batch_value_key}", f"required: profiles are matched by {mode_name}"
            )
        )
    elif mode.batch_any_of_keys and not any(k in profile for k in mode.batch_any_of_keys):
        keys = " or ".join(mode.batch_any_of_keys)
        out(Problem(path, f"needs {keys}: profiles are matched by {mode_name}"))
    elif mode.batch_top_level_keys and isinstance(field_name, str) and field_name not in profile:
        out(Problem(join_path(path, field_name), f"required: profiles are matched by {field_name}"))
    elif mode_name == "push_sub":
        subs = profile.get("subscriptions")
        has_push = isinstance(subs, list) and any(
            isinstance(s, dict)
            and (s.get("channel") == "push" or ("channel" not in s and infer_channel(s) == "push"))
            for s in subs
        )
        if not has_push:
            out(Problem(f"{path}.subscriptions", "push_sub matching needs a push subscription"))


# {system field: (its type, the check of a plain value)}
_SYSTEM_CHECKS = {
    name: (field.type, _system_check(field.format)) for name, field in SYSTEM_FIELDS.items()
}

# {(channel, batch): its shape}
_SHAPES = {
    (name, batch): _shape(channel, batch)
    for name, channel in CHANNELS.items()
    for batch in (True, False)
}
