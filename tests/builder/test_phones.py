"""Phones as people write them: read against the connection's (or the picked) region, sent in
E.164, and shown beside the field as they will be sent."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from profiles_ui.connections import all_connections, get_connection
from tests.builder.test_views import HX, URL, form, preview_json, sms_row

pytestmark = pytest.mark.django_db(transaction=True)


def sent(response) -> dict:
    return json.loads(preview_json(response))


def test_national_forms_are_sent_in_e164_everywhere(marketer):
    data = form(
        **{
            "m-matching": "phone",
            "m-phone": "8 (900) 123-45-67",
            "p-phones": "8 (900) 123-45-67, +7 989 9142600, 79207090293",
            "sub-TOTAL_FORMS": "2",
            "sub-1-channel": "whatsapp",
            "sub-1-resource_id": "6",
            "sub-1-cc_phone": "8-945-577-06-19",
        },
        **sms_row(0, phone="8 900 123-45-67"),
    )
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    payload = sent(response)
    assert payload["phone"] == "+79001234567"
    assert payload["data"]["phones"] == ["+79001234567", "+79899142600", "+79207090293"]
    subs = payload["data"]["subscriptions"]
    assert subs[0]["phone"] == "+79001234567"
    assert subs[1]["cc_data"] == {"phone": "+79455770619"}
    html = response.content.decode()
    assert "Not ready to send" not in html
    # The notes beside the fields follow the live preview out of band.
    assert (
        '<small class="sent-as" id="id_sub-0-phone_sent" hx-swap-oob="true">'
        "Will be sent as <code>+79001234567</code></small>" in html
    )
    assert "Will be sent as <code>+79001234567, +79899142600, +79207090293</code>" in html
    assert 'id="id_sub-1-cc_phone_sent" hx-swap-oob="true">Will be sent as' in html


def test_the_whole_page_shows_the_sent_value_beside_the_field(marketer):
    data = form(**sms_row(0, phone="89001234567"), **{"sub-TOTAL_FORMS": "1", "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert (
        '<small class="sent-as" id="id_sub-0-phone_sent">Will be sent as <code>+79001234567' in html
    )
    assert "hx-swap-oob" not in html.split('id="preview"')[0].split('id="builder"')[1]


def test_a_number_already_in_e164_gets_no_note(marketer):
    data = form(**sms_row(0, phone="+79001234567"), **{"sub-TOTAL_FORMS": "1"})
    html = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert '<small class="sent-as" id="id_sub-0-phone_sent" hx-swap-oob="true"></small>' in html


def test_only_unreadable_numbers_are_refused_in_plain_words(marketer):
    data = form(
        **sms_row(0, phone="12345"), **{"sub-TOTAL_FORMS": "1", "p-phones": "8900, 8 900 123-45-67"}
    )
    html = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert (
        "Subscription 1 (SMS) · Phone</a>: not a phone number we can read for region RU; "
        "expected like +79123456789 or 8 (912) 345-67-89" in html
    )
    assert "Profile · Phones</a>: 8900 is not a phone number we can read for region RU" in html
    assert "E.164" not in html


def test_the_picked_region_reads_national_numbers(marketer):
    data = form(**sms_row(0, phone="(201) 555-0123"), **{"sub-TOTAL_FORMS": "1"})
    refused = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert "not a phone number we can read for region RU" in refused
    data["t-phone_region"] = "US"
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    assert sent(response)["data"]["subscriptions"][0]["phone"] == "+12015550123"
    # A number with its + is international whatever the region.
    data["sub-0-phone"] = "+7 900 123 45 67"
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    assert sent(response)["data"]["subscriptions"][0]["phone"] == "+79001234567"


def test_the_region_select_defaults_to_the_connections(client_for, settings, sandbox):
    settings.ALTCRAFT_CONNECTIONS = [
        {
            "name": "kz",
            "base_url": sandbox.base_url,
            "token_env": "SANDBOX_TOKEN",
            "phone_region": "kz",
        }
    ]
    client = client_for("marketer")
    html = client.get(URL).content.decode()
    assert '<option value="RU" selected>RU (+7)</option>' in html  # the sandbox: PHONE_REGION
    data = form(**{"t-connection": "kz", "action": "refresh"})
    html = client.post(URL, data).content.decode()
    assert '<option value="KZ" selected>KZ (+7)</option>' in html


def test_connections_take_their_phone_region_or_the_setting(settings):
    settings.PHONE_REGION = "BY"
    settings.ALTCRAFT_CONNECTIONS = [
        {"name": "a", "base_url": "https://a.example/api/", "token_env": "A"},
        {"name": "b", "base_url": "https://b.example/api/", "token_env": "B", "phone_region": "US"},
    ]
    assert get_connection("a").phone_region == "BY"
    assert get_connection("b").phone_region == "US"
    assert get_connection("sandbox").phone_region == "BY"
    settings.ALTCRAFT_CONNECTIONS = [
        {"name": "c", "base_url": "https://c.example/api/", "token_env": "C", "phone_region": "XX"}
    ]
    with pytest.raises(ImproperlyConfigured, match="phone_region 'XX'"):
        all_connections()


def test_an_empty_phone_is_required_not_malformed(marketer):
    data = form(
        **sms_row(0, phone=""),
        **{"sub-TOTAL_FORMS": "2", "sub-1-channel": "viber", "sub-1-resource_id": "7"},
    )
    html = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert "Subscription 1 (SMS) · Phone</a>: required" in html
    assert "Subscription 2 (Viber) · Phone</a>: required" in html
    assert "E.164" not in html
    data = form(**{"m-matching": "phone", "m-phone": ""})
    html = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert "Matching · Phone to look up</a>: required" in html
