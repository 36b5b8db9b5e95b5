"""Sending a checked batch: chunks, one record each, the report, retry and cancel."""

import csv
import io
import json

import orjson
import pytest
from django.urls import reverse

from altcraft_sandbox import dedup
from altcraft_sandbox.models import Profile, Subscription
from profiles_ui.bulk.files import chunk_body_path, chunk_folder, chunk_identifiers_path
from profiles_ui.history import identifiers as found
from profiles_ui.models import Batch, Identifier, Submission
from tests.helpers import (
    checked,
    csv_bytes,
    map_columns,
    people,
    send_checked,
    upload,
)

pytestmark = [
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]


def report(client, batch: Batch) -> list[dict]:
    response = client.get(reverse("bulk_report", args=[batch.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_25000_rows_go_in_three_chunks_each_one_record(support):
    batch = send_checked(support, checked(support, csv_bytes(people(25_000)), {"phone": ""}))
    assert batch.state == Batch.State.FINISHED
    chunks = list(batch.chunks.order_by("index"))
    assert [c.row_count for c in chunks] == [10_000, 10_000, 5_000]
    records = Submission.objects.filter(batch_chunk__batch=batch)
    assert sorted(r.request_id for r in records) == sorted(c.request_id for c in chunks)
    assert {r.state for r in records} == {Submission.State.SUCCEEDED}
    assert Profile.objects.filter(database_id=1).count() == 25_000


def test_each_chunk_goes_out_as_the_check_wrote_it_and_its_file_then_goes(support):
    batch = checked(support, csv_bytes(people(3)), {"phone": ""})
    written = chunk_body_path(batch, 0).read_bytes()
    with batch.file.open("wb") as upload_file:  # the upload changes: what was checked goes
        upload_file.write(csv_bytes([["other@example.com", "Other", "1", ""]]))
    batch = send_checked(support, batch)
    assert batch.state == Batch.State.FINISHED
    assert batch.chunks.get().submission.request_body.encode() == written
    assert Profile.objects.filter(email="user0@example.com").exists()
    assert not chunk_folder(batch).exists()


def indexed(batch: Batch) -> set[tuple]:
    record = batch.chunks.get().submission
    return set(Identifier.objects.filter(submission=record).values_list("row", "kind", "value"))


def test_the_check_finds_each_rows_identifiers_and_sending_indexes_them_with_its_row(support):
    batch = checked(support, csv_bytes(people(3)), {"phone": "phones+sms:1"})
    kept = orjson.loads(chunk_identifiers_path(batch, 0).read_bytes())
    body = json.loads(chunk_body_path(batch, 0).read_bytes())
    # What the check kept is what the history would find in the body it wrote.
    assert sorted(map(tuple, kept)) == sorted(found.normalised(found.found_in(body), "RU"))
    batch = send_checked(support, batch)
    rows = indexed(batch)
    assert {(2, "email", "user2@example.com"), (2, "phone", "+79000000002")} <= rows
    assert sum(kind == "profile_id" for _, kind, _ in rows) == 3  # from the answer
    assert not chunk_identifiers_path(batch, 0).exists()


def test_a_chunk_checked_without_its_identifiers_file_indexes_them_from_its_body(support):
    batch = checked(support, csv_bytes(people(2)), {"phone": ""})
    chunk_identifiers_path(batch, 0).unlink()
    batch = send_checked(support, batch)
    assert batch.state == Batch.State.FINISHED
    assert (1, "email", "user1@example.com") in indexed(batch)


def failed_sending_nothing(batch: Batch, error: str) -> None:
    assert (batch.state, batch.error) == (Batch.State.FAILED, error)
    assert not Submission.objects.exists()
    assert not Profile.objects.exists()


def test_a_chunk_body_changed_after_the_check_is_not_sent(support):
    batch = checked(support, csv_bytes(people(3)), {"phone": ""})
    chunk_body_path(batch, 0).write_bytes(b'{"db_id":1,"data":[]}')
    failed_sending_nothing(
        send_checked(support, batch),
        "chunk 1's body is missing or has changed since the batch was checked; "
        "nothing more was sent",
    )


def test_a_connection_changed_after_the_check_sends_nothing(support, settings):
    cloud = {
        "name": "cloud",
        "label": "Cloud",
        "base_url": settings.SANDBOX_BASE_URL,
        "token_env": settings.SANDBOX_TOKEN_ENV,
        "token_placement": "body",
    }
    settings.ALTCRAFT_CONNECTIONS = [cloud]
    batch = upload(support, csv_bytes(people(3)), connection="cloud")
    map_columns(support, batch, {"phone": ""})
    batch.refresh_from_db()
    settings.ALTCRAFT_CONNECTIONS = [{**cloud, "token_placement": "bearer"}]
    failed_sending_nothing(
        send_checked(support, batch),
        "the connection 'cloud' has changed since the batch was checked (where its token "
        "goes); nothing more was sent",
    )


def test_report_has_one_line_per_row_with_its_profile_id(support):
    rows = [["bad", "A", "1", ""], *people(3)]
    batch = send_checked(support, checked(support, csv_bytes(rows), {"phone": ""}))
    lines = report(support, batch)
    assert [(line["row"], line["result"]) for line in lines] == [
        ("1", "invalid"),
        ("2", "ok"),
        ("3", "ok"),
        ("4", "ok"),
    ]
    assert lines[1]["identifier"] == "user0@example.com"
    stored = Profile.objects.get(email="user0@example.com")
    assert lines[1]["profile_id"] == stored.id


def unbound_subscription_rows() -> bytes:
    """Rows 2 and 4 subscribe to resource 9, which database 1 does not have (error 413)."""
    rows = [[f"u{i}@example.com", f"u{i}@example.com" if i % 2 else ""] for i in range(4)]
    return csv_bytes(rows, header=["email", "partners"])


def test_rejected_rows_are_reported_with_altcraft_error_and_meaning(support):
    batch = send_checked(
        support, checked(support, unbound_subscription_rows(), {"partners": "+email:9"})
    )
    failed = [line for line in report(support, batch) if line["result"] == "failed"]
    assert [line["row"] for line in failed] == ["2", "4"]
    assert failed[0]["error"] == "413"
    assert failed[0]["meaning"] == "Database not available in the selected resource"


def test_cancel_before_a_worker_starts_sends_nothing(support, settings):
    batch = checked(support, csv_bytes(people(3)), {"phone": ""})
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch = send_checked(support, batch)
    support.post(reverse("bulk_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.state == Batch.State.CANCELLED
    assert {line["result"] for line in report(support, batch)} == {"not sent"}
    assert not chunk_folder(batch).exists()


def test_cancel_stops_after_the_chunks_already_sent(support, settings):
    settings.BULK_STREAMS = 1

    def cancel_on_first_chunk(**kwargs):
        Batch.objects.update(cancel_requested=True)

    dedup.request_received.connect(cancel_on_first_chunk, weak=False)
    try:
        batch = send_checked(support, checked(support, csv_bytes(people(25_000)), {"phone": ""}))
    finally:
        dedup.request_received.disconnect(cancel_on_first_chunk)
    assert batch.state == Batch.State.CANCELLED
    assert [c.done for c in batch.chunks.order_by("index")] == [True, False, False]
    assert Profile.objects.count() == 10_000
    assert not chunk_folder(batch).exists()


def test_a_push_column_subscribes_each_row_with_the_provider_mapped(support):
    rows = [["a@example.com", "token-a"], ["b@example.com", ""], ["c@example.com", "token-c"]]
    content = csv_bytes(rows, header=["email", "push_token"])
    page = support.get(reverse("bulk_mapping", args=[upload(support, content).pk]))
    assert "Push, ios-apns subscription ID, on Mobile push (4)" in page.content.decode()

    batch = checked(support, content, {"push_token": "+push:4:ios-apns"})
    assert (batch.valid_rows, batch.invalid_rows) == (3, 0)
    batch = send_checked(support, batch)

    assert batch.state == Batch.State.FINISHED
    pushed = Subscription.objects.filter(channel="push").values_list(
        "profile__email", "resource_id", "provider", "identifier"
    )
    assert sorted(pushed) == [
        ("a@example.com", 4, "ios-apns", "token-a"),
        ("c@example.com", 4, "ios-apns", "token-c"),
    ]


def test_retrying_rows_altcraft_never_answered_needs_a_confirmation(support, settings):
    batch = checked(support, csv_bytes(people(3)), {"phone": ""})
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.SANDBOX_FAULTS = "drop; after"  # applied, then the answer is lost, every time
    batch = send_checked(support, batch)
    settings.SANDBOX_FAULTS_ENABLED = False
    assert batch.chunks.get().submission.state == Submission.State.TRANSPORT_FAILED
    progress = reverse("bulk_progress", args=[batch.pk])
    page = support.get(progress).content.decode()
    assert "3 of the failed rows were in requests Altcraft never answered" in page

    refused = support.post(reverse("bulk_retry", args=[batch.pk]), follow=True)
    assert "may already have been applied" in refused.content.decode()
    assert not batch.retries.exists()

    confirmed = support.post(reverse("bulk_retry", args=[batch.pk]), {"confirm_unanswered": "yes"})
    assert confirmed.status_code == 302
    assert batch.retries.count() == 1
