"""The history filter form and the querysets it builds: who may see what, filters, search."""

import contextlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.validators import MinValueValidator
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from altcraft import formats
from altcraft.formats import int_or_none
from altcraft.operations import OPERATIONS
from profiles_ui import roles
from profiles_ui.connections import all_connections, get_connection
from profiles_ui.history import identifiers as found
from profiles_ui.history import overwrite
from profiles_ui.history import rows as batch_rows
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
MATCHES = [
    ("auto", "Auto"),
    ("contains", "Contains"),
    ("prefix", "Starts with"),
    ("exact", "Exactly"),
]
# Up to this many hits, the records are fetched by their IDs. PostgreSQL cannot tell how few
# rows a substring matches, and for "newest first" it would otherwise read the records
# backwards, all of them when the hits are few (bench_history: 0.7 s at 1,000,000 records).
HITS_BY_ID = 1_000
# Rows of one batch record shown under it in the list; the record page has all of them.
ROWS_SHOWN = 3


def identifier_matches(text: str, match: str = "exact", region: str = "") -> QuerySet[Identifier]:
    """Identifier rows whose normalised value matches what was typed, as it was typed or
    normalised (a lower-cased email, a phone's E.164 form). "contains" finds any identifier
    typed whole, and parts of the kinds people remember in part (found.SUBSTRING_KINDS)."""
    region = region or formats.DEFAULT_PHONE_REGION
    values = found.search_forms(text, region)
    if match == "auto":
        # A whole email or phone names one customer: searched exactly. Parts of one, as
        # contained. (A long text is also the trigram index's slowest search.)
        whole = formats.email_problem(text.strip()) is None or formats.normalise_phone(text, region)
        match = "exact" if whole else "contains"
    if match == "contains" and min(map(len, values), default=0) < SUBSTRING_MIN:
        match = "prefix"
    condition = Q(pk__in=[])
    for value in values:
        if match == "exact":
            condition |= Q(value=value)
        elif match == "prefix":
            condition |= Q(value__startswith=value)
        else:
            condition |= Q(value=value) | contained(value)
    return Identifier.objects.filter(condition)


def contained(text: str) -> Q:
    """Identifiers of the kinds searched in part (found.SUBSTRING_KINDS) that contain text.

    pg_trgm's index reads the whole list of every trigram it is asked for, and the trigrams of
    an email's domain are in most emails ("@example.com"): a whole email took 123 ms at
    10,000,000 identifiers. So the index is asked for the text up to its "@", which names few
    customers, and the whole text is checked on the rows that finds (14 ms).
    """
    where = Q(kind__in=found.SUBSTRING_KINDS)
    local = text[: text.find("@") + 1]
    if len(local) < SUBSTRING_MIN or local == text:
        return where & Q(value__contains=text)
    # STRPOS is no pattern the trigram index can serve, so it is checked row by row.
    return where & Q(value__contains=local) & GreaterThan(StrIndex("value", Value(text)), 0)


@dataclass(frozen=True)
class Search:
    """What the search box found: the records, and the identifier rows that matched, so that
    the rows a page shows under its batch records are not searched for a second time."""

    records: Q
    identifiers: QuerySet[Identifier]


def search(text: str, match: str = "exact", region: str = "") -> Search:
    """One box for any identifier a record carries, or a Request-ID.

    A Request-ID names one record, so it is looked up first; everything else is found through
    the identifier index alone: an OR with any other column would make PostgreSQL read every
    record instead of the index (bench_history).
    """
    text = text.strip()
    matches = identifier_matches(text, match, region)
    with contextlib.suppress(ValueError):
        sent_under = Submission.objects.filter(request_id=uuid.UUID(text)).values_list("pk")
        if record := sent_under.first():
            return Search(Q(pk=record[0]), matches)
    few = list(matches.values_list("pk", "submission_id")[: HITS_BY_ID + 1])
    if len(few) > HITS_BY_ID:
        return Search(Q(pk__in=matches.values("submission_id")), matches)
    return Search(
        Q(pk__in={record for _, record in few}),
        Identifier.objects.filter(pk__in=[pk for pk, _ in few]),
    )


def operation_choices() -> list[tuple[str, str]]:
    return [(path, path) for path in OPERATIONS]


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=254,
        help_text=(
            "Any email, phone, profile_id, subscription or matching value a record carries, "
            "batch rows included, or a Request-ID. Phones match as written locally or in E.164. "
            "Auto searches a whole email or phone exactly, anything else as contained; "
            "“Contains” finds part of an email or matching value, other identifiers whole."
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

    # Folded behind "Filters" on a phone: shown unfolded only when one of them is set.
    FOLDED = ("state", "operation", "connection", "username", "error", "date_from", "date_to")

    def filters_set(self) -> bool:
        """Whether a folded filter holds a value (or an error), so that it is shown."""
        return any(
            self.data.get(name, "").strip() or self.errors.get(name)
            for name in self.FOLDED
            if name in self.fields
        )

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
        if self.searched:
            records = records.filter(self.searched.records)
        return records

    def search_terms(self) -> tuple[str, str, str]:
        """(text, match, phone region) of the search box; text is "" when nothing is searched."""
        data = self.cleaned_data
        connection = get_connection(data["connection"]) if data.get("connection") else None
        return data.get("q") or "", data.get("match") or "auto", found.phone_region(connection)

    @cached_property
    def searched(self) -> Search | None:
        """What the search box found, looked up once per request; None when it is empty."""
        text, match, region = self.search_terms()
        return search(text, match, region) if text else None

    def matching_rows(self, records: list[Submission]) -> dict[int, batch_rows.RecordRows]:
        """For the records of a page: the rows of each batch that the search found."""
        if not self.searched:
            return {}
        hits = self.searched.identifiers.filter(row__isnull=False)
        return batch_rows.matching_rows(hits, [record.pk for record in records], ROWS_SHOWN)

    def query_string(self, **cursor: int) -> str:
        """The current filters as a query string, with a new cursor (or none)."""
        params = self.data.copy()
        for name in self.CURSORS:
            params.pop(name, None)
        params.update({name: str(value) for name, value in cursor.items()})
        return params.urlencode()


class SearchLookupForm(forms.Form):
    """The search box's text, to look it up in Altcraft on the profile page."""

    q = forms.CharField(
        max_length=254,
        error_messages={"required": "type an email, phone or profile ID to look it up"},
    )
    connection = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [("", ""), *((c, c) for c in all_connections())]

    def profile_query(self) -> dict[str, str]:
        """The profile page's query: the identifier guessed from the text, and the connection."""
        name = self.cleaned_data.get("connection") or ""
        region = found.phone_region(get_connection(name) if name else None)
        kind, value = found.lookup_kind(self.cleaned_data["q"], region)
        return {kind: value, **({"connection": name} if name else {})}


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class TimelineForm(forms.Form):
    """Exactly one identifier: whose timeline to show."""

    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=32)
    profile_id = forms.CharField(required=False, max_length=64)
    # Keyset cursor: the id of the oldest record of the page before.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    KEYS = ("email", "phone", "profile_id")

    def clean(self) -> dict:
        cleaned = super().clean()
        given = [key for key in self.KEYS if cleaned.get(key)]
        if len(given) != 1:
            raise forms.ValidationError("Give exactly one of email, phone or profile_id.")
        cleaned["key"], cleaned["value"] = given[0], cleaned[given[0]].strip()
        return cleaned


class ResendForm(forms.Form):
    """Why a recorded request is sent again: as it was, or fixed in the builder.

    When newer records about the same customer exist, sending again would go over them: the
    sender must tick that they have seen them. The tick carries the newest record's id, so
    one that arrives after the page was read is not ticked away unseen.
    """

    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this request is sent again. Kept with the new record.",
        error_messages={"required": "say why this request is sent again"},
    )
    seen_newer = forms.CharField(
        label="I have seen the newer records; send anyway",
        required=False,
        max_length=20,
        widget=forms.HiddenInput,  # drawn as a checkbox in history/_newer.html
    )

    def __init__(self, *args, record: Submission, visible: QuerySet[Submission], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record = record
        self.visible = visible

    @cached_property
    def newer(self) -> list[overwrite.Newer]:
        visible = self.visible
        # What this very form sent before (posted twice) is not gone over: it is answered
        # with that record instead.
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            visible = visible.exclude(request_id=uuid.UUID(self.data.get("form_token")))
        return overwrite.compared(self.record, overwrite.newer_records(self.record, visible))

    @property
    def newest(self) -> Submission | None:
        return self.newer[-1].record if self.newer else None

    def clean_seen_newer(self) -> int | None:
        """The newest record id the sender saw when ticking; None when nothing is newer."""
        newest = self.newest
        if newest is None:
            return None
        numbers = ", ".join(f"#{n.record.pk}" for n in self.newer)
        if not self.cleaned_data.get("seen_newer"):
            raise forms.ValidationError(
                f"newer records about this customer exist ({numbers}): tick this to send "
                "over them, or cancel"
            )
        seen = int_or_none(self.cleaned_data["seen_newer"])
        if seen is None:
            raise forms.ValidationError("tick the box, or cancel")
        if seen < newest.pk:
            raise forms.ValidationError(
                f"record #{newest.pk} arrived after you looked: read it, then tick again"
            )
        return seen
