"""The history list: who sees what, filters, search, count, keyset pages, htmx."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from profiles_ui.history import views as history
from profiles_ui.models import Submission
from tests.helpers import make_record, record_ids, recorded_batch


@pytest.mark.django_db
def test_newest_record_comes_first(client_for):
    client = client_for("support")
    older, newer = make_record(), make_record()
    assert record_ids(client.get(reverse("history"))) == [newer.pk, older.pk]


@pytest.mark.django_db
def test_marketer_sees_only_their_own_records(client_for, make_user, django_user_model):
    client = client_for("marketer")
    mine = make_record(user=django_user_model.objects.get(username="marketer"))
    make_record(user=make_user("support", "colleague"))
    assert record_ids(client.get(reverse("history"))) == [mine.pk]


@pytest.mark.django_db
def test_support_sees_everyones_records(client_for, make_user):
    a = make_record(user=make_user("marketer", "m1"))
    b = make_record(user=make_user("marketer", "m2"))
    assert record_ids(client_for("support").get(reverse("history"))) == [b.pk, a.pk]


@pytest.mark.django_db
def test_filter_by_state(client_for):
    make_record()
    rejected = make_record(state=Submission.State.REJECTED, error=435)
    response = client_for("auditor").get(reverse("history"), {"state": "rejected"})
    assert record_ids(response) == [rejected.pk]


@pytest.mark.django_db
def test_filter_by_error_code_and_operation(client_for):
    make_record(error=404, operation="profiles/update")
    wanted = make_record(error=404, operation="profiles/import", state="rejected")
    make_record(error=0)
    params = {"error": "404", "operation": "profiles/import"}
    assert record_ids(client_for("auditor").get(reverse("history"), params)) == [wanted.pk]


@pytest.mark.django_db
def test_filter_by_user(client_for, make_user):
    make_record(user=make_user("marketer", "m1"))
    wanted = make_record(user=make_user("marketer", "m2"))
    response = client_for("support").get(reverse("history"), {"username": "m2"})
    assert record_ids(response) == [wanted.pk]


@pytest.mark.django_db
def test_filter_by_date_range(client_for):
    old = make_record(state=Submission.State.PENDING)  # still pending: its date may be moved
    Submission.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10), state="succeeded"
    )
    recent = make_record()
    today = timezone.now().date()
    params = {"date_from": str(today - timedelta(days=1)), "date_to": str(today)}
    assert record_ids(client_for("support").get(reverse("history"), params)) == [recent.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["email", "phone", "profile_id", "request_id"])
def test_search_finds_a_record_by_any_identifier(client_for, field):
    make_record(email="other@example.com", phone="+15550000000", profile_id="zzz")
    wanted = make_record(email="bob@example.com", phone="+15551234567", profile_id="abc123")
    response = client_for("support").get(reverse("history"), {"q": str(getattr(wanted, field))})
    assert record_ids(response) == [wanted.pk]


@pytest.mark.django_db
def test_bad_date_is_explained_next_to_the_field(client_for):
    page = client_for("support").get(reverse("history"), {"date_from": "31/02/2025"})
    html = page.content.decode()
    assert "Date from: enter a valid date" in html
    assert 'aria-invalid="true"' in html


@pytest.mark.django_db
def test_date_to_before_date_from_is_refused(client_for):
    params = {"date_from": "2025-03-02", "date_to": "2025-03-01"}
    html = client_for("support").get(reverse("history"), params).content.decode()
    assert "Date to: must be on or after Date from" in html


@pytest.mark.django_db
def test_count_is_shown(client_for):
    make_record(), make_record()
    assert (
        "<strong>2</strong> records"
        in client_for("support").get(reverse("history")).content.decode()
    )


@pytest.mark.django_db
def test_count_is_capped_on_large_results(client_for, monkeypatch):
    monkeypatch.setattr(history, "COUNT_CAP", 2)
    for _ in range(3):
        make_record()
    assert (
        "<strong>2+</strong> records"
        in client_for("support").get(reverse("history")).content.decode()
    )


@pytest.mark.django_db
def test_older_and_newer_pages_use_the_last_id(client_for, monkeypatch):
    monkeypatch.setattr(history, "PAGE_SIZE", 2)
    a, b, c = make_record(), make_record(), make_record()
    client = client_for("support")
    first = client.get(reverse("history"), {"state": "succeeded"})
    assert record_ids(first) == [c.pk, b.pk]
    assert f"?state=succeeded&amp;before={b.pk}" in first.content.decode()
    older = client.get(reverse("history"), {"state": "succeeded", "before": b.pk})
    assert record_ids(older) == [a.pk]
    assert "Older →</span>" in older.content.decode()  # no link: last page
    newer = client.get(reverse("history"), {"state": "succeeded", "after": a.pk})
    assert record_ids(newer) == [c.pk, b.pk]


@pytest.mark.django_db
def test_htmx_request_gets_only_the_table(client_for):
    make_record()
    response = client_for("support").get(reverse("history"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="history-results"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_filters_work_as_a_plain_get_form(client_for):
    html = client_for("support").get(reverse("history")).content.decode()
    assert '<form method="get" action="/history/"' in html
    assert 'hx-target="#history-results"' in html


@pytest.mark.django_db
def test_states_are_written_in_words(client_for):
    make_record(state=Submission.State.TRANSPORT_FAILED, error=None)
    html = client_for("support").get(reverse("history")).content.decode()
    assert "Transport failure, outcome unknown" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shown"), [("marketer", False), ("auditor", True)])
def test_export_links_only_for_those_who_may_export(client_for, role, shown):
    html = client_for(role).get(reverse("history")).content.decode()
    assert (reverse("history_export_csv") in html) == shown


@pytest.mark.django_db
def test_nav_links_to_the_history(client_for):
    html = client_for("marketer").get(reverse("home")).content.decode()
    assert 'href="/history/"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/history/", "/history/export.csv", "/history/export.jsonl"])
def test_the_last_possible_day_is_an_open_end_not_an_overflow(client_for, url):
    wanted = make_record()
    response = client_for("auditor").get(url, {"date_to": "9999-12-31"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert str(wanted.request_id).encode() in body or f"/history/{wanted.pk}/".encode() in body


@pytest.mark.django_db
def test_a_date_before_1900_is_refused_on_its_field(client_for):
    response = client_for("auditor").get("/history/", {"date_from": "0001-01-01"})
    assert "Date from: enter a date from 1900 on" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "unfolded"),
    [({}, False), ({"q": "ann@example.com"}, False), ({"state": "rejected"}, True),
     ({"date_from": "not a date"}, True)],
)  # fmt: skip
def test_the_filters_are_folded_unless_one_is_set(client_for, params, unfolded):
    html = client_for("support").get(reverse("history"), params).content.decode()
    assert ('<details class="history-filter-toggle" open>' in html) is unfolded
    assert '<details class="history-filter-toggle"' in html


# --- How a batch request's rows fared -------------------------------------------------------


def batch_record(user, errors: list[int], **answer) -> Submission:
    """A batch import of len(errors) profiles, Altcraft answering each with its error code."""
    rows = [{"matching": "email", "email": f"b{i}@example.com"} for i in range(len(errors))]
    results = [
        {"profile_id": f"p{i}" if not e else "", "error": e, "error_text": "" if not e else "no"}
        for i, e in enumerate(errors)
    ]
    return recorded_batch(user, rows, answer.pop("results", results), **answer)


@pytest.fixture
def outcomes(make_user):
    user = make_user("support", "sender")
    return {
        "single": make_record(user=user),
        "succeeded": batch_record(user, [0, 0, 0]),
        "partly_failed": batch_record(user, [0, 404, 409]),
        "failed": batch_record(user, [404, 404]),
        "rejected": batch_record(
            user, [0, 0], state="rejected", error=400, error_text="bad data", results=None
        ),
    }


@pytest.mark.django_db
def test_batch_records_say_how_their_rows_fared_and_single_ones_do_not(client_for, outcomes):
    assert outcomes["single"].rows_outcome == ""
    assert [(outcomes[k].rows_outcome, outcomes[k].rows_failed) for k in outcomes][1:] == [
        ("succeeded", 0),
        ("partly_failed", 2),
        ("failed", 2),
        ("failed", 2),
    ]
    page = client_for("support").get(reverse("history")).content.decode()
    assert page.count("Rows: ") == 4
    assert "Rows: Succeeded (all rows)" in page
    assert "Rows: Partly failed (2 of 3 rows)" in page
    assert page.count("Rows: Failed (all rows)") == 2
    # Beside the request-level state, not instead of it.
    assert "Rejected by Altcraft" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "wanted"),
    [("succeeded", ["succeeded"]), ("partly_failed", ["partly_failed"]),
     ("failed", ["rejected", "failed"])],
)  # fmt: skip
def test_filter_by_how_the_rows_fared(client_for, outcomes, rows, wanted):
    response = client_for("support").get(reverse("history"), {"rows": rows})
    assert record_ids(response) == [outcomes[name].pk for name in wanted]


@pytest.mark.django_db
def test_an_unknown_rows_filter_names_the_field(client_for):
    response = client_for("support").get(reverse("history"), {"rows": "most"})
    assert response.status_code == 200
    assert "Rows: Select a valid choice." in response.content.decode()


@pytest.mark.django_db
def test_a_batch_record_written_before_rows_were_counted_still_shows_its_rows(client_for):
    old = make_record(
        operation="profiles/import_batch",
        profile_count=2,
        results=[{"profile_id": "p1", "error": 0}, {"profile_id": "", "error": 404}],
    )
    client = client_for("support")
    listed = client.get(reverse("history")).content.decode()
    assert "Succeeded" in listed
    assert "Rows: " not in listed  # not counted: the list does not guess
    page = client.get(reverse("history_record", args=[old.pk])).content.decode()
    assert "Rows: Partly failed (1 of 2 rows)" in page
    assert "1 × 404 Object not found within the token" in page
    assert "row 2" in page
