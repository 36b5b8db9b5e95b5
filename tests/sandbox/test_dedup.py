"""Deduplication (§13): a repeated data-changing request gets the first answer, unapplied."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
import requests
from django.db import connection

from altcraft_sandbox import dedup, seed
from altcraft_sandbox.models import ApiRequest, Profile

EMAIL = "olly@example.com"
pytestmark = pytest.mark.django_db


def import_body(name: str) -> dict:
    return {"db_id": 1, "email": EMAIL, "data": {"email": EMAIL, "_fname": name}}


def test_same_request_id_gets_the_first_answer_and_changes_nothing(api):
    first = api.post("profiles/import", import_body("A"), request_id="r-1")
    again = api.post("profiles/import", import_body("B"), request_id="r-1")
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers["Duplicate-Request"] == "true"
    assert len(again.headers["Duplicate-Key"]) == 64
    assert "Duplicate-Request" not in first.headers
    assert Profile.objects.get().fields["_fname"] == "A"


def test_a_duplicate_is_answered_in_the_first_requests_format(api):
    first = api.post("profiles/import", import_body("A"), fmt="xml", request_id="r-1")
    again = api.post("profiles/import", import_body("A"), request_id="r-1")
    assert again.body == first.body
    assert again.headers["Content-Type"].startswith("application/xml")


def test_a_new_request_id_is_applied_again(api):
    api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-1")
    api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-2")
    assert Profile.objects.count() == 2


def test_without_request_id_the_same_body_is_a_duplicate(api):
    api.post("profiles/add", {"db_id": 1, "data": {}}, request_id=None)
    again = api.post("profiles/add", {"db_id": 1, "data": {}}, request_id=None)
    assert again.headers["Duplicate-Request"] == "true"
    assert Profile.objects.count() == 1


def test_without_request_id_another_body_is_applied(api):
    api.post("profiles/add", {"db_id": 1, "data": {"_fname": "A"}}, request_id=None)
    api.post("profiles/add", {"db_id": 1, "data": {"_fname": "B"}}, request_id=None)
    assert Profile.objects.count() == 2


def test_an_error_answer_is_repeated_too(api):
    first = api.post("profiles/add", {"db_id": 99, "data": {}}, request_id="r-1")
    again = api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-1")
    assert (first.error, again.error) == (404, 404)


def test_the_window_is_24_hours(api):
    api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-1")
    ApiRequest.objects.update(
        received_at=ApiRequest.objects.get().received_at - timedelta(hours=25)
    )
    again = api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-1")
    assert "Duplicate-Request" not in again.headers
    assert Profile.objects.count() == 2


def test_reading_methods_are_not_deduplicated(api):
    api.post("databases/list", {}, request_id="r-1")
    assert "Duplicate-Request" not in api.post("databases/list", {}, request_id="r-1").headers


def test_the_signal_comes_before_the_change_and_the_request_is_recorded(api):
    seen = []

    def record(sender, request_id: str, method: str, **kwargs) -> None:
        seen.append((request_id, method, dedup.received(request_id), Profile.objects.count()))

    dedup.request_received.connect(record)
    try:
        api.post("profiles/add", {"db_id": 1, "data": {}}, request_id="r-1")
    finally:
        dedup.request_received.disconnect(record)
    assert seen == [("r-1", "profiles/add", False, 0)]
    assert dedup.received("r-1")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL's row locks"
)
def test_racing_copies_of_one_request_apply_once(live_sandbox):
    body = json.dumps({"token": seed.demo_token(), "db_id": 1, "data": {"_fname": "Race"}})
    headers = {"Content-Type": "application/json", "Request-ID": str(uuid.uuid4())}
    start = threading.Barrier(8)
    answers = []

    def send() -> None:
        start.wait()
        answers.append(
            requests.post(live_sandbox + "profiles/add", data=body, headers=headers, timeout=10)
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Profile.objects.count() == 1
    assert {a.json()["profile_id"] for a in answers} == {Profile.objects.get().id}
    assert sum(a.headers.get("Duplicate-Request") == "true" for a in answers) == 7
