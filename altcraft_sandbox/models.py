"""What the sandbox platform holds: its catalogue (seeded), the profiles it received, and the
log of data-changing requests that deduplication and tests read.

Catalogue rows use fixed integer IDs (set by `seed_sandbox`) so docs and tests can name them.
Profiles keep their data as a JSON document; the columns that matching searches (email, phone
numbers, subscription identifiers) are copied out into indexed columns.
"""

import hashlib
import itertools
import json
import os
import threading
import time

from django.db import models

from altcraft.channels import STATUS_WORDS


class Group(models.Model):
    """An object group: a token sees the databases, resources and scenarios of its group."""

    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Token(models.Model):
    # Only the SHA-256 of a token is stored, never the token.
    sha256 = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, unique=True)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="tokens")

    def __str__(self) -> str:
        return self.label

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Database(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    suppress_id = models.IntegerField(default=0)
    ui_tags = models.JSONField(default=list, blank=True)
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="databases")
    # Custom fields as {"name": {"title": ..., "type": ...}}, types as in the contract.
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        permissions = [("reset_sandbox", "Can reset the sandbox")]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"

    def field_types(self) -> dict[str, str]:
        return {name: spec["type"] for name, spec in self.custom_fields.items()}


class Resource(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    channels = models.JSONField(default=list)
    databases = models.ManyToManyField(Database, related_name="resources")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="resources")
    trk_domain = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=200, blank=True)
    # Custom subscription fields, like Database.custom_fields.
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


class Workflow(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    database = models.ForeignKey(Database, on_delete=models.PROTECT, related_name="workflows")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="workflows")
    is_active = models.BooleanField(default=True)
    ui_tags = models.JSONField(default=list, blank=True)
    # What happens when a profile already in the scenario enters again: skip or restart.
    mode = models.CharField(max_length=20, default="skip")
    nodes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_counter_lock = threading.Lock()
_process_part = os.urandom(5)


def new_profile_id() -> str:
    """A 24-hex-digit ID shaped like Altcraft's (MongoDB ObjectId): time, process, counter."""
    with _counter_lock:
        count = next(_counter) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _process_part + count.to_bytes(3, "big")).hex()


class Profile(models.Model):
    id = models.CharField(max_length=24, primary_key=True, default=new_profile_id)
    # Indexed as the first column of the (database, email) index: a second index on it alone
    # would only cost every insert of a batch.
    database = models.ForeignKey(
        Database, on_delete=models.CASCADE, related_name="profiles", db_index=False
    )
    # Lower-cased copy of fields["email"], for matching and search.
    email = models.CharField(max_length=254, blank=True, default="")
    fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["database", "email"])]

    def __str__(self) -> str:
        return self.id


class ProfilePhone(models.Model):
    """One normalised number of a profile's `phones` list, for phone matching."""

    # Written only with its profile, in the same transaction (engine.flush). No constraint:
    # PostgreSQL checks one per row at COMMIT, which took longer than the rows' COPY, and
    # Django still cascades a profile's deletion.
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="phone_rows", db_constraint=False
    )
    # A copy of the profile's database, for the (database, phone) index; the profile's own
    # key keeps it true, so no constraint is checked again for each row at commit.
    database = models.ForeignKey(
        Database, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    phone = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["database", "phone"])]

    def __str__(self) -> str:
        return self.phone


class Subscription(models.Model):
    # As with ProfilePhone.profile: written with its profile, cascaded by Django.
    profile = models.ForeignKey(
        Profile, on_delete=models.CASCADE, related_name="subscriptions", db_constraint=False
    )
    # A copy of the profile's database, for the (database, channel, identifier) index; as
    # with ProfilePhone.database, the profile's own key keeps it true.
    database = models.ForeignKey(
        Database, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # The engine checks the resource before it writes a row. Nothing looks subscriptions up
    # by resource but a resource's deletion (rare, and cascaded by Django), so no index
    # either: each would cost every row of every batch.
    resource = models.ForeignKey(
        Resource,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_constraint=False,
        db_index=False,
    )
    channel = models.CharField(max_length=20)
    # The normalised address on the channel: email (lower case), phone, push subscription ID
    # or Telegram chat ID.
    identifier = models.CharField(max_length=500)
    provider = models.CharField(max_length=100, blank=True, default="")
    status = models.IntegerField(default=0)
    priority = models.IntegerField(default=0)
    custom_fields = models.JSONField(default=dict, blank=True)
    cats = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["database", "channel", "identifier"])]

    def __str__(self) -> str:
        return f"{self.channel}:{self.identifier}"

    @property
    def status_name(self) -> str:
        return STATUS_WORDS.get(self.status, str(self.status))


class ScenarioEntry(models.Model):
    """A profile entering a scenario through workflows/import_and_start[_batch]."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="entries")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="entries")
    content = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=200, blank=True, default="")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-entered_at", "-id"]

    def __str__(self) -> str:
        return f"{self.profile_id} -> {self.workflow_id}"

    @property
    def content_json(self) -> str:
        # Sorted, because PostgreSQL's jsonb keeps keys in its own order, not the sent one.
        return json.dumps(self.content, ensure_ascii=False, sort_keys=True)


class ApiRequest(models.Model):
    """One applied data-changing request and the answer it got.

    `key` is the deduplication key; its unique constraint is what keeps two racing copies of
    one request from both being applied: the row is inserted in the same transaction as the
    change, so the second insert waits for the first transaction and then fails.
    """

    key = models.CharField(max_length=64, unique=True)
    request_id = models.CharField(max_length=200, blank=True, default="", db_index=True)
    method = models.CharField(max_length=100)
    status = models.IntegerField(default=200)
    error = models.IntegerField(null=True)
    content_type = models.CharField(max_length=100, default="application/json")
    response = models.BinaryField(default=b"")
    duplicates = models.IntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.request_id or self.key[:12]}"
