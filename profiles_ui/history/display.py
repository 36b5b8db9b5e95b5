"""A record as its page shows it: formatted and highlighted bodies, what the error code
means, the per-profile results of a batch, its lineage and the changes from its parent."""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from altcraft import codec
from altcraft.error_codes import describe_error
from altcraft.operations import OPERATIONS, is_batch_operation, normalize_path
from profiles_ui.bodies import Body
from profiles_ui.bulk import outcomes
from profiles_ui.history.exports import configured_tokens, redact
from profiles_ui.models import Batch, BatchChunk, Submission

# Only what the tables show: the bodies can be large and are read on the detail page only.
LIST_COLUMNS = (
    "id", "created_at", "username", "role", "connection", "connection_production", "operation",
    "format", "state", "error", "email", "phone", "profile_id", "db_id", "profile_count",
    "duration_ms", "parent_id", "rows_outcome", "rows_failed",
)  # fmt: skip


def record_context(record: Submission, visible: QuerySet[Submission]) -> dict:
    tokens = configured_tokens()
    request_body = redact(record.request_body, tokens)
    response_body = redact(record.response_body, tokens)
    parent = visible.filter(pk=record.parent_id).first() if record.parent_id else None
    try:
        response_format = codec.detect_format(response_body.encode())
    except codec.PayloadError:
        response_format = record.format
    if record.is_final and not record.rows_outcome:
        # Written before rows were counted on the record: counted for this page only.
        for name, value in outcomes.rows_columns(record).items():
            setattr(record, name, value)
    chunk = BatchChunk.objects.filter(submission=record).select_related("batch").first()
    batch = chunk.batch if chunk else None
    return {
        "record": record,
        "request": Body(request_body, record.format),
        "response": Body(response_body, response_format),
        "error_meaning": error_meaning(record.error),
        "results": [{**r, "meaning": error_meaning(r.get("error"))} for r in batch_results(record)],
        "lineage": lineage(record, visible),
        "parent": parent,
        "changes": body_diff(parent, record) if parent else None,
        "batch": batch,
        "chunk": chunk,
        "failures": outcomes.record_failures(record) if record.rows_failed else [],
        "import_operation": outcomes.import_operation(batch) if batch else None,
        # A bulk chunk's failed rows are fixed as a batch of their own, on its mapping.
        "fix_rows": bool(chunk and chunk.done and chunk.failed)
        and batch.state in Batch.FINAL_STATES,
        # The builder holds one profile: a batch request's rows are fixed on the Bulk page.
        "fixable": is_single_operation(record.operation),
    }


def batch_results(record: Submission) -> list[dict]:
    results = record.results if isinstance(record.results, list) else []
    return [r for r in results if isinstance(r, dict)]


def error_meaning(code: Any) -> str:
    if code is None:
        return ""
    return describe_error(code)


def decode(body: str, fmt: str, operation: str) -> dict | None:
    """The request body as data (XML typed by the contract), or None if it does not parse."""
    try:
        return codec.decode(body.encode(), fmt, operation=operation)
    except (codec.PayloadError, KeyError):  # KeyError: an operation the contract lacks
        return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"data": {"phones": ["1"]}} -> {"data.phones.0": "1"}; empty containers are kept."""
    if isinstance(value, dict | list) and value:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        flat: dict[str, Any] = {}
        for key, item in items:
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value} if prefix else {}


@dataclass
class Change:
    path: str
    kind: str  # added, removed or changed
    old: str = ""
    new: str = ""


def body_diff(parent: Submission, record: Submission) -> list[Change] | None:
    """Field by field, from the parent's body to this one's; None if either cannot be read."""
    old = decode(parent.request_body, parent.format, parent.operation)
    new = decode(record.request_body, record.format, record.operation)
    if old is None or new is None or not (parent.request_body and record.request_body):
        return None
    before, after = flatten(old), flatten(new)
    changes = []
    for path in sorted(before.keys() | after.keys()):
        if path == "token":
            continue
        if path not in before:
            changes.append(Change(path, "added", new=_shown(after[path])))
        elif path not in after:
            changes.append(Change(path, "removed", old=_shown(before[path])))
        elif before[path] != after[path]:
            changes.append(Change(path, "changed", _shown(before[path]), _shown(after[path])))
    return changes


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def lineage(record: Submission, visible: QuerySet[Submission]) -> list[tuple[Submission, int]]:
    """The chain from the first record down to this one, then everything sent from it, as
    (record, depth) in reading order. Chains are short; the caps only guard against abuse."""
    visible = visible.only(*LIST_COLUMNS, "reason")
    ancestors: list[Submission] = []
    current: Submission | None = record
    while current is not None and current.parent_id and len(ancestors) < 50:
        current = visible.filter(pk=current.parent_id).first()
        if current is not None:
            ancestors.append(current)
    chain = [(ancestor, depth) for depth, ancestor in enumerate(reversed(ancestors))]
    chain.append((record, len(ancestors)))
    children: dict[int, list[Submission]] = {}
    level = [record.pk]
    for _ in range(20):
        found = list(visible.filter(parent_id__in=level).order_by("id")[:500])
        for child in found:
            children.setdefault(child.parent_id, []).append(child)
        level = [child.pk for child in found]
        if not level:
            break

    def walk(pk: int, depth: int) -> None:
        for child in children.get(pk, []):
            chain.append((child, depth))
            walk(child.pk, depth + 1)

    walk(record.pk, len(ancestors) + 1)
    return chain


def is_single_operation(operation: str) -> bool:
    """A known operation of one profile: what the builder can hold."""
    return normalize_path(operation) in OPERATIONS and not is_batch_operation(operation)
