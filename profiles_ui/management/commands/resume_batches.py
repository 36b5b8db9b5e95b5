from django.conf import settings
from django.core.management.base import BaseCommand

from profiles_ui.bulk import tasks


class Command(BaseCommand):
    help = "Queue again the bulk batches a stopped or killed worker left unfinished."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Take every running batch as abandoned (run before starting the only worker).",
        )

    def handle(self, *args, all: bool, **options) -> None:
        stale_after = None if all else settings.BULK_STALE_SECONDS
        ids = tasks.resume(stale_after=stale_after)
        if ids:
            self.stdout.write(f"Queued again: batch {', '.join(map(str, ids))}.")
        elif options["verbosity"] > 1:
            self.stdout.write("No batch to resume.")
