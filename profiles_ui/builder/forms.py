"""The builder's forms, and the page's forms taken together as one request (`Builder`).

The forms are thin: they parse what was typed and carry the problems of the fields they
hold. The contract's rules live in `altcraft/` and are applied to the built payload, so a
rule is never written twice and every problem, wherever it is found, lands on the field
the user typed it in. The profile and subscription rows are in rows.py.
"""

import re
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from altcraft import live_profile
from altcraft.formats import int_or_none
from altcraft.matching import DEFAULT_MATCHING, MATCHING_MODES, mode_keys
from altcraft.operations import OPERATIONS, Operation
from altcraft.validation import validate
from profiles_ui import catalog
from profiles_ui.builder import payload
from profiles_ui.builder.rows import (
    AttachmentFormSet,
    ContentFormSet,
    ProfileForm,
    SubscriptionFormSet,
    is_deleted,
    number_or_select,
    text,
)
from profiles_ui.connections import (
    Connection,
    all_connections,
    phone_region_choices,
    phone_regions,
)
from profiles_ui.history.forms import ResendForm, visible_records
from profiles_ui.profile.changes import NotSendable, changed_update

DEFAULT_OPERATION = "profiles/import"
SINGLE_OPERATIONS = {path: op for path, op in OPERATIONS.items() if not op.is_batch}
OPERATION_CHOICES = [(path, op.label) for path, op in SINGLE_OPERATIONS.items()]

# Form prefixes; payload.locate and paste.form_data use the same names.
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


class TargetForm(forms.Form):
    operation = forms.ChoiceField(label="Operation", choices=OPERATION_CHOICES)
    connection = forms.ChoiceField(label="Connection")
    workflow_id = forms.IntegerField(label="Scenario", required=False, widget=forms.HiddenInput)
    phone_region = forms.ChoiceField(
        label="Phones are from",
        required=False,
        # A callable: the 240 regions are listed when the select is drawn or a value is
        # checked, not copied and normalised for every preview.
        choices=phone_region_choices,
        help_text="Phones written without a country code (8 900 123-45-67) are read as "
        "numbers of this region; every phone is sent with its country code.",
    )

    def __init__(
        self,
        *args: Any,
        databases: catalog.Lookup,
        workflows: catalog.Lookup,
        db_id: int | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [
            (c.name, f"{c.label} (production)" if c.production else c.label)
            for c in all_connections().values()
        ]
        choices = (
            None if databases.error else [(d.id, f"{d.name} (#{d.id})") for d in databases.items]
        )
        self.fields["db_id"] = number_or_select("Database", choices)
        if workflows.error:
            # The scenarios could not be listed: the ID is typed instead of picked.
            self.fields["workflow_id"].widget = forms.TextInput(attrs={"inputmode": "numeric"})
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


# What the operation does once the mode has looked: the docs' import creates the profile it
# did not find; update changes only one that exists.
OUTCOMES = {
    "profiles/import": "creates it if none",
    "profiles/update": "answers 404 if none",
    "workflows/import_and_start": "creates it if none, then starts the scenario",
}
NOT_FOUND = "answers 404 if none"
# The modes that look at email addresses or phone numbers: resource_id narrows only them.
RESOURCE_MODES = frozenset(
    name for name, mode in MATCHING_MODES.items() if {"email", "phone"} & set(mode_keys(mode))
)


def matching_description(operation: Operation, name: str) -> str:
    """What a mode does on this operation: where it looks, then what happens if it finds none."""
    mode = MATCHING_MODES[name]
    where = mode.description.split(";", 1)[0]
    outcome = NOT_FOUND if mode.never_creates else OUTCOMES.get(operation.path, NOT_FOUND)
    return f"{where}; {outcome}"


class MatchingForm(forms.Form):
    matching = forms.ChoiceField(label="Matching", initial=DEFAULT_MATCHING)
    email = text(MATCHING_FIELD_LABELS["email"], placeholder="you@example.com", input_type="email")
    phone = text(MATCHING_FIELD_LABELS["phone"], placeholder="+79000000000", input_type="tel")
    profile_id = text(MATCHING_FIELD_LABELS["profile_id"])
    provider = text(MATCHING_FIELD_LABELS["provider"], list="push-providers")
    subscription_id = text(MATCHING_FIELD_LABELS["subscription_id"])
    field_value = text(MATCHING_FIELD_LABELS["field_value"])

    def __init__(
        self, *args: Any, operation: Operation, custom_fields: list, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.operation = operation
        self.fields["matching"].choices = [(name, name) for name in operation.matching_modes]
        if "resource_id" in operation.param_names and self.mode in RESOURCE_MODES:
            self.fields["resource_id"] = forms.IntegerField(
                label="Only subscriptions of resource",
                required=False,
                min_value=1,
                help_text="Optional: limits email and phone matching to one resource.",
                widget=forms.TextInput(attrs={"inputmode": "numeric"}),
            )
        if custom_fields:
            choices = [(f.name, f"{f.title} ({f.name})") for f in custom_fields]
            self.fields["field_name"] = forms.ChoiceField(
                label=MATCHING_FIELD_LABELS["field_name"],
                required=False,
                choices=[("", "—"), *choices],
            )
        else:
            self.fields["field_name"] = text(MATCHING_FIELD_LABELS["field_name"])

    @property
    def mode(self) -> str:
        value = self["matching"].value() or DEFAULT_MATCHING
        return value if value in self.operation.matching_modes else DEFAULT_MATCHING

    @property
    def descriptions(self) -> list[tuple[str, str]]:
        op = self.operation
        return [(name, matching_description(op, name)) for name in op.matching_modes]

    @property
    def verb(self) -> str:
        return self.operation.path.rsplit("/", 1)[1].replace("_", " ")

    def visible_fields_for_mode(self) -> list[forms.BoundField]:
        keys = mode_keys(MATCHING_MODES[self.mode])
        return [self[key] for key in keys if key in self.fields]


class OptionsForm(forms.Form):
    skip_triggers = forms.BooleanField(label="Skip triggers", required=False)
    skip_invalid_subscriptions = forms.BooleanField(
        label="Skip invalid subscriptions", required=False
    )
    detect_geo = forms.BooleanField(label="Detect location from IP", required=False)
    add_to_segments = text("Add to segments", placeholder="12, 15", inputmode="numeric")
    remove_from_segments = text("Remove from segments", placeholder="7", inputmode="numeric")
    fmt = forms.ChoiceField(
        label="Send as",
        choices=[("json", "JSON"), ("xml", "XML")],
        initial="json",
        widget=forms.RadioSelect,
    )
    extra = forms.CharField(
        label="Other parameters (JSON object)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, operation: Operation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Flags and segment lists only where the operation takes them.
        for name in (*payload.OPTION_FLAGS, *payload.SEGMENTS):
            if name not in operation.param_names:
                del self.fields[name]


class Builder:
    """Every form of the builder page, bound or not, validated together as one request."""

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        connection: Connection,
        parent: Any = None,
        user: AbstractBaseUser | None = None,
        live: dict[str, Any] | None = None,
    ) -> None:
        self.connection = connection
        self.parent = parent
        # The live profile as read (?live=<id>): an update of it sends only what changed.
        self.live = live
        self.live_changes: list[live_profile.Change] | None = None
        self.is_bound = data is not None
        self.errors_summary: list[tuple[str, str, str]] = []
        self.payload: dict[str, Any] | None = None
        self.sending = False
        if self.is_bound:
            data = _completed(data, connection)
        source = data if self.is_bound else {}
        operation = source.get(f"{TARGET}-operation") or DEFAULT_OPERATION
        self.operation = SINGLE_OPERATIONS.get(operation, SINGLE_OPERATIONS[DEFAULT_OPERATION])
        op = self.operation
        self.db_id = int_or_none(source.get(f"{TARGET}-db_id"))
        self.databases = catalog.databases(connection)
        self.workflows = catalog.workflows(connection) if op.needs_workflow_id else catalog.Lookup()
        self.db_fields = catalog.database_fields(connection, self.db_id)
        self.resources = catalog.resources(connection)
        bound = {"data": data, "files": files} if self.is_bound else {}
        self.target = TargetForm(
            **bound,
            prefix=TARGET,
            initial={
                "operation": op.path,
                "connection": connection.name,
                "phone_region": connection.phone_region,
            },
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
        # Sending checks the keys against the database's fields whenever they are known.
        self.profile.fields["extra"].help_text = (
            "Each key must be a field of this database, by its name; other keys are refused."
            if self.custom_field_types is not None
            else "Keys are sent as given: with no database's fields to check them against, "
            "Altcraft decides."
        )
        self.resend = (
            ResendForm(**bound, prefix=RESEND, record=parent, visible=visible_records(user))
            if parent
            else None
        )

    @property
    def custom_field_types(self) -> dict[str, str] | None:
        if self.db_fields.error or not self.db_id:
            return None
        return {f.name: f.type for f in self.db_fields.items}

    @property
    def phone_region(self) -> str:
        """The region phones are read against: the one picked, else the connection's."""
        picked = self.target["phone_region"].value()
        return picked if picked in phone_regions() else self.connection.phone_region

    def phone_fields(self) -> list[forms.BoundField]:
        """Every phone input on the page, for the value each will be sent as."""
        found = [self.profile["phones"]]
        if self.matching is not None and "phone" in mode_keys(MATCHING_MODES[self.matching.mode]):
            found.append(self.matching["phone"])
        for form in self.subs.forms:
            found += [form[name] for name in ("phone", "cc_phone") if name in form.fields]
        return found

    @property
    def fmt(self) -> str:
        return self.options.cleaned_data.get("fmt") or "json"

    def all_forms(self, *, sending: bool = False) -> list[forms.Form]:
        """The forms whose values make the payload, and on sending the resend reason (so the
        preview works before the reason is written)."""
        found: list[forms.Form] = [self.target, self.profile, self.options]
        if self.matching is not None:
            found.append(self.matching)
        if sending and self.resend is not None:
            found.append(self.resend)
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

    def validate(self, *, sending: bool = False) -> bool:
        """Parses every form, builds the payload, and marks each problem on its field."""
        self.sending = sending
        checked = self.all_forms(sending=sending)
        parsed_ok = all([form.is_valid() for form in checked])  # every form, no short cut
        parsed_ok &= not any(formset.non_form_errors() for formset in self.formsets())
        live = [(i, form) for i, form in enumerate(self.subs.forms) if not is_deleted(form)]
        parts = payload.Parts(
            operation=self.operation,
            target=self.target.cleaned_data,
            matching=self.matching.cleaned_data if self.matching else {},
            matching_keys=mode_keys(MATCHING_MODES[self.matching.mode]) if self.matching else (),
            profile=self.profile.values(),
            profile_extra=self.profile.cleaned_data.get("extra", ""),
            subs=[payload.SubRow(i, form.cleaned_data, form.sub_types) for i, form in live],
            content=self._rows(self.content, ("key", "value")),
            attach=[
                {k: row.get(k) or "" for k in ("name", "file_key", "data", "mimetype")}
                for row in self._live_cleaned(self.attach)
            ],
            options=self.options.cleaned_data,
            phone_region=self.phone_region,
        )
        self.payload, problems = payload.build(parts)
        problems += validate(
            self.operation.path, self.payload, custom_field_types=self.custom_field_types
        )
        unchanged = self._only_what_changed(sending=sending)
        rows = [i for i, _ in live]
        for problem in problems:
            self._mark(problem, payload.locate(problem.path, rows))
        for path, sent in parts.converted:
            section, index, name = payload.locate(path, rows)
            form = self._form_at(section, index)
            if form is not None and name in form.fields:
                # Bound fields are cached by their form: the template reads this back.
                form[name].sent_as = sent
        self.errors_summary = self.summary()
        return parsed_ok and not problems and not unchanged

    @property
    def live_edit(self) -> bool:
        """Whether this request updates the live profile as read, matched by its ID."""
        payload_ = self.payload or {}
        return (
            self.live is not None
            and self.operation.path == "profiles/update"
            and payload_.get("matching") == "profile_id"
            and str(payload_.get("profile_id")) == str(self.live.get("id"))
        )

    @property
    def live_digest(self) -> str:
        return live_profile.digest(self.live) if self.live is not None else ""

    def _only_what_changed(self, *, sending: bool) -> bool:
        """In a live edit, cut the payload's data to what differs from the profile as read;
        True when nothing does (sending is then refused)."""
        if not self.live_edit or self.live is None or self.payload is None:
            return False
        try:
            planned = changed_update(self.live, self.payload)
        except NotSendable as unchanged:
            self.payload, self.live_changes = {**self.payload, "data": {}}, []
            if sending:
                self.profile.add_error(None, str(unchanged))
            return sending
        self.payload, self.live_changes = planned.payload, planned.diff
        return False

    @property
    def reason(self) -> str:
        """Why a record is fixed and sent again; "" when not fixing (or not yet validated)."""
        if self.resend is None or not hasattr(self.resend, "cleaned_data"):
            return ""
        return self.resend.cleaned_data.get("reason", "")

    def _live_cleaned(self, formset: forms.BaseFormSet | None) -> list[dict[str, Any]]:
        if formset is None:
            return []
        return [
            form.cleaned_data
            for form in formset.forms
            if hasattr(form, "cleaned_data") and not is_deleted(form)
        ]

    def _rows(self, formset: forms.BaseFormSet | None, keys: tuple[str, ...]) -> list[tuple]:
        return [tuple(row.get(k) or "" for k in keys) for row in self._live_cleaned(formset)]

    def _form_at(self, section: str, index: int | None) -> forms.Form | None:
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
        return form

    def _mark(self, problem: Any, where: tuple[str, int | None, str | None]) -> None:
        section, index, name = where
        form = self._form_at(section, index)
        message = problem.message
        if form is None:
            self.target.add_error(None, f"{problem.path or 'Request'}: {message}")
        elif name in form.fields:
            if not form.has_error(name):
                form.add_error(name, message)
        else:
            where_text = f"{problem.path}: " if problem.path else ""
            form.add_error(None, f"{where_text}{message}")

    def summary(self) -> list[tuple[str, str, str]]:
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
        if self.resend is not None and self.sending:
            sections.append(("Fix and resend", self.resend))
        for formset in self.formsets():
            anchor = "section-sub" if formset is self.subs else "section-scenario"
            found += [(anchor, "Rows", str(error)) for error in formset.non_form_errors()]
        for title, form in sections:
            for name, errors in form.errors.items():
                if name == forms.forms.NON_FIELD_ERRORS or name not in form.fields:
                    anchor, label = f"section-{form.prefix}", title
                else:
                    anchor, label = form[name].auto_id, f"{title} · {form[name].label}"
                found += [(anchor, label, str(error)) for error in errors]
        return found


def _completed(data: Any, connection: Connection) -> Any:
    """The post with what it may leave out filled in, copied once if anything is missing:
    the connection's phone region when it names none (a paste, a record), and a readable
    row count for each formset, since Django's own complaint about a missing or garbled
    count names hidden fields and must never reach the page.

    The scenario's variables and attachments appear when the operation changes to one that
    takes them, so the post that makes the change carries no count for them: zero rows. A
    count that is not a number is replaced by the rows the post holds.
    """
    fixed: dict[str, str] = {}
    if not data.get(f"{TARGET}-phone_region"):
        fixed[f"{TARGET}-phone_region"] = connection.phone_region
    for prefix in (SUBS, CONTENT, ATTACH):
        total, initial = f"{prefix}-TOTAL_FORMS", f"{prefix}-INITIAL_FORMS"
        if total not in data:
            fixed[total] = fixed[initial] = "0"
            continue
        if not _is_count(data.get(total)):
            fixed[total] = str(_rows_posted(data, prefix))
        if not _is_count(data.get(initial)):
            fixed[initial] = "0"
    if not fixed:
        return data
    data = data.copy()
    for key, value in fixed.items():
        data[key] = value
    return data


def _is_count(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6


def _rows_posted(data: Any, prefix: str) -> int:
    pattern = re.compile(rf"{re.escape(prefix)}-(\d{{1,5}})-")
    indexes = [int(m.group(1)) for key in data if (m := pattern.match(key))]
    return max(indexes) + 1 if indexes else 0
