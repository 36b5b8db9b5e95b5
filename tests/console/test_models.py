"""Final audit records are immutable in the database, on PostgreSQL and SQLite alike."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from profiles_ui.models import FinalRecordError, Submission


def make_record(**fields) -> Submission:
    values = {
        "username": "marketer",
        "role": "marketer",
        "connection": "sandbox",
        "operation": "profiles/import",
        "url": "http://sandbox/api/v1.1/profiles/import",
        "format": "json",
        "request_body": '{"token":"$ALTCRAFT_TOKEN","db_id":1}',
        "response_body": '{"error":0}',
        "state": Submission.State.SUCCEEDED,
        **fields,
    }
    return Submission.objects.create(**values)


@pytest.mark.django_db
def test_a_final_record_cannot_be_updated_in_the_database():
    record = make_record()
    with pytest.raises(DatabaseError), transaction.atomic():
        Submission.objects.filter(pk=record.pk).update(error_text="rewritten")
    record.refresh_from_db()
    assert record.error_text == ""


@pytest.mark.django_db
def test_how_a_final_batch_records_rows_fared_cannot_be_rewritten_in_the_database():
    record = make_record(operation="profiles/import_batch", rows_outcome="failed", rows_failed=2)
    with pytest.raises(DatabaseError), transaction.atomic():
        Submission.objects.filter(pk=record.pk).update(rows_outcome="succeeded", rows_failed=0)
    record.refresh_from_db()
    assert (record.rows_outcome, record.rows_failed) == ("failed", 2)


@pytest.mark.django_db
def test_a_final_record_cannot_be_deleted_in_the_database():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite refuses deletes in code, so that its test flush can run; see 0003")
    record = make_record()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM profiles_ui_submission WHERE id = %s", [record.pk])
    assert Submission.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_queryset_delete_of_final_records_is_refused():
    record = make_record()
    with pytest.raises(FinalRecordError):
        Submission.objects.filter(pk=record.pk).delete()
    assert Submission.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_pending_records_can_still_be_deleted():
    record = make_record(state=Submission.State.PENDING)
    Submission.objects.filter(pk=record.pk).delete()
    assert not Submission.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_final_record_cannot_be_reverted_to_pending():
    record = make_record()
    with pytest.raises(DatabaseError), transaction.atomic():
        Submission.objects.filter(pk=record.pk).update(state=Submission.State.PENDING)


@pytest.mark.django_db
def test_a_pending_record_is_finalised_once():
    record = make_record(state=Submission.State.PENDING)
    Submission.objects.filter(pk=record.pk).update(state=Submission.State.REJECTED, error=400)
    record.refresh_from_db()
    assert record.state == Submission.State.REJECTED
    with pytest.raises(DatabaseError), transaction.atomic():
        Submission.objects.filter(pk=record.pk).update(error=0)


@pytest.mark.django_db
def test_the_purge_may_only_empty_the_bodies():
    record = make_record()
    Submission.objects.filter(pk=record.pk).update(
        request_body="", response_body="", purged_at=timezone.now()
    )
    record.refresh_from_db()
    assert (record.request_body, record.response_body) == ("", "")
    with pytest.raises(DatabaseError), transaction.atomic():
        Submission.objects.filter(pk=record.pk).update(request_body="{}", response_body="")


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_records_and_names(make_user):
    user = make_user("marketer")
    record = make_record(user=user)
    get_user_model().objects.filter(pk=user.pk).delete()
    record.refresh_from_db()
    assert record.user is None
    assert record.username == "marketer"


@pytest.mark.django_db
def test_code_refuses_to_save_or_delete_a_final_record():
    record = make_record()
    record.error_text = "changed"
    with pytest.raises(FinalRecordError):
        record.save()
    with pytest.raises(FinalRecordError):
        record.delete()


@pytest.mark.django_db
def test_django_admin_shows_records_read_only(client_for):
    record = make_record()
    client = client_for("admin")
    page = client.get(f"/admin/profiles_ui/submission/{record.pk}/change/").content.decode()
    assert "profiles/import" in page
    assert 'name="_save"' not in page
    assert "Delete" not in page
    response = client.post(f"/admin/profiles_ui/submission/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Submission.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_bodies_are_compressed_with_lz4_where_postgresql_has_it():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        if not cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL server was built without lz4")
    body = '{"data":[' + ",".join(f'{{"email":"u{i}@example.com"}}' for i in range(20_000)) + "]}"
    record = make_record(request_body=body, response_body=body)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(request_body), pg_column_compression(response_body)"
            " FROM profiles_ui_submission WHERE id = %s",
            [record.pk],
        )
        assert cursor.fetchone() == ("lz4", "lz4")
    record.refresh_from_db()
    assert record.request_body == body
