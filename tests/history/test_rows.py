"""A search hit inside a batch shows the batch record, the row and that row's own outcome."""

import uuid

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles_ui.history import forms
from profiles_ui.models import Batch, BatchChunk, Identifier
from tests.helpers import make_record, record_ids, recorded_batch

ROWS = [{"email": f"user{i}@example.com", "_fname": f"Name{i}"} for i in range(4)]
RESULTS = [
    {"error": 0, "error_text": "Successful operation", "profile_id": "p-0"},
    {"error": 404, "error_text": "Profile not found", "profile_id": ""},
    {"error": 0, "error_text": "Successful operation", "profile_id": "p-2"},
    {"error": 409, "error_text": "Duplicate email", "profile_id": ""},
]


def batch_record(user, rows=ROWS, results=RESULTS, **answer):
    answer = {"error_text": "Successful operation", **answer}
    return recorded_batch(user, rows, results, operation="profiles/update_batch", **answer)


def chunk_of(record, file_rows):
    batch = Batch.objects.create(
        file="bulk/list.csv", original_name="list.csv", kind="csv", encoding="utf-8",
        connection="sandbox", operation="profiles/update_batch", username="support",
    )  # fmt: skip
    return BatchChunk.objects.create(
        batch=batch, index=0, first_row=file_rows[0], row_count=len(file_rows),
        request_id=uuid.uuid4(), body_sha256="0" * 64, rows=file_rows,
        identifiers=[row["email"] for row in ROWS], submission=record,
    )  # fmt: skip


def about_cell(html: str, pk: int) -> str:
    start = html.index('<td class="about">', html.index(f'<a href="/history/{pk}/">#{pk}</a>'))
    return html[start : html.index("</td>", start)]


@pytest.fixture
def support(client_for, django_user_model):
    client = client_for("support")
    return client, django_user_model.objects.get(username="support")


@pytest.mark.django_db
@pytest.mark.parametrize("hits_by_id", [1_000, 0])
def test_a_failed_row_shows_its_row_file_row_and_its_own_error(support, monkeypatch, hits_by_id):
    # With 0, the one hit is past HITS_BY_ID: records and rows are found by a subquery.
    monkeypatch.setattr(forms, "HITS_BY_ID", hits_by_id)
    client, user = support
    record = batch_record(user)
    chunk_of(record, [2, 3, 5, 8])
    response = client.get(reverse("history"), {"q": "user1@example.com", "match": "exact"})
    assert record_ids(response) == [record.pk]
    cell = about_cell(response.content.decode(), record.pk)
    assert "row 2 (file row 3):" in cell
    assert "error 404" in cell and "Profile not found" in cell
    assert "succeeded" not in cell


@pytest.mark.django_db
def test_a_succeeded_row_shows_success_and_its_profile_id_linked(support):
    client, user = support
    record = batch_record(user)
    response = client.get(reverse("history"), {"q": "user2@example.com", "match": "exact"})
    cell = about_cell(response.content.decode(), record.pk)
    assert "row 3:" in cell and "file row" not in cell  # sent from the builder, not a file
    assert "succeeded" in cell
    assert 'href="/profile/?profile_id=p-2&amp;db_id=1&amp;connection=sandbox"' in cell


@pytest.mark.django_db
def test_a_request_that_failed_as_a_whole_gives_each_row_its_error(support):
    client, user = support
    record = batch_record(user, results=None, state="rejected", error=400, error_text="bad db")
    response = client.get(reverse("history"), {"q": "user3@example.com", "match": "exact"})
    cell = about_cell(response.content.decode(), record.pk)
    assert "row 4:" in cell and "error 400" in cell and "bad db" in cell


@pytest.mark.django_db
def test_rows_beyond_the_first_few_are_counted_as_more(support):
    client, user = support
    record = batch_record(user)
    response = client.get(reverse("history"), {"q": "example.com", "match": "contains"})
    cell = about_cell(response.content.decode(), record.pk)
    assert [f"row {n}" in cell for n in (1, 2, 3, 4)] == [True, True, True, False]
    assert "more rows match" in cell


@pytest.mark.django_db
def test_the_rows_cost_the_same_queries_however_many_batches_match(support):
    client, user = support
    for _ in range(2):
        batch_record(user)
    with CaptureQueriesContext(db) as two:
        client.get(reverse("history"), {"q": "user1@example.com", "match": "exact"})
    for _ in range(6):
        chunk_of(batch_record(user), [1, 2, 3, 4])
    with CaptureQueriesContext(db) as eight:
        response = client.get(reverse("history"), {"q": "user1@example.com", "match": "exact"})
    assert len(record_ids(response)) == 8
    assert len(eight.captured_queries) == len(two.captured_queries)
    assert response.content.decode().count("row 2 (file row 2):") == 6


@pytest.mark.django_db
def test_a_page_searches_the_identifiers_once(support):
    # The identifiers found for the records are the ones whose rows the page shows.
    client, user = support
    batch_record(user)
    with CaptureQueriesContext(db) as page:
        response = client.get(reverse("history"), {"q": "user1@example", "match": "contains"})
    assert "row 2:" in about_cell(response.content.decode(), record_ids(response)[0])
    assert len([q for q in page.captured_queries if "user1@" in q["sql"]]) == 1


@pytest.mark.django_db
def test_a_single_request_lists_no_rows(support):
    client, _ = support
    record = make_record()
    Identifier.objects.create(submission=record, row=None, kind="email", value="ann@example.com")
    response = client.get(reverse("history"), {"q": "ann@example.com", "match": "exact"})
    cell = about_cell(response.content.decode(), record.pk)
    assert 'href="/profile/?email=ann%40example.com' in cell
    assert "matched-rows" not in cell
