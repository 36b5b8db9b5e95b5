from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from profiles_ui.roles import ROLES


class Command(BaseCommand):
    help = "Create the demo users marketer, support, auditor and admin (idempotent)."

    def handle(self, *args, **options) -> None:
        password = settings.DEMO_PASSWORD
        if not password:
            raise CommandError("DEMO_PASSWORD is not set (see .env.example).")
        User = get_user_model()
        for role in ROLES:
            user, created = User.objects.get_or_create(username=role)
            changed = created
            if role == "admin" and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                changed = True
            # check_password keeps a second run from rewriting an unchanged password.
            if created or not user.check_password(password):
                user.set_password(password)
                changed = True
            if changed:
                user.save()
            user.groups.add(Group.objects.get(name=role))
            if created:
                self.stdout.write(f"Created demo user {role}.")
