"""In a browser: upload a list, map it, check it, send it, watch the bar reach 100%, download
the report; and the pages at phone width."""

import csv
import io

import pytest

from tests.helpers import DB_TASKS, csv_bytes, people, start_worker, stop

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
