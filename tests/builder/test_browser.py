"""The builder in Chromium against the live server and its sandbox: what only a browser shows."""

import json

import pytest
from playwright.sync_api import expect

from altcraft_sandbox.models import Profile
from profiles_ui.models import Submission
from tests.helpers import EXAMPLES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


ROWS = {
    "email": ("sub-{i}-email", "olly@example.com"),
    "sms": ("sub-{i}-phone", "+79000000001"),
    "push": ("sub-{i}-subscription_id", "a81c264a938b475"),
    "telegram_bot": ("sub-{i}-cc_id", "12345"),
    "whatsapp": ("sub-{i}-cc_phone", "+79000000002"),
    "viber": ("sub-{i}-cc_phone", "+79000000003"),
    "notify": ("sub-{i}-cc_phone", "+79000000004"),
}
LABELS = {
    "email": "Email",
    "sms": "SMS",
    "push": "Push",
    "telegram_bot": "Telegram bot",
    "whatsapp": "WhatsApp",
    "viber": "Viber",
    "notify": "Notify",
}


@pytest.fixture
def builder(page, log_in, sandbox):
    log_in("marketer")
    page.goto("/builder/")
    return page


def add_row(page, i: int, channel: str) -> None:
    page.get_by_role("button", name=f"Add {LABELS[channel]} subscription").click()
    row = page.locator(f"#row-sub-{i}")
    expect(row).to_be_visible()
    name, value = ROWS[channel]
    if channel == "push":
        row.locator(f'[name="sub-{i}-provider"]').fill("android-firebase")
    row.locator(f'[name="{name.format(i=i)}"]').fill(value)
    # Picking the resource re-renders the row (its fields depend on it), values included.
    with page.expect_response(lambda r: r.request.headers.get("hx-target") == f"row-sub-{i}"):
        row.locator(f'[name="sub-{i}-resource_id"]').select_option(index=1)
    expect(page.locator(f'#row-sub-{i} [name="{name.format(i=i)}"]')).to_have_value(value)


def test_build_every_channel_remove_one_switch_matching_and_send(builder, screenshot):
    page = builder
    page.get_by_label("Database", exact=True).select_option("1")
    expect(page.get_by_label("Loyalty level", exact=True)).to_be_visible()  # page re-rendered
    page.get_by_label("Email to look up", exact=True).fill("olly@example.com")
    page.get_by_label("First name", exact=True).fill("Olly")
    for i, channel in enumerate(ROWS):
        add_row(page, i, channel)
    preview = page.locator("#preview-json")
    expect(preview).to_contain_text('"cc_data":{"id":12345}')
    expect(preview).to_contain_text("+79000000004")
    screenshot("builder")

    page.locator("#id_sub-6-DELETE").check()  # notify
    expect(page.locator("#row-sub-6 .removed-note")).to_be_visible()
    expect(preview).not_to_contain_text("+79000000004")

    page.get_by_label("Matching", exact=True).select_option("email_phone")
    expect(page.get_by_label("Phone to look up", exact=True)).to_be_visible()
    expect(page.locator("#matching")).to_contain_text("finds the profile by its email field or")
    page.get_by_label("Phone to look up", exact=True).fill("+79000000001")
    expect(preview).to_contain_text('"matching":"email_phone"')

    page.get_by_role("button", name="Send to Sandbox").click()
    expect(page.locator("#result")).to_contain_text("Result: Succeeded")
    screenshot("builder-result")
    record = Submission.objects.get()
    assert page.get_by_role("link", name=f"History record #{record.pk}").is_visible()
    profile = Profile.objects.get(pk=record.profile_id)
    assert profile.email == "olly@example.com"
    assert sorted(profile.subscriptions.values_list("channel", flat=True)) == sorted(
        ["email", "sms", "push", "telegram_bot", "whatsapp", "viber"]
    )


def test_preview_shows_problems_linked_to_their_fields(builder, screenshot):
    page = builder
    page.get_by_label("Database", exact=True).select_option("1")
    expect(page.get_by_label("Loyalty level", exact=True)).to_be_visible()
    page.get_by_label("Email to look up", exact=True).fill("not-an-email")
    add_row(page, 0, "sms")
    page.locator('[name="sub-0-phone"]').fill("12345")
    problems = page.locator("#preview .problems")
    expect(problems).to_contain_text("Subscription 1 (SMS) · Phone: not a phone number we can read")
    expect(problems).to_contain_text("Matching · Email to look up: not a valid email address")
    screenshot("builder-preview-errors")
    problems.get_by_role("link", name="Subscription 1 (SMS) · Phone").click()
    expect(page.locator('[name="sub-0-phone"]')).to_be_focused()


def test_paste_a_documented_payload_and_send_it(builder, screenshot):
    page = builder
    page.get_by_text("Paste a payload").click()
    body = (EXAMPLES / "03-profiles-import.multi-channel.request.json").read_text()
    page.get_by_label("Payload (JSON or XML)", exact=True).fill(body)
    page.get_by_role("button", name="Fill the form").click()
    # The documented example subscribes SMS to resource 2, which has no SMS channel here.
    expect(page.locator("#preview .problems")).to_contain_text("Subscription 2 (SMS) · Resource")
    page.locator('[name="sub-1-resource_id"]').select_option("3")
    expect(page.locator("#preview-json")).to_contain_text('"resource_id":3,"channel":"sms"')
    page.get_by_role("button", name="Send to Sandbox").click()
    expect(page.locator("#result")).to_contain_text("Result: Succeeded")
    record = Submission.objects.get()
    sent = json.loads(record.request_body)
    assert sent["data"]["_fname"] == "Olly"
    assert len(sent["data"]["subscriptions"]) == 7
    assert Profile.objects.filter(pk=record.profile_id, email="example@example.com").exists()


def test_keyboard_reaches_the_controls_at_phone_width(builder, screenshot):
    page = builder
    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_role("button", name="Add SMS subscription").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#row-sub-0")).to_be_visible()
    expect(page.locator('[name="sub-0-channel"]')).to_be_focused()  # the new row's first stop
    page.keyboard.press("Tab")
    expect(page.locator('[name="sub-0-resource_id"]')).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("builder-390")


def test_a_national_phone_is_sent_in_e164_and_shown_beside_the_field(builder, screenshot):
    page = builder
    page.get_by_label("Database", exact=True).select_option("1")
    expect(page.get_by_label("Loyalty level", exact=True)).to_be_visible()
    page.get_by_label("Email to look up", exact=True).fill("olly@example.com")
    add_row(page, 0, "sms")
    page.locator('[name="sub-0-phone"]').fill("8 (900) 123-45-67")
    preview = page.locator("#preview-json")
    expect(preview).to_contain_text('"phone":"+79001234567"')
    expect(page.locator("#id_sub-0-phone_sent")).to_have_text("Will be sent as +79001234567")
    expect(page.locator("#preview .problems")).to_have_count(0)
    screenshot("builder-phone")


def test_sms_to_whatsapp_and_back_keeps_the_phone(builder):
    page = builder
    add_row(page, 0, "sms")
    page.locator('[name="sub-0-phone"]').fill("+79001234567")
    expect(page.locator('[name="sub-0-resource_id"]')).to_have_value("1")  # all channels
    page.wait_for_timeout(700)  # the live preview of the typing has answered
    for channel, field in (("whatsapp", "cc_phone"), ("sms", "phone")):
        with page.expect_response(lambda r: r.request.headers.get("hx-target") == "row-sub-0"):
            page.locator('[name="sub-0-channel"]').select_option(channel)
        expect(page.locator(f'[name="sub-0-{field}"]')).to_have_value("+79001234567")
        expect(page.locator('[name="sub-0-resource_id"]')).to_have_value("1")
    expect(page.locator("#preview-json")).to_contain_text(
        '"resource_id":1,"channel":"sms","phone":"+79001234567"'
    )


def test_adding_a_row_moves_the_focus_to_its_channel(builder):
    page = builder
    page.get_by_role("button", name="Add Viber subscription").click()
    expect(page.locator('[name="sub-0-channel"]')).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator('[name="sub-0-resource_id"]')).to_be_focused()


def test_update_functions_wait_behind_their_toggle(builder):
    page = builder
    select = page.locator('[name="p-_fname__fn"]')
    expect(select).to_be_hidden()
    # The identity group is open; its fields take one Tab each, its functions one in all.
    page.get_by_label("First name", exact=True).focus()
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate("document.activeElement.name || document.activeElement.textContent")
        )
        if "Update functions for identity" in stops[-1]:
            break
    assert "Update functions for identity fields" in stops[-1]
    assert not any(str(stop).endswith("__fn") for stop in stops)
    page.keyboard.press("Enter")
    expect(select).to_be_visible()
    select.select_option("unset")
    expect(page.locator("#preview-json")).to_contain_text('"_fname":{"action":"unset"}')


def test_at_phone_width_a_jump_link_leads_to_the_preview(builder, screenshot):
    page = builder
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    link = page.get_by_role("link", name="Preview", exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#preview")).to_be_in_viewport()
    form_end = page.evaluate("document.querySelector('#builder').getBoundingClientRect().bottom")
    preview_top = page.evaluate("document.querySelector('#preview').getBoundingClientRect().top")
    assert 0 <= preview_top - form_end < 800  # within one screen of the form's end
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    summary = page.get_by_text("Update functions for identity fields")
    assert summary.evaluate("e => getComputedStyle(e).wordBreak") == "normal"
    screenshot("builder-390-preview")


def test_on_a_wide_screen_the_preview_stays_in_view(builder):
    page = builder
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_role("link", name="Preview", exact=True)).to_be_hidden()
    page.get_by_label("First name", exact=True).fill("Olly")
    expect(page.locator("#preview pre.code").first).to_contain_text("Olly")
    # Scrolled down the form (not yet to its end), the preview is still at the window's top.
    page.get_by_label("Database", exact=True).select_option("1")
    expect(page.get_by_label("Loyalty level", exact=True)).to_be_visible()
    page.get_by_label("First name", exact=True).fill("Olly")
    page.evaluate("window.scrollTo(0, 600)")
    page.wait_for_timeout(200)
    form_end = page.evaluate("document.querySelector('#builder').getBoundingClientRect().bottom")
    assert form_end > 800
    top = page.evaluate("document.querySelector('#preview').getBoundingClientRect().top")
    assert 0 <= top <= 20
    # No mid-word wraps in the pretty preview.
    style = page.evaluate(
        "getComputedStyle(document.querySelector('#preview pre.code')).overflowWrap"
    )
    assert style == "normal"
