"""Retention: remove the request and response bodies (personal data) of old records.

The metadata stays (who, when, what, outcome, identifiers for the audit trail), and every run
is written to PurgeLog. This is the only change a final record can ever get: the database
trigger allows exactly "both bodies emptied and purged_at set", in one UPDATE.
"""

import getpass
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from profiles_ui import audit
from profiles_ui.models import PurgeLog, Submission


class Command(BaseCommand):
    help = "Remove request and response bodies from records older than --older-than DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--by", default="", help="Who runs the purge (default: OS user).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be purged; change nothing."
        )

    def handle(self, *args, older_than: int, by: str, dry_run: bool, **options) -> None:
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=older_than)
        # Pending records are included: a request stuck in flight still holds personal data.
        old = Submission.objects.filter(created_at__lt=cutoff, purged_at__isnull=True).filter(
            ~Q(request_body="") | ~Q(response_body="")
        )
        with transaction.atomic():
            span = old.aggregate(first=Min("id"), last=Max("id"))
            if dry_run:
                count = old.count()
            else:
                count = old.update(request_body="", response_body="", purged_at=timezone.now())
                purge = PurgeLog.objects.create(
                    ran_by=by or _os_user(),
                    older_than_days=older_than,
                    cutoff=cutoff,
                    records=count,
                    first_id=span["first"],
                    last_id=span["last"],
                )
                audit.append(audit.Kind.PURGE, purge)
        verb = "Would purge" if dry_run else "Purged"
        where = f" (ids {span['first']}..{span['last']})" if count else ""
        self.stdout.write(f"{verb} {count} records created before {cutoff:%Y-%m-%d %H:%M}{where}.")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except OSError:  # no login name in some containers
        return "unknown"
