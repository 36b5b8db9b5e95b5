"""Every identifier a record carries is indexed and found: exact, prefix, substring."""

import pytest
from django.db import connection as db
from django.urls import reverse

from profiles_ui import services
from profiles_ui.connections import get_connection
from profiles_ui.history import forms
from profiles_ui.models import Identifier, Submission
from tests.helpers import record_ids

PAYLOAD = {
    "db_id": 1,
    "matching": "email",
    "email": "Olga.Petrova@Example.com",
    "data": {
        "phones": ["8 900 123-45-67"],
        "subscriptions": [
            {"channel": "sms", "phone": "+79005550000"},
            {"channel": "push", "subscription_id": "a81c264a938b475"},
            {"channel": "telegram_bot", "cc_data": {"id": 12345}},
        ],
    },
}
BATCH = {"db_id": 1, "data": [{"email": "first@example.com"}, {"email": "second@example.com"}]}


def record(make_user, payload, operation="profiles/import", username="writer"):
    return services.record_pending(
        user=make_user("support", username),
        connection=get_connection("sandbox"),
        operation=operation,
        body=services.request_body(payload, "json", get_connection("sandbox")),
        fmt="json",
        about=services.identifiers(payload),
        payload=payload,
    )


def search(client, text, match="exact"):
    return record_ids(client.get(reverse("history"), {"q": text, "match": match}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "olga.petrova@example.com",
        "+79001234567",
        "8 900 123-45-67",
        "+79005550000",
        "a81c264a938b475",
        "12345",
    ],
)
def test_each_identifier_kind_is_found_exactly(client_for, make_user, text):
    wanted = record(make_user, PAYLOAD)
    assert search(client_for("support"), text) == [wanted.pk]


@pytest.mark.django_db
def test_batch_rows_and_answer_profile_ids_are_indexed_with_their_row(client_for, make_user):
    batch = record(make_user, BATCH, "profiles/import_batch")
    services.finalise(
        batch, state="succeeded", results=[{"profile_id": "p-a"}, {"profile_id": "p-b"}]
    )
    rows = set(Identifier.objects.filter(submission=batch).values_list("row", "kind", "value"))
    assert (1, "email", "second@example.com") in rows
    assert (1, "profile_id", "p-b") in rows
    assert search(client_for("support"), "second@example.com") == [batch.pk]


@pytest.mark.django_db
def test_prefix_finds_email_and_phone(client_for, make_user):
    wanted = record(make_user, PAYLOAD)
    client = client_for("support")
    assert search(client, "olga.pet", "prefix") == [wanted.pk]
    assert search(client, "+7900123", "prefix") == [wanted.pk]


@pytest.mark.django_db
def test_substring_finds_partial_text(client_for, make_user):
    wanted = record(make_user, PAYLOAD)
    assert search(client_for("support"), "petrova", "contains") == [wanted.pk]


@pytest.mark.django_db
def test_a_text_with_at_sign_is_contained_whole_not_only_up_to_it(client_for, make_user):
    # The index is asked for the part up to "@"; the whole text must still be contained.
    wanted = record(make_user, PAYLOAD)
    elsewhere = {**PAYLOAD, "email": "anna.olga.petrova@example.org", "data": {}}
    other = record(make_user, elsewhere, username="another-writer")
    client = client_for("support")
    assert search(client, "olga.petrova@example.com", "contains") == [wanted.pk]
    assert search(client, "a.petrova@example.org", "contains") == [other.pk]
    assert search(client, "petrova@exa", "contains") == [other.pk, wanted.pk]
    assert search(client, "petrova@example.net", "contains") == []
    assert search(client, "@example.org", "contains") == [other.pk]  # a domain, whole


@pytest.mark.django_db
@pytest.mark.parametrize("hits_by_id", [1_000, 1])
def test_many_hits_are_found_as_few_are(client_for, make_user, monkeypatch, hits_by_id):
    # Past HITS_BY_ID hits the records are found by a subquery instead of by their IDs.
    monkeypatch.setattr(forms, "HITS_BY_ID", hits_by_id)
    first = record(make_user, PAYLOAD)
    second = record(make_user, PAYLOAD, username="another-writer")
    client = client_for("support")
    assert search(client, "olga.pet", "prefix") == [second.pk, first.pk]
    assert search(client, "petrova", "contains") == [second.pk, first.pk]


@pytest.mark.django_db
def test_contains_finds_generated_ids_and_phones_only_whole(client_for, make_user):
    wanted = record(make_user, PAYLOAD)
    client = client_for("support")
    assert search(client, "a81c264a938b475", "contains") == [wanted.pk]
    assert search(client, "c264a938", "contains") == []  # a push ID is never typed in part
    assert search(client, "8 (900) 555-00-00", "contains") == [wanted.pk]
    assert search(client, "9005550", "contains") == []  # digits are found whole or by start
    assert search(client, "+7900555", "prefix") == [wanted.pk]


@pytest.mark.django_db
def test_auto_searches_whole_emails_and_phones_exactly_and_parts_as_contained(
    client_for, make_user
):
    wanted = record(make_user, PAYLOAD)
    other = {**PAYLOAD, "email": "anna.olga.petrova@example.com", "data": {}}
    record(make_user, other, username="another-writer")
    client = client_for("support")
    assert search(client, "Olga.Petrova@example.com", "auto") == [wanted.pk]
    assert search(client, "89005550000", "auto") == [wanted.pk]
    assert len(search(client, "olga.petrova", "auto")) == 2
    assert search(client, "olga.petrova@example.com", "") == [wanted.pk]  # auto by default


@pytest.mark.django_db
def test_identifier_rows_cannot_be_changed(make_user):
    from django.db import DatabaseError, transaction

    record(make_user, PAYLOAD)
    with pytest.raises(DatabaseError), transaction.atomic():
        Identifier.objects.update(value="changed")


@pytest.mark.django_db
def test_timeline_holds_a_batch_row(client_for, make_user):
    batch = record(make_user, BATCH, "profiles/import_batch")
    response = client_for("support").get(
        reverse("history_timeline"), {"email": "first@example.com"}
    )
    assert record_ids(response) == [batch.pk]


@pytest.mark.django_db
def test_records_from_before_the_index_are_found_once_backfilled(client_for, make_user):
    import importlib

    backfill = importlib.import_module("profiles_ui.migrations.0014_identifier_backfill")
    old = Submission.objects.create(
        username="old", role="marketer", connection="sandbox", operation="profiles/import",
        url="u", format="json", request_body="{}", email="Old.Customer@example.com",
        phone="+79001110000", profile_id="p-old",
    )  # fmt: skip
    client = client_for("support")
    assert search(client, "old.customer@example.com") == []
    with db.cursor() as cursor:
        cursor.execute(backfill.BACKFILL)
        cursor.execute(backfill.BACKFILL)  # a second run adds nothing
    assert Identifier.objects.filter(submission=old).count() == 3
    for text in ("old.customer@example.com", "8 900 111-00-00", "p-old"):
        assert search(client, text) == [old.pk]
