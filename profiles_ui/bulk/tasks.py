"""Background work of bulk batches: the one module that hands work to the task workers.

Whichever django.tasks backend is configured runs it (database or RQ). The check and the
sending it starts (check.py, send.py) never import this module back.
"""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from profiles_ui.bulk import check, outcomes, send
from profiles_ui.models import Batch, BatchChunk


@task()
def check_batch(batch_id: int) -> None:
    """Map and validate the rows of a batch queued for checking, and plan its chunks."""
    check.run_check(batch_id)


@task()
def send_batch(batch_id: int) -> None:
    """Send a queued bulk batch; a second run for the same batch finds it claimed and ends."""
    send.send(batch_id)


def queue_check(batch: Batch) -> None:
    """Hand the check to the workers: a million rows take longer than a page should wait."""
    start_check(batch)
    transaction.on_commit(lambda: check_batch.enqueue(batch.pk))


def start_check(batch: Batch) -> None:
    """Put a draft or checked batch in the state its check runs in; check_batch then checks
    it, in a worker (queue_check) or in the process that asks (`manage.py bulk_import`)."""
    updated = Batch.objects.filter(
        pk=batch.pk, state__in=(Batch.State.DRAFT, Batch.State.CHECKED)
    ).update(
        state=Batch.State.CHECKING,
        checked_rows=0,
        estimated_rows=check.estimate_rows(batch),
        heartbeat_at=timezone.now(),
        error="",
    )
    if not updated:
        raise check.BatchError("this batch has already been sent")


def queue_send(batch: Batch) -> None:
    """Hand a checked batch to the workers once the state change is committed."""
    start_send(batch)
    transaction.on_commit(lambda: send_batch.enqueue(batch.pk))


def start_send(batch: Batch) -> None:
    """Queue a checked batch for send_batch, run by a worker (queue_send) or in the process
    that asks (`manage.py bulk_import`)."""
    if not batch.valid_rows:
        raise check.BatchError("no row of this batch is valid: there is nothing to send")
    updated = Batch.objects.filter(pk=batch.pk, state=Batch.State.CHECKED).update(
        state=Batch.State.QUEUED
    )
    if not updated:
        raise check.BatchError("this batch is not waiting to be sent")


def retry(batch: Batch, *, user: AbstractBaseUser) -> Batch:
    """A new batch of this batch's failed rows a retry can help, same file, mapping and
    options, being checked."""
    retry_batch = send.follow_up_batch(batch, user=user, rows=Batch.ParentRows.RETRYABLE)
    queue_check(retry_batch)
    return retry_batch


def import_instead(batch: Batch, *, user: AbstractBaseUser, chunk: BatchChunk | None) -> Batch:
    """A new batch importing the rows this batch's update did not find (of `chunk` alone if
    given), being checked; nothing is sent before its preview is confirmed."""
    if batch.operation not in outcomes.IMPORT_INSTEAD:
        raise check.BatchError("this batch is not an update: no row went unfound by one")
    operation = outcomes.import_operation(batch)
    if operation is None:
        raise check.BatchError(f"an import cannot match profiles by {batch.matching}")
    follow_up = send.follow_up_batch(
        batch, user=user, rows=Batch.ParentRows.NOT_FOUND, chunk=chunk, operation=operation
    )
    queue_check(follow_up)
    return follow_up


def resume(*, stale_after: int | None = None) -> list[int]:
    """Queue again the batches a dead worker left behind; returns their IDs.

    With `stale_after=None` every running batch is taken as abandoned: right for a worker
    that is starting and is the only one. Queued batches are queued again too, since their
    task may have died with the worker; a second task for one batch finds it claimed and ends.
    A check that stopped is started again from the first row.
    """
    checking = Q(state=Batch.State.CHECKING)
    if stale_after is not None:
        checking &= Q(heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_after))
    for batch_id in Batch.objects.filter(checking).values_list("pk", flat=True):
        check_batch.enqueue(batch_id)

    running = Q(state=Batch.State.RUNNING)
    if stale_after is not None:
        running &= Q(heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_after))
    ids = list(
        Batch.objects.filter(running | Q(state=Batch.State.QUEUED)).values_list("pk", flat=True)
    )
    Batch.objects.filter(running, pk__in=ids).update(state=Batch.State.QUEUED)
    for batch_id in ids:
        send_batch.enqueue(batch_id)
    return ids
