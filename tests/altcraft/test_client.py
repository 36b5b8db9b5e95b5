"""The Altcraft client against the sandbox over real HTTP, including every injected fault."""

import logging
import time
import uuid

import pytest
import requests

from altcraft.client import AltcraftClient, TransportError
from profiles_ui import services

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "sandbox-demo-token"


def import_payload(email: str = "client@example.com") -> dict:
    return {
        "db_id": 1,
        "matching": "email",
        "email": email,
        "data": {"email": email, "_fname": "Client"},
    }


def make_client(sandbox, **options) -> AltcraftClient:
    options = {"retries": 0, "backoff": 0.01, "read_timeout": 5.0, **options}
    return AltcraftClient(sandbox.base_url, **options)


def send(client, sandbox, payload=None, *, fmt="json", request_id=None, placement="body"):
    connection = sandbox if placement == "body" else bearer(sandbox)
    body = services.request_body(payload or import_payload(), fmt, connection)
    return client.send(
        "profiles/import",
        body,
        fmt=fmt,
        token=TOKEN,
        token_placement=placement,
        request_id=request_id,
    )


def bearer(sandbox):
    from dataclasses import replace

    return replace(sandbox, token_placement="bearer")


def profile_with_email(sandbox, email: str) -> dict:
    """The one profile with this email; the sandbox answers 435 if there were several."""
    return services.lookup(sandbox, "profiles/get", {"db_id": 1, "email": email})["profile"]


@pytest.fixture
def faults(settings):
    settings.SANDBOX_FAULTS_ENABLED = True

    def inject(spec: str) -> None:
        settings.SANDBOX_FAULTS = spec

    return inject


def test_success_is_read_from_the_body(sandbox):
    response = send(make_client(sandbox), sandbox)
    assert response.status == 200
    assert response.ok
    assert response.error == 0
    assert response.profile_id
    assert response.attempts == 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_both_formats_go_out_and_come_back(sandbox, fmt):
    response = send(make_client(sandbox), sandbox, fmt=fmt)
    assert response.ok, response.body
    assert response.headers["Content-Type"].startswith(f"application/{fmt}")


def test_token_as_bearer_header(sandbox):
    response = send(make_client(sandbox), sandbox, placement="bearer")
    assert response.ok, response.body


def test_the_same_request_id_is_answered_as_a_duplicate(sandbox):
    client = make_client(sandbox)
    request_id = uuid.uuid4()
    first = send(client, sandbox, request_id=request_id)
    again = send(client, sandbox, request_id=request_id)
    assert not first.duplicate
    assert again.duplicate
    assert again.profile_id == first.profile_id
    assert "Duplicate-Key" in again.headers


def test_an_application_error_is_not_retried(sandbox):
    payload = {**import_payload(), "db_id": 999}
    response = send(make_client(sandbox, retries=3), sandbox, payload)
    assert response.error == 404
    assert not response.ok
    assert response.attempts == 1


def test_http_500_with_an_altcraft_body_is_an_answer_not_a_transport_failure(sandbox, faults):
    faults("status=500")
    response = send(make_client(sandbox, retries=3), sandbox)
    assert response.status == 500
    assert not response.ok
    assert response.attempts == 1


def test_a_gateway_error_is_retried_with_the_same_request_id(sandbox, faults):
    faults("status=503; once")
    response = send(make_client(sandbox, retries=2), sandbox)
    assert response.ok
    assert response.attempts == 2


def test_a_dropped_connection_is_a_transport_failure(sandbox, faults):
    faults("drop")
    with pytest.raises(TransportError, match="connection to Altcraft failed or was reset") as error:
        send(make_client(sandbox, retries=1), sandbox)
    assert error.value.attempts == 2


def test_a_retry_after_a_lost_answer_does_not_write_the_profile_twice(sandbox, faults):
    faults("drop; after; once")
    response = send(make_client(sandbox, retries=2), sandbox, import_payload("twice@example.com"))
    faults("")
    assert response.ok
    assert response.attempts == 2
    assert response.duplicate
    assert profile_with_email(sandbox, "twice@example.com")["id"] == response.profile_id


def test_a_timeout_is_a_transport_failure(sandbox, faults):
    faults("timeout=1")
    with pytest.raises(TransportError, match="timed out waiting"):
        send(make_client(sandbox, read_timeout=0.3), sandbox)
    time.sleep(1)  # the sandbox applies the request after its delay: not into the next test


def test_latency_is_waited_out_and_measured(sandbox, faults):
    faults("latency=0.3")
    response = send(make_client(sandbox), sandbox)
    assert response.ok
    assert response.duration_ms >= 300


def test_a_malformed_body_is_a_bad_response_not_a_crash(sandbox, faults):
    faults("malformed")
    response = send(make_client(sandbox, retries=2), sandbox)
    assert response.bad_response
    assert not response.ok
    assert response.attempts == 1


def test_a_closed_port_is_a_transport_failure_after_bounded_retries():
    client = AltcraftClient("http://127.0.0.1:9/", retries=2, backoff=0.01, connect_timeout=1)
    with pytest.raises(TransportError) as error:
        client.send("profiles/import", b'{"token":"$ALTCRAFT_TOKEN"}', fmt="json", token=TOKEN)
    assert error.value.attempts == 3


def test_the_token_never_reaches_logs_errors_or_repr(sandbox, faults, caplog):
    secret = "a-very-secret-token-1234"
    caplog.set_level(logging.DEBUG)
    client = make_client(sandbox, retries=1)
    body = services.request_body(import_payload(), "json", sandbox)
    answer = client.send("profiles/import", body, fmt="json", token=secret)
    faults("drop")
    with pytest.raises(TransportError) as error:
        client.send("profiles/import", body, fmt="json", token=secret)
    assert answer.error == 403
    assert secret not in caplog.text
    assert secret not in str(error.value)
    assert secret not in repr(client)
    assert secret not in answer.body


def test_the_client_reuses_one_pooled_session(sandbox):
    client = make_client(sandbox)
    assert isinstance(client.session, requests.Session)
    send(client, sandbox)
    send(client, sandbox)
    pool = client.session.get_adapter(sandbox.base_url).poolmanager
    assert len(pool.pools) == 1
