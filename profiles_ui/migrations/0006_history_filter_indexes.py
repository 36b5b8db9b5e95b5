"""Indexes for the history filters: operation, error code and user, each newest first.

Plain CREATE INDEX: SQLite keeps the immutability triggers (no table rebuild).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0005_bulk_batches")]

    operations = [
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["operation", "-id"], name="submission_operation_idx"),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["error", "-id"], name="submission_error_idx"),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(fields=["username", "-id"], name="submission_username_idx"),
        ),
    ]
