"""The customer timeline: every record about one email, phone or profile_id, oldest first."""

import pytest
from django.urls import reverse

from tests.helpers import make_record, record_ids


@pytest.mark.django_db
def test_timeline_lists_records_about_one_email_across_users_oldest_first(client_for, make_user):
    first = make_record(user=make_user("marketer", "m1"))
    make_record(
        email="someone-else@example.com", request_body='{"email":"someone-else@example.com"}'
    )
    second = make_record(user=make_user("support", "s1"))
    response = client_for("support").get(reverse("history_timeline"), {"email": "ann@example.com"})
    assert record_ids(response) == [first.pk, second.pk]


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
