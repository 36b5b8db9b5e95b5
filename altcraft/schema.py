"""What type each key has, so XML (which has only text) decodes to the same values as JSON.

A schema is a tree of nodes: ``Obj`` (an object with typed keys), ``Arr`` (an array of
items) and leaf kinds (``STR``, ``INT``, ...). Keys the schema does not know decode as
strings, objects or arrays by their shape alone.
"""

import math
import re
from functools import lru_cache

from .fields import ACTIONS, SYSTEM_FIELDS
from .operations import OPERATIONS, normalize_path

STR, INT, BOOL, NUM, INT_OR_STR = "str", "int", "bool", "num", "int_or_str"


class Obj:
    __slots__ = ("fields", "default", "functional", "loose", "plans")

    def __init__(
        self,
        fields: dict,
        default: "Node" = STR,
        *,
        functional: bool = False,
        loose: bool = False,
    ) -> None:
        self.fields = fields
        self.default = default
        # Field values may be functional updates whose "value" is typed after parsing.
        self.functional = functional
        # An empty or text-only element stays a string (for keys of unknown shape).
        self.loose = loose
        # Filled by the XML parser: what each child element name decodes as.
        self.plans: dict[str, tuple] = {}


class Arr:
    __slots__ = ("item",)

    def __init__(self, item: "Node") -> None:
        self.item = item


Node = Obj | Arr | str

# Anything of unknown shape: text stays text, children make an object, repeats make a list.
GENERIC = Obj({}, loose=True)
GENERIC.default = GENERIC

_INT = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


# Python refuses to convert longer digit strings (sys.get_int_max_str_digits); no Altcraft
# number is anywhere near this long, so such text stays text and validation names it.
_MAX_DIGITS = 4000


def to_int(text: str) -> object:
    """The integer text spells, or the text itself (validation then names it)."""
    if len(text) > _MAX_DIGITS:
        return text
    if text.isdigit() and text.isascii():  # the usual case, without a regex
        return int(text)
    return int(text) if _INT.fullmatch(text) else text


def to_number(text: str) -> object:
    """The integer or finite float text spells, or the text itself."""
    if len(text) > _MAX_DIGITS:
        return text
    if (text.isdigit() and text.isascii()) or _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    return text


_BOOLS = {"true": True, "false": False}


def _to_bool(text: str) -> object:
    return _BOOLS.get(text, text)


# Text that does not fit the type is kept as text, so validation can name the problem.
CONVERT = {
    STR: str,
    INT: to_int,
    BOOL: _to_bool,
    NUM: to_number,
    INT_OR_STR: to_int,
}

_CUSTOM_NODES: dict[str, Node] = {
    "string": STR,
    "date": STR,
    "int": INT,
    "float": NUM,
    "bool": BOOL,
    "tags": Arr(STR),
    "object": Obj({}, GENERIC),
    "arr_object": Arr(Obj({}, GENERIC)),
}

SUBSCRIPTION = Obj(
    {
        "resource_id": INT,
        "channel": STR,
        "status": INT_OR_STR,
        "priority": INT,
        "custom_fields": Obj({"_ad_track": BOOL}, GENERIC, functional=True),
        "cats": Arr(STR),
        "cc_data": Obj({"id": INT, "phone": STR}),
        "email_data": Obj({"email": STR}),
        "phone_data": Obj({"phone": STR}),
    },
    GENERIC,
)

_SYSTEM_NODES: dict[str, Node] = {name: STR for name in SYSTEM_FIELDS}
_SYSTEM_NODES.update({"phones": Arr(STR), "_sex": INT_OR_STR, "_status": INT})


def profile_schema(custom_field_types: dict[str, str] | None = None) -> Obj:
    fields: dict[str, Node] = {
        name: _CUSTOM_NODES.get(kind, GENERIC) for name, kind in (custom_field_types or {}).items()
    }
    fields.update(_SYSTEM_NODES)
    fields["subscriptions"] = Arr(SUBSCRIPTION)
    fields["profile_id"] = STR
    return Obj(fields, GENERIC, functional=True)


_TOP_LEVEL: dict[str, Node] = {
    "db_id": INT,
    "workflow_id": INT,
    "resource_id": INT,
    "skip_triggers": BOOL,
    "skip_invalid_subscriptions": BOOL,
    "detect_geo": BOOL,
    "add_to_segments": Arr(INT),
    "remove_from_segments": Arr(INT),
    "content": Obj({}, GENERIC),
    "attach": Arr(Obj({}, STR)),
}


def request_schema(operation: str | None, custom_field_types: dict[str, str] | None) -> Obj:
    key = tuple(sorted(custom_field_types.items())) if custom_field_types else ()
    return _request_schema(normalize_path(operation) if operation else None, key)


@lru_cache(maxsize=64)
def _request_schema(operation: str | None, custom_key: tuple) -> Obj:
    profile = profile_schema(dict(custom_key))
    op = OPERATIONS.get(operation) if operation else None
    fields = dict(_TOP_LEVEL)
    # Without an operation a batch's <data> is still a list when marked or repeated.
    fields["data"] = Arr(profile) if op is not None and op.is_batch else profile
    return Obj(fields, STR)


RESPONSE = Obj(
    {
        **dict.fromkeys(
            ("error", "id", "list_id", "next_from_id", "total_count", "total", "suppress_id"), INT
        ),
        **dict.fromkeys(("Id", "ID", "node_id", "campaign_id"), INT),
        "error_text": STR,
        "profile_id": STR,
        "is_active": BOOL,
        "required": BOOL,
        "ui_tags": Arr(STR),
        "channels": Arr(STR),
        "dbs_ids": Arr(INT),
    },
    loose=True,
)
RESPONSE.default = RESPONSE
RESPONSE.fields.update(
    {name: Arr(RESPONSE) for name in ("result", "Groups", "groups", "nodes", "templates")}
)


def function_value_node(action: str, field: Node) -> Node:
    """The type of a functional update's "value" for this action on a field of this type."""
    spec = ACTIONS[action].value
    if spec == "number":
        return NUM
    if spec == "strings":
        return field if isinstance(field, Arr) else Arr(STR)
    if spec == "field":
        return field
    if isinstance(field, Arr) and isinstance(field.item, Obj):
        return field.item
    return GENERIC


def retype(value: object, node: Node) -> object:
    """Types a value decoded with no schema (strings, objects, lists) by ``node``."""
    if isinstance(node, Arr):
        if value == "":
            return []
        items = value if isinstance(value, list) else [value]
        return [retype(item, node.item) for item in items]
    if isinstance(node, Obj):
        if isinstance(value, dict):
            return {k: retype(v, node.fields.get(k, node.default)) for k, v in value.items()}
        return {} if value == "" and not node.loose else value
    return CONVERT[node](value) if isinstance(value, str) else value
