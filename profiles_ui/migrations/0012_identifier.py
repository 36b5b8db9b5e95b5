"""Every identifier of every record, in a table of its own, insert-only like the records.

On PostgreSQL pg_trgm serves substring search and a varchar_pattern_ops index prefix search
(the plain index only serves equality under a non-C collation); SQLite falls back to LIKE.
"""

from django.db import migrations, models

TABLE = "profiles_ui_identifier"

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
    f"CREATE INDEX identifier_value_trgm ON {TABLE} USING gin (value gin_trgm_ops);",
    f"CREATE INDEX identifier_value_prefix ON {TABLE} (value varchar_pattern_ops);",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION profiles_ui_refuse_truncate();",
    f"CREATE TRIGGER {TABLE}_insert_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION profiles_ui_insert_only();",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS {TABLE}_insert_only ON {TABLE};",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};",
    "DROP INDEX IF EXISTS identifier_value_prefix;",
    "DROP INDEX IF EXISTS identifier_value_trgm;",
]
SQLITE_UP = [
    f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'identifier rows cannot be changed'); END;",
    # Deletions are refused in code there, as for records (see 0003): a test flush deletes.
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update;",
]


def up(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for statement in POSTGRES_UP if vendor == "postgresql" else SQLITE_UP:
        schema_editor.execute(statement)


def down(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for statement in POSTGRES_DOWN if vendor == "postgresql" else SQLITE_DOWN:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0011_profile_lookup")]

    operations = [
        migrations.CreateModel(
            name="Identifier",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "row",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Index in a batch's data; empty for a single request.",
                        null=True,
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("value", models.CharField(max_length=254)),
                (
                    "submission",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="identifier_rows",
                        to="profiles_ui.submission",
                    ),
                ),
            ],
            options={
                "default_permissions": ("view",),
                "indexes": [
                    models.Index(fields=["value", "submission"], name="identifier_value"),
                    models.Index(fields=["submission", "row"], name="identifier_record_row"),
                ],
            },
        ),
        migrations.RunPython(up, down),
    ]
