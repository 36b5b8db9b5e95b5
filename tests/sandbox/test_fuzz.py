"""Generated requests to the sandbox's API and pages: never a server error; a refused request
says why in Altcraft's envelope."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altcraft.codec import decode_response
from tests.helpers import get_query, odd_text

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
METHODS = ["profiles/import", "profiles/update", "profiles/add", "profiles/import_batch",
           "profiles/add_batch/", "workflows/import_and_start", "profiles/get", "databases/list",
           "resources/fields_get", "nope/nope"]  # fmt: skip
KEYS = ["db_id", "matching", "email", "phone", "profile_id", "field_name", "field_value",
        "resource_id", "workflow_id", "format", "data", "skip_triggers", "id", "channel",
        "from_id", "limit"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | odd_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture
def support(sandbox_db, client_for):
    return client_for("support")


def answer_of(response) -> dict:
    kind = "xml" if "xml" in response["Content-Type"] else "json"
    return decode_response(response.content, kind)


@FUZZ
@given(st.sampled_from(METHODS), st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5))
def test_any_request_body_gets_an_answer_in_the_envelope(api, method, body):
    answer = api.post(method, body)
    assert answer.status == 200
    assert answer.error == 0 or answer.text, answer.data


@FUZZ
@given(st.sampled_from(METHODS), st.binary(max_size=300), st.sampled_from(["json", "xml"]))
def test_any_bytes_get_an_answer_in_the_envelope(api, method, body, fmt):
    answer = api.post(method, body, fmt=fmt)
    assert answer.status == 200
    assert answer.error != 0 and answer.text


@pytest.mark.parametrize("value", [[], {}, 1, True, None, "csv", "\x00"])
def test_an_odd_format_is_answered_in_the_request_format(api, value):
    answer = api.post("databases/list", {"format": value})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")


def test_the_format_may_be_asked_in_the_url(api):
    response = api.client.post(
        "/sandbox/api/v1.1/databases/list?format=xml",
        json.dumps({"token": "sandbox-demo-token"}),
        content_type="application/json",
    )
    assert response["Content-Type"].startswith("application/xml")
    assert answer_of(response)["error"] == 0


@FUZZ
@given(st.dictionaries(st.sampled_from(["q", "db", "page"]), odd_text, max_size=3))
def test_any_search_of_the_profiles_page_gives_a_page(support, params):
    response = get_query(support, "/sandbox/profiles/", params)
    assert response.status_code == 200
