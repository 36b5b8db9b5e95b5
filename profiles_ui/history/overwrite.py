"""What sending a record again would go over: the newer records about the same customer.

"Resend identical" and "Fix and resend" both ask `newer_records`; the record page asks it
too, bounded by the resend's own id, to say what a resend was sent over. Records are
insert-only and their ids only grow, so that answer needs nothing stored of its own.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from profiles_ui.history.display import LIST_COLUMNS, Change, _is_batch, body_diff
from profiles_ui.models import Identifier, Submission

# A customer with more newer records than this has a history to read on the timeline.
SHOWN = 50


def newer_records(
    record: Submission, visible: QuerySet[Submission], *, until: int | None = None
) -> list[Submission]:
    """Records newer than `record` (below `until`, if given) on its connection that share a
    customer identifier with it, oldest first; the newest SHOWN of them."""
    own = Identifier.objects.filter(submission_id=record.pk).values("value")
    sharing = Identifier.objects.filter(value__in=own, submission_id__gt=record.pk)
    same_customer = Q(pk__in=sharing.values("submission_id"))
    # Records written before identifiers were indexed are still matched by their columns.
    for column in ("email", "phone", "profile_id"):
        if value := getattr(record, column):
            same_customer |= Q(**{column: value})
    newer = visible.filter(same_customer, pk__gt=record.pk, connection=record.connection)
    if until is not None:
        newer = newer.filter(pk__lt=until)
    return list(newer.only(*LIST_COLUMNS).order_by("-id")[:SHOWN])[::-1]


@dataclass
class Newer:
    """A newer record and how its request differs from the one about to be sent again
    (None: not compared, as for a batch or a purged body)."""

    record: Submission
    changes: list[Change] | None


def compared(record: Submission, newer: list[Submission]) -> list[Newer]:
    if _is_batch(record.operation):
        return [Newer(other, None) for other in newer]
    return [
        Newer(other, None if _is_batch(other.operation) else body_diff(record, other))
        for other in newer
    ]
