"""Reading one profile as Altcraft holds it and changing it piece by piece (no Django).

Request bodies for profiles/get, subscriptions/set, subscriptions/delete, profiles/delete and
the unsubscription from a resource, built from a profile as profiles/get answered it; the
digest that tells whether a profile changed between two reads; and the field-by-field diff
between a profile as read and the data an update would send. The choices the documentation
leaves open are in docs/altcraft-contract.md.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

# How the profile page names a customer, and the profiles/get matching mode each means.
LOOKUP_KINDS: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "profile_id": "profile_id",
    "field": "custom",
}
# What profiles/get adds to the profile that is not a database field.
NOT_FIELDS = frozenset({"id", "db_id", "subscriptions", "workflows"})
STATUS_CHOICES = ("subscribed", "unsubscribed", "suspended")


@dataclass(frozen=True)
class Identifier:
    kind: str  # a LOOKUP_KINDS key
    value: str
    field_name: str = ""

    def params(self) -> dict[str, Any]:
        """The matching part of a profiles/get (or profiles/delete) body."""
        mode = LOOKUP_KINDS[self.kind]
        if mode == "custom":
            return {"matching": mode, "field_name": self.field_name, "field_value": self.value}
        return {"matching": mode, mode: self.value}


def get_body(identifier: Identifier, db_id: int) -> dict[str, Any]:
    return {"db_id": db_id, **identifier.params()}


def profile_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The profile in a profiles/get answer: documented under `data`."""
    profile = answer.get("data")
    if not isinstance(profile, dict):
        profile = answer.get("profile")
    return profile if isinstance(profile, dict) else {}


def fields_of(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in profile.items() if k not in NOT_FIELDS}


def digest(profile: dict[str, Any]) -> str:
    """Stable over key order, so two reads of an unchanged profile give the same digest."""
    text = json.dumps(profile, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def address(sub: dict[str, Any]) -> dict[str, Any]:
    """A subscription's channel and address in the flat form subscriptions/set and /delete
    take, from either the nested form profiles/get answers or the flat one."""
    channel = str(sub.get("channel") or "")
    found: dict[str, Any] = {"channel": channel}
    if channel == "email":
        data = sub.get("email_data")
        found["email"] = sub.get("email") or (data or {}).get("email", "")
    elif channel == "sms":
        data = sub.get("phone_data")
        found["phone"] = sub.get("phone") or (data or {}).get("phone", "")
    elif channel == "push":
        found.update(
            provider=sub.get("provider", ""), subscription_id=sub.get("subscription_id", "")
        )
    else:
        found["cc_data"] = dict(sub.get("cc_data") or {})
    return found


def address_text(sub: dict[str, Any]) -> str:
    flat = address(sub)
    if "cc_data" in flat:
        return ", ".join(f"{k} {v}" for k, v in flat["cc_data"].items())
    return " ".join(str(v) for k, v in flat.items() if k != "channel" and v)


def subscription_set_body(
    db_id: int, profile_id: str, sub: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """subscriptions/set for one subscription: its address, and only what changes."""
    body = {"db_id": db_id, "profile_id": profile_id, "resource_id": sub["resource_id"]}
    body.update(address(sub))
    body.update({k: v for k, v in changes.items() if v is not None})
    return body


def subscription_delete_body(db_id: int, profile_id: str, sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "db_id": db_id,
        "profile_id": profile_id,
        "resource_id": sub["resource_id"],
        **address(sub),
    }


def unsubscribe_resource_body(
    db_id: int, profile_id: str, subscriptions: list[dict[str, Any]], resource_id: int
) -> dict[str, Any]:
    """profiles/update setting every subscription of one resource to "unsubscribed".

    profiles/message_unsub needs the resource token and a sent message's ID, which the
    console does not have; this is the same change through the update the docs describe.
    """
    on_resource = [s for s in subscriptions if s.get("resource_id") == resource_id]
    return {
        "db_id": db_id,
        "matching": "profile_id",
        "profile_id": profile_id,
        "data": {
            "subscriptions": [
                {"resource_id": resource_id, **address(s), "status": "unsubscribed"}
                for s in on_resource
            ]
        },
    }


def delete_body(db_id: int, profile_id: str) -> dict[str, Any]:
    return {"db_id": db_id, "matching": "profile_id", "profile_id": profile_id}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.field}: {_shown(self.before)} → {_shown(self.after)}"


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changed_fields(read: dict[str, Any], data: dict[str, Any]) -> list[Change]:
    """The database fields `data` would change in the profile as read, in data's order.

    Subscriptions are changed one at a time on the profile page, not through the update.
    """
    current = fields_of(read)
    return [
        Change(name, current.get(name), value)
        for name, value in data.items()
        if name not in NOT_FIELDS and current.get(name) != value
    ]


def changed_only(read: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the fields whose value is already the profile's."""
    changed = {c.field for c in changed_fields(read, data)}
    kept = {k: v for k, v in data.items() if k in changed}
    if data.get("subscriptions"):
        kept["subscriptions"] = data["subscriptions"]
    return kept
