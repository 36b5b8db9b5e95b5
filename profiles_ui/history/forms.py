"""The history filter form and the querysets it builds: who may see what, filters, search."""

import contextlib
import uuid
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.validators import MinValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from altcraft import formats
from altcraft.operations import OPERATIONS
from profiles_ui import roles
from profiles_ui.connections import all_connections, get_connection
from profiles_ui.history import identifiers as found
from profiles_ui.models import Identifier, RowsOutcome, Submission

# Above this many matches the count is shown as "10,000+": counting past it would cost a scan
# of every matching row, and nobody pages through ten thousand records anyway.
COUNT_CAP = 10_000
EARLIEST = date(1900, 1, 1)  # no record is older; earlier dates overflow some time zones


def visible_records(user: AbstractBaseUser) -> QuerySet[Submission]:
    """Marketers see their own records; support, auditors and admins see everyone's."""
    records = Submission.objects.all()
    if not user.has_perm(roles.VIEW_ALL_HISTORY):
        records = records.filter(user_id=user.pk)
    return records


# Below this many characters a substring search would match nearly everything (and pg_trgm
# has no trigram to use): it is searched as a prefix instead.
SUBSTRING_MIN = 3
MATCHES = [("contains", "Contains"), ("prefix", "Starts with"), ("exact", "Exactly")]


def identifier_matches(text: str, match: str = "exact", region: str = "") -> QuerySet[Identifier]:
    """Identifier rows whose normalised value matches what was typed, as it was typed or
    normalised (a lower-cased email, a phone's E.164 form)."""
    values = found.search_forms(text, region or formats.DEFAULT_PHONE_REGION)
    if match == "contains" and min(map(len, values), default=0) < SUBSTRING_MIN:
        match = "prefix"
    condition = Q(pk__in=[])
    for value in values:
        if match == "exact":
            condition |= Q(value=value)
        elif match == "prefix":
            condition |= Q(value__startswith=value)
        else:
            condition |= Q(value__contains=value)
    return Identifier.objects.filter(condition)


def search_condition(text: str, match: str = "exact", region: str = "") -> Q:
    """One box for any identifier a record carries, or a Request-ID."""
    text = text.strip()
    hits = identifier_matches(text, match, region).values("submission_id")
    # Records written before identifiers were indexed are still found by their own columns.
    condition = Q(pk__in=hits) | Q(email=text) | Q(phone=text) | Q(profile_id=text)
    if "@" in text and text.lower() != text:
        condition |= Q(email=text.lower())
    with contextlib.suppress(ValueError):
        condition |= Q(request_id=uuid.UUID(text))
    return condition


def operation_choices() -> list[tuple[str, str]]:
    return [(path, path) for path in OPERATIONS]


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=254,
        help_text=(
            "Any email, phone, profile_id, subscription or matching value a record carries, "
            "batch rows included, or a Request-ID. Phones match as written locally or in E.164."
        ),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    match = forms.ChoiceField(label="Match", required=False, choices=MATCHES)
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any state"), *Submission.State.choices]
    )
    rows = forms.ChoiceField(
        label="Rows",
        required=False,
        choices=[
            ("", "Any rows outcome"),
            (RowsOutcome.SUCCEEDED, "All rows succeeded"),
            (RowsOutcome.PARTLY_FAILED, "Partly failed"),
            (RowsOutcome.FAILED, "All rows failed"),
        ],
        help_text="How a batch request's rows fared; single-profile records have none.",
    )
    operation = forms.ChoiceField(label="Operation", required=False)
    connection = forms.ChoiceField(label="Connection", required=False)
    username = forms.CharField(label="User", required=False, max_length=150)
    error = forms.IntegerField(
        label="Error code",
        required=False,
        min_value=0,
        max_value=99_999,
        error_messages={"invalid": "enter a whole number such as 400"},
    )
    date_from = forms.DateField(
        label="Date from",
        required=False,
        validators=[MinValueValidator(EARLIEST, "enter a date from 1900 on")],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "enter a valid date (YYYY-MM-DD)"},
    )
    date_to = forms.DateField(
        label="Date to",
        required=False,
        validators=[MinValueValidator(EARLIEST, "enter a date from 1900 on")],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "enter a valid date (YYYY-MM-DD)"},
    )
    # Keyset cursors: the id of the last row of the previous page, not a page number.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    CURSORS = ("before", "after")

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        operations = operation_choices()
        self.fields["operation"].choices = [("", "Any operation"), *operations]
        connections = [(c.name, c.label) for c in all_connections().values()]
        self.fields["connection"].choices = [("", "Any connection"), *connections]
        if not user.has_perm(roles.VIEW_ALL_HISTORY):
            del self.fields["username"]  # marketers only ever see themselves

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "must be on or after Date from")
        return cleaned

    def filter(self, records: QuerySet[Submission]) -> QuerySet[Submission]:
        """The records matching every filled-in field (cursors excluded)."""
        data = self.cleaned_data
        exact = {name: data.get(name) for name in ("state", "operation", "connection", "username")}
        records = records.filter(**{name: value for name, value in exact.items() if value})
        if data.get("rows"):
            records = records.filter(rows_outcome=data["rows"])
        if data.get("error") is not None:
            records = records.filter(error=data["error"])
        if data.get("date_from"):
            records = records.filter(created_at__gte=start_of(data["date_from"]))
        if data.get("date_to") and data["date_to"] < date.max:  # the last day has no end
            records = records.filter(created_at__lt=start_of(data["date_to"] + timedelta(days=1)))
        if data.get("q"):
            connection = get_connection(data["connection"]) if data.get("connection") else None
            region = found.phone_region(connection)
            match = data.get("match") or "contains"
            records = records.filter(search_condition(data["q"], match, region))
        return records

    def query_string(self, **cursor: int) -> str:
        """The current filters as a query string, with a new cursor (or none)."""
        params = self.data.copy()
        for name in self.CURSORS:
            params.pop(name, None)
        params.update({name: str(value) for name, value in cursor.items()})
        return params.urlencode()


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class TimelineForm(forms.Form):
    """Exactly one identifier: whose timeline to show."""

    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=32)
    profile_id = forms.CharField(required=False, max_length=64)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    KEYS = ("email", "phone", "profile_id")

    def clean(self) -> dict:
        cleaned = super().clean()
        given = [key for key in self.KEYS if cleaned.get(key)]
        if len(given) != 1:
            raise forms.ValidationError("Give exactly one of email, phone or profile_id.")
        cleaned["key"], cleaned["value"] = given[0], cleaned[given[0]].strip()
        return cleaned

    def filter(self, records: QuerySet[Submission]) -> QuerySet[Submission]:
        """Every record carrying the identifier, batch rows included."""
        key, value = self.cleaned_data["key"], self.cleaned_data["value"]
        hits = self.rows().values("submission_id")
        return records.filter(Q(pk__in=hits) | Q(**{key: value}))

    def rows(self) -> QuerySet[Identifier]:
        """The identifier rows naming this customer: which row of each record is theirs."""
        return identifier_matches(self.cleaned_data["value"], "exact")


class ResendForm(forms.Form):
    """Why a recorded request is sent again: as it was, or fixed in the builder."""

    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this request is sent again. Kept with the new record.",
        error_messages={"required": "say why this request is sent again"},
    )
