"""The read-only methods: catalogue listings (§2.12-2.15) and profiles/get."""

from collections.abc import Callable

from django.db.models import QuerySet

from altcraft_sandbox.changes import ItemError
from altcraft_sandbox.context import (
    Call,
    int_param,
    not_visible,
    ok,
    required_id,
    visible_database,
    visible_resources,
)
from altcraft_sandbox.engine import Workspace
from altcraft_sandbox.models import Database, Profile, Resource, Subscription, Workflow
from altcraft_sandbox.ops import single_lookup
from altcraft_sandbox.writers import subscriptions_list

SYSTEM_PROFILE_FIELDS = [
    ("email", "Email", "string"),
    ("phones", "Phones", "phones"),
    ("_fname", "First name", "string"),
    ("_lname", "Last name", "string"),
    ("_bdate", "Birth date", "date"),
    ("_sex", "Gender", "enum"),
    ("_regdate", "Registration date", "date"),
    ("_tz", "Time zone", "string"),
]
PUSH_FIELDS = [
    ("_device_type", "Device type", "unicode", "devices"),
    ("_device_model", "Device model", "unicode", None),
    ("_device_name", "Device name", "unicode", None),
    ("_os", "Platform", "unicode", "oses"),
    ("_os_ver", "Platform version", "version", None),
    ("_os_tz", "Platform time zone", "unicode", "tz"),
    ("_os_language", "Platform language", "unicode", "languages"),
    ("_ad_track", "Ad tracking allowed", "bool", None),
    ("_ad_id", "Ad identifier", "unicode", None),
    ("_app_id", "Application ID", "unicode", None),
    ("_app_iid", "Application installation ID", "unicode", None),
    ("_browser_name", "Browser", "unicode", None),
]


def _page(call: Call, rows: QuerySet, render: Callable) -> dict:
    """from_id/limit paging as the list methods document it."""
    from_id = int_param(call.payload, "from_id", 1) or 1
    limit = max(1, min(int_param(call.payload, "limit", 1000) or 1000, 1000))
    tags = call.payload.get("ui_tags")
    items = list(rows.filter(id__gte=from_id))
    if tags:
        wanted = set(tags if isinstance(tags, list) else [tags])
        items = [item for item in items if wanted & set(getattr(item, "ui_tags", []))]
    page = items[:limit]
    next_from_id = items[limit].id if len(items) > limit else 0
    return ok(
        data=[render(item) for item in page], next_from_id=next_from_id, total_count=len(items)
    )


def databases_list(call: Call) -> dict:
    rows = Database.objects.filter(group_id=call.group_id).select_related("group")
    return _page(
        call,
        rows,
        lambda d: {
            "id": d.id,
            "name": d.name,
            "ui_tags": d.ui_tags,
            "Groups": [{"Id": d.group_id, "Name": d.group.name}],
        },
    )


def databases_get(call: Call) -> dict:
    database = visible_database(call, required_id(call.payload, "id", "db_id"))
    return ok(
        data={
            "id": database.id,
            "name": database.name,
            "suppress_id": database.suppress_id,
            "description": database.description,
        }
    )


def databases_fields_get(call: Call) -> dict:
    database = visible_database(call, required_id(call.payload, "id", "db_id"))
    fields = [
        {"category": "system", "title": title, "name": name, "required": False, "type": kind}
        for name, title, kind in SYSTEM_PROFILE_FIELDS
    ]
    fields += [
        {
            "category": "custom",
            "title": spec["title"],
            "name": name,
            "required": False,
            "type": spec["type"],
        }
        for name, spec in database.custom_fields.items()
    ]
    return ok(data=fields)


def resources_list(call: Call) -> dict:
    rows = Resource.objects.filter(group_id=call.group_id).select_related("group")
    return _page(
        call,
        rows,
        lambda r: {
            "id": r.id,
            "name": r.name,
            "groups": [{"id": r.group_id, "name": r.group.name}],
        },
    )


def _visible_resource(call: Call) -> Resource:
    resource_id = required_id(call.payload, "id", "resource_id")
    resource = visible_resources(call).get(resource_id)
    if resource is None:
        raise not_visible(Resource, resource_id, "id", "resource")
    return resource


def resources_get(call: Call) -> dict:
    resource = _visible_resource(call)
    return ok(
        data={
            "channels": resource.channels,
            "dbs_ids": sorted(resource.db_ids),
            "id": resource.id,
            "name": resource.name,
            "trk_domain": resource.trk_domain,
            "url": resource.url,
        }
    )


def resources_fields_get(call: Call) -> dict:
    resource = _visible_resource(call)
    channel = call.payload.get("channel")
    if not channel:
        raise ItemError(400, "channel: required")
    if channel not in resource.channels:
        raise ItemError(400, f"channel: resource {resource.id} has no {channel} channel")
    fields = [
        {
            "category": "custom",
            "title": spec["title"],
            "name": name,
            "required": False,
            "type": spec["type"],
        }
        for name, spec in resource.custom_fields.items()
    ]
    if channel == "push":
        for name, title, kind, dictionary in PUSH_FIELDS:
            field = {
                "category": "system",
                "title": title,
                "name": name,
                "required": False,
                "type": kind,
            }
            if dictionary:
                field["dictionary"] = dictionary
            fields.append(field)
    return ok(data=fields)


def workflows_list(call: Call) -> dict:
    rows = Workflow.objects.filter(group_id=call.group_id).select_related("group")
    return _page(
        call,
        rows,
        lambda w: {
            "id": w.id,
            "name": w.name,
            "list_id": w.database_id,
            "is_active": w.is_active,
            "ui_tags": w.ui_tags,
            "mode": w.mode,
            "groups": [{"ID": w.group_id, "title": w.group.name}],
            "nodes": w.nodes,
        },
    )


def subscription_data(sub: Subscription) -> dict:
    """A subscription as profiles/get shows it: channel data nested by channel (§5.2)."""
    item: dict = {"resource_id": sub.resource_id, "channel": sub.channel}
    if sub.channel == "email":
        item["email_data"] = {"email": sub.identifier}
    elif sub.channel in ("sms", "whatsapp", "viber"):
        item["phone_data"] = {"phone": sub.identifier}
    elif sub.channel == "push":
        item.update(provider=sub.provider, subscription_id=sub.identifier)
    elif sub.channel == "telegram_bot":
        item["cc_data"] = {
            "id": int(sub.identifier) if sub.identifier.isdigit() else sub.identifier
        }
    else:
        item["cc_data"] = {"phone": sub.identifier}
    item.update(
        status=sub.status, priority=sub.priority, custom_fields=sub.custom_fields, cats=sub.cats
    )
    return item


def profile_data(profile: Profile) -> dict:
    return {
        "id": profile.id,
        "db_id": profile.database_id,
        **profile.fields,
        "subscriptions": [subscription_data(s) for s in profile.subscriptions.all()],
        "workflows": [
            {"workflow_id": e.workflow_id, "entered_at": e.entered_at.isoformat()}
            for e in profile.entries.order_by("entered_at", "id")
        ],
    }


def profiles_get(call: Call) -> dict:
    """Looks a profile up like profiles/update does (profile_id, or a matching mode)."""
    payload = call.payload
    database = visible_database(call, required_id(payload, "db_id"))
    mode = payload.get("matching") or ("profile_id" if "profile_id" in payload else "email")
    lookup = single_lookup(payload, mode)
    workspace = Workspace(database, {})
    workspace.load([lookup])
    pid = workspace.find_one(lookup, int_param(payload, "resource_id"))
    if pid is None:
        raise ItemError(404, f"no profile matches this {mode} lookup")
    profile = profile_data(Profile.objects.get(pk=pid))
    # The documented answer carries the profile in `data`; `profile` is kept for older callers.
    return ok(data=profile, profile=profile)


READERS: dict[str, Callable[[Call], dict]] = {
    "databases/list": databases_list,
    "databases/get": databases_get,
    "databases/fields_get": databases_fields_get,
    "resources/list": resources_list,
    "resources/get": resources_get,
    "resources/fields_get": resources_fields_get,
    "workflows/list": workflows_list,
    "profiles/get": profiles_get,
    "subscriptions/list": subscriptions_list,
}
