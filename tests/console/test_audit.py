"""The audit trail's chain: a clean history holds; every kind of tampering is named."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from profiles_ui import audit, services
from profiles_ui.connections import get_connection
from profiles_ui.models import AuditEntry, ChainCheck, RecordView, Submission
from tests.helpers import make_record

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="TRUNCATE and its trigger are PostgreSQL's"
)


@pytest.fixture
def user(make_user):
    return make_user("support")


def chained_record(user, email: str = "ann@example.com", created_at=None) -> Submission:
    """A record written as the console writes one: pending, then final with its entry."""
    record = services.record_pending(
        user=user,
        connection=get_connection("sandbox"),
        operation="profiles/import",
        body=b'{"token":"$ALTCRAFT_TOKEN","db_id":1,"email":"%s"}' % email.encode(),
        fmt="json",
        about={"email": email, "matching": "email"},
    )
    if created_at is not None:  # a pending record may still be moved in time
        Submission.objects.filter(pk=record.pk).update(created_at=created_at)
        record.refresh_from_db()
    return services.finalise(
        record,
        state=Submission.State.SUCCEEDED,
        response_status=200,
        response_body='{"error":0,"error_text":"","profile_id":"p1"}',
        error=0,
        profile_id="p1",
    )


@contextmanager
def triggers_off():
    """What a table's owner can do: write past the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            try:
                yield cursor
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
        else:  # the test's transaction puts them back
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield cursor


def problem() -> str:
    with pytest.raises(CommandError) as raised:
        call_command("verify_history")
    assert raised.value.returncode == 1
    return str(raised.value)


def test_a_clean_history_holds_and_the_check_is_kept(user, capsys):
    first, second = chained_record(user), chained_record(user, "bob@example.com")
    audit.log_view(first, user)

    call_command("verify_history")

    assert "chain holds: 3 entries verified" in capsys.readouterr().out
    check = ChainCheck.objects.get()
    assert (check.held, check.entries) == (True, 3)
    assert AuditEntry.objects.filter(kind="record", object_id=second.pk).exists()


def test_an_edited_record_is_named(user):
    chained_record(user)
    record = chained_record(user, "bob@example.com")
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE profiles_ui_submission SET error_text = 'forged' WHERE id = %s", [record.pk]
        )
    assert f"record {record.pk} was changed" in problem()
    assert ChainCheck.objects.get().held is False


def test_an_edited_body_is_named(user):
    record = chained_record(user)
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE profiles_ui_submission SET response_body = '{\"error\":0}' WHERE id = %s",
            [record.pk],
        )
    assert f"record {record.pk}'s request or response body was changed" in problem()


def test_a_deleted_record_is_named(user):
    record = chained_record(user)
    chained_record(user, "bob@example.com")
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM profiles_ui_identifier WHERE submission_id = %s", [record.pk])
        cursor.execute("DELETE FROM profiles_ui_submission WHERE id = %s", [record.pk])
    assert f"record {record.pk} was removed" in problem()


def test_a_forged_back_dated_record_is_named(user):
    chained_record(user)
    forged = make_record(user=user)  # final at once, written past the console's services
    assert f"record {forged.pk} is in no chain entry" in problem()


@postgres_only
def test_a_table_truncated_by_its_owner_with_triggers_off_is_named(user):
    record = chained_record(user)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks left pending on the table
        cursor.execute("ALTER TABLE profiles_ui_submission DISABLE TRIGGER ALL")
        cursor.execute("TRUNCATE profiles_ui_submission CASCADE")
        cursor.execute("ALTER TABLE profiles_ui_submission ENABLE TRIGGER ALL")
    assert f"record {record.pk} was removed" in problem()


def test_an_edited_chain_entry_is_named(user):
    chained_record(user)
    entry = AuditEntry.objects.get()
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE profiles_ui_auditentry SET content_sha256 = %s WHERE id = %s",
            ["0" * 64, entry.pk],
        )
    assert f"entry {entry.pk} (record {entry.object_id}) was changed" in problem()


def test_a_removed_chain_entry_is_named(user):
    records = [chained_record(user, f"u{i}@example.com") for i in range(3)]
    middle = AuditEntry.objects.get(object_id=records[1].pk)
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM profiles_ui_auditentry WHERE id = %s", [middle.pk])
    assert "does not follow the one before it" in problem()


def test_entries_removed_after_the_last_check_are_named(user):
    chained_record(user)
    call_command("verify_history")
    last = chained_record(user, "bob@example.com")
    call_command("verify_history")
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM profiles_ui_auditentry WHERE object_id = %s", [last.pk])
        cursor.execute("DELETE FROM profiles_ui_identifier WHERE submission_id = %s", [last.pk])
        cursor.execute("DELETE FROM profiles_ui_submission WHERE id = %s", [last.pk])
    assert "entries after it were removed" in problem()


def test_an_edited_record_view_is_named(user):
    view = audit.log_view(chained_record(user), user)
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE profiles_ui_recordview SET username = 'nobody' WHERE id = %s", [view.pk]
        )
    assert f"record view {view.pk} was changed" in problem()


def test_a_purge_keeps_the_chain_whole(user, capsys):
    chained_record(user, created_at=timezone.now() - timedelta(days=90))
    call_command("purge_history", "--older-than", "30", "--by", "tests")
    call_command("verify_history")
    assert "chain holds: 2 entries verified" in capsys.readouterr().out


def test_bodies_emptied_without_a_purge_are_named(user):
    record = chained_record(user)
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE profiles_ui_submission SET request_body = '', response_body = '',"
            " purged_at = created_at WHERE id = %s",
            [record.pk],
        )
    assert f"record {record.pk} is marked purged, but no purge removed its bodies" in problem()


def test_the_database_refuses_to_change_a_record_view(user):
    view = audit.log_view(chained_record(user), user)
    with pytest.raises(DatabaseError), transaction.atomic():
        RecordView.objects.filter(pk=view.pk).update(username="nobody")


def test_the_database_refuses_to_change_a_chain_entry(user):
    chained_record(user)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(kind="view")


@postgres_only
def test_the_database_refuses_truncate_unless_a_session_allows_it(user):
    chained_record(user)
    with connection.cursor() as cursor:
        cursor.execute("SET altcraft.allow_truncate = off")
        try:
            with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
                cursor.execute("TRUNCATE profiles_ui_auditentry")
        finally:
            cursor.execute("SET altcraft.allow_truncate = on")
    assert AuditEntry.objects.count() == 1


def test_auditors_see_when_the_chain_was_last_verified(user, client_for):
    chained_record(user)
    auditor = client_for("auditor")
    assert "has not been verified yet" in auditor.get(reverse("history")).content.decode()
    call_command("verify_history")
    html = auditor.get(reverse("history")).content.decode()
    assert "chain held when it was last verified" in html and "1 entries" in html
    assert 'id="chain-check"' not in client_for("marketer").get(reverse("history")).content.decode()
