"""The rows of batch records that a search or a timeline is about, with what Altcraft answered
for each: one query for a whole page, reading only those rows' elements of the JSON columns."""

from dataclasses import dataclass

from django.db import NotSupportedError
from django.db.models import CharField, F, Func, JSONField, QuerySet, Window
from django.db.models.functions import DenseRank

from altcraft.formats import int_or_none
from profiles_ui.bulk.report import row_outcomes
from profiles_ui.models import Identifier, Submission


class JsonElement(Func):
    """array[index]: one element of a JSON array column, the index taken from another column,
    so that a 10,000-item `results` is not read whole for the one row a page shows."""

    arity = 2
    output_field = JSONField()

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("JsonElement is written for PostgreSQL and SQLite")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" -> ")

    def as_sqlite(self, compiler, connection, **extra):
        (array, array_params), (index, index_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"({array} -> ('$[' || {index} || ']'))", (*array_params, *index_params)


class JsonType(Func):
    """'array', 'object', ... of a JSON column; NULL when the column is."""

    arity = 1
    output_field = CharField()

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("JsonType is written for PostgreSQL and SQLite")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="jsonb_typeof")

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="json_type")


@dataclass(frozen=True)
class RowAnswer:
    """One row of a batch request: where it was, and what Altcraft answered for it."""

    row: int  # index in the request's data
    file_row: int | None  # the uploaded file's row, for a bulk chunk
    succeeded: bool
    profile_id: str
    error: int | None
    error_text: str

    @property
    def number(self) -> int:
        """The row as people count it, as the record page's per-profile results do."""
        return self.row + 1


@dataclass
class RecordRows:
    """The matching rows of one record, the first few of them, and whether there are more."""

    rows: list[RowAnswer]
    more: bool = False
    whole_record: bool = False  # an identifier outside any row (a single request) matched


ANSWER_COLUMNS = ("state", "error", "error_text", "transport_error", "response_status")


def matching_rows(
    identifiers: QuerySet[Identifier], record_ids: list[int], per_record: int
) -> dict[int, RecordRows]:
    """The first `per_record` rows of each record that `identifiers` matched, with their
    answers, in one query however many rows match."""
    if not record_ids:
        return {}
    in_row_order = F("row").asc(nulls_first=True)
    rank = Window(DenseRank(), partition_by=[F("submission_id")], order_by=in_row_order)
    hits = (
        identifiers.filter(submission_id__in=record_ids)
        .annotate(
            rank=rank,
            item=JsonElement("submission__results", "row"),
            results_type=JsonType("submission__results"),
            file_row=JsonElement("submission__batch_chunk__rows", "row"),
        )
        .filter(rank__lte=per_record + 2)  # a match outside rows may rank first
        .values(
            "submission_id",
            "row",
            "item",
            "results_type",
            "file_row",
            *(f"submission__{column}" for column in ANSWER_COLUMNS),
        )
        .order_by("submission_id", in_row_order)
    )
    found: dict[int, RecordRows] = {}
    for hit in hits:
        rows = found.setdefault(hit["submission_id"], RecordRows([]))
        if hit["row"] is None:
            rows.whole_record = True
        elif rows.rows and rows.rows[-1].row == hit["row"]:
            continue  # the same row, matched by a second identifier
        elif len(rows.rows) == per_record:
            rows.more = True
        else:
            rows.rows.append(_answer(hit))
    return found


def _answer(hit: dict) -> RowAnswer:
    # row_outcomes judges each profile by the record's state and its own result alone, so the
    # record with only this row's result gives this row's outcome.
    item = hit["item"]
    results = None
    if hit["results_type"] == "array":
        results = [item] if isinstance(item, dict) else []
    record = Submission(
        **{column: hit[f"submission__{column}"] for column in ANSWER_COLUMNS}, results=results
    )
    succeeded, profile_id, error, text = row_outcomes(record, 1)[0]
    return RowAnswer(
        row=hit["row"],
        file_row=int_or_none(hit["file_row"]),
        succeeded=succeeded,
        profile_id=profile_id,
        error=error,
        error_text=text,
    )
