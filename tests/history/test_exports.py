"""Exports: the filtered history as streamed CSV and JSON Lines, safe for spreadsheets."""

import csv
import io
import json

import pytest
from django.urls import reverse

from profiles_ui.history.exports import neutralise
from tests.helpers import make_record


def download(client, name: str, params: dict | None = None) -> str:
    response = client.get(reverse(name), params or {})
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


@pytest.mark.django_db
def test_csv_has_a_header_and_one_row_per_filtered_record(client_for):
    make_record(state="rejected", error=404)
    wanted = make_record()
    text = download(client_for("auditor"), "history_export_csv", {"state": "succeeded"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(row["id"]) for row in rows] == [wanted.pk]
    assert rows[0]["email"] == "ann@example.com"
    assert rows[0]["request_id"] == str(wanted.request_id)


@pytest.mark.django_db
def test_csv_is_a_download(client_for):
    response = client_for("support").get(reverse("history_export_csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="history-')


@pytest.mark.django_db
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(client_for, start):
    make_record(error_text=f'{start}HYPERLINK("http://evil")', phone=f"{start}1555")
    row = next(csv.DictReader(io.StringIO(download(client_for("auditor"), "history_export_csv"))))
    assert row["error_text"].startswith(f"'{start}")
    assert row["phone"] == f"'{start}1555"


def test_numbers_and_plain_text_are_left_alone():
    assert (neutralise(-1), neutralise("ann"), neutralise("")) == (-1, "ann", "")


@pytest.mark.django_db
def test_jsonl_has_one_json_object_per_record(client_for):
    a, b = make_record(), make_record()
    lines = download(client_for("support"), "history_export_jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [b.pk, a.pk]
    assert records[0]["state"] == "succeeded"


@pytest.mark.django_db
def test_bad_filters_give_the_form_back_not_a_file(client_for):
    response = client_for("support").get(reverse("history_export_csv"), {"date_to": "soon"})
    assert response.status_code == 400
    assert "Date to: enter a valid date" in response.content.decode()


@pytest.mark.django_db
def test_marketers_cannot_export(client_for):
    assert client_for("marketer").get(reverse("history_export_csv")).status_code == 403


@pytest.mark.django_db
def test_exports_say_how_a_batch_requests_rows_fared_and_filter_by_it(client_for):
    make_record(rows_outcome="succeeded", rows_failed=0, operation="profiles/import_batch")
    partly = make_record(
        rows_outcome="partly_failed",
        rows_failed=3,
        profile_count=100,
        operation="profiles/import_batch",
    )
    make_record()
    client = client_for("auditor")
    text = download(client, "history_export_csv", {"rows": "partly_failed"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(int(r["id"]), r["rows_outcome"], r["rows_failed"]) for r in rows] == [
        (partly.pk, "partly_failed", "3")
    ]
    lines = download(client, "history_export_jsonl").splitlines()
    exported = [(r["rows_outcome"], r["rows_failed"]) for r in map(json.loads, lines)]
    assert exported == [("", None), ("partly_failed", 3), ("succeeded", 0)]
