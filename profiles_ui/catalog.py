"""Reference data from the active connection: databases, fields, resources, scenarios.

Every answer is cached per connection, so the builder's live preview never waits on Altcraft.
A failed call is cached briefly too: a connection that is down must not make every keystroke
wait for a connect timeout. "Refresh" gives the connection a new cache generation.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from altcraft.channels import CHANNELS
from altcraft.formats import int_or_none, positive_int_problem
from profiles_ui import services
from profiles_ui.connections import Connection

TTL = 15 * 60
FAILURE_TTL = 30
PAGE = 1000

# Altcraft's names for field types -> the console's custom field types (altcraft.fields).
TYPE_ALIASES = {
    "unicode": "string",
    "str": "string",
    "text": "string",
    "line": "string",
    "version": "string",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "datetime": "date",
    "array": "tags",
}


@dataclass(frozen=True)
class Database:
    id: int
    name: str


@dataclass(frozen=True)
class FieldInfo:
    name: str
    title: str
    type: str
    system: bool = False


@dataclass(frozen=True)
class Resource:
    id: int
    name: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Workflow:
    id: int
    name: str
    db_id: int | None
    is_active: bool
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Lookup[T]:
    """What a reference call gave: the items, or why there are none. Shared, so immutable."""

    items: tuple[T, ...] = ()
    error: str = ""


def _generation(connection: Connection) -> str:
    """The connection's cache generation: a new one after a refresh, or when the cache lost it."""
    key = f"catalog-gen:{connection.name}"
    generation = cache.get(key)
    if generation is None:
        cache.add(key, uuid.uuid4().hex, None)
        generation = cache.get(key)
    return generation


def refresh(connection: Connection) -> None:
    cache.set(f"catalog-gen:{connection.name}", uuid.uuid4().hex, None)


def _key(connection: Connection, name: str) -> str:
    return f"catalog:{connection.name}:{connection.base_url}:{_generation(connection)}:{name}"


def _cached[T](connection: Connection, name: str, load: Callable[[], list[T]]) -> Lookup[T]:
    key = _key(connection, name)
    found = cache.get(key)
    if found is not None:
        return found
    try:
        found, ttl = Lookup(items=tuple(load())), TTL
    except services.LookupFailed as exc:
        found, ttl = Lookup(error=str(exc)), FAILURE_TTL
    cache.set(key, found, ttl)
    return found


def _list(connection: Connection, method: str, params: dict[str, Any] | None = None) -> list:
    """Every item of a paged list method (from_id / next_from_id)."""
    items: list = []
    from_id = 1
    for _ in range(50):
        answer = services.lookup(connection, method, {**(params or {}), "from_id": from_id})
        page = answer.get("data") or []
        if not isinstance(page, list):
            page = [page]
        items += [item for item in page if isinstance(item, dict)]
        next_from = answer.get("next_from_id")
        if not page or not isinstance(next_from, int) or next_from <= from_id or len(page) < PAGE:
            break
        from_id = next_from
    return items


def databases(connection: Connection) -> Lookup[Database]:
    def load() -> list[Database]:
        rows = _list(connection, "databases/list", {"limit": PAGE})
        return [
            Database(id=int_or_none(row.get("id")), name=str(row.get("name") or row.get("id")))
            for row in rows
            if int_or_none(row.get("id")) is not None
        ]

    return _cached(connection, "databases", load)


def _fields(rows: list[dict]) -> list[FieldInfo]:
    fields = []
    for row in rows:
        name = row.get("name")
        if not isinstance(name, str) or not name:
            continue
        kind = str(row.get("type") or "string").lower()
        fields.append(
            FieldInfo(
                name=name,
                title=str(row.get("title") or name),
                type=TYPE_ALIASES.get(kind, kind),
                system=row.get("category") == "system" or name.startswith("_"),
            )
        )
    return fields


def database_fields(connection: Connection, db_id: int | None) -> Lookup[FieldInfo]:
    """The database's custom fields (system fields are known from the contract)."""
    if positive_int_problem(db_id):  # no ID Altcraft could hold: nothing to ask about
        return Lookup()

    def load() -> list[FieldInfo]:
        answer = services.lookup(connection, "databases/fields_get", {"id": db_id})
        rows = answer.get("data") or []
        return [f for f in _fields(rows if isinstance(rows, list) else [rows]) if not f.system]

    return _cached(connection, f"db-fields:{db_id}", load)


def resources(connection: Connection) -> Lookup[Resource]:
    def load() -> list[Resource]:
        found = []
        for row in _list(connection, "resources/list", {"limit": PAGE}):
            resource_id = int_or_none(row.get("id"))
            if resource_id is None:
                continue
            channels = row.get("channels")
            if not isinstance(channels, list):
                # resources/list does not document channels; resources/get does.
                detail = services.lookup(connection, "resources/get", {"id": resource_id})
                detail = detail.get("data", detail)
                channels = detail.get("channels") if isinstance(detail, dict) else []
            found.append(
                Resource(
                    id=resource_id,
                    name=str(row.get("name") or resource_id),
                    channels=tuple(c for c in channels or () if c in CHANNELS),
                )
            )
        return found

    return _cached(connection, "resources", load)


def resource_fields(
    connection: Connection, resource_id: int | None, channel: str
) -> Lookup[FieldInfo]:
    if positive_int_problem(resource_id) or channel not in CHANNELS:
        return Lookup()

    def load() -> list[FieldInfo]:
        answer = services.lookup(
            connection, "resources/fields_get", {"id": resource_id, "channel": channel}
        )
        rows = answer.get("data") or []
        return _fields(rows if isinstance(rows, list) else [rows])

    return _cached(connection, f"res-fields:{resource_id}:{channel}", load)


def workflows(connection: Connection) -> Lookup[Workflow]:
    def load() -> list[Workflow]:
        found = []
        for row in _list(connection, "workflows/list", {"limit": PAGE}):
            workflow_id = int_or_none(row.get("id"))
            if workflow_id is None:
                continue
            groups = row.get("groups") or []
            found.append(
                Workflow(
                    id=workflow_id,
                    name=str(row.get("name") or workflow_id),
                    db_id=int_or_none(row.get("list_id")),
                    is_active=row.get("is_active") is True,
                    groups=tuple(
                        str(g.get("title") or g.get("name") or "")
                        for g in groups
                        if isinstance(g, dict)
                    ),
                )
            )
        return found

    return _cached(connection, "workflows", load)


def prime(
    connection: Connection,
    *,
    databases: list[Database] = (),
    database_fields: dict[int, list[FieldInfo]] | None = None,
    resources: list[Resource] = (),
    resource_fields: dict[tuple[int, str], list[FieldInfo]] | None = None,
    workflows: list[Workflow] = (),
) -> None:
    """Fill the cache as the calls would, for benchmarks and demos with no Altcraft at hand."""
    entries: dict[str, list] = {
        "databases": list(databases),
        "resources": list(resources),
        "workflows": list(workflows),
    }
    entries |= {f"db-fields:{k}": v for k, v in (database_fields or {}).items()}
    entries |= {f"res-fields:{r}:{c}": v for (r, c), v in (resource_fields or {}).items()}
    for name, items in entries.items():
        cache.set(_key(connection, name), Lookup(items=tuple(items)), TTL)
