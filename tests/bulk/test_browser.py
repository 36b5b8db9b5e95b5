"""In a browser: upload a list, map it, check it, send it, watch the bar reach 100%, download
the report; and the pages at phone width."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import (
    DB_TASKS,
    IMMEDIATE_TASKS,
    checked,
    csv_bytes,
    map_columns,
    people,
    start_worker,
    stop,
    upload,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("media"),
    pytest.mark.django_db(transaction=True),
]
ROWS = 12_000  # two chunks, so the bar has a step in the middle


@pytest.fixture
def worker(sandbox, settings):
    settings.TASKS = DB_TASKS
    process = start_worker(settings, "db_worker", "--interval", "0.2", "--no-startup-delay")
    yield process
    stop(process)


def test_upload_map_check_send_watch_and_download_the_report(worker, page, log_in, screenshot):
    log_in("marketer")
    page.get_by_role("link", name="Bulk").click()
    rows = people(ROWS) + [["not-an-email", "X", "1", ""]]
    page.get_by_label("List (CSV, JSON Lines or a JSON array)").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}
    )
    page.get_by_label("Database").select_option("1")
    screenshot("bulk-upload")
    page.get_by_role("button", name="Upload and map columns").click()

    page.get_by_label("Profile field for column phone").select_option("")
    screenshot("bulk-mapping")
    page.get_by_role("button", name="Check the rows").click()

    assert "email: not a valid email address" in page.locator(".bulk-invalid").inner_text()
    screenshot("bulk-preview")
    page.get_by_role("button", name=f"Send the {ROWS} valid rows only").click()

    bar = page.locator("progress#bulk-bar")
    page.wait_for_function(
        "() => { const bar = document.querySelector('progress#bulk-bar');"
        " return bar && bar.value === bar.max; }",
        timeout=60_000,
    )
    assert bar.get_attribute("max") == str(ROWS)
    page.get_by_text("Finished").wait_for()
    assert page.locator("[data-stat=rate], [data-stat=left]").count() == 0  # nothing is left
    screenshot("bulk-progress")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    report = list(csv.DictReader(io.StringIO(text)))
    assert len(report) == ROWS + 1
    assert sum(line["result"] == "ok" for line in report) == ROWS

    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("bulk-progress-390")


def test_failures_grouped_by_reason_lead_to_an_import_of_the_rows_not_found(
    sandbox, settings, page, log_in, screenshot, django_user_model
):
    settings.TASKS = IMMEDIATE_TASKS
    log_in("support")
    client = Client()
    client.force_login(django_user_model.objects.get(username="support"))
    batch = checked(client, csv_bytes(people(1)), {"phone": ""})
    client.post(reverse("bulk_preview", args=[batch.pk]))
    update = upload(client, csv_bytes(people(4)), operation="profiles/update_batch")
    map_columns(client, update, {"phone": ""})
    client.post(reverse("bulk_preview", args=[update.pk]))

    page.goto(reverse("bulk_progress", args=[update.pk]))
    failures = page.locator(".failure-groups li")
    assert failures.count() == 1
    assert "3 × 404 Object not found" in failures.inner_text()
    assert page.get_by_role("button", name="Retry", exact=False).count() == 0
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("bulk-failures-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot("bulk-failures")

    page.get_by_role("button", name="Import them instead").click()
    page.wait_for_url("**/preview/")
    assert "profiles/import_batch" in page.locator(".bulk-summary").first.inner_text()
    assert "3" in page.get_by_role("button", name="Send", exact=False).first.inner_text()
