"""Create the four roles as groups with their permissions."""

from django.db import migrations

from profiles_ui.roles import ROLE_PERMISSIONS, sync_role_groups_in_migration


def create_roles(apps, schema_editor):
    sync_role_groups_in_migration(apps, "profiles_ui")


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("profiles_ui", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
