"""What a batch's columns become: profile fields and subscriptions, guessed from the headers
or chosen on the mapping page, and the Mapper that turns each row into a profile.

The Mapper also remembers which column each profile key came from, so validation problems
are shown on the column the operator knows.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from altcraft.channels import CHANNELS
from altcraft.fields import SYSTEM_FIELDS
from altcraft.matching import MATCHING_MODES
from altcraft.operations import get_operation
from profiles_ui.bulk.files import NOT_AN_OBJECT
from profiles_ui.models import Batch, SavedMapping

# Channels whose subscription is identified by one value, so one column can carry it. Push
# needs two (provider and subscription ID) and is left to the builder.
SUBSCRIPTION_CHANNELS = tuple(c for c in CHANNELS if len(CHANNELS[c].identifier_keys) == 1)


# Common header spellings -> profile fields (after lower-casing and turning spaces into _).
HEADER_ALIASES = {
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "phone": "phones",
    "phone_number": "phones",
    "mobile": "phones",
    "tel": "phones",
    "first_name": "_fname",
    "firstname": "_fname",
    "name": "_fname",
    "given_name": "_fname",
    "last_name": "_lname",
    "lastname": "_lname",
    "surname": "_lname",
    "family_name": "_lname",
    "middle_name": "_mname",
    "birthday": "_bdate",
    "birth_date": "_bdate",
    "date_of_birth": "_bdate",
    "dob": "_bdate",
    "gender": "_sex",
    "sex": "_sex",
    "zip": "_postal_code",
    "postcode": "_postal_code",
    "timezone": "_tz",
    "time_zone": "_tz",
}


_SUB_HEADER = re.compile(
    rf"^({'|'.join(SUBSCRIPTION_CHANNELS)})[ _@-]?(?:sub(?:scription)?)?[ _@-]?(\d+)$"
)


def _normal(header: str) -> str:
    return re.sub(r"[\s\-.]+", "_", header.strip().lower())


def auto_field(header: str, custom_fields: dict[str, str]) -> str:
    """The profile field a column most likely holds: "email", "_fname", "custom:loyalty", ""."""
    name = _normal(header)
    if name in SYSTEM_FIELDS:
        return name
    if f"_{name}" in SYSTEM_FIELDS:
        return f"_{name}"
    if name in HEADER_ALIASES:
        return HEADER_ALIASES[name]
    for custom in custom_fields:
        if name == custom.lower():
            return f"custom:{custom}"
    return ""


def auto_subscription(header: str, resource_ids: set[int]) -> str:
    """A column named like "email_sub_2" or "sms@3": that channel's subscription on resource."""
    match = _SUB_HEADER.match(_normal(header))
    if match and int(match.group(2)) in resource_ids:
        return f"{match.group(1)}:{match.group(2)}"
    return ""


@dataclass
class Column:
    header: str
    field: str = ""  # "", a system field name, or "custom:<name>"
    subscribe: str = ""  # "", or "<channel>:<resource_id>"


@dataclass
class Mapper:
    """Turns rows into profiles for one batch's mapping and options.

    What each column becomes is worked out once; a million rows then only look up their cells.
    """

    columns: list[Column]
    custom_types: dict[str, str]
    empty_clears: bool = False
    allow_functions: bool = True
    identifier_key: str = "email"
    # (header, profile key, converter of a stripped text cell) per field column.
    _fields: list[tuple[str, str, Any]] = field(init=False)
    # (header, channel, resource ID, push provider) per subscription column.
    _subs: list[tuple[str, str, int, str]] = field(init=False)
    _sub_paths: list[str] = field(init=False)  # "subscriptions[0]"...: origin keys, made once

    def __post_init__(self) -> None:
        self._fields = []
        for column in self.columns:
            if column.field:
                key = column.field.removeprefix("custom:")
                self._fields.append((column.header, key, self._converter(column.field, key)))
        self._subs = []
        for column in self.columns:
            if column.subscribe:
                channel, resource, provider = parse_subscribe(column.subscribe)
                self._subs.append((column.header, channel, resource, provider))
        self._sub_paths = [f"subscriptions[{i}]" for i in range(len(self._subs))]

    def map(self, row: dict[str, Any]) -> tuple[dict, dict[str, str]]:
        """(profile, {profile path root: column}) for one row."""
        if NOT_AN_OBJECT in row:
            return {NOT_AN_OBJECT: True}, {}
        profile: dict[str, Any] = {}
        origin: dict[str, str] = {}
        clears = self.empty_clears and self.allow_functions
        for header, key, convert in self._fields:
            value = row.get(header)
            if type(value) is str:
                value = value.strip()
                if value:
                    profile[key] = convert(value)
                    origin[key] = header
                    continue
            elif value is not None:
                profile[key] = value  # JSON Lines already carries types
                origin[key] = header
                continue
            if clears and key != "email":
                profile[key] = {"action": "unset"}
                origin[key] = header
        subscriptions = []
        for header, channel, resource_id, provider in self._subs:
            value = row.get(header)
            if type(value) is str:
                value = value.strip()
            if value is None or value == "":
                continue
            origin[self._sub_paths[len(subscriptions)]] = header
            subscriptions.append(_subscription(channel, resource_id, value, provider))
        if subscriptions:
            profile["subscriptions"] = subscriptions
        return profile, origin

    def _converter(self, target: str, key: str) -> Any:
        if target == "phones":
            return _phones
        if target == "_status":
            return _status
        if target.startswith("custom:"):
            field_type = self.custom_types.get(key)
            return partial(_typed, field_type=field_type)  # picklable, unlike a lambda
        return str

    def identifier(self, profile: dict) -> str:
        value = profile.get(self.identifier_key)
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, dict):
            value = ""
        return str(value or "")[:254]


def _phones(value: str) -> list[str]:
    if "," not in value and ";" not in value:
        return [value]  # stripped already
    return [p.strip() for p in _PHONE_SEPARATORS.split(value) if p.strip()]


def _status(value: str) -> int | str:
    return int(value) if value.isdigit() else value


_PHONE_SEPARATORS = re.compile(r"[,;]")


def _typed(value: str, field_type: str | None) -> Any:
    """A CSV cell as its field's type; a cell that does not convert stays text for validation
    to name."""
    try:
        if field_type == "int":
            return int(value)
        if field_type == "float":
            return float(value.replace(",", "."))
        if field_type in ("object", "arr_object"):
            return json.loads(value)
    except ValueError:
        return value
    if field_type == "bool":
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            value.lower(), value
        )
    if field_type == "tags":
        return [t.strip() for t in value.split(",") if t.strip()]
    return value


def parse_subscribe(subscribe: str) -> tuple[str, int, str]:
    """(channel, resource ID, push provider) of a column's subscription: "<channel>:<resource>",
    or for push, whose cells hold subscription IDs, "push:<resource>:<provider>"."""
    channel, _, rest = subscribe.partition(":")
    resource, _, provider = rest.partition(":")
    return channel, int(resource), provider


def _subscription(channel: str, resource_id: int, text: Any, provider: str = "") -> dict:
    """A batch subscription in the console's canonical shape (contract §13)."""
    if channel == "email":
        return {"resource_id": resource_id, "channel": channel, "email_data": {"email": text}}
    if channel == "sms":
        return {"resource_id": resource_id, "channel": channel, "phone": text}
    if channel == "push":
        return {
            "resource_id": resource_id,
            "channel": channel,
            "provider": provider,
            "subscription_id": text,
        }
    if channel == "telegram_bot":
        telegram_id = int(text) if isinstance(text, str) and text.isdigit() else text
        return {"resource_id": resource_id, "channel": channel, "cc_data": {"id": telegram_id}}
    return {"resource_id": resource_id, "channel": channel, "cc_data": {"phone": text}}


_ROOT = re.compile(r"^\.?(subscriptions\[\d+\]|[^.\[]+)")


def column_of(path: str, origin: dict[str, str]) -> str:
    """The column a validation problem's path points into, or "" for the row as a whole."""
    match = _ROOT.match(path)
    return origin.get(match.group(1), "") if match else ""


# --- A batch's mapping --------------------------------------------------------------------


def columns(batch: Batch) -> list[Column]:
    return [Column(**c) for c in batch.columns]


def identifier_key(batch: Batch) -> str:
    mode = MATCHING_MODES.get(batch.matching)
    if mode is None:
        return "email"
    if mode.batch_value_key:
        return mode.batch_value_key
    if mode.batch_top_level_keys and batch.field_name:
        return batch.field_name
    return "email" if "email" in mode.batch_any_of_keys or not mode.batch_any_of_keys else "phones"


def mapper_for(batch: Batch) -> Mapper:
    operation = get_operation(batch.operation)
    return Mapper(
        columns=columns(batch),
        custom_types=batch.custom_types,
        empty_clears=batch.empty_cells == Batch.EmptyCells.CLEAR,
        allow_functions=operation.allows_functions,
        identifier_key=identifier_key(batch),
    )


def apply_options(
    batch: Batch, options: dict[str, Any], custom: list[Any], user: AbstractBaseUser
) -> None:
    """Store the mapping form's choices on a draft batch (and as a saved mapping if named)."""
    mapped = [asdict(column) for column in options["mapped"]]
    batch.columns = mapped
    batch.custom_types = {f.name: f.type for f in custom}
    batch.matching = options.get("matching") or ""
    batch.field_name = options.get("field_name") or ""
    batch.skip_triggers = options["skip_triggers"]
    batch.skip_invalid_subscriptions = options["skip_invalid_subscriptions"]
    batch.empty_cells = options["empty_cells"]
    batch.state = Batch.State.DRAFT
    batch.save()
    if options.get("save_as"):
        SavedMapping.objects.create(
            name=options["save_as"], columns=mapped, created_by=user.get_username()
        )
