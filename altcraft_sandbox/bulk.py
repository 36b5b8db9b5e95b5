"""Set-based INSERT and UPDATE of plain row tuples for the engine's writes.

Django's bulk_update builds a CASE WHEN per row and field, which took over a minute for a
batch of 10,000 profiles, and bulk_create spends most of its time building model instances
and compiling SQL. Rows here are tuples already adapted for the database. PostgreSQL gets
them through COPY (an UPDATE goes through a temporary table); SQLite through executemany,
which loops in C.
"""

import datetime
import json as jsonlib
from collections.abc import Sequence

from django.db import connection, models

_EMPTY_JSON = {dict: "{}", list: "[]"}


def json(value: object) -> str:
    """A JSON column's text. Both databases take it as is: SQLite stores JSON as text, and
    COPY reads every column from text. Empty objects and lists, most of a batch's custom
    fields and categories, skip the encoder."""
    if not value and type(value) in _EMPTY_JSON:
        return _EMPTY_JSON[type(value)]
    return jsonlib.dumps(value)


def loaded_json(value: object) -> object:
    """A JSON column from select_any: text on PostgreSQL, already decoded by Django elsewhere."""
    return jsonlib.loads(value) if isinstance(value, str) else value


def timestamp(value: datetime.datetime) -> object:
    """A timestamp column's value for every row of a write. COPY reads it as text, and
    psycopg formatting a datetime for each of 90,000 rows took half of the whole COPY."""
    if connection.vendor == "postgresql":
        return value.isoformat()
    return connection.ops.adapt_datetimefield_value(value)


def sub_values(sub: object) -> tuple:
    """A subscription row's columns after its id, JSON adapted."""
    return (
        sub.profile_id,
        sub.resource_id,
        sub.channel,
        sub.identifier,
        sub.provider,
        sub.status,
        sub.priority,
        json(sub.custom_fields),
        json(sub.cats),
    )


def _copy(cursor, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """INSERT rows of `columns` (leave an auto primary key out to let it number)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor, table, columns, rows)
            return
        names = ", ".join(qn(c) for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)  # noqa: S608 - names from the model


def update(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """UPDATE `columns` from rows that end with the primary key. Needs a transaction."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    pk = qn(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            temp = qn(f"sandbox_update_{model._meta.model_name}")
            names = ", ".join(qn(c) for c in columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608 - names from the model
                f"SELECT {names}, {pk} FROM {table} WITH NO DATA"
            )
            _copy(cursor, temp, [*columns, model._meta.pk.column], rows)
            assignments = ", ".join(f"{qn(c)} = u.{qn(c)}" for c in columns)
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {temp} u WHERE {table}.{pk} = u.{pk}"  # noqa: S608
            )
            cursor.execute(f"DROP TABLE {temp}")
            return
        assignments = ", ".join(f"{qn(c)} = %s" for c in columns)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608 - names from the model


def select_any(
    model: type[models.Model],
    columns: Sequence[str],
    filters: dict[str, object],
    column: str,
    values: Sequence[object],
) -> list[tuple]:
    """Rows whose `column` is one of `values`, and that match `filters` (column = value).

    On PostgreSQL the values go as one array (`= ANY(%s)`): psycopg parses a query with
    10,000 IN placeholders for longer than the database runs it. JSON columns come back as
    text there; the caller decodes them.
    """
    values = list(values)
    if connection.vendor != "postgresql":
        query = model.objects.filter(**filters, **{f"{column}__in": values})
        return list(query.values_list(*columns))
    qn = connection.ops.quote_name
    conditions = [f"{qn(name)} = %s" for name in filters] + [f"{qn(column)} = ANY(%s)"]
    sql = (
        f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(model._meta.db_table)} "  # noqa: S608 - names from the model
        f"WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*filters.values(), values])
        return cursor.fetchall()
