"""After every operation, in both formats and through faults, the token is stored and shown
nowhere: not in the database, the logs, the history pages or the exports."""

import logging

import pytest
from django.db import connection as db
from django.urls import reverse

from profiles_ui import services
from profiles_ui.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "tok-9f2c4e7a1b3d5f60"


def operations(n: int) -> dict[str, dict]:
    email = f"p{n}@example.com"
    return {
        "profiles/import": {
            "db_id": 1,
            "matching": "email",
            "email": email,
            "data": {"email": email},
        },
        "profiles/update": {
            "db_id": 1,
            "matching": "email",
            "email": email,
            "data": {"_fname": "A"},
        },
        "profiles/add": {"db_id": 1, "data": {"email": f"add{n}@example.com"}},
        "profiles/add_batch": {"db_id": 1, "data": [{"email": f"addb{n}@example.com"}]},
        "profiles/import_batch": {
            "db_id": 1,
            "matching": "email",
            "data": [{"email": f"imp{n}@example.com"}],
        },
        "profiles/update_batch": {
            "db_id": 1,
            "matching": "email",
            "data": [{"email": f"imp{n}@example.com", "_fname": "B"}],
        },
        "workflows/import_and_start": {
            "workflow_id": 1,
            "matching": "email",
            "email": f"wf{n}@example.com",
            "data": {"email": f"wf{n}@example.com"},
        },
        "workflows/import_and_start_batch": {
            "workflow_id": 1,
            "matching": "email",
            "data": [{"email": f"wfb{n}@example.com"}],
        },
    }


@pytest.fixture
def sent(request, monkeypatch, settings, make_user, caplog):
    monkeypatch.setenv("SANDBOX_TOKEN", TOKEN)
    sandbox = request.getfixturevalue("sandbox")  # seeded with the token above
    caplog.set_level(logging.DEBUG)
    user = make_user("support")
    records = []
    for n, fmt in enumerate(("json", "xml")):
        for operation, payload in operations(n).items():
            record = services.submit(
                user=user, connection=sandbox, operation=operation, payload=payload, fmt=fmt
            )
            records.append(record)
    settings.SANDBOX_FAULTS_ENABLED = True
    for fault in ("malformed", "status=500", "drop"):
        settings.SANDBOX_FAULTS = fault
        records.append(
            services.submit(
                user=user,
                connection=sandbox,
                operation="profiles/import",
                payload=operations(9)["profiles/import"],
            )
        )
    settings.SANDBOX_FAULTS_ENABLED = False
    unknown_database = {**operations(9)["profiles/import"], "db_id": 999}
    records.append(
        services.submit(
            user=user, connection=sandbox, operation="profiles/import", payload=unknown_database
        )
    )
    return records


def test_every_operation_succeeds_in_both_formats(sent):
    assert [r.state for r in sent[:16]] == [Submission.State.SUCCEEDED] * 16, [
        (r.operation, r.format, r.error, r.error_text) for r in sent[:16] if r.error
    ]
    assert {r.state for r in sent[16:]} == {
        Submission.State.BAD_RESPONSE,
        Submission.State.OUTCOME_UNKNOWN,
        Submission.State.TRANSPORT_FAILED,
        Submission.State.REJECTED,
    }


def test_the_token_is_in_no_table(sent):
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            for row in cursor.fetchall():
                assert TOKEN not in repr(row), table


def test_the_token_is_in_no_log_line(sent, caplog):
    lines = [record.getMessage() for record in caplog.get_records("setup")]
    assert any("profiles/import" in line for line in lines)
    assert not [line for line in lines if TOKEN in line]


def test_the_token_is_on_no_page_and_in_no_export(sent, client_for):
    client = client_for("admin")
    pages = [reverse("history"), reverse("history_timeline") + "?email=p0@example.com"]
    pages += [reverse("history_record", args=[record.pk]) for record in sent]
    for url in pages:
        assert TOKEN not in client.get(url).content.decode(), url
    for name in ("history_export_csv", "history_export_jsonl"):
        export = b"".join(client.get(reverse(name)).streaming_content).decode()
        assert "$ALTCRAFT_TOKEN" in export
        assert TOKEN not in export
