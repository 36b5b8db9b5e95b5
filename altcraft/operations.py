"""The profile-import operations the console sends and the sandbox answers (contract §2)."""

from dataclasses import dataclass

from .matching import DEFAULT_MATCHING, MATCHING_MODES


class UnknownOperation(KeyError):
    pass


@dataclass(frozen=True)
class Param:
    name: str
    # One of: string, int, bool, object, array[int], array[object], profile, profiles.
    type: str
    required: bool
    default: object
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    path: str
    label: str
    is_batch: bool
    takes_matching: bool
    matching_modes: tuple[str, ...]
    params: tuple[Param, ...]
    max_profiles: int | None
    max_bytes: int  # of a request's body: documented for batches, kept for every request
    changes_data: bool
    needs_db_id: bool
    needs_workflow_id: bool
    # The path as Altcraft's docs write it after /api/ (add_batch keeps its trailing slash).
    api_path: str = ""
    description: str = ""
    # Field values may be functional updates ({"action": ...}); add operations store as-is.
    allows_functions: bool = True
    # update_batch: a subscription status/priority of -1 keeps the current value.
    allows_keep_value: bool = False

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


MAX_PROFILES = 10_000
MAX_BYTES = 10 * 1024 * 1024

_ALL_BUT_PROFILE_ID = tuple(m for m in MATCHING_MODES if not MATCHING_MODES[m].never_creates)
_ALL_MODES = tuple(MATCHING_MODES)

_TOKEN = Param(
    "token",
    "string",
    False,
    None,
    "API token; the console adds it when sending (in the body or as a Bearer header)",
)
_DB_ID = Param("db_id", "int", True, None, "Profile database ID")
_WORKFLOW_ID = Param("workflow_id", "int", True, None, "Scenario ID; its database is used")
_SKIP_TRIGGERS = Param(
    "skip_triggers", "bool", False, False, "Do not fire triggers and scenarios for this import"
)
_SKIP_INVALID = Param(
    "skip_invalid_subscriptions",
    "bool",
    False,
    False,
    "Skip invalid subscriptions instead of failing the profile",
)
_DETECT_GEO = Param(
    "detect_geo", "bool", False, False, "Derive the location from _regip or _ip in the data"
)
_RESOURCE_ID = Param(
    "resource_id", "int", False, None, "Limits email and phone matching to one resource"
)
_FORMAT = Param("format", "string", False, "json", "Response format", ("json", "xml"))
_CONTENT = Param(
    "content", "object", False, None, "Values templates can use as {apicontent.<name>}"
)
_ATTACH = Param(
    "attach",
    "array[object]",
    False,
    None,
    "Files to attach to messages: objects with name, file_key, data, mimetype",
)
_SEGMENTS = (
    Param("add_to_segments", "array[int]", False, None, "Static segment IDs to add the profile to"),
    Param(
        "remove_from_segments",
        "array[int]",
        False,
        None,
        "Static segment IDs to remove the profile from",
    ),
)


def _matching(required: bool, modes: tuple[str, ...]) -> Param:
    return Param(
        "matching",
        "string",
        required,
        DEFAULT_MATCHING,
        "How Altcraft looks for an existing profile",
        modes,
    )


_SINGLE_MATCH_KEYS = (
    Param("email", "string", False, None, "Lookup email for email modes"),
    Param("phone", "string", False, None, "Lookup phone (E.164) for phone modes"),
    Param("provider", "string", False, None, "Push provider for push_sub matching"),
    Param("subscription_id", "string", False, None, "Push subscription ID for push_sub matching"),
    Param("field_name", "string", False, None, "Custom field to match by (custom modes)"),
    Param("field_value", "string", False, None, "Value of that field, string or integer"),
)
_PROFILE_ID = Param("profile_id", "string", False, None, "Profile ID for profile_id matching")
_BATCH_FIELD_NAME = Param(
    "field_name",
    "string",
    False,
    None,
    "Custom field to match by; each profile carries its own value in that field",
)
_DATA = Param("data", "profile", True, None, "Profile data, including subscriptions")
_DATA_BATCH = Param(
    "data", "profiles", True, None, f"Profiles, at most {MAX_PROFILES:,} per request"
)


def _op(path: str, label: str, description: str, *params: Param, **kw) -> Operation:
    batch = kw.pop("is_batch", False)
    modes = kw.pop("matching_modes", ())
    workflow = path.startswith("workflows/")
    return Operation(
        path=path,
        label=label,
        is_batch=batch,
        takes_matching=bool(modes),
        matching_modes=modes,
        params=params,
        max_profiles=MAX_PROFILES if batch else None,
        max_bytes=MAX_BYTES,
        changes_data=True,
        needs_db_id=not workflow,
        needs_workflow_id=workflow,
        api_path=kw.pop("api_path", f"v1.1/{path}"),
        description=description,
        **kw,
    )


OPERATIONS: dict[str, Operation] = {
    op.path: op
    for op in (
        _op(
            "profiles/import",
            "Import one profile",
            "Finds the profile by the matching mode and updates it, or creates it if none.",
            _TOKEN,
            _DB_ID,
            _matching(False, _ALL_BUT_PROFILE_ID),
            *_SINGLE_MATCH_KEYS,
            _RESOURCE_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            *_SEGMENTS,
            _DATA,
            matching_modes=_ALL_BUT_PROFILE_ID,
        ),
        _op(
            "profiles/update",
            "Update one profile",
            "Finds the profile by the matching mode and updates it; never creates one.",
            _TOKEN,
            _DB_ID,
            _matching(False, _ALL_MODES),
            *_SINGLE_MATCH_KEYS,
            _PROFILE_ID,
            _RESOURCE_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            *_SEGMENTS,
            _DATA,
            matching_modes=_ALL_MODES,
        ),
        _op(
            "profiles/add",
            "Add one profile",
            "Creates a profile without looking for an existing one.",
            _TOKEN,
            _DB_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            Param(
                "data", "profile", True, None, "Profile data; an empty object adds an empty profile"
            ),
            allows_functions=False,
        ),
        _op(
            "profiles/add_batch",
            "Add many profiles",
            "Creates profiles without looking for existing ones.",
            _TOKEN,
            _DB_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DATA_BATCH,
            is_batch=True,
            api_path="v1.1/profiles/add_batch/",
            allows_functions=False,
        ),
        _op(
            "profiles/import_batch",
            "Import many profiles",
            "Imports each profile: updates the one it matches, or creates it.",
            _TOKEN,
            _DB_ID,
            _matching(False, _ALL_BUT_PROFILE_ID),
            _BATCH_FIELD_NAME,
            _RESOURCE_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            _DATA_BATCH,
            is_batch=True,
            matching_modes=_ALL_BUT_PROFILE_ID,
        ),
        _op(
            "profiles/update_batch",
            "Update many profiles",
            "Updates the profile each item matches; never creates one. A subscription status "
            "or priority of -1 keeps the current value.",
            _TOKEN,
            _DB_ID,
            _matching(False, _ALL_MODES),
            _BATCH_FIELD_NAME,
            _RESOURCE_ID,
            # Not visible in the documented table (UNCONFIRMED); accepted like import_batch.
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            _DATA_BATCH,
            is_batch=True,
            matching_modes=_ALL_MODES,
            allows_keep_value=True,
        ),
        _op(
            "workflows/import_and_start",
            "Import one profile and start a scenario",
            "Imports the profile into the scenario's database and puts it into the scenario.",
            _TOKEN,
            _FORMAT,
            _WORKFLOW_ID,
            # Both scenario pages list profile_id among the matching modes.
            _matching(True, _ALL_MODES),
            *_SINGLE_MATCH_KEYS,
            _PROFILE_ID,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            _CONTENT,
            _ATTACH,
            Param("data", "profile", False, None, "Profile data, including subscriptions"),
            matching_modes=_ALL_MODES,
        ),
        _op(
            "workflows/import_and_start_batch",
            "Import many profiles and start a scenario",
            "Imports each profile into the scenario's database and puts it into the scenario.",
            _TOKEN,
            _FORMAT,
            _WORKFLOW_ID,
            _matching(True, _ALL_MODES),
            _BATCH_FIELD_NAME,
            _SKIP_TRIGGERS,
            _SKIP_INVALID,
            _DETECT_GEO,
            _CONTENT,
            _DATA_BATCH,
            is_batch=True,
            matching_modes=_ALL_MODES,
        ),
    )
}


def normalize_path(path: str) -> str:
    """'/api/v1.1/profiles/add_batch/' -> 'profiles/add_batch'."""
    path = path.strip().strip("/")
    for prefix in ("api/", "v1.1/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def is_batch_operation(path: str) -> bool:
    """Whether `path` is a known operation that takes many profiles in one request."""
    op = OPERATIONS.get(normalize_path(path))
    return op is not None and op.is_batch


def get_operation(path: str) -> Operation:
    try:
        return OPERATIONS[normalize_path(path)]
    except KeyError:
        raise UnknownOperation(path) from None
