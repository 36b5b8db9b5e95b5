"""Why a batch's rows failed and what can be done about each reason: the one place that
says which failures a retry can help, which rows to import instead, and which need a fix.

Used by the record page, the bulk batch page, the retry and the follow-up batches' check.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from altcraft.error_codes import describe_error
from altcraft.operations import OPERATIONS, is_batch_operation, normalize_path
from profiles_ui.bulk.report import row_outcomes
from profiles_ui.models import Batch, BatchChunk, RowsOutcome, Submission

RETRY = "retry"  # transient: the same row may well succeed later
IMPORT = "import"  # not found by an update: importing creates it
FIX = "fix"  # the data was refused: only a changed file or mapping helps
SETTINGS = "settings"  # the token, its rights or the method: nothing in the file helps

# Temporary refusals in the contract's error codes (§7): Altcraft failed internally, or a
# tariff limit held the request back. Rate limits are not documented.
RETRY_CODES = frozenset({402, 500})
SETTINGS_CODES = frozenset({401, 403, 501})
# An update that found no profile: the operation that creates it instead.
IMPORT_INSTEAD = {"profiles/update_batch": "profiles/import_batch"}
NOT_FOUND = 404


@dataclass(frozen=True)
class Reason:
    """Why a row failed, as grouped on the pages: one per error code or request state."""

    code: int | None
    text: str
    remedy: str
    # The request got no readable answer: Altcraft may have applied the row.
    unanswered: bool = False


def reason_of(record: Submission, error: Any, operation: str) -> Reason:
    """The reason a failed row of `record` failed, `error` being its own code (row_outcomes)."""
    state = record.state
    if state == Submission.State.TRANSPORT_FAILED:
        return Reason(None, "no answer (transport failure): outcome unknown", RETRY, True)
    if state == Submission.State.OUTCOME_UNKNOWN:
        return Reason(None, f"HTTP {record.response_status}: outcome unknown", RETRY, True)
    if state == Submission.State.BAD_RESPONSE:
        return Reason(None, "unreadable answer: outcome unknown", RETRY, True)
    if error is None:
        return Reason(None, "Altcraft gave no result for the row", RETRY)
    text = f"{error} {describe_error(error)}"
    if error == NOT_FOUND and normalize_path(operation) in IMPORT_INSTEAD:
        return Reason(error, text, IMPORT)
    if error in RETRY_CODES:
        return Reason(error, text, RETRY)
    if error in SETTINGS_CODES:
        return Reason(error, text, SETTINGS)
    return Reason(error, text, FIX)


def failed_row_reasons(record: Submission, count: int) -> Iterator[tuple[int, Reason]]:
    """(position in the request, reason) of each row of a final record that failed."""
    for position, (ok, _, error, _) in enumerate(row_outcomes(record, count)):
        if not ok:
            yield position, reason_of(record, error, record.operation)


def rows_columns(record: Submission) -> dict[str, Any]:
    """rows_outcome and rows_failed for a batch record about to become final; {} otherwise."""
    if not is_batch_operation(record.operation):
        return {}
    count = record.profile_count
    failed = sum(1 for ok, *_ in row_outcomes(record, count) if not ok)
    if not failed:
        outcome = RowsOutcome.SUCCEEDED
    elif failed < count:
        outcome = RowsOutcome.PARTLY_FAILED
    else:
        outcome = RowsOutcome.FAILED
    return {"rows_outcome": outcome, "rows_failed": failed}


# --- Failures grouped by reason ------------------------------------------------------------

EXAMPLES = 5


@dataclass
class Group:
    reason: Reason
    count: int = 0
    # (row number, identifier) of the first few rows; the number is the file's row in a bulk
    # batch, else the position in the request.
    examples: list[tuple[int, str]] = field(default_factory=list)


def grouped(failures: Iterable[tuple[Reason, int, str]]) -> list[Group]:
    """Failures as (reason, row, identifier), grouped by reason, largest group first."""
    groups: dict[Reason, Group] = {}
    for reason, row, identifier in failures:
        group = groups.setdefault(reason, Group(reason))
        group.count += 1
        if len(group.examples) < EXAMPLES:
            group.examples.append((row, identifier))
    return sorted(groups.values(), key=lambda g: -g.count)


def _chunk_failures(chunk: BatchChunk) -> Iterator[tuple[Reason, int, str]]:
    for position, reason in failed_row_reasons(chunk.submission, chunk.row_count):
        if position < len(chunk.rows):
            yield reason, chunk.rows[position], chunk.identifiers[position]


def _failed_chunks(batch: Batch, chunk: BatchChunk | None = None):
    chunks = batch.chunks.filter(done=True, failed__gt=0).select_related("submission")
    return chunks.filter(pk=chunk.pk) if chunk is not None else chunks.order_by("index")


def batch_failures(batch: Batch, chunk: BatchChunk | None = None) -> list[Group]:
    """A bulk batch's failed rows (or one chunk's), grouped by reason."""
    return grouped(f for c in _failed_chunks(batch, chunk) for f in _chunk_failures(c))


def record_failures(record: Submission) -> list[Group]:
    """A batch record's failed rows grouped by reason: its bulk chunk's rows where it has one,
    else the positions in the request and the profile_ids Altcraft answered."""
    chunk = getattr(record, "batch_chunk", None)
    if chunk is not None and chunk.done:
        return grouped(_chunk_failures(chunk))
    results = record.results if isinstance(record.results, list) else []
    return grouped(
        (
            reason,
            position + 1,
            str(results[position].get("profile_id") or "")
            if position < len(results) and isinstance(results[position], dict)
            else "",
        )
        for position, reason in failed_row_reasons(record, record.profile_count)
    )


# --- Which rows a follow-up batch reads ------------------------------------------------------

SELECTED_REMEDIES = {
    Batch.ParentRows.FAILED: None,  # every failed row
    Batch.ParentRows.RETRYABLE: RETRY,
    Batch.ParentRows.NOT_FOUND: IMPORT,
}


def selected_rows(parent: Batch, rows: str, chunk: BatchChunk | None = None) -> set[int]:
    """The parent's row numbers a follow-up batch of kind `rows` reads."""
    remedy = SELECTED_REMEDIES[rows]
    return {
        row
        for c in _failed_chunks(parent, chunk)
        for reason, row, _ in _chunk_failures(c)
        if remedy is None or reason.remedy == remedy
    }


def import_operation(batch: Batch) -> str | None:
    """The operation that imports the rows an update did not find, if the matching allows."""
    operation = IMPORT_INSTEAD.get(normalize_path(batch.operation))
    if operation is None or batch.matching not in OPERATIONS[operation].matching_modes:
        return None
    return operation


def left_out_of_retry(groups: list[Group]) -> list[str]:
    """Why each group a retry cannot help is left out of it, in a sentence."""
    why = {
        IMPORT: "a retry cannot help them; import them instead",
        FIX: "a retry cannot help them; fix the file or the mapping",
        SETTINGS: "a retry cannot help them; check the connection's token and rights",
    }
    return [
        f"{g.count:,} row{'s' if g.count != 1 else ''} answered {g.reason.text}: "
        f"{why[g.reason.remedy]}"
        for g in groups
        if g.reason.remedy != RETRY
    ]


@dataclass
class NextSteps:
    """A batch's (or one chunk's) failures by reason, and what each group's next step is."""

    groups: list[Group]
    import_operation: str | None

    def count(self, remedy: str) -> int:
        return sum(g.count for g in self.groups if g.reason.remedy == remedy)

    @property
    def retryable(self) -> int:
        return self.count(RETRY)

    @property
    def not_found(self) -> int:
        return self.count(IMPORT)

    @property
    def left_out(self) -> list[str]:
        return left_out_of_retry(self.groups)


def next_steps(batch: Batch, chunk: BatchChunk | None = None) -> NextSteps:
    return NextSteps(batch_failures(batch, chunk), import_operation(batch))
