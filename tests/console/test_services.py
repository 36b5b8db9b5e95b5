"""services.submit(): the record is written first, sent, then finalised with the outcome."""

import pytest
from django.db import connection as db_connection

from altcraft.client import TOKEN_PLACEHOLDER
from profiles_ui import services
from profiles_ui.connections import Connection
from profiles_ui.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)


def payload(email: str = "svc@example.com", **extra) -> dict:
    return {
        "db_id": 1,
        "matching": "email",
        "email": email,
        "data": {"email": email, "phones": ["+79000000001"]},
        **extra,
    }


def submit(user, connection, **options) -> Submission:
    values = {"operation": "profiles/import", "payload": payload(), **options}
    return services.submit(user=user, connection=connection, **values)


def test_success_finalises_the_record(sandbox, make_user):
    record = submit(make_user("marketer"), sandbox)
    assert record.state == Submission.State.SUCCEEDED
    assert record.error == 0
    assert record.profile_id
    assert record.response_status == 200
    assert (record.username, record.role) == ("marketer", "marketer")
    assert (record.email, record.phone, record.matching) == (
        "svc@example.com",
        "+79000000001",
        "email",
    )
    assert record.finished_at is not None


def test_the_recorded_body_has_the_placeholder_not_the_token(sandbox, make_user):
    record = submit(make_user("marketer"), sandbox)
    assert record.request_body.startswith(f'{{"token":"{TOKEN_PLACEHOLDER}"')
    assert sandbox.token() not in record.request_body


def test_the_record_exists_before_the_sandbox_receives_the_request(sandbox, make_user):
    from altcraft_sandbox.dedup import request_received

    seen = {}

    def look_up(sender, request_id, **kwargs):
        record = Submission.objects.filter(request_id=request_id).first()
        seen["state"] = record.state if record else None

    request_received.connect(look_up)
    try:
        record = submit(make_user("marketer"), sandbox)
    finally:
        request_received.disconnect(look_up)
    assert seen == {"state": Submission.State.PENDING}
    assert record.state == Submission.State.SUCCEEDED


def test_an_altcraft_error_is_recorded_as_rejected(sandbox, make_user):
    record = submit(make_user("marketer"), sandbox, payload=payload(db_id=999))
    assert record.state == Submission.State.REJECTED
    assert record.error == 404
    assert record.error_text


def test_a_transport_failure_leaves_a_final_unknown_outcome_record(make_user, settings):
    settings.ALTCRAFT_RETRIES = 1
    settings.ALTCRAFT_RETRY_BACKOFF = 0.01
    closed = Connection(
        name="closed", label="Closed", base_url="http://127.0.0.1:9/", token_env="X"
    )
    record = submit(make_user("marketer"), closed)
    assert record.state == Submission.State.TRANSPORT_FAILED
    assert record.is_final
    assert "connection to Altcraft failed" in record.transport_error
    assert record.attempts == 2
    assert record.response_status is None


def test_a_malformed_answer_is_recorded_as_bad_response(sandbox, make_user, settings):
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.SANDBOX_FAULTS = "malformed"
    record = submit(make_user("marketer"), sandbox)
    assert record.state == Submission.State.BAD_RESPONSE
    assert "not valid JSON" in record.error_text


def test_a_server_error_after_applying_is_an_unknown_outcome_not_a_rejection(
    sandbox, make_user, settings, client_for
):
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.SANDBOX_FAULTS = "status=500; after"  # applied, then HTTP 500
    record = submit(make_user("marketer"), sandbox)
    assert record.state == Submission.State.OUTCOME_UNKNOWN
    assert record.response_status == 500
    settings.SANDBOX_FAULTS_ENABLED = False
    from altcraft_sandbox.models import Profile

    assert Profile.objects.filter(email="svc@example.com").exists()  # it was applied
    html = client_for("support").get(f"/history/{record.pk}/").content.decode()
    assert "Server error, outcome unknown" in html
    assert "Altcraft may have applied this" in html


def test_resend_sends_the_same_bytes_with_a_new_request_id(sandbox, make_user):
    user = make_user("support")
    first = submit(user, sandbox)
    second = services.resend(first, user=user, reason="customer asked again")
    assert second.parent == first
    assert second.reason == "customer asked again"
    assert second.request_body == first.request_body
    assert second.request_id != first.request_id
    assert second.state == Submission.State.SUCCEEDED


def test_the_token_is_nowhere_in_the_database_after_every_outcome(sandbox, make_user, settings):
    user = make_user("marketer")
    submit(user, sandbox)
    submit(user, sandbox, payload=payload(db_id=999))
    submit(user, sandbox, fmt="xml")
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.SANDBOX_FAULTS = "malformed"
    submit(user, sandbox)
    token = sandbox.token()
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
            for row in cursor.fetchall():
                assert token not in repr(row), table
