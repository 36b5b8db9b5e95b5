"""The live profile, opened in the builder as profiles/update matched by profile_id."""

from altcraft import live_profile
from altcraft.codec import encode_json
from profiles_ui.http import HtmxHttpRequest

READ_KEY = "live_profiles_read"
IMPORT_KEY = "live_profile_import"


def builder_prefill(request: HtmxHttpRequest) -> tuple[bytes, str] | None:
    """(body, format) for the builder: the profile this user last read (?live=<id>), or the
    customer a lookup found nowhere, to import (?import=1)."""
    if request.GET.get("import") and (wanted := request.session.get(IMPORT_KEY)):
        kind, value = wanted["kind"], wanted["value"]
        data = {"email": value} if kind == "email" else {"phones": [value]}
        payload = {"db_id": wanted["db_id"], "matching": kind, kind: value, "data": data}
        return encode_json(payload), "json"
    profile_id = request.GET.get("live")
    if not profile_id:
        return None
    profile = (request.session.get(READ_KEY) or {}).get(profile_id)
    if not profile:
        return None
    payload = {
        "db_id": profile.get("db_id"),
        "matching": "profile_id",
        "profile_id": profile_id,
        "data": live_profile.fields_of(profile),
    }
    return encode_json(payload), "json"
