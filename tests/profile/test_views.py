"""The live profile page and its actions, through the test client, against the live sandbox."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from altcraft import live_profile
from altcraft_sandbox.changes import normalise_phone
from altcraft_sandbox.models import Profile, ProfilePhone, Subscription
from profiles_ui import audit
from profiles_ui.models import AuditEntry, ProfileLookup, Submission

URL = "/profile/"


@pytest.fixture(autouse=True)
def fresh_catalog():
    cache.clear()
    yield
    cache.clear()


def make_profile(email="petrova@example.com", lname="Petrova", phone="+79001112233", **extra):
    profile = Profile.objects.create(
        database_id=1,
        email=email,
        fields={"email": email, "_fname": "Anna", "_lname": lname, "phones": [phone],
                "custom_id": extra.pop("custom_id", "C-1"), **extra},
    )  # fmt: skip
    ProfilePhone.objects.create(profile=profile, database_id=1, phone=normalise_phone(phone))
    Subscription.objects.create(
        profile=profile, database_id=1, resource_id=2, channel="email", identifier=email,
        status=0, priority=1, cats=["news"],
    )  # fmt: skip
    return profile


def look(client, **params):
    return client.get(URL, {"connection": "sandbox", "db_id": "1", **params})


def read_now(profile_id: str) -> dict:
    from altcraft_sandbox.readers import profile_data

    return profile_data(Profile.objects.get(pk=profile_id))


@pytest.fixture
def support(client_for, sandbox):
    return client_for("support")


@pytest.mark.parametrize(
    "params",
    [
        {"email": "petrova@example.com"},
        {"phone": "+79001112233"},
        {"field_name": "custom_id", "field_value": "C-1"},
        None,  # by profile_id, filled in below
    ],
)
def test_lookup_by_each_identifier_shows_fields_subscriptions_and_labels(support, params):
    profile = make_profile()
    response = look(support, **(params or {"profile_id": profile.pk}))
    html = response.content.decode()
    assert response.status_code == 200, html
    assert profile.pk in html
    assert 'value="Petrova"' in html
    assert "Customer ID" in html  # custom field labelled from databases/fields_get
    assert "petrova@example.com" in html and "news" in html
    assert (
        "The console&#x27;s timeline for this customer" in html
        or "timeline for this customer" in html
    )


def test_lookup_is_written_to_the_chained_access_log(support):
    make_profile()
    look(support, email="petrova@example.com")
    row = ProfileLookup.objects.get()
    assert (row.username, row.identifier_kind, row.identifier) == (
        "support", "email", "petrova@example.com",
    )  # fmt: skip
    assert (row.connection, row.db_id, row.outcome) == ("sandbox", 1, 0)
    assert AuditEntry.objects.filter(kind="lookup", object_id=row.pk).exists()
    assert audit.verify().held


def test_no_match_says_so_and_offers_an_import(support):
    response = look(support, email="nobody@example.com")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Altcraft answered 404" in html
    assert "Import this customer" in html
    assert ProfileLookup.objects.get().outcome == 404


def test_several_matches_list_the_candidates_known_to_the_history(support):
    first = make_profile(email="twin@example.com", phone="+79005550000")
    second = make_profile(email="twin2@example.com", phone="+79005550000")
    Submission.objects.create(
        username="support", role="support", connection="sandbox", operation="profiles/import",
        url="u", format="json", request_body="{}", phone="+79005550000", profile_id=first.pk,
    )  # fmt: skip
    response = look(support, phone="+79005550000")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Altcraft answered 435" in html
    assert f"profile_id={first.pk}" in html
    assert second.pk not in html  # Altcraft names none; the console only knows what it sent


def test_a_lookup_needs_exactly_one_identifier(support):
    response = support.get(URL, {"email": "a@example.com", "phone": "+7900"})
    assert response.status_code == 400
    assert "Give exactly one of email, phone, profile_id" in response.content.decode()


def change(client, profile_id, digest, **fields):
    data = {"connection": "sandbox", "db_id": "1", "profile_id": profile_id, "digest": digest}
    return client.post(reverse("profile_change"), {**data, **fields})


def digest_of(profile_id):
    return live_profile.digest(read_now(profile_id))


def test_edit_previews_only_changed_fields_with_a_diff_then_sends_and_rereads(support):
    profile = make_profile()
    digest = digest_of(profile.pk)
    fields = {"f:_fname": "Anna", "f:_lname": "Petrova-Smirnova", "f:email": profile.email}
    preview = change(support, profile.pk, digest, action="edit", **fields)
    html = preview.content.decode()
    assert "_lname: Petrova → Petrova-Smirnova" in html
    assert "_fname" not in html.split("Request:")[1].split("The profile now")[0]
    sent = change(support, profile.pk, digest, action="edit", send="1", **fields)
    assert sent.status_code == 302
    record = Submission.objects.get(operation="profiles/update")
    body = json.loads(record.request_body)
    assert body["data"] == {"_lname": "Petrova-Smirnova"}
    assert body["matching"] == "profile_id" and body["profile_id"] == profile.pk
    assert record.state == Submission.State.SUCCEEDED
    page = support.get(sent["Location"]).content.decode()
    assert 'value="Petrova-Smirnova"' in page


def test_sending_warns_and_shows_the_new_state_when_the_profile_changed(support):
    profile = make_profile()
    look(support, profile_id=profile.pk)
    digest = digest_of(profile.pk)
    Profile.objects.filter(pk=profile.pk).update(fields={**profile.fields, "_fname": "Anya"})
    response = change(
        support, profile.pk, digest, action="edit", send="1", **{"f:_lname": "Smirnova"}
    )
    html = response.content.decode()
    assert "changed in Altcraft since you read it" in html
    assert "_fname: Anna → Anya" in html
    assert not Submission.objects.exists()


def test_change_a_subscription_status_through_subscriptions_set(support):
    profile = make_profile()
    digest = digest_of(profile.pk)
    fields = {"action": "sub_set", "index": "0", "status": "suspended", "priority": "1"}
    preview = change(support, profile.pk, digest, **fields).content.decode()
    assert "status: subscribed → suspended" in preview
    change(support, profile.pk, digest, send="1", **fields)
    record = Submission.objects.get(operation="subscriptions/set")
    assert json.loads(record.request_body) == {
        "token": "$ALTCRAFT_TOKEN", "db_id": 1, "profile_id": profile.pk, "resource_id": 2,
        "channel": "email", "email": "petrova@example.com", "status": "suspended",
    }  # fmt: skip
    assert record.state == Submission.State.SUCCEEDED
    assert Subscription.objects.get(profile=profile).status == 5


def test_delete_a_subscription(support):
    profile = make_profile()
    change(support, profile.pk, digest_of(profile.pk), action="sub_delete", index="0", send="1")
    record = Submission.objects.get(operation="subscriptions/delete")
    assert record.state == Submission.State.SUCCEEDED
    assert not Subscription.objects.filter(profile=profile).exists()


def test_unsubscribe_from_a_resource(support):
    profile = make_profile()
    change(
        support, profile.pk, digest_of(profile.pk), action="unsubscribe", resource_id="2", send="1"
    )
    record = Submission.objects.get(operation="profiles/update")
    body = json.loads(record.request_body)
    assert body["data"]["subscriptions"][0]["status"] == "unsubscribed"
    assert record.state == Submission.State.SUCCEEDED
    assert Subscription.objects.get(profile=profile).status == 1


def test_add_a_subscription(support):
    profile = make_profile()
    change(
        support, profile.pk, digest_of(profile.pk), action="add", resource_id="3",
        channel="sms", address="+79001112233", status="subscribed", send="1",
    )  # fmt: skip
    record = Submission.objects.get(operation="subscriptions/set")
    assert record.state == Submission.State.SUCCEEDED, record.error_text
    assert Subscription.objects.filter(profile=profile, channel="sms").exists()


def test_delete_needs_the_typed_email_or_id_and_keeps_the_profile_as_read(support):
    profile = make_profile()
    digest = digest_of(profile.pk)
    wrong = change(support, profile.pk, digest, action="delete", send="1", confirm="someone")
    assert "neither the profile" in wrong.content.decode()
    assert Profile.objects.filter(pk=profile.pk).exists()
    change(support, profile.pk, digest, action="delete", send="1", confirm=profile.email)
    record = Submission.objects.get(operation="profiles/delete")
    assert record.state == Submission.State.SUCCEEDED
    assert not Profile.objects.filter(pk=profile.pk).exists()
    assert "Petrova" in record.reason and profile.pk in record.reason


def test_marketers_may_not_delete(client_for, sandbox):
    profile = make_profile()
    response = change(client_for("marketer"), profile.pk, "", action="delete", send="1")
    assert response.status_code == 403
    assert Profile.objects.filter(pk=profile.pk).exists()


@pytest.mark.parametrize(
    ("role", "lookup", "change_", "delete", "log"),
    [
        ("marketer", 200, 302, 403, 403),
        ("auditor", 200, 403, 403, 200),
        ("support", 200, 302, 200, 200),
        ("admin", 200, 302, 200, 200),
    ],
)
def test_role_matrix(client_for, sandbox, role, lookup, change_, delete, log):
    profile = make_profile()
    client = client_for(role)
    assert look(client, profile_id=profile.pk).status_code == lookup
    digest = digest_of(profile.pk)
    assert change(client, profile.pk, digest, action="sub_set", index="0", priority="7",
                  send="1").status_code == change_  # fmt: skip
    assert change(client, profile.pk, digest, action="delete").status_code == delete
    assert client.get(reverse("profile_lookups")).status_code == log


def test_auditors_filter_the_lookup_log(client_for, sandbox):
    make_profile()
    look(client_for("support"), email="petrova@example.com")
    auditor = client_for("auditor")
    html = auditor.get(reverse("profile_lookups"), {"username": "support"}).content.decode()
    assert "petrova@example.com" in html and "<strong>1</strong> lookup" in html
    html = auditor.get(reverse("profile_lookups"), {"username": "nobody"}).content.decode()
    assert "<strong>0</strong> lookups" in html


def test_profile_link_tag_links_identifiers():
    from django.template import Context, Template

    html = Template(
        '{% load profile_links %}{% profile_link "email" "a+b@example.com" 1 %}'
    ).render(Context())
    url = "/profile/?email=a%2Bb%40example.com&amp;db_id=1"
    assert html == f'<a href="{url}" class="profile-link">a+b@example.com</a>'


def test_edit_in_the_builder_opens_profiles_update_by_profile_id_prefilled(support):
    profile = make_profile()
    look(support, profile_id=profile.pk)
    html = support.get(reverse("builder"), {"live": profile.pk}).content.decode()
    assert 'value="profiles/update" selected' in html or "profiles/update" in html
    assert profile.pk in html
    assert "Petrova" in html


def test_import_this_customer_opens_the_builder_prefilled(support):
    look(support, email="newcomer@example.com")
    html = support.get(reverse("builder"), {"import": "1"}).content.decode()
    assert "newcomer@example.com" in html
    assert "profiles/import" in html


def test_the_chain_shows_a_changed_lookup(support):
    make_profile()
    look(support, email="petrova@example.com")
    assert audit.verify().held
    from tests.console.test_audit import triggers_off

    with triggers_off() as cursor:
        cursor.execute("UPDATE profiles_ui_profilelookup SET identifier = 'someone@example.com'")
    verdict = audit.verify()
    assert not verdict.held
    assert "profile lookup" in verdict.problem and "was changed" in verdict.problem


def test_lookup_rows_cannot_be_changed_or_deleted(support):
    from profiles_ui.models import FinalRecordError

    make_profile()
    look(support, email="petrova@example.com")
    row = ProfileLookup.objects.get()
    row.identifier = "x"
    with pytest.raises(FinalRecordError):
        row.save()
    with pytest.raises(FinalRecordError):
        ProfileLookup.objects.all().delete()


def test_the_profile_timeline_is_the_historys_with_batch_rows_and_fields_after(support):
    from profiles_ui.models import Identifier
    from tests.helpers import make_record

    make_profile()
    rows = [{"email": "other@example.com"}, {"email": "petrova@example.com", "_fname": "Anna"}]
    body = json.dumps({"token": "$ALTCRAFT_TOKEN", "db_id": 1, "data": rows})
    record = make_record(
        operation="profiles/import_batch", request_body=body, email="", profile_count=2, db_id=1,
        results=[{"error": 0, "profile_id": "p-o"}, {"error": 0, "profile_id": "p-a"}],
    )  # fmt: skip
    Identifier.objects.create(submission=record, row=1, kind="email", value="petrova@example.com")
    html = look(support, email="petrova@example.com").content.decode()
    timeline = html[html.index('id="timeline-heading"') :]
    assert f'<a href="/history/{record.pk}/">#{record.pk}</a>' in timeline
    assert "2 of 2 in the request" in timeline
    assert 'href="/profile/?profile_id=p-a&amp;db_id=1&amp;connection=sandbox"' in timeline
    assert (
        f"After #{record.pk}: <code>email</code> petrova@example.com, <code>_fname</code> Anna"
        in timeline
    )
