"""Retention: purge_history empties old bodies, keeps metadata, and logs who did it."""

import getpass
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from profiles_ui.models import PurgeLog, Submission
from tests.helpers import make_record


def aged(days: int, **fields) -> Submission:
    """A final record created `days` ago (moved while still pending, as the trigger allows)."""
    record = make_record(state=Submission.State.PENDING, **fields)
    Submission.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(days=days), state=Submission.State.SUCCEEDED
    )
    return Submission.objects.get(pk=record.pk)


@pytest.mark.django_db
def test_old_records_lose_their_bodies_but_keep_metadata():
    old = aged(100)
    call_command("purge_history", "--older-than", "90", "--by", "dpo")
    old.refresh_from_db()
    assert (old.request_body, old.response_body) == ("", "")
    assert old.purged_at is not None
    assert (old.email, old.state, old.error) == ("ann@example.com", "succeeded", 0)


@pytest.mark.django_db
def test_recent_records_are_untouched():
    recent = aged(10)
    call_command("purge_history", "--older-than", "90")
    recent.refresh_from_db()
    assert recent.request_body and recent.purged_at is None


@pytest.mark.django_db
def test_each_run_is_logged_with_who_when_and_which_records():
    first, second = aged(200), aged(100)
    call_command("purge_history", "--older-than", "90", "--by", "dpo")
    log = PurgeLog.objects.get()
    assert (log.ran_by, log.records, log.older_than_days) == ("dpo", 2, 90)
    assert (log.first_id, log.last_id) == (first.pk, second.pk)
    assert log.cutoff < timezone.now() - timedelta(days=89)


@pytest.mark.django_db
def test_without_by_the_os_user_is_logged():
    call_command("purge_history", "--older-than", "30")
    assert PurgeLog.objects.get().ran_by == getpass.getuser()


@pytest.mark.django_db
def test_already_purged_records_are_not_counted_again():
    aged(100)
    call_command("purge_history", "--older-than", "90")
    call_command("purge_history", "--older-than", "90")
    assert list(PurgeLog.objects.order_by("id").values_list("records", flat=True)) == [1, 0]


@pytest.mark.django_db
def test_dry_run_changes_nothing(capsys):
    old = aged(100)
    call_command("purge_history", "--older-than", "90", "--dry-run")
    old.refresh_from_db()
    assert old.request_body
    assert not PurgeLog.objects.exists()
    assert "Would purge 1 records" in capsys.readouterr().out


@pytest.mark.django_db
def test_zero_days_is_refused():
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("purge_history", "--older-than", "0")
