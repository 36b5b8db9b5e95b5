"""A record's detail page: bodies, error meaning, lineage, diff, access log, actions."""

import pytest
from django.urls import NoReverseMatch, reverse

from profiles_ui.models import RecordView, Submission
from tests.helpers import make_record

XML_BODY = (
    "<xml><token>$ALTCRAFT_TOKEN</token><db_id>1</db_id><matching>email</matching>"
    "<email>ann@example.com</email><data><_fname>Ann</_fname></data></xml>"
)


def page(client, record: Submission) -> str:
    response = client.get(reverse("history_record", args=[record.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_json_bodies_are_pretty_printed_and_highlighted(client_for):
    html = page(client_for("support"), make_record())
    assert '<span class="tok-key">&quot;_fname&quot;</span>: <span class="tok-string">' in html
    assert "\n  &quot;" in html or '\n  <span class="tok-key">' in html


@pytest.mark.django_db
def test_xml_bodies_are_pretty_printed(client_for):
    html = page(client_for("support"), make_record(format="xml", request_body=XML_BODY))
    assert '\n  <span class="tok-tag">&lt;db_id&gt;</span>1' in html


@pytest.mark.django_db
def test_body_text_is_escaped(client_for):
    body = '{"data":{"_fname":"</code><script>alert(1)</script>"}}'
    html = page(client_for("support"), make_record(request_body=body))
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.django_db
def test_error_code_is_explained(client_for):
    record = make_record(state="rejected", error=435, error_text="ambiguous")
    assert "Ambiguous search: several objects match" in page(client_for("auditor"), record)


@pytest.mark.django_db
def test_response_headers_and_timing_are_shown(client_for):
    record = make_record(
        response_headers={"Duplicate-Request": "true"}, duration_ms=123.4, attempts=2
    )
    html = page(client_for("auditor"), record)
    assert "Duplicate-Request" in html
    assert "123.4 ms over 2 attempts" in html


@pytest.mark.django_db
def test_batch_results_are_listed_with_their_meaning(client_for):
    record = make_record(
        operation="profiles/import_batch",
        results=[{"error": 0, "profile_id": "a"}, {"error": 404, "error_text": "nope"}],
    )
    html = page(client_for("auditor"), record)
    assert "Per-profile results" in html
    assert "Object not found within the token&#x27;s visibility" in html


@pytest.mark.django_db
def test_copy_buttons_are_there_for_both_bodies(client_for):
    html = page(client_for("auditor"), make_record())
    assert 'data-copy="#request-body"' in html
    assert 'data-copy="#response-body"' in html
    assert "js/copy.js" in html


@pytest.mark.django_db
def test_marketer_cannot_open_someone_elses_record(client_for, make_user):
    record = make_record(user=make_user("marketer", "colleague"))
    client = client_for("marketer")
    assert client.get(reverse("history_record", args=[record.pk])).status_code == 404


@pytest.mark.django_db
def test_lineage_shows_parent_and_children(client_for):
    root = make_record()
    child = make_record(parent=root, reason="fix the name")
    grandchild = make_record(parent=child, reason="again")
    html = page(client_for("support"), child)
    assert f'href="/history/{root.pk}/">#{root.pk}</a>' in html
    assert f"#{child.pk} (this record)" in html
    assert f'href="/history/{grandchild.pk}/">#{grandchild.pk}</a>' in html
    assert "fix the name" in html
    assert html.index(f"#{root.pk}</a>") < html.index(f'/{grandchild.pk}/">')


@pytest.mark.django_db
def test_diff_against_parent_lists_added_removed_and_changed_fields(client_for):
    parent = make_record(
        request_body='{"email":"ann@example.com","data":{"_fname":"An","_lname":"X"}}'
    )
    child = make_record(
        parent=parent,
        reason="typo",
        request_body='{"email":"ann@example.com","data":{"_fname":"Ann","phones":["+1555"]}}',
    )
    html = page(client_for("support"), child)
    assert '<tr class="diff-changed"><td><code>data._fname</code>' in html
    assert "&quot;An&quot;" in html and "&quot;Ann&quot;" in html
    assert '<tr class="diff-added"><td><code>data.phones.0</code>' in html
    assert '<tr class="diff-removed"><td><code>data._lname</code>' in html
    assert "<code>email</code>" not in html  # unchanged fields are not listed


@pytest.mark.django_db
def test_diff_between_xml_and_json_compares_the_data(client_for):
    parent = make_record(format="xml", request_body=XML_BODY)
    child = make_record(parent=parent, reason="as JSON")  # same data, sent as JSON
    assert "identical to" in page(client_for("support"), child)


@pytest.mark.django_db
def test_opening_a_record_is_logged(client_for):
    record = make_record()
    page(client_for("auditor"), record)
    view = RecordView.objects.get()
    assert (view.submission_id, view.username) == (record.pk, "auditor")


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shown"), [("admin", True), ("support", False)])
def test_only_admins_see_who_opened_a_record(client_for, role, shown):
    html = page(client_for(role), make_record())
    assert ("Who opened this record" in html) == shown


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "shown"), [("support", True), ("admin", True), ("auditor", False), ("marketer", False)]
)
def test_resend_actions_only_for_support_and_admin(client_for, django_user_model, role, shown):
    client = client_for(role)
    record = make_record(user=django_user_model.objects.get(username=role))
    html = page(client, record)
    assert (reverse("history_resend", args=[record.pk]) in html) == shown
    try:
        builder = f"{reverse('builder')}?from={record.pk}"
    except NoReverseMatch:
        return  # the builder page is not there yet
    assert (builder in html) == shown


@pytest.mark.django_db
def test_purged_record_says_its_bodies_were_removed(client_for):
    record = make_record(state="pending")
    Submission.objects.filter(pk=record.pk).update(
        state="succeeded", request_body="", response_body="", purged_at=record.created_at
    )
    assert "Removed by the retention purge" in page(client_for("support"), record)


@pytest.mark.django_db
def test_the_records_identifiers_link_to_the_profile_page(client_for):
    record = make_record(
        db_id=1, phone="+79001234567", profile_id="p-7",
        results=[{"error": 0, "profile_id": "p-8"}],
    )  # fmt: skip
    html = client_for("support").get(reverse("history_record", args=[record.pk])).content.decode()
    for query in (
        "email=ann%40example.com",
        "phone=%2B79001234567",
        "profile_id=p-7",
        "profile_id=p-8",
    ):
        assert f'href="/profile/?{query}&amp;db_id=1&amp;connection=sandbox"' in html, query
