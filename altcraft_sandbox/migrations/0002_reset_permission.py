"""Kept so the migration history stays as it was: the admin role's right to reset the sandbox
is granted by the console's roles after every migrate (a post_migrate handler), and the
sandbox's migrations import nothing of the console."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("altcraft_sandbox", "0001_initial")]

    operations = []
