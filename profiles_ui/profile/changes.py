"""What each action on the profile page sends: built from the profile as read just now."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from altcraft import live_profile
from altcraft.channels import STATUS_WORDS
from altcraft.live_profile import Change
from profiles_ui.profile.forms import SubscriptionForm

FIELD_PREFIX = "f:"


class NotSendable(Exception):
    """The action cannot be built from this profile; the message says why."""


@dataclass
class Planned:
    operation: str
    payload: dict[str, Any]
    title: str
    diff: list[Change] = field(default_factory=list)
    reason: str = ""


def edited_data(post: QueryDict, profile: dict[str, Any]) -> dict[str, Any]:
    """The edit form's values, each read back as the type the field had when read."""
    current = live_profile.fields_of(profile)
    data: dict[str, Any] = {}
    for key in post:
        if not key.startswith(FIELD_PREFIX):
            continue
        name, text = key[len(FIELD_PREFIX) :], post[key]
        before = current.get(name)
        if isinstance(before, str) or before is None:
            data[name] = text
            continue
        try:
            data[name] = json.loads(text)
        except ValueError:
            raise NotSendable(f"{name}: {text!r} is not valid JSON for this field") from None
    return data


def changed_update(profile: dict[str, Any], payload: dict[str, Any]) -> Planned:
    """A profiles/update of `profile` holding only what its `data` changes, with the diff;
    the profile page's edit form and the builder's live edit both send this."""
    data = live_profile.changed_only(profile, payload.get("data") or {})
    if not data:
        raise NotSendable("nothing changed: every field has the value Altcraft holds")
    diff = live_profile.changed_fields(profile, data)
    return Planned("profiles/update", {**payload, "data": data}, "Update the profile", diff)


def rebased(payload: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """A changed-only update laid over the profile as read again: its changes kept, every
    other field as the profile holds it now (for a form to show before it is sent)."""
    data = payload.get("data") or {}
    return {**payload, "data": {**live_profile.fields_of(profile), **data}}


def plan(action: str, post: QueryDict, profile: dict[str, Any], db_id: int) -> Planned:
    profile_id = str(profile.get("id") or "")
    subscriptions = profile.get("subscriptions") or []
    if action == "edit":
        payload = {"db_id": db_id, "matching": "profile_id", "profile_id": profile_id}
        return changed_update(profile, {**payload, "data": edited_data(post, profile)})
    if action == "delete":
        snapshot = json.dumps(profile, ensure_ascii=False, sort_keys=True)
        return Planned(
            "profiles/delete",
            live_profile.delete_body(db_id, profile_id),
            "Delete the profile",
            reason=f"Profile as read before deletion: {snapshot}",
        )
    if action == "unsubscribe":
        resource_id = _int(post.get("resource_id"))
        if not any(s.get("resource_id") == resource_id for s in subscriptions):
            raise NotSendable(f"the profile has no subscription on resource {resource_id}")
        payload = live_profile.unsubscribe_resource_body(
            db_id, profile_id, subscriptions, resource_id
        )
        return Planned("profiles/update", payload, f"Unsubscribe from resource {resource_id}")
    if action == "add":
        return _added(post, db_id, profile_id)
    sub = _subscription(post, subscriptions)
    if action == "sub_delete":
        body = live_profile.subscription_delete_body(db_id, profile_id, sub)
        return Planned("subscriptions/delete", body, "Delete the subscription")
    if action == "sub_set":
        form = SubscriptionForm(post)
        if not form.is_valid():
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            raise NotSendable(problems)
        status = sub.get("status")
        if isinstance(status, int):  # profiles/get gives the number, the form the word
            sub = {**sub, "status": STATUS_WORDS.get(status, status)}
        changes = form.changes(sub)
        if not changes:
            raise NotSendable("nothing changed in this subscription")
        body = live_profile.subscription_set_body(db_id, profile_id, sub, changes)
        diff = [Change(k, sub.get(k), v) for k, v in changes.items()]
        return Planned("subscriptions/set", body, "Change the subscription", diff)
    raise NotSendable(f"unknown action {action!r}")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _subscription(post: QueryDict, subscriptions: list) -> dict[str, Any]:
    index = _int(post.get("index"))
    if index is None or not 0 <= index < len(subscriptions):
        raise NotSendable("this subscription is no longer on the profile; read it again")
    return subscriptions[index]


def _added(post: QueryDict, db_id: int, profile_id: str) -> Planned:
    """A new subscription: resource, channel and its address, then subscriptions/set."""
    resource_id = _int(post.get("resource_id"))
    channel = post.get("channel", "")
    address = post.get("address", "").strip()
    if resource_id is None:
        raise NotSendable("resource_id: required")
    if not channel or not address:
        raise NotSendable("channel and address: required")
    sub: dict[str, Any] = {"resource_id": resource_id, "channel": channel}
    if channel == "email":
        sub["email"] = address
    elif channel == "sms":
        sub["phone"] = address
    elif channel == "push":
        sub.update(provider=post.get("provider", "").strip(), subscription_id=address)
    elif channel == "telegram_bot":
        sub["cc_data"] = {"id": _int(address) or address}
    else:
        sub["cc_data"] = {"phone": address}
    status = post.get("status") or "subscribed"
    body = live_profile.subscription_set_body(db_id, profile_id, sub, {"status": status})
    return Planned("subscriptions/set", body, f"Add a {channel} subscription")
