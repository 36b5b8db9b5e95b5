"""Background work, run by whichever django.tasks backend is configured (database or RQ)."""

from django.tasks import task

from profiles_ui import batch_sending, batches


@task()
def check_batch(batch_id: int) -> None:
    """Map and validate the rows of a batch queued for checking, and plan its chunks."""
    batches.run_check(batch_id)


@task()
def send_batch(batch_id: int) -> None:
    """Send a queued bulk batch; a second run for the same batch finds it claimed and ends."""
    batch_sending.send(batch_id)
