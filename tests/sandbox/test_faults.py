"""Injected transport faults, over real HTTP: only with SANDBOX_FAULTS_ENABLED on."""

import json
import time
import uuid

import pytest
import requests

from altcraft.client import AltcraftClient, TransportError
from altcraft_sandbox import seed
from altcraft_sandbox.models import Profile

EMAIL = "olly@example.com"


@pytest.fixture
def faults_on(settings):
    settings.SANDBOX_FAULTS_ENABLED = True
    settings.SANDBOX_FAULTS = ""
    return settings


def add(base: str, fault: str = "", request_id: str | None = None, **kwargs) -> requests.Response:
    headers = {"Content-Type": "application/json", "Request-ID": request_id or str(uuid.uuid4())}
    if fault:
        headers["Sandbox-Fault"] = fault
    body = {"token": seed.demo_token(), "db_id": 1, "data": {"email": EMAIL}}
    return requests.post(
        base + "profiles/add",
        data=json.dumps(body),
        headers=headers,
        timeout=kwargs.get("timeout", 10),
    )


def test_header_is_ignored_unless_enabled(live_sandbox, settings):
    settings.SANDBOX_FAULTS_ENABLED = False
    assert add(live_sandbox, "status=500").status_code == 200


def test_status_fault_answers_that_status_and_changes_nothing(live_sandbox, faults_on):
    response = add(live_sandbox, "status=503")
    assert response.status_code == 503
    assert Profile.objects.count() == 0


def test_drop_closes_the_connection_without_an_answer(live_sandbox, faults_on):
    with pytest.raises(requests.ConnectionError):
        add(live_sandbox, "drop")
    assert Profile.objects.count() == 0


def test_drop_after_applies_the_request_but_loses_the_answer(live_sandbox, faults_on):
    request_id = str(uuid.uuid4())
    with pytest.raises(requests.ConnectionError):
        add(live_sandbox, "drop; after", request_id)
    retry = add(live_sandbox, request_id=request_id)
    assert retry.headers["Duplicate-Request"] == "true"
    assert retry.json()["profile_id"] == Profile.objects.get().id


def test_once_fails_only_the_first_attempt(live_sandbox, faults_on):
    request_id = str(uuid.uuid4())
    assert add(live_sandbox, "status=502; once", request_id).status_code == 502
    assert add(live_sandbox, "status=502; once", request_id).json()["error"] == 0
    assert Profile.objects.count() == 1


def test_timeout_outlasts_the_clients_read_timeout(live_sandbox, faults_on):
    with pytest.raises(requests.ReadTimeout):
        add(live_sandbox, "timeout=1", timeout=0.3)
    # The sandbox still applies the request once the delay is over; let it finish before the
    # database is flushed, or its profile lands in the next test.
    time.sleep(1)


def test_malformed_answer_does_not_parse(live_sandbox, faults_on):
    response = add(live_sandbox, "malformed")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_latency_delays_the_answer(live_sandbox, faults_on):
    started = time.monotonic()
    assert add(live_sandbox, "latency=0.3").json()["error"] == 0
    assert time.monotonic() - started >= 0.3


def test_setting_applies_to_every_request(live_sandbox, faults_on):
    faults_on.SANDBOX_FAULTS = "status=500"
    assert add(live_sandbox).status_code == 500


def test_client_retry_after_a_lost_answer_leaves_one_profile(live_sandbox, faults_on):
    faults_on.SANDBOX_FAULTS = "drop; after; once"
    client = AltcraftClient(live_sandbox.removesuffix("v1.1/"), retries=2, backoff=0.01)
    body = json.dumps({"db_id": 1, "email": EMAIL, "data": {"email": EMAIL}}).encode()
    response = client.send(
        "profiles/import", body, fmt="json", token=seed.demo_token(), token_placement="bearer"
    )
    assert (response.ok, response.attempts, response.duplicate) == (True, 2, True)
    assert response.profile_id == Profile.objects.get().id


def test_client_gives_up_when_every_attempt_is_dropped(live_sandbox, faults_on):
    faults_on.SANDBOX_FAULTS = "drop"
    client = AltcraftClient(live_sandbox.removesuffix("v1.1/"), retries=1, backoff=0.01)
    with pytest.raises(TransportError):
        client.send(
            "profiles/add",
            b'{"db_id":1,"data":{}}',
            fmt="json",
            token="t",
            token_placement="bearer",
        )
    assert Profile.objects.count() == 0
