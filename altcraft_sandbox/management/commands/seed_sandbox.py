from django.core.management.base import BaseCommand

from altcraft_sandbox.seed import DATABASES, RESOURCES, WORKFLOWS, seed


class Command(BaseCommand):
    help = "Create or refresh the sandbox's databases, resources, scenarios and tokens."

    def handle(self, *args, **options) -> None:
        seed()
        self.stdout.write(
            f"Sandbox ready: {len(DATABASES)} databases, {len(RESOURCES)} resources, "
            f"{len(WORKFLOWS)} scenarios."
        )
