"""The live profile as this user last read it: remembered between pages, read again just
before a change is sent, and opened in the builder as profiles/update matched by profile_id."""

from dataclasses import dataclass, field
from typing import Any

from altcraft import live_profile
from altcraft.codec import encode_json
from altcraft.live_profile import Change, Identifier
from profiles_ui.connections import Connection
from profiles_ui.http import HtmxHttpRequest
from profiles_ui.profile import reading

READ_KEY = "live_profiles_read"
IMPORT_KEY = "live_profile_import"
REMEMBERED = 5


def remember(request: HtmxHttpRequest, profile: dict) -> None:
    """The profile as this user last read it, to say what changed if it changes meanwhile."""
    read = dict(request.session.get(READ_KEY) or {})
    read.pop(str(profile.get("id")), None)
    read[str(profile.get("id"))] = profile
    request.session[READ_KEY] = dict(list(read.items())[-REMEMBERED:])


def remembered(request: HtmxHttpRequest, profile_id: str) -> dict[str, Any]:
    return (request.session.get(READ_KEY) or {}).get(profile_id) or {}


@dataclass
class Reread:
    """The profile read again before sending: stale when it is not the one the sender saw,
    with what changed since (no field changed: its subscriptions did)."""

    reading: reading.Reading
    digest: str = ""
    stale: bool = False
    stale_changes: list[Change] = field(default_factory=list)


def read_again(
    request: HtmxHttpRequest,
    connection: Connection,
    db_id: int,
    profile_id: str,
    seen_digest: str,
) -> Reread:
    """Read the profile again; either way it becomes the profile as this user last read it."""
    found = reading.read(connection, Identifier("profile_id", profile_id), db_id)
    if not found.found:
        return Reread(found)
    reread = Reread(found, live_profile.digest(found.profile))
    if seen_digest and seen_digest != reread.digest:
        earlier = remembered(request, profile_id)
        reread.stale = True
        reread.stale_changes = live_profile.changed_fields(
            earlier, live_profile.fields_of(found.profile)
        )
    remember(request, found.profile)
    return reread


def live_read(request: HtmxHttpRequest) -> dict[str, Any] | None:
    """The profile the builder edits (?live=<id>), as this user last read it."""
    profile_id = request.GET.get("live")
    if not profile_id:
        return None
    return remembered(request, profile_id) or None


def builder_prefill(request: HtmxHttpRequest) -> tuple[bytes, str] | None:
    """(body, format) for the builder: the profile this user last read (?live=<id>), or the
    customer a lookup found nowhere, to import (?import=1)."""
    if request.GET.get("import") and (wanted := request.session.get(IMPORT_KEY)):
        kind, value = wanted["kind"], wanted["value"]
        data = {"email": value} if kind == "email" else {"phones": [value]}
        payload = {"db_id": wanted["db_id"], "matching": kind, kind: value, "data": data}
        return encode_json(payload), "json"
    profile = live_read(request)
    if profile is None:
        return None
    payload = {
        "db_id": profile.get("db_id"),
        "matching": "profile_id",
        "profile_id": str(profile.get("id")),
        "data": live_profile.fields_of(profile),
    }
    return encode_json(payload), "json"
