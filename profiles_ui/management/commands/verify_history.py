"""Walk the audit trail's chain and say whether it holds; exit 1 at the first break.

    python manage.py verify_history

Run it from cron (its result is shown to auditors on the History page). Every run is kept.
"""

from django.core.management.base import BaseCommand, CommandError

from profiles_ui import audit


class Command(BaseCommand):
    help = "Verify that no audit record, view or purge was changed, removed or forged."

    def handle(self, *args, **options) -> None:
        verdict = audit.verify()
        audit.record_check(verdict)
        if not verdict.held:
            raise CommandError(
                f"The history's chain is broken after {verdict.entries:,} entries: "
                f"{verdict.problem}.",
                returncode=1,
            )
        self.stdout.write(f"The history's chain holds: {verdict.entries:,} entries verified.")
