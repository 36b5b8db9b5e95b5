"""The builder's rows: the profile's fields, one subscription row per channel, and the
scenario's content variables and attachments, with the formsets that add and remove them.

The profile's inputs depend on the database's custom fields and the operation; a
subscription row's on its channel and resource.
"""

import base64
import binascii
import re
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from django import forms
from django.forms import formset_factory

from altcraft.channels import CHANNELS, SUBSCRIPTION_STATUSES
from altcraft.fields import GROUPS, SYSTEM_FIELDS, actions_for
from altcraft.formats import int_or_none
from altcraft.operations import Operation
from profiles_ui import catalog
from profiles_ui.connections import Connection

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def text(
    label: str,
    *,
    placeholder: str = "",
    help_text: str = "",
    input_type: str = "text",
    **attrs: str,
) -> forms.Field:
    # The field's own TextInput, set up in place: a widget passed in would be deep-copied.
    field = forms.CharField(label=label, required=False, strip=True, help_text=help_text)
    field.widget.attrs.update({"placeholder": placeholder, **attrs} if placeholder else attrs)
    field.widget.input_type = input_type
    return field


def number_or_select(label: str, choices: list[tuple[Any, str]] | None) -> forms.Field:
    """A select when the catalog answered, else a number input the user can type into."""
    if choices is None:
        return forms.IntegerField(
            label=label,
            required=False,
            min_value=1,
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        )
    return forms.TypedChoiceField(
        label=label, required=False, coerce=int, empty_value=None, choices=[("", "—"), *choices]
    )


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
    "phone": ("Phone", "8 900 123-45-67"),
    "provider": ("Provider", "android-firebase"),
    "subscription_id": ("Subscription ID", "device or browser token"),
    "cc_id": ("Telegram chat ID", "12345"),
    "cc_phone": ("Phone", "8 900 123-45-67"),
}


PHONE_IDENTIFIERS = ("phone", "cc_phone")
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DateOrTextInput(forms.TextInput):
    """A date picker for a date; a value it cannot show (a time, an offset, a date written
    otherwise) stays in a text box, so that nothing typed or pasted is lost."""

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if not value or _PLAIN_DATE.fullmatch(str(value)):
            context["widget"]["type"] = "date"
        return context


def identifier_fields(channel: str) -> tuple[str, ...]:
    keys = CHANNELS[channel].identifier_keys if channel in CHANNELS else ()
    return tuple(key.replace("cc_data.", "cc_") for key in keys)


# The selects below that every row or field has get their choices as callables: a list
# would be copied and normalised for each select on every preview, drawn or not, while a
# callable is only called when the select is drawn or a value is checked.
@cache
def channel_choices() -> list[tuple[str, str]]:
    return [(name, c.label) for name, c in CHANNELS.items()]


@cache
def status_choices() -> list[tuple[str, str]]:
    return [("", "— leave as is"), *((w, w) for w in SUBSCRIPTION_STATUSES)]


def bool_choices() -> list[tuple[str, str]]:
    return [("", "—"), ("true", "true"), ("false", "false")]


@cache
def function_choices(field_type: str | None) -> list[tuple[str, str]]:
    """The update functions a field of this type offers; none when "value" is the only one."""
    allowed = [name for name in actions_for(field_type) if name in FUNCTION_LABELS]
    if len(allowed) <= 1:
        return []
    return [("", "value"), *((name, FUNCTION_LABELS[name]) for name in allowed)]


def function_field(field_type: str | None) -> forms.Field | None:
    if not function_choices(field_type):
        return None
    choices = partial(function_choices, field_type)
    return forms.ChoiceField(label="Update", required=False, choices=choices)


def _profile_widget(field_type: str) -> forms.Widget:
    if field_type in ("object", "arr_object"):
        return forms.Textarea(attrs={"rows": 2, "placeholder": "JSON"})
    if field_type in ("int", "float"):
        return forms.TextInput(attrs={"inputmode": "decimal"})
    if field_type == "tags":
        return forms.TextInput(attrs={"placeholder": "tag 1, tag 2"})
    if field_type == "date":
        return DateOrTextInput()
    return forms.TextInput()


def _choice(label: str, choices: Callable[[], list[tuple[str, str]]] | list) -> forms.Field:
    return forms.ChoiceField(label=label, required=False, choices=choices)


def _system_field(name: str) -> forms.Field:
    system = SYSTEM_FIELDS[name]
    if name == "_sex":
        choices = [("", "—"), ("female", "female"), ("male", "male")]
        return _choice(system.label, choices + [(n, n) for n in ("0", "1", "2")])
    if name == "_status":
        return _choice(system.label, [("", "—"), *((str(n), str(n)) for n in range(7))])
    if system.type == "date":
        return forms.CharField(
            label=system.label, required=False, strip=True, widget=DateOrTextInput()
        )
    if name == "phones":
        return text(
            system.label,
            placeholder="8 900 123-45-67, +79001234567",
            help_text="comma-separated; the country code may be left out",
            input_type="tel",
        )
    return text(system.label, placeholder=system.example)


class ProfileForm(forms.Form):
    """One input per field; `<name>__fn` picks an update function for it; `extra` takes the rest."""

    extra = forms.CharField(
        label="Other fields (JSON object)",
        required=False,
        help_text="Keys this database does not list; kept as given.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": '{"my_field": "value"}'}),
    )

    def __init__(
        self, *args: Any, operation: Operation, custom_fields: list, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        extra = self.fields.pop("extra")
        self.types: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {group: [] for group in GROUPS}
        self.custom: list[str] = []
        self.allows_functions = operation.allows_functions
        for name, system in SYSTEM_FIELDS.items():
            self._add(name, _system_field(name), system.type)
            self.groups[system.group].append(name)
        for info in custom_fields:
            if info.name in self.fields or info.name == "extra":
                continue
            if info.type == "bool":
                field = _choice(info.title, bool_choices)
            else:
                field = forms.CharField(
                    label=info.title, required=False, widget=_profile_widget(info.type)
                )
            field.help_text = f"{info.name} · {info.type}"
            self._add(info.name, field, info.type)
            self.custom.append(info.name)
        self.fields["extra"] = extra

    def _add(self, name: str, field: forms.Field, field_type: str) -> None:
        self.fields[name] = field
        self.types[name] = field_type
        if self.allows_functions and (fn := function_field(field_type)):
            fn.widget.attrs["aria-label"] = f"Update function for {field.label}"
            self.fields[f"{name}__fn"] = fn

    def rows(self, names: list[str]) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        return [
            (self[name], self[f"{name}__fn"] if f"{name}__fn" in self.fields else None)
            for name in names
        ]

    def grouped(self) -> list[tuple[str, list]]:
        return [(group, self.rows(names)) for group, names in self.groups.items()]

    def function_groups(self) -> list[tuple[str, list, bool]]:
        """(group, rows, whether its functions toggle starts open) for each group, the
        custom fields last: the toggle opens when a function is picked or refused."""
        groups = [*self.grouped(), ("custom", self.custom_rows())]
        return [(group, rows, self._functions_in_use(rows)) for group, rows in groups]

    def _functions_in_use(self, rows: list) -> bool:
        return any(fn is not None and (fn.value() or fn.errors) for _, fn in rows)

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


def subscription_fields(
    channel: str, resource_choices: list | None, sub_fields: list
) -> tuple[dict[str, forms.Field], dict[str, str]]:
    """The fields of a subscription row of this channel, resources and resource fields."""
    fields: dict[str, forms.Field] = {
        "channel": forms.ChoiceField(label="Channel", choices=channel_choices),
        "resource_id": number_or_select("Resource", resource_choices),
    }
    for name in identifier_fields(channel):
        label, placeholder = IDENTIFIER_FIELDS[name]
        attrs = {"list": "push-providers"} if name == "provider" else {}
        input_type = "tel" if name in PHONE_IDENTIFIERS else "text"
        fields[name] = text(label, placeholder=placeholder, input_type=input_type, **attrs)
    fields["status"] = _choice("Status", status_choices)
    fields["priority"] = forms.IntegerField(
        label="Priority",
        required=False,
        help_text="0 is the highest",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    fields["cats"] = text("Categories", placeholder="news, offers")
    sub_types: dict[str, str] = {}
    for info in sub_fields:
        field = _choice(info.title, bool_choices) if info.type == "bool" else text(info.title)
        field.help_text = info.name
        fields[f"sf_{info.name}"] = field
        sub_types[info.name] = info.type
    fields["extra"] = forms.CharField(
        label="Other subscription fields (JSON object)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": '{"_browser_name": "Firefox"}'}),
    )
    return fields, sub_types


class SubscriptionForm(forms.Form):
    def __init__(
        self, *args: Any, connection: Connection, resources: catalog.Lookup, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # A row the user added is never "empty": it stands for a subscription they want.
        self.empty_permitted = False
        self.channel = self._raw("channel") or "email"
        if self.channel not in CHANNELS:
            self.channel = "email"
        if self.is_bound:
            self._carry_over(resources)
        self.channel_label = CHANNELS[self.channel].label
        # Rendered back as shown_channel: the next post tells a channel change by it.
        self.shown_channel = self.channel
        choices = None
        if not resources.error:
            choices = [
                (r.id, f"{r.name} (#{r.id})") for r in resources.items if self.channel in r.channels
            ]
        self.resources_error = resources.error
        self.identifiers = identifier_fields(self.channel)
        resource_id = int_or_none(self._raw("resource_id"))
        found = catalog.resource_fields(connection, resource_id, self.channel)
        self.fields_error = found.error
        fields, self.sub_types = subscription_fields(self.channel, choices, list(found.items))
        self.fields.update(fields)

    def _carry_over(self, resources: catalog.Lookup) -> None:
        """After the row's channel changed, keep what still applies: the phone moves between
        `phone` and `cc_data.phone`; a resource without the new channel is let go. Status,
        priority and categories are the same fields on every channel."""
        shown = self._raw("shown_channel")
        if not shown or shown == self.channel:
            return
        data = self.data.copy()
        new = identifier_fields(self.channel)
        phone = next((self._raw(key) for key in PHONE_IDENTIFIERS if self._raw(key)), "")
        for key in PHONE_IDENTIFIERS:
            if key in new and not self._raw(key):
                data[self.add_prefix(key)] = phone
        resource_id = int_or_none(self._raw("resource_id"))
        if resource_id is not None and not resources.error:
            fits = any(r.id == resource_id and self.channel in r.channels for r in resources.items)
            if not fits:
                data[self.add_prefix("resource_id")] = ""
        data[self.add_prefix("shown_channel")] = self.channel
        self.data = data

    def _raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    def sub_field_rows(self) -> list[forms.BoundField]:
        return [self[f"sf_{name}"] for name in self.sub_types]

    def identifier_rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.identifiers]


class ContentForm(forms.Form):
    key = text("Variable", placeholder="name")
    value = text("Value")


class AttachmentForm(forms.Form):
    upload = forms.FileField(label="File", required=False)
    name = text("File name")
    file_key = text("File key", help_text="Optional: the key templates refer to.")
    mimetype = text("MIME type", placeholder="application/pdf")
    # The encoded file, carried through previews, errors and the confirmation step.
    data = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            if upload.size > MAX_ATTACHMENT_BYTES:
                self.add_error(
                    "upload",
                    f"{upload.name} is {upload.size / 1024 / 1024:.1f} MB; "
                    f"attachments are limited to {MAX_ATTACHMENT_BYTES // 1024 // 1024} MB each.",
                )
                return cleaned
            cleaned["data"] = base64.b64encode(upload.read()).decode()
            cleaned["name"] = cleaned.get("name") or upload.name
            cleaned["mimetype"] = cleaned.get("mimetype") or upload.content_type or ""
            # Rendered back into the hidden field so the file survives the next round trip.
            self.data = self.data.copy()
            for key in ("data", "name", "mimetype"):
                self.data[self.add_prefix(key)] = cleaned[key]
        elif cleaned.get("data"):
            try:
                size = len(base64.b64decode(cleaned["data"], validate=True))
            except (binascii.Error, ValueError):
                self.add_error("data", "the attachment's data is not valid base64")
            else:
                if size > MAX_ATTACHMENT_BYTES:
                    self.add_error("upload", "attachments are limited to 5 MB each.")
        return cleaned


def rows_formset(form: type[forms.Form], what: str, most: int) -> type[forms.BaseFormSet]:
    """Rows the user adds and removes (the DELETE box), up to `most`: a post that claims
    more makes no more forms than that, and is told so."""
    formset = formset_factory(form, extra=0, can_delete=True, max_num=most, absolute_max=most)
    formset.default_error_messages = {
        "too_many_forms": f"At most %(num)d {what} fit in one request; the rest were left out."
    }
    formset.what = what
    return formset


MAX_SUBSCRIPTIONS, MAX_VARIABLES, MAX_ATTACHMENTS = 20, 50, 10
SubscriptionFormSet = rows_formset(SubscriptionForm, "subscriptions", MAX_SUBSCRIPTIONS)
ContentFormSet = rows_formset(ContentForm, "content variables", MAX_VARIABLES)
AttachmentFormSet = rows_formset(AttachmentForm, "attachments", MAX_ATTACHMENTS)


def is_deleted(form: forms.Form) -> bool:
    return "DELETE" in form.fields and bool(form["DELETE"].data)
