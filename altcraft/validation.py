"""Validation of whole requests: every problem at once, as (path, message) pairs, never raising."""

from .formats import FORMAT_CHECKS, ID_MAX, is_int, string_problem
from .matching import MATCHING_KEYS, MATCHING_MODES, effective_mode, mode_keys
from .operations import MAX_BYTES, Operation, UnknownOperation, get_operation
from .problems import Problem, join_path
from .profile_validation import _check_untyped, validate_profile, validate_subscription

__all__ = ["Problem", "validate", "validate_profile", "validate_subscription"]

_ATTACH_KEYS = ("name", "file_key", "data", "mimetype")
_CHECKED_ELSEWHERE = frozenset(MATCHING_KEYS) | {"data", "matching"}


def validate(
    operation: str, payload: object, *, custom_field_types: dict[str, str] | None = None
) -> list[Problem]:
    """Every problem of a request body for ``operation``; an empty list means it is valid.

    The token is not checked: the console adds it when sending.
    """
    try:
        op = get_operation(operation)
    except (UnknownOperation, AttributeError):
        return [Problem("operation", f"unknown operation {operation!r}")]
    if not isinstance(payload, dict):
        return [Problem("", "the request body must be an object")]
    problems: list[Problem] = []
    names = op.param_names
    for key, value in payload.items():
        path = join_path("", key)
        if key not in names and not (op.takes_matching and key in MATCHING_KEYS):
            problems.append(Problem(path, f"unknown parameter for {op.path}"))
        elif key not in _CHECKED_ELSEWHERE and (message := _param_problem(op, key, value)):
            problems.append(Problem(path, message))
    for param in op.params:
        if param.required and param.name not in payload:
            problems.append(Problem(param.name, "required"))
    mode, field_name = _check_matching(op, payload, custom_field_types, problems)
    if "data" in payload:
        problems += _check_data(op, payload["data"], mode, field_name, custom_field_types)
    return problems


def body_size_problem(size: int) -> Problem | None:
    """A request body over the size Altcraft takes: 10 MB (§2.5, decisions table)."""
    if size <= MAX_BYTES:
        return None
    limit = MAX_BYTES // (1024 * 1024)
    return Problem("", f"the body is {size / 1024 / 1024:.1f} MB: at most {limit} MB per request")


def _param_problem(op: Operation, name: str, value: object) -> str | None:
    param = op.param(name)
    if param is None:
        return None
    if param.type == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if param.type == "int":
        return FORMAT_CHECKS["positive_int"](value)
    if param.type == "string":
        if param.choices and value not in param.choices:
            return f"must be one of {', '.join(param.choices)}"
        return string_problem(value, allow_empty=False)
    if param.type == "array[int]":
        if not isinstance(value, list) or not all(is_int(v) and 0 < v <= ID_MAX for v in value):
            return f"must be a list of positive integers, at most {ID_MAX:,}"
        return None
    if param.type == "object":
        return _check_untyped(value) if isinstance(value, dict) else "must be an object"
    if param.type == "array[object]":
        return _attach_problem(value)
    return None


def _attach_problem(value: object) -> str | None:
    if not isinstance(value, list):
        return "must be a list of objects"
    for item in value:
        if not isinstance(item, dict):
            return "must be a list of objects"
        for key, field in item.items():
            if key not in _ATTACH_KEYS:
                return f"{key!r} is not an attachment key ({', '.join(_ATTACH_KEYS)})"
            if bad := string_problem(field):
                return f"{key}: {bad}"
    return None


def _check_matching(
    op: Operation,
    payload: dict,
    custom_field_types: dict[str, str] | None,
    problems: list[Problem],
) -> tuple[str | None, str | None]:
    """Checks the matching mode and its top-level keys; returns (mode, field_name)."""
    if not op.takes_matching:
        return None, None
    raw = payload.get("matching")
    if "matching" in payload and not (isinstance(raw, str) and raw in MATCHING_MODES):
        problems.append(
            Problem("matching", f"unknown matching mode; one of {', '.join(MATCHING_MODES)}")
        )
        return None, None
    name = effective_mode(payload, update="profile_id" in op.matching_modes)
    mode = MATCHING_MODES[name]
    if name not in op.matching_modes:
        why = (
            "only for finding existing profiles (profiles/update, the scenario operations)"
            if mode.never_creates
            else f"not used by {op.path}"
        )
        problems.append(Problem("matching", f"{name} matching is {why}"))
        return None, None
    field_name = payload.get("field_name")
    field_name = field_name if isinstance(field_name, str) else None
    expected = mode.batch_top_level_keys if op.is_batch else mode_keys(mode)
    for key in MATCHING_KEYS:
        if key in payload and key not in expected:
            where = f"data[i].{mode.batch_value_key}" if mode.batch_value_key else "each profile"
            message = (
                f"in a batch the matching value goes inside each profile ({where})"
                if op.is_batch and key not in ("provider", "subscription_id", "field_name")
                else f"not used by {name} matching"
            )
            problems.append(Problem(key, message))
    required = mode.batch_top_level_keys if op.is_batch else mode.required_keys
    for key in required:
        if key not in payload:
            problems.append(Problem(key, f"required by {name} matching"))
    if not op.is_batch and mode.any_of_keys and not any(k in payload for k in mode.any_of_keys):
        problems.append(Problem(mode.any_of_keys[0], f"{name} matching needs email or phone"))
    for key in expected:
        if key not in payload:
            continue
        if message := _matching_value_problem(key, payload[key], field_name, custom_field_types):
            problems.append(Problem(key, message))
    return name, field_name


def _matching_value_problem(
    key: str, value: object, field_name: str | None, custom_field_types: dict[str, str] | None
) -> str | None:
    if key == "email":
        return FORMAT_CHECKS["email"](value)
    if key == "phone":
        return FORMAT_CHECKS["phone"](value)
    known = custom_field_types is not None
    if key == "field_name" and known and isinstance(value, str) and value not in custom_field_types:
        return "not a field of this database"
    if key == "field_value":
        field_type = (custom_field_types or {}).get(field_name or "")
        if field_type == "int":
            return None if is_int(value) else "must be an integer: the field is an int field"
        if field_type is not None:
            return string_problem(value, allow_empty=False)
        if is_int(value):
            return None
    return FORMAT_CHECKS["non_empty_string"](value)


def _check_data(
    op: Operation,
    data: object,
    mode: str | None,
    field_name: str | None,
    custom_field_types: dict[str, str] | None,
) -> list[Problem]:
    options = {
        "custom_field_types": custom_field_types,
        "allow_functions": op.allows_functions,
        "allow_keep_value": op.allows_keep_value,
    }
    if not op.is_batch:
        return validate_profile(data, batch=False, **options)
    if not isinstance(data, list):
        return [Problem("data", "must be a list of profiles")]
    problems = []
    if not data:
        problems.append(Problem("data", "must hold at least one profile"))
    if op.max_profiles and len(data) > op.max_profiles:
        problems.append(
            Problem("data", f"{len(data):,} profiles: at most {op.max_profiles:,} per request")
        )
    for i, item in enumerate(data):
        problems += validate_profile(
            item,
            batch=True,
            path_prefix=f"data[{i}]",
            matching=mode,
            field_name=field_name,
            **options,
        )
    return problems
