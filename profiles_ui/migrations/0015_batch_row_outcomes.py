"""How a batch request's rows fared, on its record; which of a parent batch's rows a follow-up
batch reads.

Adding the columns rebuilds the submission table on SQLite, which drops its immutability
trigger: it is installed again over the new columns (see 0003). On PostgreSQL the trigger
compares whole rows, new columns included.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

immutable = importlib.import_module("profiles_ui.migrations.0003_submission_immutable")


def guard_new_columns(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS profiles_ui_submission_no_update")
    model = apps.get_model("profiles_ui", "Submission")
    for statement in immutable.sqlite_up([f.column for f in model._meta.concrete_fields]):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0014_identifier_backfill")]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="parent_chunk",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="follow_ups",
                to="profiles_ui.batchchunk",
            ),
        ),
        migrations.AddField(
            model_name="batch",
            name="parent_rows",
            field=models.CharField(
                choices=[
                    ("failed", "its failed rows"),
                    ("retryable", "its rows a retry can help"),
                    ("not_found", "its rows not found, imported instead"),
                ],
                default="failed",
                max_length=9,
            ),
        ),
        migrations.AddField(
            model_name="submission",
            name="rows_failed",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="submission",
            name="rows_outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("succeeded", "Succeeded (all rows)"),
                    ("partly_failed", "Partly failed"),
                    ("failed", "Failed (all rows)"),
                ],
                max_length=13,
            ),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["rows_outcome", "-id"], name="submission_rows_outcome_idx"),
        ),
        migrations.RunPython(guard_new_columns, migrations.RunPython.noop),
    ]
