"""The builder's forms: thin, for parsing and for marking problems on the fields they belong to.

The rules of the contract live in `altcraft/` and are applied to the built payload; the forms
only parse what was typed, so a rule is never written twice and every problem, wherever it
is found, lands on the field the user typed it in.
"""

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django import forms
from django.forms import formset_factory
from django.forms.formsets import DELETION_FIELD_NAME
from django.utils.translation import gettext_lazy

from profiles_ui import catalog
from profiles_ui.altcraft.channels import CHANNELS, SUBSCRIPTION_STATUSES
from profiles_ui.altcraft.fields import ACTIONS, GROUPS, SYSTEM_FIELDS, actions_for
from profiles_ui.altcraft.matching import DEFAULT_MATCHING, MATCHING_MODES, mode_keys
from profiles_ui.altcraft.operations import OPERATIONS, Operation
from profiles_ui.connections import Connection, all_connections

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
MATCHING_FIELD_LABELS = {
    "email": "Email to look up",
    "phone": "Phone to look up",
    "profile_id": "Profile ID",
    "provider": "Push provider",
    "subscription_id": "Push subscription ID",
    "field_name": "Field",
    "field_value": "Value of that field",
}


def identifier_fields(channel: str) -> tuple[str, ...]:
    keys = CHANNELS[channel].identifier_keys if channel in CHANNELS else ()
    return tuple(key.replace("cc_data.", "cc_") for key in keys)


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


def function_field(field_type: str | None) -> forms.Field | None:
    allowed = [name for name in actions_for(field_type) if name in FUNCTION_LABELS]
    if len(allowed) <= 1:
        return None
    choices = [("", "value"), *((name, FUNCTION_LABELS[name]) for name in allowed)]
    return forms.ChoiceField(label="Update", required=False, choices=choices)


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


def _profile_widget(field_type: str) -> forms.Widget:
    if field_type in ("object", "arr_object"):
        return forms.Textarea(attrs={"rows": 2, "placeholder": "JSON"})
    if field_type in ("int", "float"):
        return forms.TextInput(attrs={"inputmode": "decimal"})
    if field_type == "tags":
        return forms.TextInput(attrs={"placeholder": "tag 1, tag 2"})
    return forms.TextInput()


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
        found = catalog.resource_fields(connection, _int(self._raw("resource_id")), self.channel)
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


class RowsFormSet(forms.BaseFormSet):
    """Rows the user adds and removes (can_delete), each with the same remove box."""

    # Django builds, and translates the label of, a new box for every row; the templates
    # label it themselves, and it is shared like the rows' other fields (see FieldSet).
    remove = forms.BooleanField(label=gettext_lazy("Delete"), required=False)

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        form.fields[DELETION_FIELD_NAME] = self.remove


def rows_formset(form: type[forms.Form]) -> type[forms.BaseFormSet]:
    return formset_factory(form, formset=RowsFormSet, extra=0, can_delete=True)


SubscriptionFormSet = rows_formset(SubscriptionForm)
ContentFormSet = rows_formset(ContentForm)
AttachmentFormSet = rows_formset(AttachmentForm)

ACTION_NAMES = frozenset(ACTIONS)


class Builder:
    """Every form of the builder page, bound or not, validated together as one request."""

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        connection: Connection,
        parent: Any = None,
    ) -> None:
        self.connection = connection
        self.parent = parent
        self.is_bound = data is not None
        self.errors_summary: list[tuple[str, str, str]] = []
        self.payload: dict[str, Any] | None = None
        source = data if self.is_bound else {}
        operation = source.get(f"{TARGET}-operation") or DEFAULT_OPERATION
        self.operation = SINGLE_OPERATIONS.get(operation, SINGLE_OPERATIONS[DEFAULT_OPERATION])
        op = self.operation
        self.db_id = _int(source.get(f"{TARGET}-db_id"))
        self.databases = catalog.databases(connection)
        self.workflows = catalog.workflows(connection) if op.needs_workflow_id else catalog.Lookup()
        self.db_fields = catalog.database_fields(connection, self.db_id)
        self.resources = catalog.resources(connection)
        bound = {"data": data, "files": files} if self.is_bound else {}
        self.target = TargetForm(
            **bound,
            prefix=TARGET,
            initial={"operation": op.path, "connection": connection.name},
            databases=self.databases,
            workflows=self.workflows,
            db_id=self.db_id,
        )
        self.matching = (
            MatchingForm(**bound, prefix=MATCHING, operation=op, custom_fields=self.db_fields.items)
            if op.takes_matching
            else None
        )
        self.profile = ProfileForm(
            **bound, prefix=PROFILE, operation=op, custom_fields=self.db_fields.items
        )
        self.subs = SubscriptionFormSet(
            **bound,
            prefix=SUBS,
            form_kwargs={"connection": connection, "resources": self.resources},
        )
        self.content = (
            ContentFormSet(**bound, prefix=CONTENT) if "content" in op.param_names else None
        )
        self.attach = (
            AttachmentFormSet(**bound, prefix=ATTACH) if "attach" in op.param_names else None
        )
        self.options = OptionsForm(**bound, prefix=OPTIONS, operation=op)
        self.resend = ResendForm(**bound, prefix=RESEND) if parent else None

    @property
    def custom_field_types(self) -> dict[str, str] | None:
        if self.db_fields.error or not self.db_id:
            return None
        return {f.name: f.type for f in self.db_fields.items}

    def all_forms(self) -> list[forms.Form]:
        found: list[forms.Form] = [self.target, self.profile, self.options]
        found += [form for form in (self.matching, self.resend) if form is not None]
        for formset in self.formsets():
            found += formset.forms
        return found

    def formsets(self) -> list[forms.BaseFormSet]:
        return [fs for fs in (self.subs, self.content, self.attach) if fs is not None]

    def new_row(self, formset: forms.BaseFormSet, **initial: str) -> forms.Form:
        """Row N of a formset, for "add row": the server decides what a new row holds."""
        index = formset.total_form_count()
        form = formset.form(
            prefix=formset.add_prefix(index),
            initial=initial,
            empty_permitted=True,
            use_required_attribute=False,
            **formset.get_form_kwargs(index),
        )
        formset.add_fields(form, index)  # the DELETE box
        return form

    def validate(self) -> bool:
        """Parses every form, builds the payload, and marks each problem on its field."""
        from profiles_ui import payloads
        from profiles_ui.altcraft.validation import validate

        parsed_ok = all([form.is_valid() for form in self.all_forms()])  # every form, no short cut
        live = [(i, form) for i, form in enumerate(self.subs.forms) if not _deleted(form)]
        parts = payloads.Parts(
            operation=self.operation,
            target=self.target.cleaned_data,
            matching=self.matching.cleaned_data if self.matching else {},
            matching_keys=mode_keys(MATCHING_MODES[self.matching.mode]) if self.matching else (),
            profile=self.profile.values(),
            profile_extra=self.profile.cleaned_data.get("extra", ""),
            subs=[payloads.SubRow(i, form.cleaned_data, form.sub_types) for i, form in live],
            content=self._rows(self.content, ("key", "value")),
            attach=[
                {k: row.get(k) or "" for k in ("name", "file_key", "data", "mimetype")}
                for row in self._live_cleaned(self.attach)
            ],
            options=self.options.cleaned_data,
        )
        self.payload, problems = payloads.build(parts)
        problems += validate(
            self.operation.path, self.payload, custom_field_types=self.custom_field_types
        )
        rows = [i for i, _ in live]
        for problem in problems:
            self._mark(problem, payloads.locate(problem.path, rows))
        self.errors_summary = self._summary()
        return parsed_ok and not problems

    def _live_cleaned(self, formset: forms.BaseFormSet | None) -> list[dict[str, Any]]:
        if formset is None:
            return []
        return [
            form.cleaned_data
            for form in formset.forms
            if hasattr(form, "cleaned_data") and not _deleted(form)
        ]

    def _rows(self, formset: forms.BaseFormSet | None, keys: tuple[str, ...]) -> list[tuple]:
        return [tuple(row.get(k) or "" for k in keys) for row in self._live_cleaned(formset)]

    def _mark(self, problem: Any, where: tuple[str, int | None, str | None]) -> None:
        section, index, name = where
        form: forms.Form | None = {
            "target": self.target,
            "matching": self.matching,
            "profile": self.profile,
            "options": self.options,
        }.get(section)
        if section in ("subs", "content", "attach"):
            formset = {"subs": self.subs, "content": self.content, "attach": self.attach}[section]
            if formset is not None and index is not None and index < len(formset.forms):
                form = formset.forms[index]
            elif formset is not None:
                form = None
        message = problem.message
        if form is None:
            self.target.add_error(None, f"{problem.path or 'Request'}: {message}")
        elif name in form.fields:
            if not form.has_error(name):
                form.add_error(name, message)
        else:
            where_text = f"{problem.path}: " if problem.path else ""
            form.add_error(None, f"{where_text}{message}")

    def _summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, "Section · Field", message) for every error, in page order."""
        found = []
        sections = [("Operation and target", self.target)]
        if self.matching:
            sections.append(("Matching", self.matching))
        sections.append(("Profile", self.profile))
        for i, form in enumerate(self.subs.forms):
            sections.append((f"Subscription {i + 1} ({form.channel_label})", form))
        for name, formset in (("Variable", self.content), ("Attachment", self.attach)):
            for i, form in enumerate(formset.forms if formset else []):
                sections.append((f"{name} {i + 1}", form))
        sections.append(("Options", self.options))
        if self.resend:
            sections.append(("Fix and resend", self.resend))
        for title, form in sections:
            for name, errors in form.errors.items():
                if name == forms.forms.NON_FIELD_ERRORS or name not in form.fields:
                    anchor, label = f"section-{form.prefix}", title
                else:
                    anchor, label = form[name].auto_id, f"{title} · {form[name].label}"
                found += [(anchor, label, str(error)) for error in errors]
        return found


def _deleted(form: forms.Form) -> bool:
    return "DELETE" in form.fields and bool(form["DELETE"].data)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
