"""The live profile in a real browser: look up, change a subscription, edit, send, re-read."""

import pytest
from playwright.sync_api import expect

from altcraft_sandbox.models import Subscription
from tests.profile.test_views import make_profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_look_up_change_a_subscription_edit_the_last_name_and_see_both(sandbox, log_in, screenshot):
    profile = make_profile()
    page = log_in("support")
    page.goto("/profile/?connection=sandbox")
    page.get_by_label("Email").fill("petrova@example.com")
    page.get_by_role("button", name="Look up in Altcraft").click()
    expect(page.get_by_role("heading", name=f"Profile {profile.pk}", exact=False)).to_be_visible()
    expect(page.locator(".sub-status")).to_have_text("subscribed")
    screenshot("profile-looked-up")

    page.get_by_label("Status of subscription 0").select_option("suspended")
    page.get_by_role("button", name="Change", exact=True).click()
    expect(page.locator(".diff")).to_contain_text("status: subscribed → suspended")
    screenshot("profile-subscription-preview")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".sub-status")).to_have_text("suspended")

    page.get_by_label("_lname").fill("Petrova-Smirnova")
    page.get_by_role("button", name="Edit: preview the changes").click()
    expect(page.locator(".diff")).to_contain_text("_lname: Petrova → Petrova-Smirnova")
    screenshot("profile-edit-preview")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_label("_lname")).to_have_value("Petrova-Smirnova")
    expect(page.locator(".sub-status")).to_have_text("suspended")
    screenshot("profile-re-read")
    assert Subscription.objects.get(profile=profile).status == 5
