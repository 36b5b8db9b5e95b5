"""Bulk import pages: upload, mapping, the validation preview and the invalid-rows file."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles_ui.bulk import check, tasks
from profiles_ui.models import Batch, SavedMapping
from tests.helpers import (
    IMMEDIATE_TASKS,
    checked,
    csv_bytes,
    map_columns,
    people,
    upload,
)

pytestmark = [
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def marketer(client_for, sandbox, settings):
    settings.TASKS = IMMEDIATE_TASKS
    return client_for("marketer")


def test_upload_guesses_the_mapping(marketer):
    batch = upload(marketer, csv_bytes(people(2), delimiter=";"))
    form = marketer.get(reverse("bulk_mapping", args=[batch.pk])).context["form"]
    guesses = [form[f"field_{i}"].value() for i in range(4)]
    assert guesses == ["email", "_fname", "custom:loyalty_level", "phones"]
    assert batch.delimiter == ";"


def test_upload_refuses_other_files(marketer):
    response = marketer.post(
        reverse("bulk_upload"),
        {"file": io.BytesIO(b"x"), "connection": "sandbox", "operation": "profiles/import_batch"},
    )
    assert "Choose a .csv, .jsonl or .json file" in response.content.decode()


def test_scenario_operation_needs_a_scenario(marketer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = marketer.post(
        reverse("bulk_upload"),
        {
            "file": SimpleUploadedFile("a.csv", b"email\na@example.com\n"),
            "connection": "sandbox",
            "operation": "workflows/import_and_start_batch",
        },
    )
    assert "Choose the scenario the profiles enter." in response.content.decode()


def test_matching_needs_its_column(marketer):
    batch = upload(marketer, csv_bytes(people(2)))
    response = map_columns(marketer, batch, {"email": ""})
    assert "Map a column to email: email matching needs it." in response.content.decode()


def test_preview_counts_and_shows_problems_on_their_column(marketer):
    rows = people(3) + [["not-an-email", "X", "seven", "+7900"]]
    batch = checked(marketer, csv_bytes(rows))
    assert (batch.total_rows, batch.valid_rows, batch.invalid_rows) == (4, 3, 1)
    page = marketer.get(reverse("bulk_preview", args=[batch.pk])).content.decode()
    assert "email: not a valid email address" in page
    assert "loyalty_level: must be an integer" in page
    assert "Send the 3 valid rows only" in page


def test_a_phone_with_no_such_country_code_is_an_invalid_row(marketer):
    rows = [*people(1), ["b@example.com", "B", "1", "+99912345678"]]
    batch = checked(marketer, csv_bytes(rows))
    assert (batch.state, batch.valid_rows, batch.invalid_rows) == (Batch.State.CHECKED, 1, 1)
    (cells,) = [c for c in batch.invalid_sample[0]["cells"] if c[0] == "phone"]
    assert cells[2] == ["'+99912345678' is not a phone number"]


def test_invalid_rows_file_lists_every_invalid_row_with_its_problems(marketer):
    rows = [["bad1", "A", "1", ""], *people(2), ["bad2", "B", "x", ""]]
    batch = checked(marketer, csv_bytes(rows))
    response = marketer.get(reverse("bulk_invalid_rows", args=[batch.pk]))
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows Cyrillic right
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == [
        "row",
        "identifier",
        "problems",
        "email",
        "first_name",
        "loyalty_level",
        "phone",
    ]
    assert [line[0] for line in lines[1:]] == ["1", "4"]
    assert lines[2][1] == "bad2"  # the identifier column is filled for invalid rows too
    assert lines[2][2] == ("email: not a valid email address; loyalty_level: must be an integer")
    assert lines[2][3:] == ["bad2", "B", "x", ""]


def test_subscription_columns_are_validated_per_subscription(marketer):
    content = csv_bytes([["a@example.com", "+7"]], header=["email", "sms_sub_3"])
    batch = checked(marketer, content)
    sample = batch.invalid_sample[0]["cells"]
    assert sample[1][0] == "sms_sub_3"
    assert sample[1][2] == ["'+7' is not a phone number"]


def test_saved_mapping_is_offered_and_applied(marketer):
    batch = upload(marketer, csv_bytes(people(1)))
    map_columns(marketer, batch, {"first_name": "_lname"}, save_as="Shop export")
    saved = SavedMapping.objects.get(name="Shop export")
    second = upload(marketer, csv_bytes(people(1)))
    form = marketer.get(reverse("bulk_mapping", args=[second.pk]), {"saved": saved.pk}).context[
        "form"
    ]
    assert form["field_1"].value() == "_lname"


def test_empty_cells_cannot_clear_with_add_batch(marketer):
    batch = upload(marketer, csv_bytes(people(1)), operation="profiles/add_batch")
    response = map_columns(marketer, batch, empty_cells="clear", matching=False)
    assert (
        "profiles/add_batch stores rows as they are; it cannot clear." in response.content.decode()
    )


def test_a_batch_is_seen_by_its_owner_and_by_support_only(marketer, make_user, client_for):
    batch = upload(marketer, csv_bytes(people(1)))
    other = Client()
    other.force_login(make_user("marketer", username="another-marketer"))
    url = reverse("bulk_progress", args=[batch.pk])
    assert other.get(url).status_code == 404
    assert client_for("support").get(url).status_code == 200


@pytest.fixture
def queued_tasks(settings):
    """Tasks wait in the database for a worker, as under `make run`."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_the_check_runs_in_the_background_with_a_progress_bar(marketer, queued_tasks):
    from django_tasks_db.models import DBTaskResult

    batch = upload(marketer, csv_bytes(people(3)))
    response = map_columns(marketer, batch, {"phone": ""})

    assert response["Location"] == reverse("bulk_preview", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.state == Batch.State.CHECKING
    assert (batch.checked_rows, batch.estimated_rows) == (0, 3)
    assert DBTaskResult.objects.filter(task_path="profiles_ui.bulk.tasks.check_batch").count() == 1
    page = marketer.get(reverse("bulk_preview", args=[batch.pk])).content.decode()
    assert "Checked 0 of about 3 rows" in page
    assert 'hx-trigger="every 1s"' in page
    assert "Nothing has been sent yet." in page
    mapping = marketer.get(reverse("bulk_mapping", args=[batch.pk]))
    assert mapping["Location"] == reverse("bulk_preview", args=[batch.pk])


def test_the_checking_page_reloads_itself_once_the_check_is_done(marketer, queued_tasks):
    batch = upload(marketer, csv_bytes(people(3)))
    map_columns(marketer, batch, {"phone": ""})
    url = reverse("bulk_preview", args=[batch.pk])
    poll = marketer.get(url, headers={"HX-Request": "true"})
    assert "Checked 0 of about 3 rows" in poll.content.decode()
    assert "<h1>" not in poll.content.decode()

    check.run_check(batch.pk)  # what the worker does

    assert marketer.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    assert "<strong>3</strong> valid" in marketer.get(url).content.decode()


def test_a_check_that_fails_goes_back_to_the_mapping_with_the_reason(marketer, settings):
    settings.BULK_MAX_ROWS = 2
    batch = checked(marketer, csv_bytes(people(3)), {"phone": ""})

    assert batch.state == Batch.State.DRAFT
    url = reverse("bulk_preview", args=[batch.pk])
    # The polling checking page reloads as a whole rather than swapping the mapping page in.
    assert marketer.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    page = marketer.get(url, follow=True)
    assert "The check stopped: the file has more than 2 rows." in page.content.decode()


def test_a_check_left_behind_by_a_dead_worker_is_started_again(marketer, queued_tasks):
    from django_tasks_db.models import DBTaskResult

    batch = upload(marketer, csv_bytes(people(3)))
    map_columns(marketer, batch, {"phone": ""})
    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    tasks.resume(stale_after=60)

    assert DBTaskResult.objects.filter(task_path="profiles_ui.bulk.tasks.check_batch").count() == 2


def test_a_check_in_worker_processes_plans_and_reports_as_one_process(
    marketer, settings, monkeypatch
):
    rows = people(30)
    rows[4] = ["bad1", "A", "1", ""]
    rows[17] = ["c@example.com", "C", "x", "+7900"]
    content = csv_bytes(rows)
    settings.BULK_CHECK_PARALLEL_FROM = 0
    settings.BULK_CHECK_PROCESSES = 1
    alone = checked(marketer, content)

    pools: list[int] = []

    class RecordedPool(check.ProcessPoolExecutor):
        def __init__(self, processes: int, **kwargs) -> None:
            pools.append(processes)
            super().__init__(processes, **kwargs)

    monkeypatch.setattr(check, "ProcessPoolExecutor", RecordedPool)
    monkeypatch.setattr(check, "BLOCK", 2)  # 15 blocks, more than are ever in flight
    settings.BULK_CHECK_PROCESSES = 2
    spread = checked(marketer, content)

    assert pools == [2]
    counts = ("state", "total_rows", "valid_rows", "invalid_rows", "invalid_sample")
    assert [getattr(spread, name) for name in counts] == [getattr(alone, name) for name in counts]
    assert [s["row"] for s in spread.invalid_sample] == [5, 18]
    assert spread.invalid_file.read() == alone.invalid_file.read()
    plan = ("index", "first_row", "row_count", "rows", "identifiers", "body_sha256")
    assert list(spread.chunks.values_list(*plan)) == list(alone.chunks.values_list(*plan))


def test_a_check_can_be_stopped_and_stops_at_its_next_progress_save(
    marketer, settings, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch = upload(marketer, csv_bytes(people(30)))
    map_columns(marketer, batch)  # queued: no worker runs it yet
    batch.refresh_from_db()
    assert batch.state == Batch.State.CHECKING
    page = marketer.get(reverse("bulk_preview", args=[batch.pk])).content.decode()
    assert "Stop the check" in page

    monkeypatch.setattr(check, "PROGRESS_INTERVAL", 0)  # saved after every block
    monkeypatch.setattr(check, "BLOCK", 5)  # progress is counted a block at a time
    read = check.selected_records

    handed: list[int] = []

    def stopped_midway(batch: Batch):
        for index, (number, record) in enumerate(read(batch)):
            if index == 15:  # the user stops it while the worker is at row 16
                response = marketer.post(reverse("bulk_stop_check", args=[batch.pk]))
                assert response.url == reverse("bulk_mapping", args=[batch.pk])
            handed.append(number)
            yield number, record

    monkeypatch.setattr(check, "selected_records", stopped_midway)
    check.run_check(batch.pk)

    assert len(handed) == 20  # it read no row past its next progress save
    batch.refresh_from_db()
    assert (batch.state, batch.checked_rows, batch.total_rows) == (Batch.State.DRAFT, 15, 0)
    page = marketer.get(reverse("bulk_mapping", args=[batch.pk])).content.decode()
    assert "The check stopped: marketer stopped it after 15 rows; nothing was sent." in page


def test_stopping_a_check_that_has_ended_changes_nothing(marketer, make_user):
    batch = checked(marketer, csv_bytes(people(2)))
    other = Client()
    other.force_login(make_user("marketer", username="another-marketer"))
    assert other.post(reverse("bulk_stop_check", args=[batch.pk])).status_code == 404

    response = marketer.post(reverse("bulk_stop_check", args=[batch.pk]))

    assert response.url == reverse("bulk_preview", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.state == Batch.State.CHECKED


def test_rate_and_time_left_show_while_sending_and_go_when_done(marketer):
    batch = checked(marketer, csv_bytes(people(3)))
    Batch.objects.filter(pk=batch.pk).update(
        state=Batch.State.RUNNING, started_at=timezone.now() - timedelta(seconds=2)
    )
    page = marketer.get(reverse("bulk_progress", args=[batch.pk])).content.decode()
    assert 'data-stat="rate">measured after the first request' in page
    assert '<button type="submit" class="secondary">Cancel the batch</button>' in page

    Batch.objects.filter(pk=batch.pk).update(state=Batch.State.FINISHED, finished_at=timezone.now())
    page = marketer.get(reverse("bulk_progress", args=[batch.pk])).content.decode()
    assert 'data-stat="rate"' not in page and 'data-stat="left"' not in page
