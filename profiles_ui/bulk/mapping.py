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
from altcraft.formats import DEFAULT_PHONE_REGION
from altcraft.matching import MATCHING_MODES
from altcraft.operations import get_operation
from profiles_ui.bulk import values
from profiles_ui.bulk.files import NOT_AN_OBJECT
from profiles_ui.bulk.values import CellError
from profiles_ui.models import Batch, SavedMapping

# Channels whose subscription is identified by one value, so one column can carry it. Push
# needs two (provider and subscription ID) and is left to the builder.
SUBSCRIPTION_CHANNELS = tuple(c for c in CHANNELS if len(CHANNELS[c].identifier_keys) == 1)


def _key(header: str) -> str:
    """A header as compared with the spellings below: lower case, ё as е, and no spaces,
    punctuation or underscores, so "E-mail", "e_mail" and "E mail" are one."""
    return re.sub(r"[\W_]+", "", header.strip().lower().replace("ё", "е"))


# Common header spellings, in English and Russian, -> profile fields (compared as _key).
_SPELLINGS = {
    "email": (
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
        "электронная почта",
        "эл. почта",
        "эл почта",
        "почта",
        "емейл",
        "имейл",
        "адрес электронной почты",
        "e-mail адрес",
    ),
    "phones": (
        "phone",
        "phones",
        "phone number",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "tel",
        "telephone",
        "телефон",
        "телефоны",
        "мобильный",
        "мобильный телефон",
        "номер телефона",
        "моб. телефон",
        "тел",
        "сотовый",
    ),
    "_fname": ("first name", "firstname", "given name", "name", "имя"),
    "_lname": ("last name", "lastname", "surname", "family name", "фамилия"),
    "_mname": ("middle name", "middlename", "patronymic", "отчество"),
    "_bdate": (
        "birthday",
        "birth date",
        "date of birth",
        "birthdate",
        "dob",
        "bdate",
        "дата рождения",
        "день рождения",
        "др",
    ),
    "_sex": ("gender", "sex", "пол"),
    "_city": ("city", "город", "населенный пункт"),
    "_region": ("region", "регион", "область"),
    "_country": ("country", "страна"),
    "_postal_code": ("zip", "zip code", "postcode", "postal code", "индекс", "почтовый индекс"),
    "_tz": ("timezone", "time zone", "часовой пояс"),
    "_language": ("language", "язык"),
    "_regdate": ("registration date", "registered", "дата регистрации"),
    "_status": ("status", "статус"),
}
HEADER_ALIASES = {
    _key(spelling): name for name, spellings in _SPELLINGS.items() for spelling in spellings
}


_SYSTEM_KEYS = {_key(name): name for name in SYSTEM_FIELDS}


_SUB_HEADER = re.compile(
    rf"^({'|'.join(SUBSCRIPTION_CHANNELS)})[ _@-]?(?:sub(?:scription)?)?[ _@-]?(\d+)$"
)


def _normal(header: str) -> str:
    return re.sub(r"[\s\-.]+", "_", header.strip().lower())


def auto_field(
    header: str, custom_fields: dict[str, str], labels: dict[str, str] | None = None
) -> str:
    """The profile field a column most likely holds: "email", "_fname", "custom:loyalty", "".

    `labels` are the custom fields' titles by name: a column may be headed by either.
    """
    key = _key(header)
    if not key:
        return ""
    if key in _SYSTEM_KEYS:
        return _SYSTEM_KEYS[key]
    if key in HEADER_ALIASES:
        return HEADER_ALIASES[key]
    for name in custom_fields:
        if key == _key(name):
            return f"custom:{name}"
    for name, label in (labels or {}).items():
        if label and key == _key(label):
            return f"custom:{name}"
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
    date_format: str = ""  # a key of values.DATE_FORMATS, for a column mapped to a date


def is_date_field(target: str, custom_types: dict[str, str]) -> bool:
    """Whether a column mapped to `target` holds dates ("_bdate", "custom:visited", ...)."""
    if target.startswith("custom:"):
        return custom_types.get(target.removeprefix("custom:")) == "date"
    system = SYSTEM_FIELDS.get(target)
    return system is not None and system.format == "date"


# Subscription channels whose cells hold a phone number.
PHONE_CHANNELS = frozenset(
    c for c in SUBSCRIPTION_CHANNELS if CHANNELS[c].identifier_formats == ("phone",)
)


# A row's problems: {column ("" for the row): [messages]}.
Problems = dict[str, list[str]]


@dataclass
class Mapper:
    """Turns rows into profiles for one batch's mapping and options.

    What each column becomes is worked out once; a million rows then only look up their cells.
    Cells written as people write them (phones, dates, genders) are read here, once per cell:
    a cell that cannot be read is one problem on its column, however many places it feeds.
    """

    columns: list[Column]
    custom_types: dict[str, str]
    empty_clears: bool = False
    allow_functions: bool = True
    identifier_key: str = "email"
    phone_region: str | None = DEFAULT_PHONE_REGION
    # (header, profile key, reader of a cell, whether the reader takes typed JSON values too)
    _fields: list[tuple[str, str, Any, bool]] = field(init=False)
    # (header, channel, resource ID, push provider) per subscription column.
    _subs: list[tuple[str, str, int, str]] = field(init=False)
    _sub_paths: list[str] = field(init=False)  # "subscriptions[0]"...: origin keys, made once

    def __post_init__(self) -> None:
        self._fields = []
        for column in self.columns:
            if column.field:
                key = column.field.removeprefix("custom:")
                reader, typed = self._reader(column, key)
                self._fields.append((column.header, key, reader, typed))
        self._subs = []
        for column in self.columns:
            if column.subscribe:
                channel, resource, provider = parse_subscribe(column.subscribe)
                self._subs.append((column.header, channel, resource, provider))
        self._sub_paths = [f"subscriptions[{i}]" for i in range(len(self._subs))]

    def map(self, row: dict[str, Any]) -> tuple[dict, dict[str, str], Problems]:
        """(profile, {profile path root: column}, problems of cells that cannot be read)."""
        if NOT_AN_OBJECT in row:
            return {NOT_AN_OBJECT: row[NOT_AN_OBJECT]}, {}, {}
        profile: dict[str, Any] = {}
        origin: dict[str, str] = {}
        problems: Problems = {}
        clears = self.empty_clears and self.allow_functions
        for header, key, read, typed in self._fields:
            value = row.get(header)
            if type(value) is str:
                value = value.strip()
                if not value:
                    value = None
            elif value is not None and not typed:
                profile[key] = value  # JSON already carries types
                origin[key] = header
                continue
            if value is not None:
                origin[key] = header
                try:
                    profile[key] = read(value)
                except CellError as exc:
                    # The cell stays as written, so the row keeps its shape; the problem
                    # said here is the only one shown for this column.
                    profile[key] = value
                    problems[header] = [str(exc)]
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
            if channel in PHONE_CHANNELS and header not in problems:
                try:
                    value = values.phone(_text(value), self.phone_region)
                except CellError as exc:
                    problems[header] = [str(exc)]
            origin[self._sub_paths[len(subscriptions)]] = header
            subscriptions.append(_subscription(channel, resource_id, value, provider))
        if subscriptions:
            profile["subscriptions"] = subscriptions
        return profile, origin, problems

    def conversions(self, row: dict[str, Any], profile: dict) -> list[list[str]]:
        """[column, as written, as sent] for each cell of a mapped row that a reader changed."""
        changed = []
        for header, key, _, typed in self._fields:
            written, sent = row.get(header), profile.get(key)
            if not typed or written is None or sent is None:
                continue
            if isinstance(written, str):
                written = written.strip()
            if written != sent:
                changed.append([header, _shown(written), _shown(sent)])
        return changed

    def _reader(self, column: Column, key: str) -> tuple[Any, bool]:
        """How a column's cells are read, and whether typed JSON values go through it too.

        Readers are partials of module functions: the Mapper is pickled to check processes.
        """
        target = column.field
        if target == "phones":
            return partial(_phones, region=self.phone_region), True
        if is_date_field(target, self.custom_types):
            return partial(values.date, format_key=column.date_format or "iso"), True
        if target == "_sex":
            return values.sex, True
        if target == "_status":
            return _status, False
        if target.startswith("custom:"):
            field_type = self.custom_types.get(key)
            return partial(_typed, field_type=field_type), False
        return str, False

    def identifier(self, profile: dict) -> str:
        value = profile.get(self.identifier_key)
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, dict):
            value = ""
        return str(value or "")[:254]


def _shown(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str:
    # A phone in JSON may be a number: 79001234567.
    return str(value) if type(value) is int else value if isinstance(value, str) else ""


def _phones(value: Any, region: str | None) -> list[str]:
    """A cell of one or more phones (separated by , or ;), or a JSON list of them, in E.164."""
    if isinstance(value, list):
        texts = [_text(p).strip() for p in value]
        if not all(texts):
            raise CellError("phones must be a list of phone numbers")
    elif isinstance(value, str) and ("," in value or ";" in value):
        texts = [p.strip() for p in _PHONE_SEPARATORS.split(value) if p.strip()]
    else:
        texts = [_text(value)]
    return [values.phone(text, region) for text in texts]


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
        # Batches from before regions were chosen read phones as the default region's.
        phone_region=batch.phone_region or DEFAULT_PHONE_REGION,
    )


def mapping_problems(batch: Batch) -> list[str]:
    """What keeps a batch's mapping from being checked: a date column whose format is not
    chosen (its values read either way round)."""
    return [
        f"choose how the dates in column {column.header!r} are written"
        for column in columns(batch)
        if column.field
        and is_date_field(column.field, batch.custom_types)
        and not column.date_format
    ]


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
    batch.phone_region = options.get("phone_region") or ""
    batch.state = Batch.State.DRAFT
    batch.save()
    if options.get("save_as"):
        SavedMapping.objects.create(
            name=options["save_as"], columns=mapped, created_by=user.get_username()
        )
