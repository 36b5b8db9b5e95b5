"""The purge log and the record-view access log, both readable by admins."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from profiles_ui.roles import sync_role_groups_in_migration


def grant_admins(apps, schema_editor):
    sync_role_groups_in_migration(apps, "profiles_ui")


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
