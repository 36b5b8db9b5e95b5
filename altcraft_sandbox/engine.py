"""Matching and applying profiles, set-based: a request's profiles are matched with one query
per kind of lookup value, changed in memory, and written back with bulk inserts and updates.

A single-profile request is a batch of one, so both follow the same path.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from altcraft.formats import int_or_none
from altcraft_sandbox import bulk
from altcraft_sandbox.changes import (
    KEEP,
    ItemError,
    SubscriptionChange,
    apply_fields,
    apply_value,
    normalise_email,
    normalise_phone,
    phones_of,
    read_subscription,
)
from altcraft_sandbox.context import not_visible
from altcraft_sandbox.models import (
    Database,
    Profile,
    ProfilePhone,
    Resource,
    ScenarioEntry,
    Subscription,
    Workflow,
    new_profile_id,
)
from altcraft_sandbox.rows import SUB_COLUMNS, Lookup, ProfileRow, SubRow

__all__ = ["ItemError", "Workspace", "normalise_phone"]

EMAIL_SUB = {"email", "email_sub", "email_phone_sub"}
EMAIL_PROFILE = {"email", "email_profile", "email_phone"}
PHONE_SUB = {"phone", "phone_sub", "email_phone_sub"}
PHONE_PROFILE = {"phone", "email_phone"}


def _same_value(stored: object, wanted: object, field_type: str | None) -> bool:
    if field_type == "tags" or isinstance(stored, list):
        tags = wanted if isinstance(wanted, list) else str(wanted).split(",")
        wanted_tags = {str(t).strip() for t in tags if str(t).strip()}
        return bool(wanted_tags) and wanted_tags <= {str(t) for t in (stored or [])}
    return stored is not None and str(stored) == str(wanted)


def _json_values(value: object) -> list:
    """A custom value and its string/number spellings (XML carries every value as text)."""
    values = [value, str(value)]
    number = int_or_none(str(value).strip()) if not isinstance(value, int) else None
    if number is not None:
        values.append(number)
    return values


class Workspace:
    """The profiles one request touches, loaded once and flushed once."""

    def __init__(self, database: Database, resources: dict[int, Resource]) -> None:
        self.database = database
        self.resources = resources
        self.field_types = database.field_types()
        self.profiles: dict[str, ProfileRow] = {}
        self.phones: dict[str, list[str]] = {}
        # Each profile's subscriptions by their key (resource, channel, provider, identifier).
        self.subs: dict[str, dict[tuple, SubRow]] = defaultdict(dict)
        self.new: set[str] = set()
        self.changed: set[str] = set()
        self.entries: list[tuple[str, int, dict, str]] = []
        self.entered: set[tuple[str, int]] = set()
        self.by_email: dict[str, set[str]] = defaultdict(set)
        self.by_phone: dict[str, set[str]] = defaultdict(set)
        self.by_custom: dict[str, dict[str, set[str]]] = {}
        self.by_sub: dict[tuple[str, str], list[SubRow]] = defaultdict(list)

    # Loading -----------------------------------------------------------------------------

    def load(self, lookups: list[Lookup], extra_emails: set[str] = frozenset()) -> None:
        """Load every stored profile any lookup could match, with phones and subscriptions."""
        ids: set[str] = set()
        emails = set(extra_emails)
        phones: set[str] = set()
        push_ids: set[str] = set()
        custom: dict[str, list] = defaultdict(list)
        for lookup in lookups:
            emails |= lookup.emails
            phones |= lookup.phones
            if lookup.profile_id:
                ids.add(lookup.profile_id)
            if lookup.push:
                push_ids.add(lookup.push[1])
            if lookup.field_name and lookup.field_value is not None:
                custom[f"{lookup.mode}:{lookup.field_name}"] += _json_values(lookup.field_value)
        db_id = self.database.id
        if emails:
            ids |= self._ids(Profile, "id", {"database_id": db_id}, "email", emails)
            ids |= self._sub_ids("email", emails)
        if phones:
            ids |= self._ids(ProfilePhone, "profile_id", {"database_id": db_id}, "phone", phones)
            ids |= self._sub_ids("sms", phones)
        if push_ids:
            ids |= self._sub_ids("push", push_ids)
        for key, values in custom.items():
            mode, name = key.split(":", 1)
            query = self._custom(mode, name, values)
            ids.update(query.values_list(query.query.values_select[0], flat=True))
        self._load_ids(ids)

    @staticmethod
    def _ids(model, column: str, filters: dict, key: str, values: Iterable) -> set[str]:
        return {row[0] for row in bulk.select_any(model, [column], filters, key, values)}

    def _sub_ids(self, channel: str, identifiers: set[str]) -> set[str]:
        filters = {"database_id": self.database.id, "channel": channel}
        return self._ids(Subscription, "profile_id", filters, "identifier", identifiers)

    def _custom(self, mode: str, name: str, values: list):
        if mode == "custom" and self.field_types.get(name) == "tags":
            return Profile.objects.filter(database=self.database, fields__has_key=name).values("id")
        if mode == "custom_sub":
            condition = Q(**{f"custom_fields__{name}__in": values})
            return Subscription.objects.filter(condition, database=self.database).values(
                "profile_id"
            )
        condition = Q(**{f"fields__{name}__in": values})
        return Profile.objects.filter(condition, database=self.database).values("id")

    def _load_ids(self, ids: set[str]) -> None:
        ids -= self.profiles.keys()
        if not ids:
            return
        columns = ["id", "email", "fields"]
        filters = {"database_id": self.database.id}
        for pid, email, fields in bulk.select_any(Profile, columns, filters, "id", ids):
            fields = bulk.loaded_json(fields)
            self.profiles[pid] = ProfileRow(pid, email, fields)
            self.phones[pid] = phones_of(fields.get("phones", []))
            self._index(pid)
        rows = bulk.select_any(Subscription, SUB_COLUMNS, {}, "profile_id", ids)
        for values in sorted(rows, key=lambda row: row[0]):
            sub = SubRow(*values[:-2], *map(bulk.loaded_json, values[-2:]))
            self.subs[sub.profile_id].setdefault(self._key(sub), sub)
            self.by_sub[(sub.channel, sub.identifier)].append(sub)

    # Matching ----------------------------------------------------------------------------
    # In-memory indexes of the loaded profiles, kept current as the request changes them, so
    # a later item of a batch finds what an earlier one created.

    def _index(self, pid: str) -> None:
        profile = self.profiles[pid]
        self.by_email[profile.email].add(pid)
        for phone in self.phones[pid]:
            self.by_phone[phone].add(pid)
        for name, index in self.by_custom.items():
            stored = profile.fields.get(name)
            if stored is not None and not isinstance(stored, list | dict):
                index[str(stored)].add(pid)

    def _unindex(self, pid: str) -> None:
        profile = self.profiles[pid]
        self.by_email[profile.email].discard(pid)
        for phone in self.phones[pid]:
            self.by_phone[phone].discard(pid)
        for index in self.by_custom.values():
            for pids in index.values():
                pids.discard(pid)

    def _custom_index(self, name: str) -> dict[str, set[str]]:
        if name not in self.by_custom:
            self.by_custom[name] = defaultdict(set)
            for pid in self.profiles:
                self._index(pid)
        return self.by_custom[name]

    def _by_subscription(
        self, channel: str, values: set[str], resource_id: int | None, provider: str = ""
    ) -> set[str]:
        return {
            sub.profile_id
            for value in values
            for sub in self.by_sub.get((channel, value), ())
            if (resource_id is None or sub.resource_id == resource_id)
            and (not provider or sub.provider == provider)
        }

    def match(self, lookup: Lookup, resource_id: int | None = None) -> set[str]:
        """IDs of the profiles the lookup matches (more than one is ambiguous)."""
        mode = lookup.mode
        if mode == "profile_id":
            return {lookup.profile_id} & self.profiles.keys()
        if mode == "push_sub":
            provider, sub_id = lookup.push or ("", "")
            return self._by_subscription("push", {sub_id}, None, provider or "-")
        if mode == "custom":
            name, wanted = lookup.field_name, lookup.field_value
            if self.field_types.get(name) == "tags" or isinstance(wanted, list):
                return {
                    pid
                    for pid, profile in self.profiles.items()
                    if _same_value(profile.fields.get(name), wanted, "tags")
                }
            return set(self._custom_index(name).get(str(wanted), ()))
        if mode == "custom_sub":
            return {
                pid
                for pid, subs in self.subs.items()
                if any(
                    _same_value(s.custom_fields.get(lookup.field_name), lookup.field_value, None)
                    for s in subs.values()
                )
            }
        found: set[str] = set()
        if mode in EMAIL_PROFILE:
            for email in lookup.emails:
                found |= self.by_email.get(email, set())
        if mode in PHONE_PROFILE:
            for phone in lookup.phones:
                found |= self.by_phone.get(phone, set())
        if mode in EMAIL_SUB:
            found |= self._by_subscription("email", lookup.emails, resource_id)
        if mode in PHONE_SUB:
            found |= self._by_subscription("sms", lookup.phones, resource_id)
        return found

    def find_one(self, lookup: Lookup, resource_id: int | None = None) -> str | None:
        found = self.match(lookup, resource_id)
        if len(found) > 1:
            raise ItemError(435, f"{len(found)} profiles match this {lookup.mode} lookup")
        return next(iter(found)) if found else None

    # Changing ----------------------------------------------------------------------------

    def _resolve_subscriptions(
        self, data: dict, path: str, skip_invalid: bool
    ) -> list[SubscriptionChange]:
        changes = []
        for i, sub in enumerate(data.get("subscriptions") or []):
            sub_path = f"{path}.subscriptions[{i}]"
            try:
                change = read_subscription(sub, sub_path)
                resource = self.resources.get(change.resource_id)
                if resource is None:
                    where = f"{sub_path}.resource_id"
                    raise not_visible(Resource, change.resource_id, where, "resource")
                if self.database.id not in resource.db_ids:
                    raise ItemError(
                        413,
                        f"{sub_path}.resource_id: database {self.database.id} is not available "
                        f"in resource {resource.id}",
                    )
                if change.channel not in resource.channels:
                    raise ItemError(
                        400,
                        f"{sub_path}.channel: resource {resource.id} "
                        f"has no {change.channel} channel",
                    )
            except ItemError:
                if skip_invalid:
                    continue
                raise
            changes.append(change)
        return changes

    def _check_unique_email(self, pid: str | None, email: str) -> None:
        others = self.by_email.get(email, set()) - {pid} if email else ()
        if others:
            raise ItemError(409, f"data.email: {email} belongs to profile {min(others)}")

    def apply(
        self,
        pid: str | None,
        data: dict,
        *,
        path: str = "data",
        skip_invalid: bool = False,
        seed: Lookup | None = None,
    ) -> str:
        """Create (pid None) or update a profile from one data object; returns its ID.

        Everything that can fail is checked before anything changes, so a failed item of a
        batch leaves no trace.
        """
        sub_changes = self._resolve_subscriptions(data, path, skip_invalid)
        profile = self.profiles.get(pid) if pid else None
        fields = apply_fields(profile.fields if profile else {}, data)
        if profile is None and seed is not None:
            # A profile created by matching keeps the value it was matched by (§3.2).
            if seed.emails and "email" not in fields:
                fields["email"] = next(iter(seed.emails))
            if seed.phones and "phones" not in fields:
                fields["phones"] = sorted(seed.phones)
        email = normalise_email(fields.get("email") or "")
        self._check_unique_email(pid, email)
        if profile is None:
            profile = ProfileRow(new_profile_id(), "", {})
            self.profiles[profile.id] = profile
            self.new.add(profile.id)
        else:
            self._unindex(profile.id)
        profile.fields = fields
        profile.email = email
        self.phones[profile.id] = phones_of(fields.get("phones", []))
        self._index(profile.id)
        self.changed.add(profile.id)
        for change in sub_changes:
            self._apply_subscription(profile.id, change)
        return profile.id

    def _apply_subscription(self, pid: str, change: SubscriptionChange) -> None:
        key = change.key
        sub = self.subs[pid].get(key)
        if sub is None:
            sub = SubRow(
                None,
                pid,
                change.resource_id,
                change.channel,
                change.identifier,
                change.provider,
                0,
                0,
                {},
                [],
            )
            self.subs[pid][key] = sub
            self.by_sub[(sub.channel, sub.identifier)].append(sub)
        if change.status is not None and change.status != KEEP:
            sub.status = change.status
        if change.priority is not None and change.priority != KEEP:
            sub.priority = change.priority
        if change.custom_fields:
            custom = dict(sub.custom_fields)
            for name, value in change.custom_fields.items():
                apply_value(custom, name, value)
            sub.custom_fields = custom
        if change.cats is not None:
            sub.cats = list(change.cats)
        sub.changed = True

    @staticmethod
    def _key(sub: SubRow) -> tuple:
        return (sub.resource_id, sub.channel, sub.provider, sub.identifier)

    def enter(self, pid: str, workflow: Workflow, content: dict, request_id: str) -> None:
        key = (pid, workflow.id)
        if workflow.mode == "skip" and key in self.entered:
            return
        self.entered.add(key)
        self.entries.append((pid, workflow.id, content, request_id))

    def load_entries(self, workflow: Workflow) -> None:
        """Which loaded profiles are already in the scenario (for its skip mode)."""
        rows = ScenarioEntry.objects.filter(workflow=workflow, profile_id__in=list(self.profiles))
        self.entered |= {(pid, workflow.id) for pid in rows.values_list("profile_id", flat=True)}

    # Writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        now = bulk.timestamp(timezone.now())
        json = bulk.json
        db = self.database.id
        bulk.insert(
            Profile,
            ["id", "database_id", "email", "fields", "created_at", "updated_at"],
            [
                (p.id, db, p.email, json(p.fields), now, now)
                for p in map(self.profiles.get, self.new)
            ],
        )
        updated = [self.profiles[pid] for pid in self.changed - self.new]
        bulk.update(
            Profile,
            ["email", "fields", "updated_at"],
            [(p.email, json(p.fields), now, p.id) for p in updated],
        )
        if updated:
            ProfilePhone.objects.filter(profile_id__in=[p.id for p in updated]).delete()
        bulk.insert(
            ProfilePhone,
            ["profile_id", "database_id", "phone"],
            [(pid, db, phone) for pid in self.changed for phone in dict.fromkeys(self.phones[pid])],
        )
        changed = [sub for subs in self.subs.values() for sub in subs.values() if sub.changed]
        bulk.insert(
            Subscription,
            [*SUB_COLUMNS[1:], "database_id", "created_at", "updated_at"],
            [(*bulk.sub_values(s), db, now, now) for s in changed if s.id is None],
        )
        bulk.update(
            Subscription,
            ["status", "priority", "custom_fields", "cats", "updated_at"],
            [
                (s.status, s.priority, json(s.custom_fields), json(s.cats), now, s.id)
                for s in changed
                if s.id is not None
            ],
        )
        bulk.insert(
            ScenarioEntry,
            ["profile_id", "workflow_id", "content", "request_id", "entered_at"],
            [(pid, wid, json(content), rid, now) for pid, wid, content, rid in self.entries],
        )
