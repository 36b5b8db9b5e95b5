"""Generated values in every field of the builder and of its paste form: never a server error,
and a value the builder cannot take is named with its field."""

import re
import uuid

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altcraft.channels import CHANNELS
from profiles_ui import catalog
from tests.helpers import odd_text, post_form, prime_every_field_type

pytestmark = pytest.mark.django_db
URL = "/builder/"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
OPERATIONS = ["profiles/import", "profiles/update", "profiles/add", "workflows/import_and_start"]


@pytest.fixture
def marketer(client_for, settings):
    """A marketer, with reference data as a seeded account would answer it (no HTTP)."""
    settings.ALTCRAFT_RETRIES = 0  # what is not primed is looked up once, and fails at once
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/sandbox/api/"
    cache.clear()
    prime_every_field_type(
        resource_fields={
            (1, channel): [catalog.FieldInfo("_ad_track", "Ad tracking", "bool")]
            for channel in CHANNELS
        }
    )
    yield client_for("marketer")
    cache.clear()


def base_form(operation: str) -> dict[str, str]:
    """A valid request of the operation with one subscription row of every channel."""
    data = {
        "form_token": str(uuid.uuid4()),
        "t-operation": operation,
        "t-connection": "sandbox",
        "t-db_id": "1",
        "t-workflow_id": "1",
        "m-matching": "email",
        "m-email": "olly@example.com",
        "p-email": "olly@example.com",
        "o-fmt": "json",
        "sub-TOTAL_FORMS": str(len(CHANNELS)),
        "sub-INITIAL_FORMS": "0",
        "content-TOTAL_FORMS": "1",
        "content-INITIAL_FORMS": "0",
        "attach-TOTAL_FORMS": "1",
        "attach-INITIAL_FORMS": "0",
    }
    for i, channel in enumerate(CHANNELS):
        data[f"sub-{i}-channel"] = channel
        data[f"sub-{i}-resource_id"] = "1"
    return data


def field_names(client, operation: str) -> list[str]:
    """Every input, select and textarea the builder shows for the operation."""
    html = post_form(client, URL, {**base_form(operation), "action": "refresh"}).content.decode()
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))
    return sorted(names - {"csrfmiddlewaretoken", "action"})


FIELDS: dict[str, list[str]] = {}


def problems_listed(html: str) -> list[str]:
    return re.findall(r'<li><a href="#[^"]+">([^<]+)</a>:', html)


@FUZZ
@given(st.sampled_from(OPERATIONS), st.data(), odd_text, st.sampled_from(["preview", "page"]))
def test_any_value_in_any_field_is_previewed_or_named(marketer, operation, data, value, how):
    if operation not in FIELDS:
        FIELDS[operation] = field_names(marketer, operation)
    name = data.draw(st.sampled_from(FIELDS[operation]), label="field")
    fields = {**base_form(operation), name: value, "action": "preview"}
    headers = {"HX-Request": "true", "HX-Target": "preview"} if how == "preview" else {}

    response = post_form(marketer, URL, fields, **headers)

    assert response.status_code < 500
    html = response.content.decode()
    assert 'id="preview-json"' in html or problems_listed(html), html[:2000]


def test_the_fields_fuzzed_include_every_kind_of_input(marketer):
    names = field_names(marketer, "workflows/import_and_start")
    expected = [
        "t-db_id", "m-matching", "p-_bdate", "p-f_object", "p-phones__fn", "sub-0-resource_id",
        "sub-2-subscription_id", "sub-3-cc_id", "sub-0-sf__ad_track", "content-0-key",
        "attach-0-data", "o-extra",
    ]  # fmt: skip
    assert set(expected) <= set(names)


@FUZZ
@given(
    st.one_of(
        odd_text,
        st.sampled_from(
            [
                '{"db_id": 1, "data": {"_fname": "\\ud800"}}',
                '{"db_id": 1, "data": {"x": ' + "[" * 10_000 + "]" * 10_000 + "}}",
                "<xml>" + "<a>1</a>" * 12_000 + "</xml>",
                "<xml><data><subscriptions><channel>whatsapp</channel><phone>+7</phone>"
                "</subscriptions></data></xml>",
                '{"token": "t", "db_id": 99999999999999999999, "data": []}',
            ]
        ),
    ),
    st.sampled_from(["", *OPERATIONS, "profiles/import_batch", "nope"]),
)
def test_any_pasted_payload_fills_the_form_or_says_why_not(marketer, body, operation):
    fields = {"action": "paste", "paste-body": body, "paste-operation": operation}

    response = post_form(marketer, URL, fields)

    assert response.status_code < 500
    html = response.content.decode()
    said = "could not be read" in html or "Paste a payload" in html or "1 MB" in html
    assert said or 'name="t-operation"' in html
