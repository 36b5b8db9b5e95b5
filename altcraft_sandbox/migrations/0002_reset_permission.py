"""Let the admin role reset the sandbox."""

from django.db import migrations

from profiles_ui.roles import sync_role_groups_in_migration


def grant(apps, schema_editor):
    sync_role_groups_in_migration(apps, "altcraft_sandbox")


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="altcraft_sandbox", codename="reset_sandbox"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("altcraft_sandbox", "0001_initial"),
        ("profiles_ui", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
