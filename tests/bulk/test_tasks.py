"""Batches sent by real worker processes: a worker killed mid-batch, and RQ on Redis."""

import os
import signal

import pytest
from django.core.management import call_command
from django.urls import reverse

from altcraft_sandbox import dedup
from altcraft_sandbox.models import Profile
from profiles_ui.bulk import report
from profiles_ui.models import Batch, Submission
from tests.helpers import (
    DB_TASKS,
    RQ_REDIS,
    checked,
    csv_bytes,
    people,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]


def state(batch: Batch) -> str:
    return Batch.objects.values_list("state", flat=True).get(pk=batch.pk)


@pytest.fixture
def support(client_for, sandbox, settings):
    settings.TASKS = DB_TASKS
    return client_for("support")


def test_a_worker_killed_mid_batch_resumes_without_writing_or_counting_twice(support, settings):
    arrived: list[str] = []
    worker = start_worker(settings, "db_worker", "--interval", "0.2", "--no-startup-delay")
    batch = checked(support, csv_bytes(people(25_000)), {"phone": ""})  # by the worker

    def kill_on_second_chunk(request_id: str, **kwargs) -> None:
        arrived.append(request_id)
        if len(arrived) == 2:
            # The request is applied, but its answer never reaches the worker.
            os.kill(worker.pid, signal.SIGKILL)

    dedup.request_received.connect(kill_on_second_chunk, weak=False)
    try:
        support.post(reverse("bulk_preview", args=[batch.pk]))
        worker.wait(timeout=90)
        assert state(batch) == Batch.State.RUNNING
        second = batch.chunks.get(index=1)
        assert second.submission.state == Submission.State.PENDING
        call_command("resume_batches", all=True)
        worker = start_worker(settings, "db_worker", "--interval", "0.2", "--no-startup-delay")
        wait_for(lambda: state(batch) == Batch.State.FINISHED)
    finally:
        dedup.request_received.disconnect(kill_on_second_chunk)
        stop(worker)
    assert Profile.objects.filter(database_id=1).count() == 25_000
    second.refresh_from_db()
    assert second.submission.state == Submission.State.DUPLICATE
    progress = report.progress(batch)
    assert (progress.sent, progress.succeeded, progress.failed) == (25_000, 25_000, 0)
    lines = list(report.report_rows(batch))
    assert [line[0] for line in lines] == list(range(1, 25_001))
    assert {line[2] for line in lines} == {"ok"}


def test_a_batch_goes_through_rq_on_redis(support, settings):
    import django_rq

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": RQ_REDIS, "DEFAULT_TIMEOUT": 600}}
    queue = django_rq.get_queue("default")
    queue.empty()
    worker = start_worker(
        settings,
        "rqworker",
        "--job-class",
        "django_tasks_rq.Job",
        "default",
        REDIS_URL=RQ_REDIS,
        TASKS_BACKEND="rq",
    )
    try:
        batch = checked(support, csv_bytes(people(50)), {"phone": ""})  # by the worker
        assert batch.state == Batch.State.CHECKED
        support.post(reverse("bulk_preview", args=[batch.pk]))
        wait_for(lambda: state(batch) == Batch.State.FINISHED, timeout=60)
    finally:
        stop(worker)
        queue.empty()
    assert report.progress(batch).succeeded == 50
    assert Profile.objects.filter(email="user49@example.com").exists()
