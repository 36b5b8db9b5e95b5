"""What sending a record again would go over: the newer records about the same customer.

"Resend identical" and "Fix and resend" both ask `newer_records`; the record page asks it
too, bounded by the resend's own id, to say what a resend was sent over. Records are
insert-only and their ids only grow, so that answer needs nothing stored of its own.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from altcraft.operations import is_batch_operation
from profiles_ui.history.display import LIST_COLUMNS, Change, body_diff
from profiles_ui.models import Identifier, Submission

# A customer with more newer records than this has a history to read on the timeline.
SHOWN = 50
# Ids read from each source before visibility and the connection are applied.
CANDIDATES = 500


def newer_records(
    record: Submission, visible: QuerySet[Submission], *, until: int | None = None
) -> list[Submission]:
    """Records newer than `record` (below `until`, if given) on its connection that share a
    customer identifier with it, oldest first; the newest SHOWN of them."""
    # Read newest first through the identifier index (records from before it were backfilled,
    # see 0014): a query joining records would scan every record newer than an old one.
    between = {"submission_id__gt": record.pk}
    if until is not None:
        between["submission_id__lt"] = until
    own = Identifier.objects.filter(submission_id=record.pk).values("value")
    sharing = (
        Identifier.objects.filter(value__in=own, **between)
        .order_by("-submission_id")
        .values_list("submission_id", flat=True)
    )
    candidates = set(sharing.distinct()[:CANDIDATES])
    newer = visible.filter(pk__in=candidates, connection=record.connection)
    return list(newer.only(*LIST_COLUMNS).order_by("-id")[:SHOWN])[::-1]


@dataclass
class Newer:
    """A newer record and how its request differs from the one about to be sent again
    (None: not compared, as for a batch or a purged body)."""

    record: Submission
    changes: list[Change] | None


def compared(record: Submission, newer: list[Submission]) -> list[Newer]:
    if is_batch_operation(record.operation):
        return [Newer(other, None) for other in newer]
    return [
        Newer(other, None if is_batch_operation(other.operation) else body_diff(record, other))
        for other in newer
    ]
