"""Fewer index entries per identifier, since each costs every batch chunk writing time: one
b-tree on values instead of two (pattern ops serve equality as well as prefix search), and the
trigram index only over the kinds searched by substring (identifiers.SUBSTRING_KINDS)."""

from django.db import migrations, models

TABLE = "profiles_ui_identifier"
UP = [
    "DROP INDEX IF EXISTS identifier_value_prefix;",
    "DROP INDEX IF EXISTS identifier_value_trgm;",
    f"CREATE INDEX identifier_value_trgm ON {TABLE} USING gin (value gin_trgm_ops) "
    "WHERE kind IN ('email', 'field_value');",
]
DOWN = [
    "DROP INDEX IF EXISTS identifier_value_trgm;",
    f"CREATE INDEX identifier_value_trgm ON {TABLE} USING gin (value gin_trgm_ops);",
    f"CREATE INDEX identifier_value_prefix ON {TABLE} (value varchar_pattern_ops);",
]


def up(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in UP:
            schema_editor.execute(statement)


def down(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0012_identifier")]

    operations = [
        migrations.RemoveIndex(model_name="identifier", name="identifier_value"),
        migrations.RunPython(up, down),
        migrations.AddIndex(
            model_name="identifier",
            index=models.Index(
                fields=["value"], name="identifier_value", opclasses=["varchar_pattern_ops"]
            ),
        ),
    ]
