"""Records written before identifiers were indexed get their own columns' identifiers, so that
search and the timeline need nothing but the index (an OR with the record's columns made
PostgreSQL read every record)."""

from django.db import migrations

BACKFILL = """
INSERT INTO profiles_ui_identifier (submission_id, "row", kind, value)
SELECT found.id, NULL, found.kind, found.value FROM (
    SELECT id, 'email' AS kind, lower(email) AS value FROM profiles_ui_submission
    WHERE email <> ''
    UNION ALL SELECT id, 'phone', phone FROM profiles_ui_submission WHERE phone <> ''
    UNION ALL SELECT id, 'profile_id', profile_id FROM profiles_ui_submission
    WHERE profile_id <> ''
) AS found
WHERE NOT EXISTS (
    SELECT 1 FROM profiles_ui_identifier AS indexed WHERE indexed.submission_id = found.id
)
"""


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0013_identifier_one_value_index")]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop)]
