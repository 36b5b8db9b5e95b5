"""The purge log and the record-view access log, both readable by admins."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ADMIN_CODENAMES = ["view_purgelog", "view_recordview"]


def grant_admins(apps, schema_editor):
    # Permissions are normally created after all migrations; the admin group needs them now.
    app_config = apps.get_app_config("profiles_ui")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.filter(name="admin").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="profiles_ui", codename__in=ADMIN_CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("profiles_ui", "0003_submission_immutable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PurgeLog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ran_at", models.DateTimeField(auto_now_add=True)),
                (
                    "ran_by",
                    models.CharField(help_text="The --by name, or the OS user.", max_length=150),
                ),
                ("older_than_days", models.PositiveIntegerField()),
                (
                    "cutoff",
                    models.DateTimeField(help_text="Records created before this were purged."),
                ),
                ("records", models.PositiveIntegerField()),
                ("first_id", models.BigIntegerField(blank=True, null=True)),
                ("last_id", models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-id"],
                "default_permissions": ("view",),
            },
        ),
        migrations.CreateModel(
            name="RecordView",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("username", models.CharField(max_length=150)),
                ("viewed_at", models.DateTimeField(auto_now_add=True)),
                (
                    "submission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="views",
                        to="profiles_ui.submission",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "default_permissions": ("view",),
                "indexes": [
                    models.Index(fields=["submission", "-id"], name="recordview_submission_idx")
                ],
            },
        ),
        migrations.RunPython(grant_admins, migrations.RunPython.noop),
    ]
