"""Failed rows grouped by reason, and the next step each reason gets: import the rows an
update did not find, retry only what a retry can help, fix a chunk's rows on its mapping."""

import pytest
from django.urls import reverse

from altcraft_sandbox import dedup
from altcraft_sandbox.models import Profile
from profiles_ui.bulk import outcomes
from profiles_ui.models import Batch, RowsOutcome, Submission
from tests.bulk.test_send import unbound_subscription_rows
from tests.helpers import checked, csv_bytes, people, send_checked, upload, wait_for_check

pytestmark = [
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]


def update_of(client, rows: list[list], before_sending=lambda: None) -> Batch:
    """An update of `rows` (people() rows), matched by email, checked and sent."""
    batch = upload(client, csv_bytes(rows), operation="profiles/update_batch")
    response = client.post(reverse("bulk_mapping", args=[batch.pk]), mapping_data(client, batch))
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = wait_for_check(batch)
    before_sending()
    return send_checked(client, batch)


def mapping_data(client, batch: Batch) -> dict:
    form = client.get(reverse("bulk_mapping", args=[batch.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"matching": "email", "empty_cells": "leave", "save_as": ""})
    data[f"field_{batch.headers.index('phone')}"] = ""
    return data


def imported_first(client, rows: list[list]) -> None:
    assert send_checked(client, checked(client, csv_bytes(rows), {"phone": ""})).state == "finished"


def test_an_update_of_missing_profiles_is_partly_failed_with_404_grouped(support):
    imported_first(support, people(1))
    batch = update_of(support, people(3))  # rows 1..3 of the file; only row 1 exists

    record = batch.chunks.get().submission
    assert record.state == Submission.State.SUCCEEDED
    assert (record.rows_outcome, record.rows_failed) == (RowsOutcome.PARTLY_FAILED, 2)

    page = support.get(reverse("bulk_progress", args=[batch.pk])).content.decode()
    assert "2 × 404 Object not found within the token" in page
    # Each example row's identifier links to the customer's live profile.
    link = '<a href="/profile/?email=user1%40example.com&amp;db_id=1&amp;connection=sandbox"'
    assert f'row 2 ({link} class="profile-link">user1@example.com</a>)' in page
    assert "Import them instead" in page
    # Nothing here a retry can help: no retry offered, and the page says why.
    assert "Retry the" not in page
    assert "2 rows answered 404 Object not found" in page
    assert "a retry cannot help them; import them instead" in page


def test_import_them_instead_prepares_an_import_of_exactly_those_rows(support):
    imported_first(support, people(1))
    batch = update_of(support, people(3))

    response = support.post(reverse("bulk_import_instead", args=[batch.pk]))

    follow_up = Batch.objects.get(parent=batch)
    assert response.url == reverse("bulk_preview", args=[follow_up.pk])
    assert follow_up.operation == "profiles/import_batch"
    assert (follow_up.columns, follow_up.matching, follow_up.file.name) == (
        batch.columns,
        batch.matching,
        batch.file.name,
    )
    assert follow_up.state == Batch.State.CHECKED  # checked, not sent: the preview asks first
    assert [c.rows for c in follow_up.chunks.all()] == [[2, 3]]
    assert not Profile.objects.filter(email="user1@example.com").exists()

    follow_up = send_checked(support, follow_up)
    assert follow_up.chunks.get().submission.rows_outcome == RowsOutcome.SUCCEEDED
    assert Profile.objects.filter(email__in=["user1@example.com", "user2@example.com"]).count() == 2


def test_import_instead_is_refused_with_a_reason_when_no_row_went_unfound(support):
    batch = send_checked(support, checked(support, csv_bytes(people(2)), {"phone": ""}))
    page = support.post(reverse("bulk_import_instead", args=[batch.pk]), follow=True)
    assert "Import them instead: this batch is not an update" in page.content.decode()
    assert not batch.retries.exists()


def test_data_errors_say_fix_the_file_and_are_not_retried(support):
    batch = send_checked(
        support, checked(support, unbound_subscription_rows(), {"partners": "+email:9"})
    )
    page = support.get(reverse("bulk_progress", args=[batch.pk])).content.decode()
    assert "2 × 413 Database not available in the selected resource" in page
    assert "fix the file or the mapping" in page
    assert reverse("bulk_report", args=[batch.pk]) in page
    assert "Retry the" not in page

    refused = support.post(reverse("bulk_retry", args=[batch.pk]), follow=True).content.decode()
    assert "Retry: no failed row is one a retry can help." in refused
    assert not batch.retries.exists()


@pytest.fixture
def first_chunk_unanswered(settings):
    """Once armed, the next request that writes is applied but answered HTTP 500; the ones
    after it are answered."""
    settings.BULK_STREAMS = 1

    def arm():
        settings.SANDBOX_FAULTS = "status=500; after"
        settings.SANDBOX_FAULTS_ENABLED = True

    def answer_the_rest(**kwargs):
        settings.SANDBOX_FAULTS_ENABLED = False

    dedup.request_received.connect(answer_the_rest, weak=False)
    yield arm
    dedup.request_received.disconnect(answer_the_rest)


def test_retry_offers_only_the_rows_a_retry_can_help_and_says_why(support, first_chunk_unanswered):
    # Chunk 1: 10,000 rows, answered HTTP 500; chunk 2: 3 rows, none of them found.
    batch = update_of(support, people(10_003), first_chunk_unanswered)
    first, second = (c.submission for c in batch.chunks.order_by("index"))
    assert (first.state, first.rows_outcome) == (Submission.State.OUTCOME_UNKNOWN, "failed")
    assert (second.state, second.rows_outcome) == (Submission.State.SUCCEEDED, "failed")

    page = support.get(reverse("bulk_progress", args=[batch.pk])).content.decode()
    assert "10000 × HTTP 500: outcome unknown" in page
    assert "3 × 404 Object not found" in page
    assert "Retry the 10000 failed rows a retry can help" in page
    assert (
        "3 rows answered 404 Object not found within the token&#x27;s visibility: a retry " in page
    )

    # The "may already have been applied" tick is still needed for the unanswered rows.
    refused = support.post(reverse("bulk_retry", args=[batch.pk]), follow=True)
    assert "may already have been applied" in refused.content.decode()
    support.post(reverse("bulk_retry", args=[batch.pk]), {"confirm_unanswered": "yes"})

    retry = Batch.objects.get(parent=batch)
    assert (retry.parent_rows, retry.operation) == ("retryable", "profiles/update_batch")
    assert retry.total_rows == 10_000
    planned = [row for chunk in retry.chunks.order_by("index") for row in chunk.rows]
    assert planned == list(range(1, 10_001))  # the three rows not found are left out


def test_fix_rows_opens_a_chunks_failed_rows_on_the_mapping(support, first_chunk_unanswered):
    batch = update_of(support, people(10_002), first_chunk_unanswered)
    second = batch.chunks.get(index=1)
    record_page = support.get(reverse("history_record", args=[second.submission.pk]))
    html = record_page.content.decode()
    assert "Fix rows…" in html
    assert reverse("bulk_fix_rows", args=[batch.pk]) in html
    assert "Fix and resend" not in html
    first_page = support.get(
        reverse("history_record", args=[batch.chunks.get(index=0).submission.pk])
    )
    assert "may have applied its rows already" in first_page.content.decode()
    assert "may have applied its rows already" not in html

    response = support.post(reverse("bulk_fix_rows", args=[batch.pk]), {"chunk": second.pk})

    fix = Batch.objects.get(parent=batch)
    assert response.url == reverse("bulk_mapping", args=[fix.pk])
    assert (fix.state, fix.parent_chunk, fix.parent_rows) == ("draft", second, "failed")
    mapping = support.get(response.url)
    assert mapping.status_code == 200
    assert mapping.context["form"]["matching"].value() == "email"
    assert f"batch #{batch.pk}</a>, chunk 2: its failed rows only" in mapping.content.decode()
    assert outcomes.selected_rows(batch, fix.parent_rows, fix.parent_chunk) == {10_001, 10_002}

    checked_fix = support.post(response.url, mapping_data(support, fix))
    assert checked_fix.status_code == 302
    fix = wait_for_check(fix)
    assert [c.rows for c in fix.chunks.all()] == [[10_001, 10_002]]


def test_the_record_page_groups_its_chunks_failures_with_the_next_step(support):
    imported_first(support, people(1))
    batch = update_of(support, people(3))
    chunk = batch.chunks.get()
    page = support.get(reverse("history_record", args=[chunk.submission.pk])).content.decode()
    assert "Rows: Partly failed (2 of 3 rows)" in page
    assert "2 × 404 Object not found within the token" in page
    assert 'row 2 (<a href="/profile/?email=user1%40example.com' in page
    assert f'name="chunk" value="{chunk.pk}"' in page
    assert reverse("bulk_import_instead", args=[batch.pk]) in page

    support.post(reverse("bulk_import_instead", args=[batch.pk]), {"chunk": chunk.pk})
    follow_up = Batch.objects.get(parent=batch)
    assert (follow_up.parent_chunk, follow_up.operation) == (chunk, "profiles/import_batch")
    assert [c.rows for c in follow_up.chunks.all()] == [[2, 3]]


def test_a_chunk_of_another_batch_is_not_found(support):
    batch = update_of(support, people(2))
    other = update_of(support, people(2))
    response = support.post(
        reverse("bulk_fix_rows", args=[batch.pk]), {"chunk": other.chunks.get().pk}
    )
    assert response.status_code == 404
    assert (
        support.post(reverse("bulk_fix_rows", args=[batch.pk]), {"chunk": "x"}).status_code == 404
    )
