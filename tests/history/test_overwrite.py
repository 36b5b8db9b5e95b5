"""No silent overwrite: resending a record warns of the newer records about the same customer,
lists them with their differences, needs a tick to go on, and the resend says what it went over."""

import json
import re
import uuid

import pytest
from django.urls import reverse

from profiles_ui import services
from profiles_ui.history import identifiers as found
from profiles_ui.models import Submission
from tests.helpers import make_record

TICK = "I have seen the newer records; send anyway"


def indexed(**fields) -> Submission:
    """A final record with its identifiers indexed, as services.submit() writes them."""
    record = make_record(**fields)
    payload = json.loads(record.request_body)
    services.index_identifiers(record, found.found_in(payload), "RU")
    return record


def body(**payload) -> str:
    return json.dumps({"token": "$ALTCRAFT_TOKEN", "db_id": 1, **payload})


def ann_import() -> Submission:
    return indexed(
        request_body=body(matching="email", email="ann@example.com", data={"_fname": "Ann"})
    )


def ann_fixed_by_phone() -> Submission:
    """A later update of the same customer, matched by phone, naming her email in its data."""
    return indexed(
        operation="profiles/update",
        email="",
        phone="+79001234567",
        matching="phone",
        request_body=body(
            matching="phone",
            phone="+79001234567",
            data={"email": "Ann@Example.com", "_fname": "Anna"},
        ),
    )


def resend_page(client, record: Submission) -> str:
    return client.get(reverse("history_resend", args=[record.pk])).content.decode()


@pytest.mark.django_db
def test_resend_lists_the_newer_records_about_the_customer_with_their_differences(client_for):
    first = ann_import()
    fixed = ann_fixed_by_phone()
    someone_else = indexed(
        email="bob@example.com",
        request_body=body(matching="email", email="bob@example.com", data={"_fname": "Bob"}),
    )
    elsewhere = indexed(connection="prod")
    html = resend_page(client_for("support"), first)
    assert "Newer records about this customer exist on sandbox." in html
    assert f'<a href="/history/{fixed.pk}/">#{fixed.pk}</a>' in html
    assert f'<a href="/history/{someone_else.pk}/">' not in html
    assert f'<a href="/history/{elsewhere.pk}/">' not in html
    row = html[html.index(f"#{fixed.pk}</a>") : html.index("</tr>", html.index(f"#{fixed.pk}</a>"))]
    assert "<code>profiles/update</code>" in row and "Succeeded" in row
    assert (
        "<code>data._fname</code>: <code>&quot;Ann&quot;</code> → <code>&quot;Anna&quot;</code>"
        in row
    )
    assert f'value="{fixed.pk}"> {TICK}</label>' in html


@pytest.mark.django_db
def test_without_newer_records_no_tick_is_asked(client_for):
    first = ann_import()
    html = resend_page(client_for("support"), first)
    assert "No newer record about this customer on sandbox." in html
    assert TICK not in html


@pytest.mark.django_db
def test_a_batch_newer_record_is_listed_without_a_comparison(client_for):
    first = ann_import()
    batch = indexed(
        operation="profiles/import_batch",
        email="",
        request_body=body(
            data=[{"email": "zed@example.com"}, {"email": "ann@example.com", "_fname": "A"}]
        ),
    )
    html = resend_page(client_for("support"), first)
    assert f'<a href="/history/{batch.pk}/">#{batch.pk}</a>' in html
    assert "Not compared (a batch request" in html


@pytest.mark.django_db
def test_resend_identical_without_the_tick_is_refused_and_nothing_is_sent(client_for):
    first = ann_import()
    fixed = ann_fixed_by_phone()
    response = client_for("support").post(
        reverse("history_resend", args=[first.pk]), {"reason": "lost"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f'<p class="field-error" id="id_seen_newer_error">{TICK}: newer records about this '
        f"customer exist (#{fixed.pk}): tick this to send over them, or cancel</p>"
    ) in html
    assert Submission.objects.count() == 2


@pytest.mark.django_db
def test_a_tick_given_before_a_newer_record_arrived_is_refused(client_for):
    first = ann_import()
    seen = ann_fixed_by_phone()
    arrived = ann_fixed_by_phone()
    response = client_for("support").post(
        reverse("history_resend", args=[first.pk]), {"reason": "lost", "seen_newer": seen.pk}
    )
    assert f"record #{arrived.pk} arrived after you looked: read it, then tick again" in (
        response.content.decode()
    )
    assert Submission.objects.count() == 3


@pytest.mark.django_db
def test_a_garbled_tick_is_refused_on_its_field(client_for):
    first = ann_import()
    ann_fixed_by_phone()
    response = client_for("support").post(
        reverse("history_resend", args=[first.pk]), {"reason": "lost", "seen_newer": "yes"}
    )
    assert f"{TICK}: tick the box, or cancel" in response.content.decode()


@pytest.mark.django_db
def test_a_stray_tick_is_ignored_when_nothing_is_newer(client_for):
    # A record of a removed connection: the form passes, and the refusal comes after it.
    record = indexed(connection="gone")
    response = client_for("support").post(
        reverse("history_resend", args=[record.pk]), {"reason": "again", "seen_newer": "x"}
    )
    html = response.content.decode()
    assert "Not sent: the connection &#x27;gone&#x27; no longer exists." in html
    assert "tick" not in html


def sent(user, sandbox, operation: str, payload: dict, **extra) -> Submission:
    return services.submit(
        user=user, connection=sandbox, operation=operation, payload=payload, **extra
    )


@pytest.mark.django_db(transaction=True)
def test_resend_identical_with_the_tick_sends_and_says_what_it_went_over(
    client_for, sandbox, django_user_model
):
    client = client_for("support")
    user = django_user_model.objects.get(username="support")
    first = sent(
        user, sandbox, "profiles/import",
        {"db_id": 1, "matching": "email", "email": "olga@example.com", "data": {"_fname": "Olga"}},
    )  # fmt: skip
    fix = sent(
        user, sandbox, "profiles/update",
        {"db_id": 1, "matching": "email", "email": "olga@example.com", "data": {"_fname": "Olya"}},
    )  # fmt: skip
    response = client.post(
        reverse("history_resend", args=[first.pk]), {"reason": "undo", "seen_newer": fix.pk}
    )
    again = Submission.objects.get(parent=first)
    assert response.url == reverse("history_record", args=[again.pk])
    assert again.state == Submission.State.SUCCEEDED
    page = client.get(response.url).content.decode()
    assert re.search(
        rf'Sent over newer records <a href="/history/{fix.pk}/">#{fix.pk}</a>: they were about '
        rf"the same customer and came after #{first.pk}\.",
        page,
    )
    # Not on the record it went over, nor on a record sent later.
    assert "Sent over newer records" not in client.get(f"/history/{fix.pk}/").content.decode()


@pytest.mark.django_db
def test_a_resend_with_nothing_in_between_went_over_nothing(client_for):
    first = ann_import()
    again = indexed(parent=first, reason="lost", request_body=first.request_body)
    ann_fixed_by_phone()  # later than the resend: not something it went over
    html = client_for("support").get(reverse("history_record", args=[again.pk])).content.decode()
    assert "Sent over newer records" not in html


BUILDER = "/builder/"


def fix_form(record: Submission, **fields: str) -> dict[str, str]:
    """The builder's post fixing `record` (an import of olga@example.com)."""
    return {
        "form_token": str(uuid.uuid4()),
        "t-operation": "profiles/import",
        "t-connection": "sandbox",
        "t-db_id": "1",
        "m-matching": "email",
        "m-email": "olga@example.com",
        "p-_fname": "Olga",
        "o-fmt": "json",
        "sub-TOTAL_FORMS": "0",
        "sub-INITIAL_FORMS": "0",
        "action": "send",
        "r-reason": "wrong name",
        **fields,
    }


@pytest.mark.django_db(transaction=True)
def test_fix_and_resend_warns_and_needs_the_tick_on_the_server(
    client_for, sandbox, django_user_model
):
    client = client_for("support")
    user = django_user_model.objects.get(username="support")
    first = sent(
        user, sandbox, "profiles/import",
        {"db_id": 1, "matching": "email", "email": "olga@example.com", "data": {"_fname": "Ol"}},
    )  # fmt: skip
    fix = sent(
        user, sandbox, "profiles/update",
        {"db_id": 1, "matching": "email", "email": "olga@example.com", "data": {"_fname": "Olya"}},
    )  # fmt: skip
    url = f"{BUILDER}?from={first.pk}"
    html = client.get(url).content.decode()
    fieldset = html[html.index('id="section-r"') : html.index('id="section-t"')]
    assert f'<a href="/history/{fix.pk}/">#{fix.pk}</a>' in fieldset
    assert (
        "<code>data._fname</code>: <code>&quot;Ol&quot;</code> → <code>&quot;Olya&quot;</code>"
        in fieldset
    )
    assert 'id="id_r-seen_newer_error"' not in fieldset  # asked, not yet refused

    refused = client.post(url, fix_form(first)).content.decode()
    assert (
        f'<p class="field-error" id="id_r-seen_newer_error">{TICK}: newer records about this '
        f"customer exist (#{fix.pk})"
    ) in refused
    assert f'href="#id_r-seen_newer">Fix and resend · {TICK}</a>' in refused
    assert not Submission.objects.filter(parent=first).exists()

    client.post(url, fix_form(first, **{"r-seen_newer": str(fix.pk)}))
    fixed = Submission.objects.get(parent=first)
    assert fixed.state == Submission.State.SUCCEEDED
    page = client.get(reverse("history_record", args=[fixed.pk])).content.decode()
    assert f'Sent over newer records <a href="/history/{fix.pk}/">#{fix.pk}</a>' in page
