"""The configured token appears on no history page and in no export."""

import pytest
from django.urls import reverse

from tests.helpers import make_record

TOKEN = "sandbox-secret-token-42"


@pytest.fixture
def records(monkeypatch):
    monkeypatch.setenv("SANDBOX_TOKEN", TOKEN)
    parent = make_record()
    # As if Altcraft echoed the token back: stored as received, never shown.
    echoed = f'{{"error":400,"error_text":"bad token {TOKEN}"}}'
    return parent, make_record(parent=parent, reason="retry", response_body=echoed)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        lambda p, c: reverse("history"),
        lambda p, c: reverse("history_record", args=[c.pk]),
        lambda p, c: reverse("history_record", args=[p.pk]),
        lambda p, c: reverse("history_timeline") + "?email=ann@example.com",
        lambda p, c: reverse("history_resend", args=[c.pk]),
    ],
)
def test_no_page_shows_the_token(client_for, records, url):
    response = client_for("admin").get(url(*records))
    assert response.status_code == 200
    assert TOKEN not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["history_export_csv", "history_export_jsonl"])
def test_no_export_holds_the_token(client_for, records, name):
    response = client_for("auditor").get(reverse(name))
    text = b"".join(response.streaming_content).decode()
    assert "$ALTCRAFT_TOKEN" in text  # the bodies are there, with the placeholder
    assert TOKEN not in text
