"""The builder's profile and subscription rows: one input per field, built once per shape.

The fields depend on the database's custom fields, the operation and each row's channel and
resource; they are built once for each such shape and shared (see forms.FieldSet).
"""

from functools import lru_cache
from typing import Any

from django import forms

from altcraft.channels import CHANNELS, SUBSCRIPTION_STATUSES
from altcraft.fields import GROUPS, SYSTEM_FIELDS, actions_for
from altcraft.operations import Operation
from profiles_ui import catalog
from profiles_ui.connections import Connection
from profiles_ui.forms import FieldSet, PlainInputsForm, int_or_none, number_or_select, text

# The update functions the builder offers (upsert needs a path the form has no place for).
FUNCTION_LABELS = {
    "set": "set",
    "unset": "unset (remove)",
    "incr": "increment by",
    "add": "add tags",
    "delete": "remove tags",
}
# Subscription identifier keys as form field names: cc_data.phone -> cc_phone.
IDENTIFIER_FIELDS = {
    "email": ("Email", "you@example.com"),
    "phone": ("Phone", "+79000000000"),
    "provider": ("Provider", "android-firebase"),
    "subscription_id": ("Subscription ID", "device or browser token"),
    "cc_id": ("Telegram chat ID", "12345"),
    "cc_phone": ("Phone", "+79000000000"),
}


def identifier_fields(channel: str) -> tuple[str, ...]:
    keys = CHANNELS[channel].identifier_keys if channel in CHANNELS else ()
    return tuple(key.replace("cc_data.", "cc_") for key in keys)


def function_field(field_type: str | None) -> forms.Field | None:
    allowed = [name for name in actions_for(field_type) if name in FUNCTION_LABELS]
    if len(allowed) <= 1:
        return None
    choices = [("", "value"), *((name, FUNCTION_LABELS[name]) for name in allowed)]
    return forms.ChoiceField(label="Update", required=False, choices=choices)


def _profile_widget(field_type: str) -> forms.Widget:
    if field_type in ("object", "arr_object"):
        return forms.Textarea(attrs={"rows": 2, "placeholder": "JSON"})
    if field_type in ("int", "float"):
        return forms.TextInput(attrs={"inputmode": "decimal"})
    if field_type == "tags":
        return forms.TextInput(attrs={"placeholder": "tag 1, tag 2"})
    return forms.TextInput()


def _choice(label: str, choices: list[tuple[str, str]]) -> forms.Field:
    return forms.ChoiceField(label=label, required=False, choices=choices)


def _system_field(name: str) -> forms.Field:
    system = SYSTEM_FIELDS[name]
    if name == "_sex":
        choices = [("", "—"), ("female", "female"), ("male", "male")]
        return _choice(system.label, choices + [(n, n) for n in ("0", "1", "2")])
    if name == "_status":
        return _choice(system.label, [("", "—"), *((str(n), str(n)) for n in range(7))])
    hint = "comma-separated, +country code" if name == "phones" else ""
    return text(system.label, placeholder=system.example, help_text=hint)


@lru_cache(maxsize=64)
def profile_fields(allows_functions: bool, custom_fields: tuple) -> FieldSet:
    found = FieldSet({}, {}, {group: [] for group in GROUPS}, [])

    def add(name: str, field: forms.Field, field_type: str) -> None:
        found.fields[name] = field
        found.types[name] = field_type
        if allows_functions and (fn := function_field(field_type)):
            fn.widget.attrs["aria-label"] = f"Update function for {field.label}"
            found.fields[f"{name}__fn"] = fn

    for name, system in SYSTEM_FIELDS.items():
        add(name, _system_field(name), system.type)
        found.groups[system.group].append(name)
    for info in custom_fields:
        if info.name in found.fields or info.name == "extra":
            continue
        if info.type == "bool":
            field = _choice(info.title, [("", "—"), ("true", "true"), ("false", "false")])
        else:
            field = forms.CharField(
                label=info.title, required=False, widget=_profile_widget(info.type)
            )
        field.help_text = f"{info.name} · {info.type}"
        add(info.name, field, info.type)
        found.custom.append(info.name)
    found.fields["extra"] = forms.CharField(
        label="Other fields (JSON object)",
        required=False,
        help_text="Keys this database does not list; kept as given.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": '{"my_field": "value"}'}),
    )
    return found


class ProfileForm(PlainInputsForm):
    """One input per field; `<name>__fn` picks an update function for it; `extra` takes the rest."""

    def __init__(
        self, *args: Any, operation: Operation, custom_fields: list, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        shape = profile_fields(operation.allows_functions, tuple(custom_fields))
        self.fields.update(shape.fields)
        self.types, self.groups, self.custom = shape.types, shape.groups, shape.custom

    def rows(self, names: list[str]) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        return [
            (self[name], self[f"{name}__fn"] if f"{name}__fn" in self.fields else None)
            for name in names
        ]

    def grouped(self) -> list[tuple[str, list]]:
        return [(group, self.rows(names)) for group, names in self.groups.items()]

    def custom_rows(self) -> list:
        return self.rows(self.custom)

    def values(self) -> list[tuple[str, str, str, str]]:
        """(name, raw value, function, type) for every field that says something."""
        out = []
        for name, field_type in self.types.items():
            raw = self.cleaned_data.get(name) or ""
            fn = self.cleaned_data.get(f"{name}__fn") or ""
            if raw or fn:
                out.append((name, raw, fn, field_type))
        return out


@lru_cache(maxsize=256)
def subscription_fields(
    channel: str, resource_choices: tuple | None, sub_fields: tuple
) -> tuple[dict[str, forms.Field], dict[str, str]]:
    """The fields of a subscription row of this channel, resources and resource fields."""
    fields: dict[str, forms.Field] = {
        "channel": forms.ChoiceField(
            label="Channel", choices=[(name, c.label) for name, c in CHANNELS.items()]
        ),
        "resource_id": number_or_select(
            "Resource", list(resource_choices) if resource_choices is not None else None
        ),
    }
    for name in identifier_fields(channel):
        label, placeholder = IDENTIFIER_FIELDS[name]
        attrs = {"list": "push-providers"} if name == "provider" else {}
        fields[name] = text(label, placeholder=placeholder, **attrs)
    fields["status"] = _choice(
        "Status", [("", "— leave as is"), *((w, w) for w in SUBSCRIPTION_STATUSES)]
    )
    fields["priority"] = forms.IntegerField(
        label="Priority",
        required=False,
        help_text="0 is the highest",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    fields["cats"] = text("Categories", placeholder="news, offers")
    sub_types: dict[str, str] = {}
    for info in sub_fields:
        if info.type == "bool":
            field = _choice(info.title, [("", "—"), ("true", "true"), ("false", "false")])
        else:
            field = text(info.title)
        field.help_text = info.name
        fields[f"sf_{info.name}"] = field
        sub_types[info.name] = info.type
    fields["extra"] = forms.CharField(
        label="Other subscription fields (JSON object)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": '{"_browser_name": "Firefox"}'}),
    )
    return fields, sub_types


class SubscriptionForm(PlainInputsForm):
    def __init__(
        self, *args: Any, connection: Connection, resources: catalog.Lookup, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # A row the user added is never "empty": it stands for a subscription they want.
        self.empty_permitted = False
        self.channel = self._raw("channel") or "email"
        if self.channel not in CHANNELS:
            self.channel = "email"
        self.channel_label = CHANNELS[self.channel].label
        choices = None
        if not resources.error:
            choices = tuple(
                (r.id, f"{r.name} (#{r.id})") for r in resources.items if self.channel in r.channels
            )
        self.resources_error = resources.error
        self.identifiers = identifier_fields(self.channel)
        resource_id = int_or_none(self._raw("resource_id"))
        found = catalog.resource_fields(connection, resource_id, self.channel)
        self.fields_error = found.error
        fields, self.sub_types = subscription_fields(self.channel, choices, tuple(found.items))
        self.fields.update(fields)

    def _raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    def sub_field_rows(self) -> list[forms.BoundField]:
        return [self[f"sf_{name}"] for name in self.sub_types]

    def identifier_rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.identifiers]
