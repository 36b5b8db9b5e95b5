"""Resend identical: a confirmation step with a required reason, then a new linked record."""

import pytest
from django.urls import reverse

from profiles_ui import services
from profiles_ui.models import Submission
from tests.helpers import make_record

PRODUCTION = {
    "name": "prod",
    "label": "Main account",
    "base_url": "http://127.0.0.1:9/api/",
    "token_env": "PROD_TOKEN",
    "production": True,
}


def sent_record(django_user_model, sandbox, email: str) -> Submission:
    """A profiles/import the support user sent to the sandbox."""
    return services.submit(
        user=django_user_model.objects.get(username="support"),
        connection=sandbox,
        operation="profiles/import",
        payload={"db_id": 1, "matching": "email", "email": email, "data": {}},
    )


def confirm_page(client, record: Submission) -> str:
    return client.get(reverse("history_resend", args=[record.pk])).content.decode()


@pytest.mark.django_db
def test_confirmation_names_a_test_connection(client_for):
    html = confirm_page(client_for("support"), make_record())
    assert "Sandbox: a test environment" in html
    assert "<code>profiles/import</code>" in html


@pytest.mark.django_db
def test_confirmation_shows_production_in_red(client_for, settings):
    settings.ALTCRAFT_CONNECTIONS = [PRODUCTION]
    html = confirm_page(client_for("admin"), make_record(connection="prod"))
    assert '<span class="badge production">Main account: PRODUCTION.' in html
    assert "Send again to production" in html


@pytest.mark.django_db
def test_a_reason_is_required(client_for):
    record = make_record()
    response = client_for("support").post(reverse("history_resend", args=[record.pk]), {})
    assert "Reason: say why this request is sent again" in response.content.decode()
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_a_purged_record_cannot_be_resent(client_for):
    record = make_record(state="pending")
    Submission.objects.filter(pk=record.pk).update(
        state="succeeded", request_body="", response_body="", purged_at=record.created_at
    )
    response = client_for("support").post(
        reverse("history_resend", args=[record.pk]), {"reason": "again"}
    )
    assert "Not sent: this record&#x27;s body was removed by the retention purge." in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_a_record_of_a_removed_connection_cannot_be_resent(client_for):
    record = make_record(connection="gone")
    response = client_for("admin").post(
        reverse("history_resend", args=[record.pk]), {"reason": "again"}
    )
    assert (
        "Not sent: the connection &#x27;gone&#x27; no longer exists." in response.content.decode()
    )


@pytest.mark.django_db
def test_a_pending_record_cannot_be_resent(client_for):
    record = make_record(state="pending")
    response = client_for("admin").post(
        reverse("history_resend", args=[record.pk]), {"reason": "again"}
    )
    assert "still pending" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_resend_creates_a_linked_record_and_opens_it(
    client_for,
    sandbox,
    django_user_model,
):
    client = client_for("support")
    first = sent_record(django_user_model, sandbox, "re@example.com")
    response = client.post(reverse("history_resend", args=[first.pk]), {"reason": "lost"})
    again = Submission.objects.exclude(pk=first.pk).get()
    assert response.url == reverse("history_record", args=[again.pk])
    assert (again.parent_id, again.reason, again.request_body) == (
        first.pk,
        "lost",
        first.request_body,
    )
    assert again.request_id != first.request_id
    assert again.state == Submission.State.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_the_same_resend_form_posted_twice_sends_once(client_for, sandbox, django_user_model):
    client = client_for("support")
    first = sent_record(django_user_model, sandbox, "twice@example.com")
    page = client.get(reverse("history_resend", args=[first.pk]))
    token = page.context["form_token"]
    url = reverse("history_resend", args=[first.pk])

    sent = client.post(url, {"reason": "lost", "form_token": token})
    again = client.post(url, {"reason": "lost", "form_token": token}, follow=True)

    resent = Submission.objects.exclude(pk=first.pk).get()
    assert str(resent.request_id) == str(token)
    assert sent.url == reverse("history_record", args=[resent.pk])
    assert again.redirect_chain[0][0] == reverse("history_record", args=[resent.pk])
    assert "This form was already sent; here is that record." in again.content.decode()
