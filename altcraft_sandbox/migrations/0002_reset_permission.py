"""Let the admin role reset the sandbox."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; the group needs this one now.
    app_config = apps.get_app_config("altcraft_sandbox")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        Permission.objects.get(content_type__app_label="altcraft_sandbox", codename="reset_sandbox")
    )


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
