import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_login_shows_role_and_the_sandbox_banner(page, log_in, screenshot):
    log_in("support")
    assert page.locator(".role-badge").text_content() == "support"
    assert "a test environment" in page.locator(".connection-banner").inner_text()
    screenshot("home-support")


def test_login_page_at_phone_width_keeps_every_control_reachable(page, screenshot):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/login/")
    focused = [page.evaluate("document.activeElement.name")]  # autofocus: username
    for _ in range(2):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.name || document.activeElement.type"))
    assert focused == ["username", "password", "submit"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390
    screenshot("login-390")


def test_csp_blocks_nothing_the_page_needs(page, log_in):
    violations = []
    page.on("console", lambda message: violations.append(message.text))
    log_in("admin")
    page.reload()
    assert page.evaluate("typeof window.htmx") == "object"
    assert [text for text in violations if "Content Security Policy" in text] == []
