"""Labels that say what happens: matching on each operation, the fields each mode reads, the
"other fields" box, and the reason when fixing a record."""

import pytest

from profiles_ui.models import Submission
from tests.builder.test_views import HX, URL, form, preview_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("operation", "explained"),
    [
        (
            "profiles/import",
            "Import matching by <strong>email</strong>: finds the profile by its "
            "email field or its email subscriptions; creates it if none.",
        ),
        (
            "profiles/update",
            "Update matching by <strong>email</strong>: finds the profile by its "
            "email field or its email subscriptions; answers 404 if none.",
        ),
        (
            "workflows/import_and_start",
            "Import and start matching by <strong>email</strong>: "
            "finds the profile by its email field or its email subscriptions; creates it if none, "
            "then starts the scenario.",
        ),
    ],
)
def test_matching_is_explained_for_the_operation(marketer, operation, explained):
    data = form(**{"t-operation": operation, "action": "refresh"})
    html = marketer.post(URL, data).content.decode()
    assert explained in html


def test_profile_id_never_creates_whatever_the_operation(marketer):
    data = form(
        **{"t-operation": "profiles/update", "m-matching": "profile_id", "action": "refresh"}
    )
    html = marketer.post(URL, data).content.decode()
    assert "finds the profile by its Altcraft profile ID; answers 404 if none" in html
    assert "creates it if none</option>" not in html.split('value="profile_id"')[1].split("\n")[0]


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        ("email", True),
        ("phone_sub", True),
        ("email_phone", True),
        ("custom", False),
        ("push_sub", False),
    ],
)
def test_the_resource_limit_appears_only_for_the_modes_it_narrows(marketer, mode, shown):
    data = form(**{"m-matching": mode, "action": "row:matching"})
    html = marketer.post(URL, data, HTTP_HX_TARGET="matching", **HX).content.decode()
    assert ('name="m-resource_id"' in html) is shown
    assert ("Only subscriptions of resource" in html) is shown


def test_a_resource_limit_left_from_another_mode_is_not_sent(marketer):
    data = form(
        **{
            "m-matching": "custom",
            "m-field_name": "loyalty_level",
            "m-field_value": "3",
            "m-resource_id": "3",
        }
    )
    response = marketer.post(URL, data, HTTP_HX_TARGET="preview", **HX)
    assert '"resource_id"' not in preview_json(response)


def test_other_fields_says_what_sending_does_with_its_keys(marketer):
    html = marketer.post(URL, form(action="refresh")).content.decode()
    assert "Each key must be a field of this database, by its name; other keys are refused." in html
    data = form(**{"p-extra": '{"no_such_field": 1}', "action": "preview"})
    html = marketer.post(URL, data).content.decode()
    assert "not a field of this database" in html
    html = marketer.post(URL, form(**{"t-db_id": "", "action": "refresh"})).content.decode()
    assert "Keys are sent as given: with no database&#x27;s fields to check them against" in html


def test_fix_and_resend_asks_for_the_required_reason_first(client_for, sandbox):
    client = client_for("support")
    client.post(URL, form(action="send"))
    record = Submission.objects.get()
    html = client.get(f"{URL}?from={record.pk}").content.decode()
    reason = html.index('name="r-reason"')
    assert html.index("Fixing record") < reason < html.index("Operation and target")
    assert 'Reason <span class="required">(required)</span></label>' in html
    assert "required" in html[reason : html.index(">", reason)]
