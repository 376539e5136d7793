"""Bulk inserts for the generator: COPY on PostgreSQL, ``bulk_create`` elsewhere.

On PostgreSQL, Django's ``bulk_create`` quotes every parameter in Python (client-side
binding), which dominates at scale. ``copy_insert`` instead reserves primary keys from
the table's sequence, fills the foreign-key columns from the related objects, prepares
each value the way the field would (``EncryptedTextField`` encrypts, ``JSONField``
serialises) and streams the rows with ``COPY … FROM STDIN``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models

from kka.lib.crypto import encrypt_text
from kka.lib.fields import EncryptedTextField

BATCH = 2000


def _converter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a Python value becomes the column's value (None: as it is)."""
    if isinstance(field, EncryptedTextField):
        return lambda value: None if value is None else encrypt_text(str(value))
    if isinstance(field, models.JSONField):
        return lambda value: json.dumps(value, ensure_ascii=False)
    return None


def _fill_foreign_keys(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    fks = [f for f in model._meta.concrete_fields if f.is_relation]
    for obj in objs:
        cache = obj._state.fields_cache
        for f in fks:
            related = cache.get(f.name)
            if related is not None and getattr(obj, f.attname) is None:
                if related.pk is None:
                    raise ValueError(f"{model.__name__}.{f.name}: related row not saved yet")
                setattr(obj, f.attname, related.pk)


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Stream rows into ``table`` with COPY (PostgreSQL only)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    _fill_foreign_keys(model, objs)
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        for obj, new_id in zip(missing, _reserve_ids(model, len(missing)), strict=True):
            obj.pk = new_id
    fields = list(meta.concrete_fields)
    plan = [(f.attname, _converter(f)) for f in fields]

    def rows() -> Iterable[list[Any]]:
        for obj in objs:
            row = []
            for attname, convert in plan:
                value = getattr(obj, attname)
                row.append(convert(value) if convert is not None else value)
            yield row

    copy_rows(meta.db_table, [f.column for f in fields], rows())
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _next_id_sqlite(model: type[models.Model]) -> int:
    """The next free id. The seeding transaction holds SQLite's write lock (BEGIN
    IMMEDIATE), so nobody else takes ids meanwhile; AUTOINCREMENT's own counter
    (sqlite_sequence) moves on with the explicit ids."""
    meta = model._meta
    assert meta.pk is not None
    table = connection.ops.quote_name(meta.db_table)
    column = connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        # Accepted (bandit B608, until 2027-06-30): names from model metadata, never input.
        cursor.execute(f"SELECT MAX({column}) FROM {table}")  # noqa: S608  # nosec B608
        (largest,) = cursor.fetchone()
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [meta.db_table])
        row = cursor.fetchone()
    return max(largest or 0, row[0] if row else 0) + 1


def executemany_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """SQLite: explicit ids and one prepared INSERT run for every row (executemany),
    each value prepared by its field (so encrypted fields encrypt)."""
    meta = model._meta
    _fill_foreign_keys(model, objs)
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        first = _next_id_sqlite(model)
        for offset, obj in enumerate(missing):
            obj.pk = first + offset
    fields = list(meta.concrete_fields)
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] for obj in objs
    ]
    insert_rows(meta.db_table, [f.column for f in fields], rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Plain parameterised INSERT for every row (values already prepared)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    # Accepted (bandit B608, until 2027-06-30): names from model metadata, never input.
    sql = f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(rows))


def insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    if not objs:
        return
    if connection.vendor == "postgresql":
        copy_insert(model, objs)
    elif connection.vendor == "sqlite":
        executemany_insert(model, objs)
    else:
        model._default_manager.bulk_create(objs, batch_size=BATCH)
