"""The customer timeline: every record about one customer, batch rows included, newest first,
with what each set, what Altcraft answered for their row and the fields known after it."""

import json

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles_ui.history import timeline
from profiles_ui.models import Submission
from tests.helpers import make_record, record_ids


def body(data, **top) -> str:
    payload = {"token": "$ALTCRAFT_TOKEN", "db_id": 1, "matching": "email", **top, "data": data}
    return json.dumps(payload)


def single(fields, state="succeeded", error=0, **record):
    return make_record(
        request_body=body(fields, email="ann@example.com"), state=state, error=error, **record
    )


def entries(user_client, **params):
    response = user_client.get(reverse("history_timeline"), params)
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_timeline_lists_records_about_one_email_across_users_newest_first(client_for, make_user):
    first = make_record(user=make_user("marketer", "m1"))
    make_record(
        email="someone-else@example.com", request_body='{"email":"someone-else@example.com"}'
    )
    second = make_record(user=make_user("support", "s1"))
    response = client_for("support").get(reverse("history_timeline"), {"email": "ann@example.com"})
    assert record_ids(response) == [second.pk, first.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "value"), [("phone", "+15551234567"), ("profile_id", "p-42")])
def test_timeline_by_phone_or_profile_id(client_for, key, value):
    wanted = make_record(**{key: value})
    make_record()
    response = client_for("auditor").get(reverse("history_timeline"), {key: value})
    assert record_ids(response) == [wanted.pk]


@pytest.mark.django_db
def test_timeline_needs_exactly_one_identifier(client_for):
    params = {"email": "ann@example.com", "phone": "+1555"}
    html = client_for("support").get(reverse("history_timeline"), params).content.decode()
    assert "Give exactly one of email, phone or profile_id." in html


@pytest.mark.django_db
def test_marketers_timeline_holds_only_their_own_records(client_for, make_user, django_user_model):
    client = client_for("marketer")
    mine = make_record(user=django_user_model.objects.get(username="marketer"))
    make_record(user=make_user("marketer", "colleague"))
    response = client.get(reverse("history_timeline"), {"email": "ann@example.com"})
    assert record_ids(response) == [mine.pk]


@pytest.mark.django_db
def test_record_page_links_to_the_timeline(client_for):
    record = make_record()
    html = client_for("support").get(reverse("history_record", args=[record.pk])).content.decode()
    assert "/history/timeline/?email=ann%40example.com" in html


@pytest.mark.django_db
def test_older_pages_follow_by_keyset(client_for, monkeypatch):
    monkeypatch.setattr(timeline, "PAGE_SIZE", 2)
    records = [make_record() for _ in range(5)]
    client = client_for("support")
    first = entries(client, email="ann@example.com")
    assert record_ids(first) == [records[4].pk, records[3].pk]
    second = entries(client, email="ann@example.com", before=records[3].pk)
    assert record_ids(second) == [records[2].pk, records[1].pk]
    assert f"before={records[1].pk}" in second.content.decode()
    last = entries(client, email="ann@example.com", before=records[1].pk)
    assert record_ids(last) == [records[0].pk]
    assert "Older →</a>" not in last.content.decode()


# --- What each record set, and what is known after it -------------------------------------


def page_for(support_user, value="ann@example.com"):
    return timeline.page(Submission.objects.all(), value)


@pytest.mark.django_db
def test_each_entry_says_what_it_set_and_the_fields_known_after_it():
    first = single({"_fname": "Olga", "loyalty_level": 3})
    second = single({"loyalty_level": 4})
    page = page_for(None)
    newest, oldest = page.entries
    assert (newest.record.pk, oldest.record.pk) == (second.pk, first.pk)
    assert oldest.parts[0].fields == {"_fname": "Olga", "loyalty_level": 3}
    assert newest.parts[0].fields == {"loyalty_level": 4}
    assert newest.after == {"_fname": "Olga", "loyalty_level": 4}
    assert oldest.after == {"_fname": "Olga", "loyalty_level": 3}


@pytest.mark.django_db
def test_a_rejected_record_changes_nothing_and_says_why():
    single({"_fname": "Olga"})
    rejected = single({"_fname": "Oleg"}, state="rejected", error=404, error_text="Not found")
    newest = page_for(None).entries[0]
    assert newest.record.pk == rejected.pk
    assert newest.parts[0].fields == {"_fname": "Oleg"}
    assert (newest.parts[0].succeeded, newest.parts[0].error) == (False, 404)
    assert newest.after == {"_fname": "Olga"}


@pytest.mark.django_db
def test_a_duplicate_is_judged_by_the_first_answer_it_repeats():
    single({"_fname": "Olga"}, state="duplicate")
    single({"_fname": "Oleg"}, state="duplicate", error=404, error_text="Not found")
    newest, oldest = page_for(None).entries
    assert (newest.parts[0].succeeded, newest.parts[0].error) == (False, 404)
    assert oldest.parts[0].succeeded
    assert newest.after == {"_fname": "Olga"}


@pytest.mark.django_db
def test_an_unknown_outcome_and_a_function_make_their_fields_unknown():
    single({"_fname": "Olga", "_lname": "Petrova", "loyalty_level": 3})
    single({"_lname": "Smirnova"}, state="transport_failed", error=None)
    single({"loyalty_level": {"action": "incr", "value": 1}})
    assert page_for(None).entries[0].after == {"_fname": "Olga"}


@pytest.mark.django_db
def test_a_purged_body_leaves_nothing_known_and_says_so():
    from django.utils import timezone

    single({"_fname": "Olga"})
    make_record(request_body="", purged_at=timezone.now())
    newest = page_for(None).entries[0]
    assert newest.parts[0].fields is None
    assert "retention purge" in newest.parts[0].unread
    assert newest.after == {}


@pytest.mark.django_db
def test_a_deletion_leaves_the_profile_deleted():
    single({"_fname": "Olga"})
    make_record(operation="profiles/delete", request_body=body(None, email="ann@example.com"))
    newest = page_for(None).entries[0]
    assert newest.deleted and newest.after == {}


@pytest.mark.django_db
def test_the_page_shows_the_fields_after_each_record(client_for):
    first = single({"_fname": "Olga", "loyalty_level": 4})
    html = entries(client_for("support"), email="ann@example.com").content.decode()
    assert f"After #{first.pk}: <code>_fname</code> Olga, <code>loyalty_level</code> 4" in html


# --- Batch rows ---------------------------------------------------------------------------


def batch(rows, results, state="succeeded", **record):
    from profiles_ui.history import identifiers as found
    from profiles_ui.models import Identifier

    made = make_record(
        operation="profiles/import_batch", request_body=body(rows), email="", state=state,
        results=results, profile_count=len(rows), **record,
    )  # fmt: skip
    Identifier.objects.bulk_create(
        Identifier(submission=made, row=row, kind=kind, value=value)
        for row, kind, value in found.normalised(found.found_in({"data": rows}, results), "RU")
    )
    return made


ROWS = [
    {"email": "bob@example.com", "_fname": "Bob"},
    {"email": "ann@example.com", "_fname": "Anna", "loyalty_level": 2},
]


@pytest.mark.django_db
def test_a_batch_entry_holds_only_the_customers_row_and_its_answer():
    results = [{"error": 0, "profile_id": "p-bob"}, {"error": 0, "profile_id": "p-ann"}]
    record = batch(ROWS, results)
    entry = page_for(None).entries[0]
    assert entry.record.pk == record.pk
    (part,) = entry.parts
    assert part.row.number == 2
    assert part.fields == {"email": "ann@example.com", "_fname": "Anna", "loyalty_level": 2}
    assert (part.succeeded, part.profile_id) == (True, "p-ann")
    assert entry.after["_fname"] == "Anna"


@pytest.mark.django_db
def test_a_failed_batch_row_changes_nothing():
    single({"_fname": "Ann"})
    results = [{"error": 0, "profile_id": "p-bob"}, {"error": 409, "error_text": "Duplicate"}]
    batch(ROWS, results)
    entry = page_for(None).entries[0]
    assert (entry.parts[0].error, entry.parts[0].error_text) == (409, "Duplicate")
    assert entry.after == {"_fname": "Ann"}


@pytest.mark.django_db
def test_the_customer_found_by_the_profile_id_altcraft_gave_their_row():
    batch(ROWS, [{"error": 0, "profile_id": "p-bob"}, {"error": 0, "profile_id": "p-ann"}])
    entry = page_for(None, "p-ann").entries[0]
    assert entry.parts[0].fields["_fname"] == "Anna"


@pytest.fixture
def large_batch(monkeypatch):
    rows = [{"email": f"user{i}@example.com", "_fname": "x" * 200} for i in range(400)]
    for row, email in ((3, "near@example.com"), (60, "middle@example.com"), (390, "far@")):
        rows[row]["email"] = email
    batch(rows, None)
    monkeypatch.setattr(timeline, "BODY_HEAD", 4096)
    monkeypatch.setattr(timeline, "BODY_BUDGET", 40_000)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["near@example.com", "middle@example.com"])
def test_a_large_batch_is_read_as_far_as_the_customers_row(large_batch, email):
    (part,) = page_for(None, email).entries[0].parts
    assert part.fields["email"] == email


@pytest.mark.django_db
def test_a_row_beyond_the_pages_budget_is_not_read_and_says_so(large_batch):
    (part,) = page_for(None, "far@").entries[0].parts
    assert part.fields is None
    assert part.unread == "a large request, not read on this page: open the record"
    assert part.succeeded  # the answer is still shown


def test_scan_rows_skips_other_keys_and_stops_at_a_cut():
    text = '{"db_id": 1, "skip": {"data": [9]}, "data": [{"a": 1}, {"a": 2}, {"a": 3}], "z": 0}'
    assert timeline.scan_rows(text, {0, 2}).items == {0: {"a": 1}, 2: {"a": 3}}
    cut = timeline.scan_rows(text[: text.index('{"a": 3}') + 3], {0, 2})
    assert (cut.items, cut.read) == ({0: {"a": 1}}, 2)
    assert timeline.scan_rows("not json", {0}).items == {}


@pytest.mark.django_db
def test_a_page_of_batches_costs_a_fixed_number_of_queries(client_for):
    results = [{"error": 0, "profile_id": "p-bob"}, {"error": 0, "profile_id": "p-ann"}]
    client = client_for("support")
    batch(ROWS, results)
    with CaptureQueriesContext(db) as one:
        entries(client, email="ann@example.com")
    for _ in range(10):
        batch(ROWS, results)
        single({"_fname": "Ann"})
    with CaptureQueriesContext(db) as many:
        response = entries(client, email="ann@example.com")
    assert len(record_ids(response)) == 21
    assert len(many.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
def test_the_timelines_identifiers_link_to_the_profile_page(client_for):
    single({"email": "ann@example.com", "phones": ["+79001234567"]}, db_id=1, profile_id="p-1")
    html = entries(client_for("support"), email="ann@example.com").content.decode()
    assert '<h2><a href="/profile/?email=ann%40example.com" class="profile-link">' in html
    for query in ("email=ann%40example.com", "phone=%2B79001234567", "profile_id=p-1"):
        assert f'href="/profile/?{query}&amp;db_id=1&amp;connection=sandbox"' in html, query


@pytest.mark.django_db
def test_odd_field_values_are_shown_as_json_not_linked(client_for):
    single({"email": ["not", "a string"], "phones": "+79001234567", "items": 1}, db_id=1)
    html = entries(client_for("support"), email="ann@example.com").content.decode()
    assert "<code>phones</code> +79001234567" in html
    assert "<code>items</code> 1" in html
    assert "phone=%2B79001234567" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "problem"),
    [("abc", "Enter a whole number."), ("0", "greater than or equal to 1"), ("1" * 30, None)],
)
def test_a_bad_cursor_is_named_not_a_500(client_for, before, problem):
    response = client_for("support").get(
        reverse("history_timeline"), {"email": "ann@example.com", "before": before}
    )
    assert response.status_code == 200
    html = response.content.decode()
    if problem:
        assert "before (the older page's cursor):" in html and problem in html
    else:
        assert "No records about this customer." in html
