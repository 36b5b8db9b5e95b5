"""The sandbox's catalogue: groups, databases, resources, scenarios and tokens with fixed IDs.

Docs and tests name these IDs, so they never change: add new objects with new IDs instead.
"""

import os

from django.conf import settings
from django.db import transaction

from altcraft_sandbox.models import (
    ApiRequest,
    Database,
    Group,
    Profile,
    Resource,
    Token,
    Workflow,
)

MAIN_GROUP = 1
SUBACCOUNT_GROUP = 2
# The second group's token is a sandbox fixture, not a secret: it only reaches database 3.
SUBACCOUNT_TOKEN = "sandbox-subaccount-token"  # noqa: S105

ALL_CHANNELS = ["email", "sms", "push", "telegram_bot", "whatsapp", "viber", "notify"]

GROUPS = {MAIN_GROUP: "main", SUBACCOUNT_GROUP: "subaccount"}

DATABASES = [
    {
        "id": 1,
        "name": "Clients",
        "description": "Retail customers",
        "suppress_id": 1,
        "ui_tags": ["B2C"],
        "group_id": MAIN_GROUP,
        "custom_fields": {
            "custom_field": {"title": "Custom field", "type": "string"},
            "custom_id": {"title": "Customer ID", "type": "string"},
            "loyalty_level": {"title": "Loyalty level", "type": "int"},
            "balance": {"title": "Balance", "type": "float"},
            "vip": {"title": "VIP", "type": "bool"},
            "last_order": {"title": "Last order", "type": "date"},
            "interests": {"title": "Interests", "type": "tags"},
            "address": {"title": "Address", "type": "object"},
            "orders": {"title": "Orders", "type": "arr_object"},
        },
    },
    {
        "id": 2,
        "name": "Partners",
        "description": "Resellers and agents",
        "suppress_id": 2,
        "ui_tags": ["B2B"],
        "group_id": MAIN_GROUP,
        "custom_fields": {
            "custom_field": {"title": "Custom field", "type": "string"},
            "partner_code": {"title": "Partner code", "type": "string"},
            "employees": {"title": "Employees", "type": "int"},
            "discount": {"title": "Discount", "type": "float"},
            "verified": {"title": "Verified", "type": "bool"},
            "contract_date": {"title": "Contract date", "type": "date"},
            "regions": {"title": "Regions", "type": "tags"},
            "company": {"title": "Company", "type": "object"},
        },
    },
    {
        "id": 3,
        "name": "Subaccount clients",
        "description": "Only the subaccount token sees this database",
        "suppress_id": 3,
        "ui_tags": [],
        "group_id": SUBACCOUNT_GROUP,
        "custom_fields": {"custom_field": {"title": "Custom field", "type": "string"}},
    },
]

_SUB_FIELDS = {"api_new_field_1": {"title": "New_field_1", "type": "int"}}
RESOURCES = [
    {"id": 1, "name": "All channels", "channels": ALL_CHANNELS, "dbs": [1, 2]},
    {"id": 2, "name": "Email newsletters", "channels": ["email"], "dbs": [1, 2]},
    {"id": 3, "name": "SMS", "channels": ["sms"], "dbs": [1, 2]},
    {"id": 4, "name": "Mobile push", "channels": ["push"], "dbs": [1, 2]},
    {"id": 5, "name": "Telegram bot", "channels": ["telegram_bot"], "dbs": [1]},
    {"id": 6, "name": "WhatsApp", "channels": ["whatsapp"], "dbs": [1]},
    {"id": 7, "name": "Viber", "channels": ["viber"], "dbs": [1]},
    {"id": 8, "name": "Notify", "channels": ["notify"], "dbs": [1]},
    # Not bound to database 1: subscribing a Clients profile to it answers 413.
    {"id": 9, "name": "Partners only", "channels": ["email", "sms"], "dbs": [2]},
    {
        "id": 10,
        "name": "Subaccount email",
        "channels": ["email"],
        "dbs": [3],
        "group_id": SUBACCOUNT_GROUP,
    },
]

_NODES = [
    {"name": "DEFAULT_START_NODE_TITLE", "type": "start"},
    {"name": "Welcome email", "type": "campaign"},
    {"name": "1 d.0 h.0 m.", "type": "delay"},
    {"name": "Opened?", "type": "condition"},
]
WORKFLOWS = [
    {"id": 1, "name": "Welcome series", "db": 1, "is_active": True, "ui_tags": ["B2C"]},
    {"id": 2, "name": "Win-back (paused)", "db": 1, "is_active": False, "ui_tags": ["B2C"]},
    {"id": 3, "name": "Partner onboarding", "db": 2, "is_active": True, "mode": "restart"},
    {"id": 4, "name": "Subaccount welcome", "db": 3, "group_id": SUBACCOUNT_GROUP},
]


def demo_token() -> str:
    return os.environ.get(settings.SANDBOX_TOKEN_ENV, "")


@transaction.atomic
def seed() -> None:
    """Create or refresh the catalogue; profiles and the request log are left alone."""
    for group_id, name in GROUPS.items():
        Group.objects.update_or_create(id=group_id, defaults={"name": name})
    for spec in DATABASES:
        spec = dict(spec)
        Database.objects.update_or_create(id=spec.pop("id"), defaults=spec)
    for spec in RESOURCES:
        resource, _ = Resource.objects.update_or_create(
            id=spec["id"],
            defaults={
                "name": spec["name"],
                "channels": spec["channels"],
                "group_id": spec.get("group_id", MAIN_GROUP),
                "trk_domain": "tracking.sandbox.test",
                "url": "https://sandbox.test",
                "custom_fields": _SUB_FIELDS,
            },
        )
        resource.databases.set(spec["dbs"])
    for spec in WORKFLOWS:
        Workflow.objects.update_or_create(
            id=spec["id"],
            defaults={
                "name": spec["name"],
                "database_id": spec["db"],
                "group_id": spec.get("group_id", MAIN_GROUP),
                "is_active": spec.get("is_active", True),
                "ui_tags": spec.get("ui_tags", []),
                "mode": spec.get("mode", "skip"),
                "nodes": _NODES,
            },
        )
    tokens = {
        "demo": (demo_token(), MAIN_GROUP),
        "subaccount": (SUBACCOUNT_TOKEN, SUBACCOUNT_GROUP),
    }
    for label, (token, group_id) in tokens.items():
        if token:
            Token.objects.filter(sha256=Token.digest(token)).exclude(label=label).delete()
            Token.objects.update_or_create(
                label=label, defaults={"sha256": Token.digest(token), "group_id": group_id}
            )


@transaction.atomic
def reset() -> None:
    """Forget every profile and request, then restore the catalogue."""
    Profile.objects.all().delete()
    ApiRequest.objects.all().delete()
    seed()
