"""The audit trail's chain (profiles_ui/audit.py), and the database refusing what it shows.

Existing final records, views and purges are chained as they are found, in that order.

PostgreSQL refuses TRUNCATE of every audit table (a session may allow it by setting
altcraft.allow_truncate, as the test runs do for their flush), any change or deletion of a
record view, a purge, a chain entry or a chain check (a deleted user's id is cleared, as
before), and any change or deletion of a bulk chunk once it is done. SQLite refuses the same
changes; deletions there are refused in code, as for submissions (see 0003).
"""

from django.db import migrations, models

from profiles_ui import audit

# Insert-only tables, by model.
INSERT_ONLY_MODELS = ("RecordView", "PurgeLog", "AuditEntry", "ChainCheck")
INSERT_ONLY = tuple(f"profiles_ui_{name.lower()}" for name in INSERT_ONLY_MODELS)
AUDIT_TABLES = (*INSERT_ONLY, "profiles_ui_submission", "profiles_ui_batchchunk")

POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION profiles_ui_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('altcraft.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is part of the audit trail and cannot be truncated', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION profiles_ui_insert_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id')
       AND (to_jsonb(NEW) ->> 'user_id') IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are part of the audit trail and cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION profiles_ui_chunk_guard() RETURNS trigger AS $$
BEGIN
    IF NOT OLD.done THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'chunk % is done and cannot be changed', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def postgres_up() -> list[str]:
    statements = [POSTGRES_FUNCTIONS]
    for table in AUDIT_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION profiles_ui_refuse_truncate();"
        )
    for table in INSERT_ONLY:
        statements.append(
            f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION profiles_ui_insert_only();"
        )
    statements.append(
        "CREATE TRIGGER profiles_ui_batchchunk_done BEFORE UPDATE OR DELETE ON "
        "profiles_ui_batchchunk FOR EACH ROW EXECUTE FUNCTION profiles_ui_chunk_guard();"
    )
    return statements


def postgres_down() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t};" for t in AUDIT_TABLES]
    statements += [f"DROP TRIGGER IF EXISTS {t}_insert_only ON {t};" for t in INSERT_ONLY]
    statements += [
        "DROP TRIGGER IF EXISTS profiles_ui_batchchunk_done ON profiles_ui_batchchunk;",
        "DROP FUNCTION IF EXISTS profiles_ui_refuse_truncate();",
        "DROP FUNCTION IF EXISTS profiles_ui_insert_only();",
        "DROP FUNCTION IF EXISTS profiles_ui_chunk_guard();",
    ]
    return statements


def sqlite_up(apps) -> list[str]:
    statements = []
    for name, table in zip(INSERT_ONLY_MODELS, INSERT_ONLY, strict=True):
        fields = apps.get_model("profiles_ui", name)._meta.concrete_fields
        columns = [f.column for f in fields if f.column != "user_id"]
        unchanged = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in columns)
        # A deleted user's id is cleared on the rows that name them; nothing else changes.
        user = "AND NEW.user_id IS NULL" if len(columns) < len(fields) else "AND 0"
        statements.append(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"WHEN NOT ({unchanged} {user}) "
            "BEGIN SELECT RAISE(ABORT, 'audit trail rows cannot be changed'); END;"
        )
    statements.append(
        "CREATE TRIGGER profiles_ui_batchchunk_done BEFORE UPDATE ON profiles_ui_batchchunk "
        "WHEN OLD.done BEGIN SELECT RAISE(ABORT, 'a done chunk cannot be changed'); END;"
    )
    return statements


def sqlite_down() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {t}_no_update;" for t in INSERT_ONLY]
    return [*statements, "DROP TRIGGER IF EXISTS profiles_ui_batchchunk_done;"]


def chain_what_is_there(apps, schema_editor) -> None:
    """Entries for the final records, views and purges written before the chain existed."""
    for kind, model_name in (
        ("record", "Submission"),
        ("view", "RecordView"),
        ("purge", "PurgeLog"),
    ):
        model = apps.get_model("profiles_ui", model_name)
        rows = model.objects.order_by("pk")
        if kind == "record":
            rows = rows.exclude(state="pending")
        for row in rows.iterator(chunk_size=500):
            bodies = ""
            if kind == "record":
                bodies = audit.bodies_digest(row.request_body, row.response_body)
            audit.append(kind, row, body_sha256=bodies)


def install(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in postgres_up():
            schema_editor.execute(statement, params=None)
    elif vendor == "sqlite":
        for statement in sqlite_up(apps):
            schema_editor.execute(statement)


def uninstall(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = postgres_down() if vendor == "postgresql" else sqlite_down()
    for statement in statements:
        schema_editor.execute(statement, params=None if vendor == "postgresql" else ())


class Migration(migrations.Migration):
    dependencies = [
        ("profiles_ui", "0008_submission_bodies_lz4"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChainCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("checked_at", models.DateTimeField(auto_now_add=True)),
                ("held", models.BooleanField()),
                ("entries", models.PositiveIntegerField()),
                ("last_mac", models.CharField(blank=True, max_length=64)),
                ("problem", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["-id"],
                "default_permissions": ("view",),
            },
        ),
        migrations.AlterField(
            model_name="submission",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("succeeded", "Succeeded"),
                    ("rejected", "Rejected by Altcraft"),
                    ("transport_failed", "Transport failure, outcome unknown"),
                    ("outcome_unknown", "Server error, outcome unknown"),
                    ("bad_response", "Unreadable response"),
                    ("duplicate", "Duplicate, not re-applied"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("record", "Record"), ("view", "Record view"), ("purge", "Purge")],
                        max_length=6,
                    ),
                ),
                ("object_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("body_sha256", models.CharField(blank=True, max_length=64)),
                ("content_sha256", models.CharField(max_length=64)),
                ("previous", models.CharField(max_length=64, unique=True)),
                ("mac", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "ordering": ["id"],
                "default_permissions": ("view",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "object_id"), name="auditentry_one_per_object"
                    )
                ],
            },
        ),
        migrations.RunPython(chain_what_is_there, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
