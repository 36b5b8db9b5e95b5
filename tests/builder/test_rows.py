"""The builder's rows and fields: channel changes keep what applies, row counts never show
Django's own messages, the keyboard path, the functions toggles and the date inputs."""

import re

import pytest

from tests.builder.test_views import HX, URL, form, sms_row

pytestmark = pytest.mark.django_db(transaction=True)


def change_channel(client, data: dict, channel: str) -> str:
    data = {**data, "sub-0-channel": channel, "action": "row:sub-0"}
    html = client.post(URL, data, HTTP_HX_TARGET="row-sub-0", **HX).content.decode()
    return html


def posted_back(html: str) -> dict[str, str]:
    """The row's inputs as the browser would post them next (selects: the selected option)."""
    values = dict(re.findall(r'<input[^>]*name="(sub-0-[\w]+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select name="(sub-0-\w+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    return values


def test_sms_to_whatsapp_and_back_keeps_the_phone_and_what_applies(marketer):
    data = form(
        **sms_row(0, phone="+79001234567", resource="1"),
        **{
            "sub-TOTAL_FORMS": "1",
            "sub-0-shown_channel": "sms",
            "sub-0-status": "subscribed",
            "sub-0-priority": "2",
            "sub-0-cats": "news, offers",
        },
    )
    html = change_channel(marketer, data, "whatsapp")
    row = posted_back(html)
    assert row["sub-0-cc_phone"] == "+79001234567"
    assert row["sub-0-resource_id"] == "1"  # "All channels" has WhatsApp too
    assert row["sub-0-status"] == "subscribed"
    assert row["sub-0-priority"] == "2"
    assert row["sub-0-cats"] == "news, offers"
    assert row["sub-0-shown_channel"] == "whatsapp"
    back = change_channel(marketer, {**data, **row}, "sms")
    again = posted_back(back)
    assert again["sub-0-phone"] == "+79001234567"
    assert again["sub-0-resource_id"] == "1"
    assert "Select a valid choice" not in back


def test_a_resource_without_the_new_channel_is_let_go_quietly(marketer):
    data = form(
        **sms_row(0, resource="3"), **{"sub-TOTAL_FORMS": "1", "sub-0-shown_channel": "sms"}
    )
    html = change_channel(marketer, data, "viber")
    row = posted_back(html)
    assert row["sub-0-resource_id"] == ""  # resource 3 is SMS only
    assert row["sub-0-cc_phone"] == "+79000000000"
    assert "Select a valid choice" not in html


def test_a_pasted_resource_of_the_wrong_channel_is_still_reported(marketer):
    # No channel change (nothing was shown yet): the wrong resource is the user's to fix.
    data = form(**sms_row(0, resource="2"), **{"sub-TOTAL_FORMS": "1", "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert "Subscription 1 (SMS) · Resource" in html


@pytest.mark.parametrize("count", ["", "abc", "-1", "1e3", "٣", "99999999"])
def test_garbled_row_counts_never_show_djangos_messages(marketer, count):
    data = form(
        **sms_row(0),
        **{
            "t-operation": "workflows/import_and_start",
            "t-workflow_id": "1",
            "sub-TOTAL_FORMS": count,
            "sub-INITIAL_FORMS": count,
            "content-TOTAL_FORMS": count,
            "content-0-key": "promo",
            "content-0-value": "SPRING",
            "attach-INITIAL_FORMS": "x",
            "action": "preview",
        },
    )
    response = marketer.post(URL, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Hidden field" not in html
    assert "ManagementForm" not in html
    assert "This field is required" not in html
    # The rows the post holds are still there.
    assert 'name="sub-0-phone" value="+79000000000"' in html
    assert 'name="content-0-key" value="promo"' in html


def test_switching_to_import_and_start_shows_no_hidden_field_errors(marketer):
    data = form(**{"t-operation": "workflows/import_and_start", "action": "refresh"})
    html = marketer.post(URL, data, HTTP_HX_TARGET="body", **HX).content.decode()
    assert "Content variables" in html
    assert "Hidden field" not in html
    data["action"] = "preview"
    html = marketer.post(URL, data).content.decode()
    assert "Hidden field" not in html and "TOTAL_FORMS) " not in html


def test_an_added_row_takes_the_focus_at_its_channel_and_ends_with_remove(marketer):
    data = form(**{"action": "add:sub:sms"})
    html = marketer.post(URL, data, HTTP_HX_TARGET="sub-rows", **HX).content.decode()
    assert re.search(r'<select name="sub-0-channel"[^>]*autofocus', html)
    assert html.index('name="sub-0-channel"') < html.index('name="sub-0-DELETE"')
    # Without JavaScript the whole page comes back, focused on the same field.
    page = marketer.post(
        URL, form(**{"action": "add:content", "t-operation": "workflows/import_and_start"})
    ).content.decode()
    assert re.search(r'<input type="text" name="content-0-key"[^>]*autofocus', page)
    assert page.count("autofocus") == 1


def test_update_functions_sit_behind_one_toggle_per_group(marketer):
    html = marketer.post(URL, form(action="refresh")).content.decode()
    assert html.count('<details class="functions">') == 6  # five groups and the custom fields
    first_fn = html.index('name="p-_fname__fn"')
    assert html.rindex("<summary>Update functions for identity fields</summary>", 0, first_fn)
    assert html.index('name="p-_fname"') < html.index("Update functions for identity fields")
    # A function in use opens its toggle.
    data = form(**{"p-_fname": "", "p-_fname__fn": "unset", "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert '<details class="functions" open>' in html
    assert html.count('<details class="functions" open>') == 1


def test_date_fields_are_date_inputs_unless_their_value_is_not_a_plain_date(marketer):
    html = marketer.get(URL).content.decode()
    assert '<input type="date" name="p-_bdate"' in html
    assert '<input type="date" name="p-_regdate"' in html
    data = form(
        **{"p-_bdate": "1990-02-22T21:00:00Z", "p-_regdate": "23.12.1969", "action": "preview"}
    )
    html = marketer.post(URL, data).content.decode()
    assert '<input type="text" name="p-_bdate" value="1990-02-22T21:00:00Z"' in html
    assert "Registration date: not a date; expected like 2001-12-31" in html
    assert "RFC 3339" not in html


def test_a_custom_date_field_is_a_date_input(marketer):
    html = marketer.get(URL).content.decode()
    data = form(**{"action": "refresh"})
    html = marketer.post(URL, data).content.decode()
    assert re.search(
        r'<input type="date" name="p-\w+"[^>]*id="id_p-(last_order|contract_date)"', html
    )
