"""Every form of the builder page, bound, validated and marked as one request."""

from typing import Any

from django import forms
from django.forms import formset_factory
from django.forms.formsets import DELETION_FIELD_NAME
from django.utils.translation import gettext_lazy

from altcraft.matching import MATCHING_MODES, mode_keys
from profiles_ui import catalog
from profiles_ui.connections import Connection
from profiles_ui.forms import (
    ATTACH,
    CONTENT,
    DEFAULT_OPERATION,
    MATCHING,
    OPTIONS,
    PROFILE,
    RESEND,
    SINGLE_OPERATIONS,
    SUBS,
    TARGET,
    AttachmentForm,
    ContentForm,
    MatchingForm,
    OptionsForm,
    ResendForm,
    TargetForm,
    int_or_none,
)
from profiles_ui.profile_forms import ProfileForm, SubscriptionForm


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
        self.db_id = int_or_none(source.get(f"{TARGET}-db_id"))
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
        from altcraft.validation import validate
        from profiles_ui import payloads

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
