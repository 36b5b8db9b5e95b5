"""Shared steps of the bulk tests (this module holds no tests)."""

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from profiles_ui.models import Batch

COLUMNS = ["email", "first_name", "loyalty_level", "phone"]


def csv_bytes(rows: list[list], header: list[str] = COLUMNS, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def people(count: int, start: int = 0) -> list[list]:
    return [
        [f"user{i}@example.com", f"Name{i}", str(i % 7), f"+7900{i:07d}"]
        for i in range(start, start + count)
    ]


def upload(client, content: bytes, name: str = "list.csv", **options) -> Batch:
    data = {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"),
        "connection": "sandbox",
        "operation": "profiles/import_batch",
        "db_id": 1,
        "workflow_id": "",
        **options,
    }
    response = client.post(reverse("bulk_upload"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Batch.objects.latest("pk")


def map_columns(client, batch: Batch, fields: dict[str, str] | None = None, **options):
    """Post the mapping form with the automatic guesses, overridden by `fields`."""
    page = client.get(reverse("bulk_mapping", args=[batch.pk]))
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"matching": "email", "empty_cells": "leave", "save_as": ""})
    for header, target in (fields or {}).items():
        i = batch.headers.index(header)
        field, _, sub = target.partition("+")
        data[f"field_{i}"], data[f"sub_{i}"] = field, sub
    for name, value in options.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(reverse("bulk_mapping", args=[batch.pk]), data)


def checked(client, content: bytes, fields: dict[str, str] | None = None, **options) -> Batch:
    batch = upload(client, content)
    response = map_columns(client, batch, fields, **options)
    assert response.status_code == 302, response.content.decode()[:3000]
    return wait_for_check(batch)


def wait_for_check(batch: Batch, seconds: float = 60) -> Batch:
    """The batch once its check has ended, in a worker or (immediate tasks) already."""
    deadline = time.monotonic() + seconds
    batch.refresh_from_db()
    while batch.state == Batch.State.CHECKING:
        assert time.monotonic() < deadline, f"batch {batch.pk} still checking"
        time.sleep(0.1)
        batch.refresh_from_db()
    return batch


IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def media(settings, tmp_path):
    """Uploads in a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
