"""Fixtures the tests share; plain helpers are in helpers.py."""

import os
import socket
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread

from altcraft_sandbox import seed
from profiles_ui.roles import ROLES
from tests.helpers import Api


class LiveServer(ThreadedWSGIServer):
    """The test live server, without a 40 ms wait on each response.

    Django's development server writes a response's headers and body with separate sends;
    with Nagle's algorithm on, the body then waits for the client's delayed acknowledgement
    of the headers. The tests talk to the sandbox over HTTP thousands of times.
    """

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


LiveServerThread.server_class = LiveServer


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 is slow on purpose, about half a second per test user; tests need no such cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(django_user_model):
    def make(role: str, username: str | None = None):
        user = django_user_model.objects.create_user(
            username=username or role, password="a-test-password-1"
        )
        if role == "admin":
            user.is_staff = user.is_superuser = True
            user.save()
        if role in ROLES:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def client_for(make_user):
    """A logged-in test client for a role name."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role))
        return client

    return make


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the ORM calls the test makes are still
    # synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Every browser test also checks the policy: whatever it clicked, htmx swaps included, must
    # have run without the browser refusing anything.
    refused = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    yield page
    context.close()
    assert refused == [], f"the page broke its Content Security Policy: {refused}"


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot as a test artifact: screenshot("builder")."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page, make_user):
    def log_in_as(role: str):
        make_user(role)
        page.goto("/login/")
        page.get_by_label("Username").fill(role)
        page.get_by_label("Password").fill("a-test-password-1")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/")
        return page

    return log_in_as


@pytest.fixture
def sandbox(live_server, settings):
    """The sandbox connection, served for real over HTTP by the live server, with seed data."""
    from django.core.management import call_command

    from profiles_ui import services
    from profiles_ui.connections import SANDBOX, all_connections

    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox/api/"
    settings.ALTCRAFT_RETRY_BACKOFF = 0.01
    call_command("seed_sandbox", verbosity=0)
    yield all_connections()[SANDBOX]
    # A pooled client keeps its connections to the live server open, and the server keeps a
    # thread with a database session for each: left open, they stop the test database from
    # being dropped at the end.
    for client in services._clients.values():
        client.session.close()
    services._clients.clear()


@pytest.fixture
def media(settings, tmp_path):
    """Uploads in a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sandbox_db(db) -> None:
    """The sandbox's seed data in the test database, for tests through the test client."""
    seed.seed()


@pytest.fixture
def api(sandbox_db) -> Api:
    return Api()


@pytest.fixture
def live_sandbox(live_server, transactional_db) -> str:
    """The sandbox API's base URL on a real HTTP server, seeded."""
    seed.seed()
    return f"{live_server.url}/sandbox/api/v1.1/"
