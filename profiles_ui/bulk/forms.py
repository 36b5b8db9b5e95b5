"""Forms of the bulk import pages: the upload with its target, then the mapping and options."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django import forms

from altcraft.channels import CHANNELS, PUSH_PROVIDERS
from altcraft.fields import SYSTEM_FIELDS
from altcraft.matching import MATCHING_MODES
from altcraft.operations import OPERATIONS
from profiles_ui import catalog
from profiles_ui.bulk.mapping import (
    SUBSCRIPTION_CHANNELS,
    Column,
    auto_field,
    auto_subscription,
    is_date_field,
)
from profiles_ui.bulk.values import DATE_FORMATS, DateGuess, guess_date_format
from profiles_ui.connections import Connection, all_connections, phone_region_choices
from profiles_ui.models import Batch, SavedMapping

BULK_OPERATIONS = (
    "profiles/import_batch",
    "profiles/update_batch",
    "profiles/add_batch",
    "workflows/import_and_start_batch",
)
EXTENSIONS = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")


class UploadForm(forms.Form):
    file = forms.FileField(
        label="List (CSV, JSON Lines or a JSON array)",
        help_text=(
            "Any common delimiter; UTF-8 with or without BOM, UTF-16 with BOM, or Windows-1251. "
            "A JSON array of profile objects, as a database's json_agg writes it."
        ),
    )
    connection = forms.ChoiceField(label="Connection")
    operation = forms.ChoiceField(
        label="Operation",
        choices=[(path, f"{OPERATIONS[path].label} ({path})") for path in BULK_OPERATIONS],
    )
    db_id = forms.TypedChoiceField(label="Database", coerce=int, required=False, empty_value=None)
    workflow_id = forms.TypedChoiceField(
        label="Scenario", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, connection: Connection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.target = connection
        self.fields["connection"].choices = [
            (c.name, f"{c.label}{' (production)' if c.production else ''}")
            for c in all_connections().values()
        ]
        self.fields["connection"].initial = connection.name
        self.databases = catalog.databases(connection)
        self.workflows = catalog.workflows(connection)
        self.fields["db_id"].choices = [("", "—")] + [
            (d.id, f"{d.name} ({d.id})") for d in self.databases.items
        ]
        self.fields["workflow_id"].choices = [("", "—")] + [
            (w.id, f"{w.name} ({w.id}){'' if w.is_active else ' — inactive'}")
            for w in self.workflows.items
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name or "").suffix.lower() not in EXTENSIONS:
            raise forms.ValidationError(
                f"Choose a .csv, .jsonl or .json file (accepted: {', '.join(EXTENSIONS)})."
            )
        return upload

    def clean(self):
        data = super().clean()
        operation = OPERATIONS.get(data.get("operation", ""))
        if operation is None:
            return data
        if operation.needs_workflow_id:
            workflow = next(
                (w for w in self.workflows.items if w.id == data.get("workflow_id")), None
            )
            if workflow is None:
                self.add_error("workflow_id", "Choose the scenario the profiles enter.")
            else:
                data["db_id"], data["workflow_name"] = workflow.db_id, workflow.name
        elif not data.get("db_id"):
            self.add_error("db_id", "Choose the database to import into.")
        return data


def field_choices(custom: list[catalog.FieldInfo]) -> list[tuple[str, str]]:
    choices = [("", "— not imported —")]
    choices += [(name, f"{f.label} ({name})") for name, f in SYSTEM_FIELDS.items()]
    choices += [(f"custom:{f.name}", f"{f.title} ({f.name}, {f.type})") for f in custom]
    return choices


def subscription_choices(resources: list[catalog.Resource]) -> list[tuple[str, str]]:
    """Per resource, a subscription of each of its channels whose cells hold the identifier;
    push, identified by provider and subscription ID, once per provider."""
    choices = [("", "— no subscription —")]
    for resource in resources:
        for channel in resource.channels:
            on = f"on {resource.name} ({resource.id})"
            if channel in SUBSCRIPTION_CHANNELS:
                choices.append((f"{channel}:{resource.id}", f"{CHANNELS[channel].label} {on}"))
            elif channel == "push":
                choices += [
                    (f"push:{resource.id}:{provider}", f"Push, {provider} subscription ID, {on}")
                    for provider in PUSH_PROVIDERS
                ]
    return choices


DATE_FORMAT_CHOICES = [("", "— choose —")] + [(f.key, f.label) for f in DATE_FORMATS.values()]


class MappingForm(forms.Form):
    """Options and one (field, subscription, date format) triple per column of the file."""

    phone_region = forms.ChoiceField(
        label="Phone region",
        choices=phone_region_choices,
        help_text="Phones written without a country code (8 903 157-19-45) are read as this "
        "country's numbers.",
    )
    matching = forms.ChoiceField(label="Matching", required=False)
    field_name = forms.ChoiceField(label="Match on custom field", required=False)
    skip_triggers = forms.BooleanField(label="Skip triggers", required=False)
    skip_invalid_subscriptions = forms.BooleanField(
        label="Skip invalid subscriptions", required=False
    )
    empty_cells = forms.ChoiceField(
        label="Empty cells", choices=Batch.EmptyCells.choices, widget=forms.RadioSelect
    )
    save_as = forms.CharField(
        label="Save this mapping as", required=False, max_length=100, help_text="Optional."
    )

    def __init__(
        self,
        *args,
        batch: Batch,
        custom: list[catalog.FieldInfo],
        resources: list[catalog.Resource],
        saved: SavedMapping | None = None,
        samples: dict[str, list[Any]] | None = None,
        default_region: str = "",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.batch = batch
        self.fields["phone_region"].initial = batch.phone_region or default_region
        self.operation = OPERATIONS[batch.operation]
        self.custom = {f.name: f.type for f in custom}
        modes = [m for m in self.operation.matching_modes if m != "push_sub"]
        self.fields["matching"].choices = [
            (m, f"{m} — {MATCHING_MODES[m].description}") for m in modes
        ]
        self.fields["matching"].initial = batch.matching or "email"
        self.fields["field_name"].choices = [("", "—")] + [(n, n) for n in self.custom]
        if not self.operation.takes_matching:
            del self.fields["matching"], self.fields["field_name"]
        samples = samples or {}
        self.date_guesses: dict[str, DateGuess] = {
            h: guess_date_format(samples.get(h, [])) for h in batch.headers
        }
        labels = {f.name: f.title for f in custom}
        initial = _initial_columns(batch, saved, self.custom, labels, resources)
        fields, subs = field_choices(custom), subscription_choices(resources)
        self.columns = []
        for i, header in enumerate(batch.headers):
            guess = self.date_guesses[header]
            self.fields[f"date_{i}"] = forms.ChoiceField(
                label=f"{header}: date format",
                choices=DATE_FORMAT_CHOICES,
                required=False,
                initial=initial[i].date_format or guess.format,
            )
            self.fields[f"field_{i}"] = forms.ChoiceField(
                label=header, choices=fields, required=False, initial=initial[i].field
            )
            self.fields[f"sub_{i}"] = forms.ChoiceField(
                label=f"{header}: subscription",
                choices=subs,
                required=False,
                initial=initial[i].subscribe,
            )
            examples = [_sample_text(v) for v in samples.get(header, []) if v not in (None, "")]
            self.columns.append(
                MappedColumn(
                    header,
                    self[f"field_{i}"],
                    self[f"sub_{i}"],
                    self[f"date_{i}"],
                    examples[:3],
                    guess.ambiguous,
                )
            )
        self.fields["empty_cells"].initial = batch.empty_cells
        self.fields["skip_triggers"].initial = batch.skip_triggers
        self.fields["skip_invalid_subscriptions"].initial = batch.skip_invalid_subscriptions

    def clean_save_as(self) -> str:
        name = self.cleaned_data["save_as"].strip()
        if name and SavedMapping.objects.filter(name=name).exists():
            raise forms.ValidationError(f"A mapping named “{name}” exists; choose another name.")
        return name

    def clean(self):
        data = super().clean()
        mapped = [
            Column(
                h,
                data.get(f"field_{i}", ""),
                data.get(f"sub_{i}", ""),
                data.get(f"date_{i}", "") if self._holds_dates(data.get(f"field_{i}", "")) else "",
            )
            for i, h in enumerate(self.batch.headers)
        ]
        data["mapped"] = mapped
        for i, column in enumerate(mapped):
            if self._holds_dates(column.field) and not column.date_format:
                if self.date_guesses[column.header].ambiguous:
                    why = "its dates read either way round (03/04/1990: 3 April or March 4)"
                    self.add_error(f"date_{i}", f"Choose how this column writes dates: {why}.")
                else:
                    self.add_error(f"date_{i}", "Choose how this column writes dates.")
        targets = [c.field for c in mapped if c.field]
        if not targets and not any(c.subscribe for c in mapped):
            raise forms.ValidationError("Map at least one column to a profile field.")
        for i, column in enumerate(mapped):
            if column.field and targets.count(column.field) > 1:
                self.add_error(f"field_{i}", f"Another column is also mapped to {column.field}.")
        if data.get("empty_cells") == "clear" and not self.operation.allows_functions:
            self.add_error(
                "empty_cells", f"{self.operation.path} stores rows as they are; it cannot clear."
            )
        self._check_matching(data, targets)
        return data

    def _holds_dates(self, target: str) -> bool:
        return bool(target) and is_date_field(target, self.custom)

    def _check_matching(self, data: dict, targets: list[str]) -> None:
        mode = MATCHING_MODES.get(data.get("matching") or "")
        if mode is None:
            return
        if mode.batch_top_level_keys:
            name = data.get("field_name")
            if not name:
                self.add_error("field_name", f"{mode.name} matching needs the custom field.")
            elif f"custom:{name}" not in targets:
                self.add_error("field_name", f"Map a column to {name}: profiles are matched by it.")
        elif mode.batch_value_key and mode.batch_value_key not in targets:
            self.add_error(
                "matching",
                f"Map a column to {mode.batch_value_key}: {mode.name} matching needs it.",
            )
        elif mode.batch_any_of_keys and not set(mode.batch_any_of_keys) & set(targets):
            keys = " or ".join(mode.batch_any_of_keys)
            self.add_error("matching", f"Map a column to {keys}: {mode.name} matching needs one.")


@dataclass(frozen=True)
class MappedColumn:
    """A row of the mapping table: the column, its three choices and what it holds."""

    header: str
    field: forms.BoundField
    sub: forms.BoundField
    date_format: forms.BoundField
    samples: list[str]
    ambiguous_dates: bool


def _sample_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _initial_columns(
    batch: Batch,
    saved: SavedMapping | None,
    custom: dict[str, str],
    labels: dict[str, str],
    resources: list[catalog.Resource],
) -> list[Column]:
    """The batch's own mapping, else a saved one applied by header, else a guess per header."""
    if batch.columns and saved is None:
        by_header = {c["header"]: Column(**c) for c in batch.columns}
    elif saved is not None:
        by_header = {c["header"]: Column(**c) for c in saved.columns}
    else:
        ids = {r.id for r in resources}
        by_header = {
            h: Column(h, auto_field(h, custom, labels), auto_subscription(h, ids))
            for h in batch.headers
        }
    return [by_header.get(h) or Column(h) for h in batch.headers]
