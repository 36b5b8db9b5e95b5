"""Requests that once broke or slowed the builder, each refused with words, cheaply."""

import pytest
from django.urls import reverse

from tests.builder.test_views import HX, URL, form, sms_row
from tests.helpers import make_record, post_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marketer(client_for, sandbox):
    return client_for("marketer")


def test_json_nested_ten_thousand_deep_is_named_on_its_field(marketer):
    deep = "[" * 10_000 + "]" * 10_000
    html = marketer.post(URL, form(**{"p-extra": '{"a": ' + deep + "}"})).content.decode()
    assert "Other fields (JSON object): not valid JSON" in html
    assert "nested too deeply" in html or "levels deep" in html


def test_a_pasted_lone_surrogate_is_refused_and_the_page_renders(marketer):
    body = '{"db_id": 1, "email": "a@b.co", "data": {"_fname": "\\ud800"}}'
    response = marketer.post(URL, {"action": "paste", "paste-body": body})
    assert response.status_code == 200
    assert "lone surrogate" in response.content.decode()


def test_a_priority_beyond_32_bits_is_refused_on_its_field(marketer):
    row = {**sms_row(), "sub-0-priority": "2147483648", "sub-TOTAL_FORMS": "1"}
    html = marketer.post(URL, form(**row)).content.decode()
    assert "Priority: must be an integer from 0 to 2,147,483,647" in html


@pytest.mark.parametrize("field", ["sub-0-resource_id", "t-db_id"])
def test_an_id_beyond_32_bits_is_named_and_not_looked_up(marketer, field):
    row = {**sms_row(), "sub-TOTAL_FORMS": "1", field: str(2**70)}
    response = marketer.post(URL, form(**row), HTTP_HX_TARGET="preview", **HX)
    assert response.status_code == 200
    assert "Not ready to send" in response.content.decode()


def test_two_thousand_rows_make_twenty_and_say_so(marketer):
    rows = {k: v for i in range(20) for k, v in sms_row(i).items()}
    response = marketer.post(
        URL, form(**rows, **{"sub-TOTAL_FORMS": "2000"}), HTTP_HX_TARGET="preview", **HX
    )
    html = response.content.decode()
    assert "At most 20 subscriptions fit in one request" in html
    assert len(html) < 200_000


def test_adding_a_row_past_the_ceiling_is_refused(marketer):
    rows = {k: v for i in range(20) for k, v in sms_row(i).items()}
    data = form(**rows, **{"sub-TOTAL_FORMS": "20", "action": "add:sub:email"})
    html = marketer.post(URL, data, **HX).content.decode()
    assert "At most 20 subscriptions fit in one request." in html
    assert 'name="sub-20-channel"' not in html


def test_a_paste_over_a_megabyte_is_refused_on_its_field(marketer):
    body = '{"db_id": 1, "data": {"_fname": "' + "x" * 1_100_000 + '"}}'
    html = marketer.post(URL, {"action": "paste", "paste-body": body}).content.decode()
    assert "The payload is longer than 1 MB" in html


def test_a_post_over_the_form_limit_gets_the_limits_explained(marketer):
    body = "<xml>" + "<a>1</a>" * 200_000 + "</xml>"  # 1.6 MB, 4.6 MB as a form sends it
    response = post_form(marketer, URL, {"action": "paste", "paste-body": body})
    assert response.status_code == 400
    assert "a form may send up to 2.5 MB" in response.content.decode()


def test_many_elements_in_a_small_paste_are_refused(marketer):
    body = "<xml>" + "<a/>" * 12_000 + "</xml>"
    html = marketer.post(URL, {"action": "paste", "paste-body": body}).content.decode()
    assert "too many elements for one profile" in html


def test_a_batch_record_is_not_opened_in_the_builder(client_for):
    body = '{"token":"$ALTCRAFT_TOKEN","db_id":1,"matching":"email","data":[{"email":"a@b.co"}]}'
    record = make_record(operation="profiles/import_batch", request_body=body)
    support = client_for("support")
    response = support.get(f"{URL}?from={record.pk}", follow=True)
    assert response.redirect_chain == [(reverse("history_record", args=[record.pk]), 302)]
    html = response.content.decode()
    assert "the builder holds one" in html
    assert "Fix and resend" not in html
