"""The builder page and its fragments, through the test client, against the live sandbox."""

import json
import uuid

import pytest
from django.core.cache import cache

from profiles_ui import catalog, services
from profiles_ui.connections import get_connection
from profiles_ui.models import Submission
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/builder/"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True, scope="module")
def fresh_catalog():
    # Kept across this module's tests: every test seeds the same sandbox at the same address.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketer(client_for, sandbox):
    return client_for("marketer")


def form(**fields: str) -> dict[str, str]:
    """A builder post: an import into database 1 matched by email, plus `fields`."""
    data = {
        "form_token": str(uuid.uuid4()),
        "t-operation": "profiles/import",
        "t-connection": "sandbox",
        "t-db_id": "1",
        "m-matching": "email",
        "m-email": "olly@example.com",
        "o-fmt": "json",
        "sub-TOTAL_FORMS": "0",
        "sub-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def sms_row(i: int = 0, phone: str = "+79000000000", resource: str = "3") -> dict[str, str]:
    return {f"sub-{i}-channel": "sms", f"sub-{i}-resource_id": resource, f"sub-{i}-phone": phone}


def preview_json(response) -> str:
    html = response.content.decode()
    start = html.index('id="preview-json" tabindex="0">') + len('id="preview-json" tabindex="0">')
    from html import unescape

    return unescape(html[start : html.index("</pre>", start)])


def test_page_lists_the_connections_databases(marketer):
    page = marketer.get(URL).content.decode()
    assert "Profile builder" in page
    assert "Clients (#1)" in page
    assert "Partners (#2)" in page
    assert "Add Telegram bot subscription" in page


def test_auditor_is_refused(client_for):
    assert client_for("auditor").get(URL).status_code == 403


def test_the_live_preview_asks_the_database_only_for_session_user_and_permissions(
    marketer, django_assert_num_queries
):
    marketer.post(URL, form(), HTTP_HX_TARGET="preview", **HX)  # the catalog is cached
    # The session, the user, and the user's permissions (held directly and through roles).
    with django_assert_num_queries(4):
        response = marketer.post(URL, form(), HTTP_HX_TARGET="preview", **HX)
    assert 'id="preview-json"' in response.content.decode()


@pytest.mark.parametrize(
    ("channel", "shown", "hidden"),
    [
        ("email", "Email", "Telegram chat ID"),
        ("sms", "Phone", "Subscription ID"),
        ("push", "Subscription ID", "Telegram chat ID"),
        ("telegram_bot", "Telegram chat ID", "Subscription ID"),
        ("whatsapp", "Phone", "Telegram chat ID"),
        ("viber", "Phone", "Telegram chat ID"),
        ("notify", "Phone", "Telegram chat ID"),
    ],
)
def test_add_row_returns_row_n_and_the_new_total(marketer, channel, shown, hidden):
    data = form(**sms_row(0), **{"sub-TOTAL_FORMS": "1", "action": f"add:sub:{channel}"})
    html = marketer.post(URL, data, **HX).content.decode()
    assert 'id="row-sub-1"' in html
    assert 'name="sub-1-channel"' in html
    assert f'<option value="{channel}" selected>' in html
    assert "<label for=" in html and f">{shown}</label>" in html
    assert f">{hidden}</label>" not in html
    assert 'name="sub-TOTAL_FORMS" value="2" id="id_sub-TOTAL_FORMS" hx-swap-oob="true"' in html


def test_add_row_without_javascript_returns_the_whole_page(marketer):
    html = marketer.post(URL, form(action="add:sub:viber")).content.decode()
    assert "<html" in html
    assert 'name="sub-TOTAL_FORMS" value="1"' in html
    assert "Viber subscription" in html


def test_add_row_offers_only_resources_of_that_channel(marketer):
    html = marketer.post(URL, form(action="add:sub:telegram_bot"), **HX).content.decode()
    assert "Telegram bot (#5)" in html
    assert "SMS (#3)" not in html


def test_changing_a_rows_channel_rerenders_it_with_that_channels_fields(marketer):
    data = form(**{"sub-TOTAL_FORMS": "1", "sub-0-channel": "telegram_bot", "action": "row:sub-0"})
    html = marketer.post(URL, data, **HX).content.decode()
    assert html.lstrip().startswith('<fieldset class="sub-row" id="row-sub-0">')
    assert "Telegram bot subscription" in html
    assert 'name="sub-0-cc_id"' in html
    assert 'name="sub-0-phone"' not in html


def test_push_row_shows_the_resources_subscription_fields(marketer):
    data = form(
        **{
            "sub-TOTAL_FORMS": "1",
            "sub-0-channel": "push",
            "sub-0-resource_id": "4",
            "action": "row:sub-0",
        }
    )
    html = marketer.post(URL, data, **HX).content.decode()
    assert 'name="sub-0-sf__device_type"' in html
    assert 'name="sub-0-sf_api_new_field_1"' in html


def test_changing_matching_shows_exactly_that_modes_fields(marketer):
    data = form(**{"m-matching": "custom", "action": "row:matching"})
    html = marketer.post(URL, data, **HX).content.decode()
    assert html.lstrip().startswith('<fieldset id="matching"')
    assert "finds the profile by the value of one of your own database fields" in html
    assert 'name="m-field_name"' in html
    assert 'name="m-field_value"' in html
    assert 'name="m-email"' not in html
    assert '<option value="loyalty_level">Loyalty level (loyalty_level)</option>' in html


def test_matching_select_explains_each_mode(marketer):
    html = marketer.get(URL).content.decode()
    assert (
        "email: finds the profile by its email field or its email subscriptions; "
        "creates it if none" in html
    )
    assert '<option value="profile_id"' not in html  # update only


def test_preview_is_the_exact_body_with_the_token_as_placeholder(marketer):
    data = form(**sms_row(0), **{"sub-TOTAL_FORMS": "1", "p-_fname": "Olly", "p-vip": "true"})
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    expected = {
        "db_id": 1,
        "matching": "email",
        "email": "olly@example.com",
        "data": {
            "_fname": "Olly",
            "vip": True,
            "subscriptions": [{"resource_id": 3, "channel": "sms", "phone": "+79000000000"}],
        },
    }
    body = services.request_body(expected, "json", get_connection("sandbox")).decode()
    assert body.startswith('{"token":"$ALTCRAFT_TOKEN"')
    assert preview_json(response) == body
    html = response.content.decode()
    assert "&lt;xml&gt;&lt;token&gt;$ALTCRAFT_TOKEN&lt;/token&gt;" in html
    assert "<html" not in html


def test_preview_offers_curl_and_python_with_the_token_variable(marketer):
    html = marketer.post(URL, form(), HTTP_HX_TARGET="preview", **HX).content.decode()
    assert "Copy as cURL" in html and "Copy as Python requests" in html
    assert "curl -sS -X POST" in html
    assert (
        "body.replace(&quot;$ALTCRAFT_TOKEN&quot;, os.environ[&quot;ALTCRAFT_TOKEN&quot;])" in html
    )


def test_update_functions_are_built_into_the_payload(marketer):
    data = form(**{"p-loyalty_level": "5", "p-loyalty_level__fn": "incr", "p-_city__fn": "unset"})
    payload = json.loads(preview_json(marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)))
    assert payload["data"]["loyalty_level"] == {"action": "incr", "value": 5}
    assert payload["data"]["_city"] == {"action": "unset"}


def test_invalid_input_keeps_the_preview_and_lists_what_blocks_sending(marketer):
    data = form(**sms_row(0, phone="12345"), **{"sub-TOTAL_FORMS": "1", "m-email": "nope"})
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    html = response.content.decode()
    assert "Not ready to send:</strong> 2 problems to fix first" in html
    assert "Nothing is sent until the problems above are fixed." in html
    assert json.loads(preview_json(response))["email"] == "nope"  # the request as it stands
    assert "Matching · Email to look up</a>: not a valid email address" in html
    assert "Subscription 1 (SMS) · Phone</a>: not a phone number we can read for region RU" in html


def test_preview_without_javascript_marks_errors_on_their_fields(marketer):
    data = form(**sms_row(0, phone="12345"), **{"sub-TOTAL_FORMS": "1", "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert 'id="id_sub-0-phone_error">Phone: not a phone number we can read' in html
    assert 'value="12345"' in html  # what was typed is kept


def test_removed_rows_are_not_sent(marketer):
    data = form(
        **sms_row(0),
        **sms_row(1, phone="+79000000001"),
        **{"sub-TOTAL_FORMS": "2", "sub-0-DELETE": "on"},
    )
    payload = json.loads(preview_json(marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)))
    assert [s["phone"] for s in payload["data"]["subscriptions"]] == ["+79000000001"]


def test_wrong_type_for_a_custom_field_is_marked_on_it(marketer):
    data = form(**{"p-loyalty_level": "high", "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert "Loyalty level: must be an integer" in html


def test_paste_fills_the_form_from_a_documented_payload(marketer):
    body = (EXAMPLES / "01-profiles-import.email-subscription.request.json").read_text()
    response = marketer.post(URL, {"action": "paste", "paste-body": body})
    html = response.content.decode()
    assert 'name="p-_fname" value="Olly"' in html
    assert 'name="sub-0-email" value="example@example.com"' in html
    assert "The pasted token was dropped" in html
    sent = json.loads(preview_json(response))
    documented = json.loads(body)
    assert sent == {**documented, "token": "$ALTCRAFT_TOKEN"}


def test_paste_xml_marks_every_problem_on_its_field(marketer):
    body = (
        "<xml><db_id>1</db_id><matching>email</matching><email>a@example.com</email>"
        "<data><_fname>A</_fname><loyalty_level>lots</loyalty_level>"
        "<subscriptions array='true'><resource_id>3</resource_id><channel>sms</channel>"
        "<phone>8900</phone></subscriptions></data></xml>"
    )
    html = marketer.post(URL, {"action": "paste", "paste-body": body}).content.decode()
    assert 'id="id_sub-0-phone_error">Phone: not a phone number we can read' in html
    assert "Loyalty level: must be an integer" in html
    assert 'name="sub-0-phone" value="8900"' in html


def test_paste_refuses_what_it_cannot_read(marketer):
    html = marketer.post(URL, {"action": "paste", "paste-body": "{not json"}).content.decode()
    assert "The payload could not be read" in html


def test_paste_upload_of_an_xml_example(marketer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    path = EXAMPLES / "01-profiles-import.email-subscription.request.xml"
    upload = SimpleUploadedFile("req.xml", path.read_bytes(), "application/xml")
    html = marketer.post(URL, {"action": "paste", "paste-upload": upload}).content.decode()
    assert 'name="sub-0-email" value="example@example.com"' in html


def test_send_records_and_shows_the_profile_id(marketer):
    response = marketer.post(URL, form(**sms_row(0), **{"sub-TOTAL_FORMS": "1", "action": "send"}))
    record = Submission.objects.get()
    assert record.state == Submission.State.SUCCEEDED
    html = response.content.decode()
    assert f"Profile ID: <code>{record.profile_id}</code>" in html
    assert f"History record #{record.pk}" in html
    assert json.loads(record.request_body)["data"]["subscriptions"][0]["phone"] == "+79000000000"


def test_a_second_post_of_the_same_form_sends_nothing(marketer):
    data = form(action="send")
    marketer.post(URL, data)
    html = marketer.post(URL, data).content.decode()
    assert Submission.objects.count() == 1
    assert "This form was already sent" in html


def test_altcraft_error_shows_code_meaning_and_text_and_keeps_the_form(marketer):
    data = form(**sms_row(0, resource="9"), **{"sub-TOTAL_FORMS": "1", "action": "send"})
    html = marketer.post(URL, data).content.decode()
    record = Submission.objects.get()
    assert record.state == Submission.State.REJECTED
    assert f"error <strong>{record.error}</strong>" in html
    assert record.error_text in html
    assert 'name="sub-0-phone" value="+79000000000"' in html


def test_transport_failure_is_reported_and_databases_can_be_typed(client_for, settings):
    settings.ALTCRAFT_RETRIES = 0
    settings.ALTCRAFT_CONNECTIONS = [
        {"name": "down", "label": "Down", "base_url": "http://127.0.0.1:9/", "token_env": "X"}
    ]
    client = client_for("marketer")
    data = form(**{"t-connection": "down", "action": "send"})
    html = client.post(URL, data).content.decode()
    assert "Databases could not be loaded" in html
    assert 'name="t-db_id" value="1" inputmode="numeric"' in html
    record = Submission.objects.get()
    assert record.state == Submission.State.TRANSPORT_FAILED
    assert "Transport failure" in html
    assert record.transport_error in html


@pytest.fixture
def production(settings, sandbox):
    settings.ALTCRAFT_CONNECTIONS = [
        {
            "name": "prod",
            "label": "Prod",
            "base_url": sandbox.base_url,
            "token_env": "SANDBOX_TOKEN",
            "production": True,
        }
    ]


def test_production_asks_for_confirmation_first(marketer, production):
    data = form(**{"t-connection": "prod", "action": "send"})
    html = marketer.post(URL, data).content.decode()
    assert Submission.objects.count() == 0
    assert (
        "Import into database Clients (#1) on Prod (production), "
        "matching by email olly@example.com." in html
    )
    assert 'value="send:confirmed"' in html and 'value="edit"' in html


def test_confirmed_production_send_goes_out_once(marketer, production):
    data = form(**{"t-connection": "prod", "action": "send:confirmed"})
    marketer.post(URL, data)
    marketer.post(URL, data)
    record = Submission.objects.get()
    assert record.connection_production


def test_back_to_edit_keeps_everything(marketer, production):
    data = form(**{"t-connection": "prod", "p-_fname": "Olly", "action": "edit"})
    html = marketer.post(URL, data).content.decode()
    assert 'name="p-_fname" value="Olly"' in html
    assert Submission.objects.count() == 0


def test_scenarios_of_the_database_with_inactive_ones_disabled(marketer):
    data = form(**{"t-operation": "workflows/import_and_start", "action": "refresh"})
    html = marketer.post(URL, data).content.decode()
    assert "Welcome series (#1)" in html
    assert "Partner onboarding" not in html  # database 2
    assert 'value="2"\n                       disabled' in html


def test_inactive_scenario_cannot_be_picked(marketer):
    data = form(**{"t-operation": "workflows/import_and_start", "t-workflow_id": "2"})
    html = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX).content.decode()
    assert "Win-back (paused)” is inactive and cannot be started" in html


def test_scenario_content_and_attachment_are_built(marketer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = form(
        **{
            "t-operation": "workflows/import_and_start",
            "t-workflow_id": "1",
            "content-TOTAL_FORMS": "1",
            "content-INITIAL_FORMS": "0",
            "content-0-key": "coupon",
            "content-0-value": "WELCOME10",
            "attach-TOTAL_FORMS": "1",
            "attach-INITIAL_FORMS": "0",
            "attach-0-upload": SimpleUploadedFile("a.txt", b"hello", "text/plain"),
        }
    )
    payload = json.loads(preview_json(marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)))
    assert payload["workflow_id"] == 1 and "db_id" not in payload
    assert payload["content"] == {"coupon": "WELCOME10"}
    assert payload["attach"] == [{"name": "a.txt", "data": "aGVsbG8=", "mimetype": "text/plain"}]


def test_attachments_over_5_mb_are_refused_by_name(marketer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.pdf", b"x" * (5 * 1024 * 1024 + 1), "application/pdf")
    data = form(
        **{
            "t-operation": "workflows/import_and_start",
            "t-workflow_id": "1",
            "attach-TOTAL_FORMS": "1",
            "attach-INITIAL_FORMS": "0",
            "attach-0-upload": big,
            "action": "preview",
        }
    )
    html = marketer.post(URL, data).content.decode()
    assert "big.pdf is 5.0 MB; attachments are limited to 5 MB each." in html


def test_fix_and_resend_is_for_support(client_for, sandbox):
    marketer = client_for("marketer")
    marketer.post(URL, form(action="send"))
    record = Submission.objects.get()
    assert marketer.get(f"{URL}?from={record.pk}").status_code == 403
    support = client_for("support")
    html = support.get(f"{URL}?from={record.pk}").content.decode()
    assert "Fixing record" in html and f"#{record.pk}" in html
    assert 'name="m-email" value="olly@example.com"' in html


def test_fix_and_resend_needs_a_reason_and_links_the_new_record(client_for, sandbox):
    client = client_for("support")
    client.post(URL, form(action="send"))
    original = Submission.objects.get()
    url = f"{URL}?from={original.pk}"
    html = client.post(url, form(action="send")).content.decode()
    assert "Reason: say why this request is sent again" in html
    client.post(url, form(**{"action": "send", "r-reason": "typo in the name"}))
    fixed = Submission.objects.exclude(pk=original.pk).get()
    assert fixed.parent == original
    assert fixed.reason == "typo in the name"


def test_changing_connection_in_the_form_moves_the_banner(client_for, settings, sandbox):
    settings.ALTCRAFT_CONNECTIONS = [
        {
            "name": "prod",
            "label": "Prod",
            "base_url": sandbox.base_url,
            "token_env": "SANDBOX_TOKEN",
            "production": True,
        }
    ]
    client = client_for("marketer")
    html = client.post(URL, form(**{"t-connection": "prod", "action": "refresh"})).content.decode()
    assert '<div class="connection-banner production">' in html


def test_reload_reference_data(marketer):
    html = marketer.post(URL, form(action="refresh:catalog")).content.decode()
    assert "Reference data reloaded from Sandbox." in html


def test_the_catalog_is_read_once_until_refreshed_cleared(monkeypatch):
    connection = get_connection("sandbox")
    calls = []

    def lookup(_connection, method, params=None):
        calls.append(method)
        return {"data": [{"id": 1, "name": f"Clients {len(calls)}"}]}

    monkeypatch.setattr(services, "lookup", lookup)
    cache.clear()
    first = catalog.databases(connection)
    assert catalog.databases(connection) == first
    assert calls == ["databases/list"]
    catalog.refresh(connection)
    assert catalog.databases(connection).items[0].name == "Clients 2"
    cache.clear()
    assert catalog.databases(connection).items[0].name == "Clients 3"
    cache.clear()
