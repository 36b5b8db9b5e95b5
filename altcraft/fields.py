"""Profile fields: the system fields of §4.1, custom field types and functional updates (§4.4)."""

from dataclasses import dataclass

GROUPS: tuple[str, ...] = ("identity", "contacts", "registration", "device", "location")


@dataclass(frozen=True)
class SystemField:
    name: str
    label: str
    # The field type in functional-update terms (string, int, date, phones, enum).
    type: str
    # The check applied to a plain value: a key of formats.FORMAT_CHECKS, or "phones".
    format: str
    group: str
    example: str = ""
    # False for fields the public documentation never confirmed (§4.1: _mname, _language).
    confirmed: bool = True


def _f(
    name: str, label: str, type_: str, fmt: str, group: str, example: str = "", **kw
) -> SystemField:
    return SystemField(name, label, type_, fmt, group, example, **kw)


SYSTEM_FIELDS: dict[str, SystemField] = {
    f.name: f
    for f in (
        _f("_fname", "First name", "string", "string", "identity", "Olly"),
        _f("_lname", "Last name", "string", "string", "identity", "Lambert"),
        _f("_mname", "Middle name", "string", "string", "identity", confirmed=False),
        _f("_bdate", "Birth date", "date", "date", "identity", "1990-02-22T21:00:00Z"),
        _f("_sex", "Gender", "enum", "sex", "identity", "female"),
        _f("_status", "Global profile status", "int", "status", "identity", "0"),
        _f("_language", "Language", "string", "string", "identity", confirmed=False),
        _f("email", "Email", "string", "email", "contacts", "example@example.com"),
        _f("phones", "Phones", "phones", "phones", "contacts", "+79000000000"),
        _f("_regdate", "Registration date", "date", "date", "registration", "2023-12-31"),
        _f("_regip", "Registration IP", "string", "ip", "registration", "94.231.119.122"),
        _f("_regurl", "Registration URL", "string", "string", "registration", "www.example.com"),
        _f("_regcountry", "Registration country", "string", "country", "registration", "US"),
        _f("_regcity", "Registration city", "string", "string", "registration", "New York"),
        _f("_vendor", "Lead source", "string", "string", "registration", "form_#31"),
        _f("_ip", "Last IP", "string", "ip", "device", "94.231.119.122"),
        _f("_os", "Operating system", "string", "string", "device", "Windows 10"),
        _f("_browser", "Browser", "string", "string", "device", "Firefox"),
        _f("_country", "Country", "string", "country", "location", "RU"),
        _f("_region", "Region", "string", "string", "location", "Ryazan Oblast"),
        _f("_city", "City", "string", "string", "location", "Ryazan"),
        _f("_postal_code", "Postal code", "string", "postal_code", "location", "390000"),
        _f("_tz", "Time zone", "string", "time_zone", "location", "Europe/Moscow"),
    )
}

# Custom database field types the console knows how to check and type (§4.1, §4.4).
CUSTOM_FIELD_TYPES: tuple[str, ...] = (
    "string",
    "int",
    "float",
    "bool",
    "date",
    "tags",
    "object",
    "arr_object",
)


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    # Field types the action applies to; None means any.
    field_types: frozenset[str] | None
    value: str  # what "value" must be: field, none, number, strings, any
    needs_submatch: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("set", "sets the field (what a plain value does)", None, "field"),
        Action("unset", "removes the field (not allowed for email)", None, "none"),
        Action(
            "incr",
            "adds the number; negative values decrease",
            frozenset({"int", "float"}),
            "number",
        ),
        Action("add", "adds tags or elements", frozenset({"tags", "arr_object"}), "strings"),
        Action("delete", "removes tags or elements", frozenset({"tags", "arr_object"}), "strings"),
        Action(
            "upsert",
            "sets the property at the submatch path",
            frozenset({"object", "arr_object"}),
            "any",
            needs_submatch=True,
        ),
    )
}
FUNCTION_KEYS = frozenset({"action", "value", "submatch"})


def meant_as_function(value: object) -> bool:
    """An object of only action, value and submatch, with an action: written as a functional
    update, whether or not its action is one Altcraft knows (contract notes: such an object
    is never taken as a field's plain value)."""
    return isinstance(value, dict) and "action" in value and value.keys() <= FUNCTION_KEYS


def is_function(value: object) -> bool:
    """A field value that is a functional update, e.g. {"action": "incr", "value": 1}."""
    if not isinstance(value, dict):
        return False
    action = value.get("action")
    return isinstance(action, str) and action in ACTIONS


def actions_for(field_type: str | None) -> tuple[str, ...]:
    """Actions allowed on a field of this type (all of them when the type is unknown)."""
    return tuple(
        name
        for name, action in ACTIONS.items()
        if field_type is None or action.field_types is None or field_type in action.field_types
    )
