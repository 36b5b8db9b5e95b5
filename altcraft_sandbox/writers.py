"""The profile and subscription methods beside import: subscriptions/set, /list, /delete and
profiles/delete (see docs/altcraft-contract.md for the choices the documentation leaves open).

Each works on one profile named by `profile_id` (profiles/delete also by a matching mode) in a
database the token may reach.
"""

from collections.abc import Callable

from altcraft.channels import CHANNELS, STATUS_WORDS, SUBSCRIPTION_STATUSES
from altcraft_sandbox.changes import ItemError, identifier_of
from altcraft_sandbox.context import (
    Call,
    int_param,
    ok,
    required_id,
    visible_database,
    visible_resources,
)
from altcraft_sandbox.engine import Workspace
from altcraft_sandbox.models import Profile, Subscription
from altcraft_sandbox.ops import single_lookup

DELETE_MODES = ("email", "phone", "profile_id", "custom")


def _profile(call: Call) -> Profile:
    database = visible_database(call, required_id(call.payload, "db_id"))
    profile_id = call.payload.get("profile_id")
    if not profile_id or not isinstance(profile_id, str):
        raise ItemError(400, "profile_id: required")
    profile = Profile.objects.filter(pk=profile_id, database=database).first()
    if profile is None:
        raise ItemError(
            404, f"profile_id: profile {profile_id} not found in database {database.id}"
        )
    return profile


def _target(call: Call, profile: Profile) -> tuple[int, str, str, str]:
    """(resource_id, channel, provider, identifier) of the subscription a call names."""
    payload = call.payload
    resource_id = required_id(payload, "resource_id")
    resource = visible_resources(call).get(resource_id)
    if resource is None or profile.database_id not in resource.db_ids:
        raise ItemError(404, f"resource_id: resource {resource_id} not found for this database")
    channel = payload.get("channel")
    if channel not in CHANNELS:
        raise ItemError(400, f"channel: required, one of {', '.join(CHANNELS)}")
    if channel not in resource.channels:
        raise ItemError(400, f"channel: resource {resource_id} has no {channel} channel")
    provider, identifier = identifier_of(payload, channel)
    if not identifier:
        raise ItemError(400, f"{channel}: the subscription's address is required")
    return resource_id, channel, provider, identifier


def _status(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value in SUBSCRIPTION_STATUSES:
        return SUBSCRIPTION_STATUSES[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_WORDS:
        return value
    words = ", ".join(SUBSCRIPTION_STATUSES)
    raise ItemError(400, f"status: {value!r} is not a subscription status ({words})")


def subscriptions_set(call: Call) -> dict:
    profile = _profile(call)
    resource_id, channel, provider, identifier = _target(call, profile)
    payload = call.payload
    status = _status(payload.get("status"))
    priority = int_param(payload, "priority")
    custom_fields = payload.get("custom_fields")
    if custom_fields is not None and not isinstance(custom_fields, dict):
        raise ItemError(400, "custom_fields: must be an object")
    cats = payload.get("cats")
    if cats is not None and not isinstance(cats, list):
        raise ItemError(400, "cats: must be an array")
    sub, _ = Subscription.objects.get_or_create(
        profile=profile,
        database_id=profile.database_id,
        resource_id=resource_id,
        channel=channel,
        provider=provider,
        identifier=identifier,
    )
    if status is not None:
        sub.status = status
    if priority is not None:
        sub.priority = priority
    if custom_fields is not None:
        sub.custom_fields = {**sub.custom_fields, **custom_fields}
    if cats is not None:
        sub.cats = cats
    sub.save()
    profile.save(update_fields=["updated_at"])
    return ok(profile_id=profile.id)


def listed_subscription(sub: Subscription) -> dict:
    """A subscription as subscriptions/list documents it: flat address, status as a word."""
    item: dict = {"resource_id": sub.resource_id, "channel": sub.channel}
    if sub.channel == "email":
        item["email"] = sub.identifier
    elif sub.channel == "sms":
        item["phone"] = sub.identifier
    elif sub.channel == "push":
        item.update(provider=sub.provider, subscription_id=sub.identifier)
    elif sub.channel == "telegram_bot":
        item["cc_data"] = {
            "id": int(sub.identifier) if sub.identifier.isdigit() else sub.identifier
        }
    else:
        item["cc_data"] = {"phone": sub.identifier}
    item.update(
        priority=sub.priority,
        status=sub.status_name,
        custom_fields=sub.custom_fields,
        cats=sub.cats,
    )
    return item


def subscriptions_list(call: Call) -> dict:
    profile = _profile(call)
    return ok(data=[listed_subscription(s) for s in profile.subscriptions.order_by("id")])


def subscriptions_delete(call: Call) -> dict:
    profile = _profile(call)
    resource_id, channel, provider, identifier = _target(call, profile)
    deleted, _ = Subscription.objects.filter(
        profile=profile,
        resource_id=resource_id,
        channel=channel,
        provider=provider,
        identifier=identifier,
    ).delete()
    if not deleted:
        raise ItemError(
            404, f"{channel}: the profile has no such subscription on resource {resource_id}"
        )
    profile.save(update_fields=["updated_at"])
    return ok()


def profiles_delete(call: Call) -> dict:
    payload = call.payload
    database = visible_database(call, required_id(payload, "db_id"))
    mode = payload.get("matching") or "email"
    if mode not in DELETE_MODES:
        raise ItemError(400, f"matching: {mode!r}: profiles/delete takes {', '.join(DELETE_MODES)}")
    lookup = single_lookup(payload, mode)
    if not (lookup.emails or lookup.phones or lookup.profile_id or lookup.field_name):
        raise ItemError(
            400, f"{ {'custom': 'field_name'}.get(mode, mode) }: required for {mode} matching"
        )
    workspace = Workspace(database, {})
    workspace.load([lookup])
    pid = workspace.find_one(lookup, int_param(payload, "resource_id"))
    if pid is None:
        raise ItemError(404, f"no profile matches this {mode} lookup")
    Profile.objects.filter(pk=pid).delete()
    return ok(data={"profile_id": pid})


WRITERS: dict[str, Callable[[Call], dict]] = {
    "subscriptions/set": subscriptions_set,
    "subscriptions/delete": subscriptions_delete,
    "profiles/delete": profiles_delete,
}
