"""Pasting never drops data silently: what the form cannot hold is listed, with its place."""

import json

import pytest

from tests.builder.test_views import URL, preview_json

pytestmark = pytest.mark.django_db(transaction=True)


def paste(client, payload: dict, operation: str = ""):
    body = json.dumps(payload)
    return client.post(URL, {"action": "paste", "paste-body": body, "paste-operation": operation})


def base(**extra) -> dict:
    return {"db_id": 1, "matching": "email", "email": "olly@example.com", **extra}


def test_a_phone_on_a_whatsapp_subscription_is_listed_with_its_place(marketer):
    subs = [
        {"resource_id": 6, "channel": "whatsapp", "phone": "+79001234567"},
        {"resource_id": 3, "channel": "sms", "phone": "+79001234568", "cc_data": {"id": 5}},
        {"resource_id": 3, "channel": "sms", "phone": "+79001234569", "colour": "red"},
    ]
    html = paste(marketer, base(data={"subscriptions": subs})).content.decode()
    assert (
        "data.subscriptions[0].phone: not kept (a whatsapp subscription holds cc_data.phone); "
        "left out." in html
    )
    assert "data.subscriptions[1].cc_data.id: not kept (a sms subscription holds phone)" in html
    assert "data.subscriptions[2].colour: not a subscription key; left out." in html
    assert "token was dropped" not in html


def test_lookup_values_of_another_mode_are_kept_as_other_parameters(marketer):
    payload = base(
        phone="+79001234567",
        resource_id=3,
        matching="custom",
        field_name="loyalty_level",
        field_value=3,
    )
    response = paste(marketer, payload)
    sent = json.loads(preview_json(response))
    # Custom matching reads neither phone nor resource_id: they are sent as pasted.
    assert sent["phone"] == "+79001234567"
    assert sent["resource_id"] == 3
    assert 'name="m-resource_id"' not in response.content.decode()


def test_attachment_keys_the_form_cannot_hold_are_listed(marketer):
    payload = {
        "workflow_id": 1,
        "email": "olly@example.com",
        "data": {},
        "attach": [{"name": "a.pdf", "data": "QUJD", "size": 3}, "nope"],
    }
    html = paste(marketer, payload, "workflows/import_and_start").content.decode()
    assert "attach[0].size: attachments hold no such key; left out." in html
    assert "attach[1]: not an object; left out." in html


@pytest.mark.parametrize("token", ["$ALTCRAFT_TOKEN", "${ALTCRAFT_TOKEN}", "", None])
def test_a_placeholder_or_empty_token_is_not_reported_as_dropped(marketer, token):
    html = paste(marketer, base(token=token, data={"_fname": "Olly"})).content.decode()
    assert "token was dropped" not in html
    assert 'name="p-_fname" value="Olly"' in html


def test_a_real_token_is_reported_as_dropped(marketer):
    html = paste(marketer, base(token="a1b2c3d4e5", data={})).content.decode()
    assert "The pasted token was dropped: the console adds the connection&#x27;s own." in html
    assert "a1b2c3d4e5" not in html
