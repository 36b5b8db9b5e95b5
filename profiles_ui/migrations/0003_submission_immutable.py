"""Make final submissions immutable in the database itself.

Allowed on a final record: nothing, except (a) the retention purge, which empties both bodies
and sets purged_at, and (b) the user's deletion, which sets user_id to NULL. Everything else,
and every DELETE, is refused by the database whatever code runs.

On SQLite only UPDATE is refused by a trigger; DELETE is refused in code (the model and its
queryset), because Django's test flush on SQLite deletes row by row where PostgreSQL truncates.
Django also rebuilds SQLite tables for many schema changes, which drops their triggers: a
later migration that alters this table must install the trigger again
(tests/test_submission_record.py checks that it is there).
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION profiles_ui_submission_guard() RETURNS trigger AS $$
DECLARE
    mutable CONSTANT text[] := ARRAY['request_body', 'response_body', 'purged_at', 'user_id'];
BEGIN
    IF OLD.state = 'pending' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'submission % is final and cannot be deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - mutable) = (to_jsonb(OLD) - mutable)
       AND (NEW.user_id IS NOT DISTINCT FROM OLD.user_id OR NEW.user_id IS NULL)
       AND ((NEW.request_body = OLD.request_body AND NEW.response_body = OLD.response_body
             AND NEW.purged_at IS NOT DISTINCT FROM OLD.purged_at)
            OR (NEW.request_body = '' AND NEW.response_body = '' AND NEW.purged_at IS NOT NULL))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'submission % is final and cannot be changed', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER profiles_ui_submission_immutable
BEFORE UPDATE OR DELETE ON profiles_ui_submission
FOR EACH ROW EXECUTE FUNCTION profiles_ui_submission_guard();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS profiles_ui_submission_immutable ON profiles_ui_submission;
DROP FUNCTION IF EXISTS profiles_ui_submission_guard();
"""

MUTABLE = {"request_body", "response_body", "purged_at", "user_id"}


def sqlite_up(columns: list[str]) -> list[str]:
    # SQLite has no row-to-JSON, so the unchanged columns are listed as they are today.
    unchanged = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in columns if c not in MUTABLE)
    return [
        f"""
        CREATE TRIGGER profiles_ui_submission_no_update
        BEFORE UPDATE ON profiles_ui_submission WHEN OLD.state <> 'pending' AND NOT (
            {unchanged}
            AND (NEW.user_id IS OLD.user_id OR NEW.user_id IS NULL)
            AND ((NEW.request_body IS OLD.request_body AND NEW.response_body IS OLD.response_body
                  AND NEW.purged_at IS OLD.purged_at)
                 OR (NEW.request_body = '' AND NEW.response_body = ''
                     AND NEW.purged_at IS NOT NULL))
        )
        BEGIN SELECT RAISE(ABORT, 'submission is final and cannot be changed'); END;
        """,
    ]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif vendor == "sqlite":
        model = apps.get_model("profiles_ui", "Submission")
        columns = [field.column for field in model._meta.concrete_fields]
        for statement in sqlite_up(columns):
            schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS profiles_ui_submission_no_delete")
        schema_editor.execute("DROP TRIGGER IF EXISTS profiles_ui_submission_no_update")


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0002_roles")]

    operations = [migrations.RunPython(install, uninstall)]
