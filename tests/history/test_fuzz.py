"""Generated values in every filter of the history, its exports and its timeline: never a
server error, and a filter that cannot be taken is named."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import get_query, make_record, odd_text

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FILTERS = ["q", "state", "operation", "connection", "username", "error", "date_from", "date_to",
           "before", "after"]  # fmt: skip
PAGES = {
    "/history/": "Fix the filters",
    "/history/export.csv": "Fix the filters",
    "/history/export.jsonl": "Fix the filters",
    "/history/timeline/": "",
}


@pytest.fixture
def auditor(client_for):
    make_record()
    return client_for("auditor")


@FUZZ
@given(
    st.sampled_from(list(PAGES)), st.dictionaries(st.sampled_from(FILTERS), odd_text, max_size=3)
)
def test_any_filters_give_records_or_say_which_is_wrong(auditor, url, params):
    response = get_query(auditor, url, params)

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        html = response.content.decode()
        named = re.findall(r"<li>([^<:]+): ", html)
        assert named, html[:1500]


@FUZZ
@given(st.dictionaries(st.sampled_from(["email", "phone", "profile_id", "after"]), odd_text))
def test_any_timeline_query_gives_a_timeline_or_says_why_not(auditor, params):
    response = get_query(auditor, "/history/timeline/", params)
    assert response.status_code == 200
