"""The builder's forms: thin, for parsing and for marking problems on the fields they belong to.

The rules of the contract live in `altcraft/` and are applied to the built payload; the forms
only parse what was typed, so a rule is never written twice and every problem, wherever it
is found, lands on the field the user typed it in.

This module holds the target, matching, options, content, attachment, resend and paste forms
and what every builder form shares; the profile and subscription rows are in profile_forms,
and the page's forms taken together in builder_forms.
"""

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django import forms

from altcraft.matching import DEFAULT_MATCHING, MATCHING_MODES, mode_keys
from altcraft.operations import OPERATIONS, Operation
from profiles_ui import catalog
from profiles_ui.connections import all_connections

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
DEFAULT_OPERATION = "profiles/import"
SINGLE_OPERATIONS = {path: op for path, op in OPERATIONS.items() if not op.is_batch}

# Form prefixes; payloads.py reads and writes the same names.
TARGET, MATCHING, PROFILE, SUBS, CONTENT, ATTACH, OPTIONS, RESEND = (
    "t",
    "m",
    "p",
    "sub",
    "content",
    "attach",
    "o",
    "r",
)

MATCHING_FIELD_LABELS = {
    "email": "Email to look up",
    "phone": "Phone to look up",
    "profile_id": "Profile ID",
    "provider": "Push provider",
    "subscription_id": "Push subscription ID",
    "field_name": "Field",
    "field_value": "Value of that field",
}


def text(
    label: str,
    *,
    placeholder: str = "",
    help_text: str = "",
    input_type: str = "text",
    **attrs: str,
) -> forms.Field:
    widget = forms.TextInput(attrs={"placeholder": placeholder, **attrs} if placeholder else attrs)
    widget.input_type = input_type
    return forms.CharField(
        label=label, required=False, strip=True, help_text=help_text, widget=widget
    )


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


class PlainInputsForm(forms.Form):
    """A form of plain inputs: no files, nothing disabled, no clean_<name> methods.

    To clean such an input Django makes a bound field only to read its value, which costs
    more than the cleaning; the live preview cleans a couple of hundred inputs on every
    keystroke. Each value is read and cleaned directly instead, as the bound field would.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The builder's templates write their own labels: the suffix Django would otherwise
        # translate for every form (a dozen per keystroke) is never shown.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def _clean_fields(self) -> None:
        for name, field in self.fields.items():
            value = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            try:
                self.cleaned_data[name] = field.clean(value)
            except forms.ValidationError as error:
                self.add_error(name, error)


@dataclass(frozen=True)
class FieldSet:
    """Fields built once per shape and shared by every form of that shape.

    A form's fields are only read after construction (errors live on the form), so sharing
    them is safe and spares building and deep-copying a hundred fields on every keystroke.
    """

    fields: dict[str, forms.Field]
    types: dict[str, str]
    groups: dict[str, list[str]]
    custom: list[str]


OPERATION_CHOICES = [(path, op.label) for path, op in SINGLE_OPERATIONS.items()]


@lru_cache(maxsize=64)
def target_fields(
    connections: tuple[tuple[str, str], ...],
    databases: tuple[tuple[int, str], ...] | None,
    typed_scenario: bool,
) -> dict[str, forms.Field]:
    """The target fieldset for these connections and databases, shared as FieldSet says."""
    scenario_widget = (
        forms.TextInput(attrs={"inputmode": "numeric"}) if typed_scenario else forms.HiddenInput
    )
    return {
        "operation": forms.ChoiceField(label="Operation", choices=OPERATION_CHOICES),
        "connection": forms.ChoiceField(label="Connection", choices=connections),
        "workflow_id": forms.IntegerField(label="Scenario", required=False, widget=scenario_widget),
        "db_id": number_or_select("Database", list(databases) if databases is not None else None),
    }


class TargetForm(forms.Form):
    def __init__(
        self,
        *args: Any,
        databases: catalog.Lookup,
        workflows: catalog.Lookup,
        db_id: int | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        connections = tuple(
            (c.name, f"{c.label} (production)" if c.production else c.label)
            for c in all_connections().values()
        )
        choices = (
            None
            if databases.error
            else tuple((d.id, f"{d.name} (#{d.id})") for d in databases.items)
        )
        # When the scenarios could not be listed, the ID is typed instead of picked.
        self.fields.update(target_fields(connections, choices, bool(workflows.error)))
        self.databases = databases
        self.workflows = workflows
        self.scenarios = [w for w in workflows.items if db_id is None or w.db_id == db_id]

    def clean_workflow_id(self) -> int | None:
        workflow_id = self.cleaned_data.get("workflow_id")
        chosen = next((w for w in self.workflows.items if w.id == workflow_id), None)
        if chosen is not None and not chosen.is_active:
            raise forms.ValidationError(
                f"Scenario “{chosen.name}” is inactive and cannot be started; pick an active one."
            )
        return workflow_id


@lru_cache(maxsize=64)
def matching_fields(
    path: str, custom_fields: tuple[tuple[str, str], ...]
) -> dict[str, forms.Field]:
    """The matching fieldset for an operation and the database's custom fields (name, title),
    shared as FieldSet says."""
    operation = OPERATIONS[path]
    modes = [(name, name) for name in operation.matching_modes]
    fields = {
        "matching": forms.ChoiceField(label="Matching", choices=modes, initial=DEFAULT_MATCHING),
        "email": text(
            MATCHING_FIELD_LABELS["email"], placeholder="you@example.com", input_type="email"
        ),
        "phone": text(MATCHING_FIELD_LABELS["phone"], placeholder="+79000000000", input_type="tel"),
        "profile_id": text(MATCHING_FIELD_LABELS["profile_id"]),
        "provider": text(MATCHING_FIELD_LABELS["provider"], list="push-providers"),
        "subscription_id": text(MATCHING_FIELD_LABELS["subscription_id"]),
        "field_value": text(MATCHING_FIELD_LABELS["field_value"]),
    }
    if "resource_id" in operation.param_names:
        fields["resource_id"] = forms.IntegerField(
            label="Only subscriptions of resource",
            required=False,
            min_value=1,
            help_text="Optional: limits email and phone matching to one resource.",
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        )
    if custom_fields:
        fields["field_name"] = forms.ChoiceField(
            label=MATCHING_FIELD_LABELS["field_name"],
            required=False,
            choices=[("", "—"), *((name, f"{title} ({name})") for name, title in custom_fields)],
        )
    else:
        fields["field_name"] = text(MATCHING_FIELD_LABELS["field_name"])
    return fields


class MatchingForm(PlainInputsForm):
    def __init__(
        self, *args: Any, operation: Operation, custom_fields: list, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.operation = operation
        names = tuple((f.name, f.title) for f in custom_fields)
        self.fields.update(matching_fields(operation.path, names))

    @property
    def mode(self) -> str:
        value = self["matching"].value() or DEFAULT_MATCHING
        return value if value in self.operation.matching_modes else DEFAULT_MATCHING

    @property
    def descriptions(self) -> list[tuple[str, str]]:
        return [(name, MATCHING_MODES[name].description) for name in self.operation.matching_modes]

    def visible_fields_for_mode(self) -> list[forms.BoundField]:
        keys = mode_keys(MATCHING_MODES[self.mode])
        return [self[key] for key in keys if key in self.fields]


class ContentForm(PlainInputsForm):
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


OPTION_PARAMS = (
    "skip_triggers",
    "skip_invalid_subscriptions",
    "detect_geo",
    "add_to_segments",
    "remove_from_segments",
)


@lru_cache(maxsize=16)
def option_fields(path: str) -> dict[str, forms.Field]:
    """The options fieldset: the operation's flags and segment lists, the format and other
    parameters; shared as FieldSet says."""
    fields = {
        "skip_triggers": forms.BooleanField(label="Skip triggers", required=False),
        "skip_invalid_subscriptions": forms.BooleanField(
            label="Skip invalid subscriptions", required=False
        ),
        "detect_geo": forms.BooleanField(label="Detect location from IP", required=False),
        "add_to_segments": text("Add to segments", placeholder="12, 15", inputmode="numeric"),
        "remove_from_segments": text("Remove from segments", placeholder="7", inputmode="numeric"),
        "fmt": forms.ChoiceField(
            label="Send as",
            choices=[("json", "JSON"), ("xml", "XML")],
            initial="json",
            widget=forms.RadioSelect,
        ),
        "extra": forms.CharField(
            label="Other parameters (JSON object)",
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
        ),
    }
    params = OPERATIONS[path].param_names
    return {
        name: field for name, field in fields.items() if name not in OPTION_PARAMS or name in params
    }


class OptionsForm(PlainInputsForm):
    def __init__(self, *args: Any, operation: Operation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(option_fields(operation.path))


class ResendForm(forms.Form):
    # Required on send only, so the preview works before the reason is written.
    reason = forms.CharField(
        label="Reason",
        required=False,
        help_text="Why this record is being fixed and sent again; kept in the history.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PasteForm(forms.Form):
    body = forms.CharField(
        label="Payload (JSON or XML)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )
    upload = forms.FileField(label="…or a file", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            if upload.size > 10 * 1024 * 1024:
                raise forms.ValidationError("The file is larger than 10 MB.")
            cleaned["bytes"] = upload.read()
            cleaned["content_type"] = upload.content_type or ""
        elif cleaned.get("body", "").strip():
            cleaned["bytes"] = cleaned["body"].encode()
            cleaned["content_type"] = ""
        else:
            raise forms.ValidationError("Paste a payload or choose a file.")
        return cleaned


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
