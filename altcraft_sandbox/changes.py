"""What one profile object in a request asks to change, as plain data: field updates (§4.4)
and subscriptions (§5) read into one normalised shape. No database access here."""

import re
from dataclasses import dataclass, field

from altcraft.channels import SUBSCRIPTION_STATUSES, infer_channel
from altcraft.fields import is_function
from altcraft.formats import int_or_none

_NOT_PHONE = re.compile(r"[^\d]")
KEEP = -1  # update_batch: a status or priority of -1 keeps the current value


class ItemError(Exception):
    """One profile of a request cannot be applied: an Altcraft error code and text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def normalise_phone(value: object) -> str:
    """'+7 (900) 000-00-00' -> '+79000000000'; '' when there are no digits."""
    digits = _NOT_PHONE.sub("", str(value))
    return f"+{digits}" if digits else ""


def normalise_email(value: object) -> str:
    return str(value).strip().lower()


def phones_of(value: object) -> list[str]:
    """A profile's `phones` as normalised numbers; one documented example sends a string."""
    items = value if isinstance(value, list) else [value]
    return [p for p in (normalise_phone(item) for item in items if item is not None) if p]


@dataclass(slots=True)
class SubscriptionChange:
    resource_id: int
    channel: str
    identifier: str
    provider: str = ""
    status: int | None = None
    priority: int | None = None
    custom_fields: dict = field(default_factory=dict)
    cats: list | None = None

    @property
    def key(self) -> tuple:
        return (self.resource_id, self.channel, self.provider, self.identifier)


def _inner(sub: dict, container: str, key: str) -> object:
    inner = sub.get(container)
    return inner.get(key) if isinstance(inner, dict) else None


def identifier_of(sub: dict, channel: str) -> tuple[str, str]:
    """(provider, identifier) of a subscription, whichever documented shape it uses."""
    if channel == "email":
        value = sub.get("email") or _inner(sub, "email_data", "email")
        return "", normalise_email(value) if value else ""
    if channel == "sms":
        value = sub.get("phone") or _inner(sub, "phone_data", "phone")
        return "", normalise_phone(value) if value else ""
    if channel == "push":
        return str(sub.get("provider") or ""), str(sub.get("subscription_id") or "")
    if channel == "telegram_bot":
        value = _inner(sub, "cc_data", "id")
        return "", "" if value is None else str(value)
    value = _inner(sub, "cc_data", "phone") or sub.get("phone")
    return "", normalise_phone(value) if value else ""


def status_number(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return SUBSCRIPTION_STATUSES.get(value, int_or_none(value) or 0)
    return int(value)  # type: ignore[call-overload]


def read_subscription(sub: dict, path: str) -> SubscriptionChange:
    channel = sub.get("channel") or infer_channel(sub)
    if not channel:
        raise ItemError(400, f"{path}.channel: required: the channel cannot be told")
    provider, identifier = identifier_of(sub, channel)
    if not identifier:
        raise ItemError(400, f"{path}: no {channel} address")
    priority = sub.get("priority")
    return SubscriptionChange(
        resource_id=int(sub.get("resource_id") or 0),
        channel=channel,
        identifier=identifier,
        provider=provider,
        status=status_number(sub.get("status")),
        priority=None if priority is None else int(priority),
        custom_fields=sub.get("custom_fields") or {},
        cats=sub.get("cats"),
    )


def _set_path(target: dict, path: str, value: object) -> dict:
    """Set a dotted property path inside a (copied) object."""
    result = dict(target)
    head, _, rest = path.partition(".")
    if rest:
        inner = result.get(head)
        result[head] = _set_path(inner if isinstance(inner, dict) else {}, rest, value)
    else:
        result[head] = value
    return result


def _upsert(current: object, submatch: str, value: object) -> object:
    if isinstance(current, list):
        # arr_object: the element whose `submatch` property equals the value's is replaced
        # (merged); no such element: the value is appended.
        key = submatch.split(".", 1)[0]
        wanted = value.get(key) if isinstance(value, dict) else None
        items = list(current)
        for i, item in enumerate(items):
            if isinstance(item, dict) and wanted is not None and item.get(key) == wanted:
                items[i] = {**item, **value} if isinstance(value, dict) else value
                return items
        return [*items, value]
    return _set_path(current if isinstance(current, dict) else {}, submatch, value)


def apply_value(fields: dict, name: str, value: object) -> None:
    """Write one field: a plain value sets it, a function object does what §4.4 says."""
    if not is_function(value) or not isinstance(value, dict):
        fields[name] = value
        return
    action, operand = value["action"], value.get("value")
    current = fields.get(name)
    if action == "set":
        fields[name] = operand
    elif action == "unset":
        fields.pop(name, None)
    elif action == "incr":
        base = current if isinstance(current, int | float) and not isinstance(current, bool) else 0
        fields[name] = base + (operand or 0)
    elif action == "add":
        items = list(current) if isinstance(current, list) else []
        items += [v for v in (operand or []) if v not in items]
        fields[name] = items
    elif action == "delete":
        drop = operand or []
        fields[name] = [v for v in (current if isinstance(current, list) else []) if v not in drop]
    elif action == "upsert":
        fields[name] = _upsert(current, str(value.get("submatch", "")), operand)


def apply_fields(fields: dict, data: dict) -> dict:
    """A new fields dict with the data's fields (all but subscriptions) applied."""
    result = dict(fields)
    for name, value in data.items():
        if name == "subscriptions" or name == "profile_id":
            continue
        if name == "phones" and not is_function(value):
            value = value if isinstance(value, list) else [value]
        apply_value(result, name, value)
    return result
