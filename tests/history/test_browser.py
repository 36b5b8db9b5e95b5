"""The history in a real browser: filter, search, open a record, lineage, diff, resend."""

import re

import pytest
from playwright.sync_api import expect

from profiles_ui import services
from tests.helpers import make_record

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def send(user, sandbox, db_id: int, name: str, **options):
    payload = {
        "db_id": db_id,
        "matching": "email",
        "email": "ann@example.com",
        "data": {"email": "ann@example.com", "_fname": name},
    }
    return services.submit(
        user=user, connection=sandbox, operation="profiles/import", payload=payload, **options
    )


@pytest.fixture
def history(sandbox, log_in, django_user_model):
    page = log_in("support")
    user = django_user_model.objects.get(username="support")
    rejected = send(user, sandbox, 999, "An")
    fixed = send(user, sandbox, 1, "Ann", parent=rejected, reason="right database")
    other = services.submit(
        user=user,
        connection=sandbox,
        operation="profiles/import",
        payload={"db_id": 1, "matching": "email", "email": "bob@example.com", "data": {}},
    )
    return page, rejected, fixed, other


def test_filter_search_open_lineage_diff_and_resend(history, screenshot):
    page, rejected, fixed, other = history
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("#history-results")).to_contain_text("3 records")
    screenshot("history-list")

    page.get_by_label("State").select_option(label="Rejected by Altcraft")
    expect(page.locator("#history-results")).to_contain_text("1 record")
    expect(page).to_have_url(re.compile(r"state=rejected"))
    expect(page.locator("#history-results")).to_contain_text("404")

    page.get_by_label("State").select_option(label="Any state")
    # htmx drops a second request from the form while the first is in flight: wait for it.
    expect(page.locator("#history-results")).to_contain_text("3 records")
    page.get_by_label("Search").fill("bob@example.com")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#history-results")).to_contain_text("1 record")
    expect(page.locator("#history-results")).to_contain_text("bob@example.com")

    page.goto("/history/?q=ann@example.com")
    page.get_by_role("link", name=f"#{fixed.pk}").click()
    expect(page.get_by_role("heading", name=f"Record #{fixed.pk}")).to_be_visible()
    lineage = page.locator(".lineage")
    expect(lineage).to_contain_text(f"#{rejected.pk}")
    expect(lineage).to_contain_text("right database")
    diff = page.locator("table.diff")
    expect(diff.locator("tr.diff-changed", has_text="db_id")).to_contain_text("999")
    expect(diff.locator("tr.diff-changed", has_text="data._fname")).to_contain_text('"Ann"')
    expect(page.get_by_role("button", name="Copy request body")).to_be_visible()
    screenshot("history-record")

    page.get_by_role("link", name="Resend identical…").click()
    expect(page.locator(".badge.sandbox")).to_contain_text("a test environment")
    expect(page.get_by_label("Reason")).to_have_attribute("required", "")
    page.get_by_label("Reason").fill("customer asked twice")
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text(re.compile(r"Sent again as record \d+: Succeeded"))).to_be_visible()
    expect(page.locator(".lineage")).to_contain_text(f"#{fixed.pk}")
    expect(page.locator("#diff-heading + p")).to_contain_text("identical")
    screenshot("history-resent")


def test_list_on_a_phone_shows_record_time_state_and_customer_with_filters_folded(
    history, screenshot
):
    page = history[0]
    make_record(
        state="transport_failed", error=None, email="olga.petrova-smirnova@example.com"
    )  # the longest state and a long address must still fit
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/history/")
    expect(page.locator("#history-results")).to_contain_text("4 records")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no page scroll
    headers = page.locator(".history-table thead th")
    cells = page.locator(".history-table tbody tr").first.locator("td")
    for column, name in enumerate(["Record", "When", "State", "Customer"]):
        expect(headers.nth(column)).to_contain_text(name)
        for cell in (headers.nth(column), cells.nth(column)):
            expect(cell).to_be_visible()
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    expect(cells.nth(3)).to_contain_text("olga.petrova-smirnova@example.com")
    expect(page.get_by_label("State")).to_be_hidden()
    toggle = page.locator("details.history-filter-toggle > summary")
    expect(toggle).to_have_text("Filters")
    screenshot("history-list-390")

    toggle.click()
    expect(page.get_by_label("State")).to_be_visible()
    page.goto("/history/?state=rejected")  # a filter that is set is shown
    expect(page.get_by_label("State")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_wide_screens_show_the_filters_and_look_up_the_typed_identifier(history):
    page = history[0]
    page.goto("/history/")
    expect(page.get_by_label("State")).to_be_visible()
    expect(page.locator("details.history-filter-toggle > summary")).to_be_hidden()

    page.get_by_label("Search").fill("8 900 123-45-67")
    page.get_by_role("button", name="Look up in Altcraft").click()
    expect(page).to_have_url(re.compile(r"/profile/\?phone=%2B79001234567$"))


def test_record_shows_request_and_response_side_by_side_when_wide(history, screenshot):
    page, _, fixed, _ = history
    page.goto(f"/history/{fixed.pk}/")
    request = page.locator("section[aria-labelledby=request-heading]").bounding_box()
    response = page.locator("section[aria-labelledby=response-heading]").bounding_box()
    assert request["y"] == response["y"] and request["x"] + request["width"] <= response["x"]
    screenshot("history-record-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    request = page.locator("section[aria-labelledby=request-heading]").bounding_box()
    response = page.locator("section[aria-labelledby=response-heading]").bounding_box()
    assert response["y"] >= request["y"] + request["height"]  # stacked on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("history-record-390")


def test_resending_over_a_newer_record_needs_the_tick_on_a_phone_by_keyboard(history, screenshot):
    page, rejected, fixed, _ = history
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/history/{rejected.pk}/resend/")
    newer = page.locator("#newer-records")
    expect(newer.get_by_role("link", name=f"#{fixed.pk}")).to_be_visible()
    expect(newer.locator("li.diff-changed", has_text="db_id")).to_contain_text("999 → 1")
    page.get_by_label("Reason").fill("the fix was wrong")
    page.get_by_role("button", name="Send again").click()
    expect(page.locator("#id_seen_newer_error")).to_contain_text("tick this to send over them")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("history-resend-newer-390")

    tick = page.get_by_label("I have seen the newer records; send anyway")
    tick.focus()
    page.keyboard.press("Space")
    expect(tick).to_be_checked()
    page.keyboard.press("Tab")  # on to the reason, kept from the refused post
    expect(page.get_by_label("Reason")).to_be_focused()
    expect(page.get_by_label("Reason")).to_have_value("the fix was wrong")
    page.get_by_role("button", name="Send again").press("Enter")
    expect(page.get_by_text(re.compile(r"Sent again as record \d+"))).to_be_visible()
    expect(page.locator(".overwrote")).to_contain_text(f"Sent over newer records #{fixed.pk}")


def test_timeline_shows_what_each_record_set_and_the_fields_after_it(history, screenshot):
    page, rejected, fixed, other = history
    page.goto("/history/timeline/?email=ann@example.com")
    entries = page.locator(".customer-timeline > li")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text(f"#{fixed.pk}")  # newest first
    expect(entries.first).to_contain_text("_fname Ann")
    expect(entries.first.locator(".after")).to_contain_text(f"After #{fixed.pk}:")
    expect(entries.first.locator(".after")).to_contain_text("_fname Ann")
    expect(entries.last).to_contain_text("error 404")
    screenshot("history-timeline")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("history-timeline-390")
    page.get_by_role("link", name="ann@example.com").first.click()
    expect(page).to_have_url(re.compile(r"/profile/\?email=ann%40example.com"))
