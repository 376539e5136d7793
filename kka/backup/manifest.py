"""Per-table row counts and content checksums, computed the same way at both ends.

A table's checksum is the sha256 of its sorted column names and then of every row in
primary-key order, each row serialised canonically (JSON of its values in column-name
order; datetimes in UTC ISO form, bytes as hex, JSON values with sorted keys). The
backup computes it on its own consistent copy (SQLite) or in the transaction whose
snapshot ``pg_dump`` exported (PostgreSQL); the restore computes it on the restored
database and compares. SQLite is read through a plain ``sqlite3`` connection at both
ends (Django's converters would change the values' types).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

FETCH = 2000


@dataclass(frozen=True)
class TableSum:
    rows: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256}


def canonical(value: Any) -> Any:
    """A JSON-serialisable form of a database value that does not depend on its type's
    repr (only on the value)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date | dt.time):
        return {type(value).__name__: value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"interval_us": value // dt.timedelta(microseconds=1)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, dict):
        return {"json": {str(k): canonical(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return {type(value).__name__: str(value)}


def _digest(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> TableSum:
    digest = hashlib.sha256()
    digest.update(json.dumps([table, columns]).encode("utf-8") + b"\n")
    count = 0
    for row in rows:
        line = json.dumps(
            [canonical(value) for value in row],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        digest.update(line.encode("utf-8") + b"\n")
        count += 1
    return TableSum(rows=count, sha256=digest.hexdigest())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- SQLite ---------------------------------------------------------------------------


def sqlite_table_sums(path: str) -> dict[str, TableSum]:
    """Checksums of every table of the SQLite file at ``path`` (opened read-only)."""
    con = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
        return {name: _sqlite_table(con, name) for name in names}
    finally:
        con.close()


def _sqlite_table(con: sqlite3.Connection, table: str) -> TableSum:
    info = con.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    columns = sorted(row[1] for row in info)
    keys = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    order = ", ".join(_quote(c) for c in (keys or columns))
    select = ", ".join(_quote(c) for c in columns)
    # Accepted (bandit B608, until 2027-06-30): names from the database's catalogue, quoted.
    sql = f"SELECT {select} FROM {_quote(table)} ORDER BY {order}"  # noqa: S608  # nosec B608
    cursor = con.execute(sql)
    return _digest(table, columns, cursor)


# --- PostgreSQL -----------------------------------------------------------------------


def postgres_table_sums(connection: BaseDatabaseWrapper) -> dict[str, TableSum]:
    """Checksums of every table in the current schema, read inside the caller's
    transaction (so under its snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            'ORDER BY c.relname COLLATE "C"'
        )
        names = [row[0] for row in cursor.fetchall()]
        result = {}
        for name in names:
            cursor.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped",
                [_quote(name)],
            )
            columns = sorted(row[0] for row in cursor.fetchall())
            cursor.execute(
                "SELECT a.attname, t.typcategory FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                [_quote(name)],
            )
            keys = cursor.fetchall() or [(c, "") for c in columns]
            # Byte order for text keys: the same in every database, whatever its collation.
            order = ", ".join(
                _quote(col) + (' COLLATE "C"' if category == "S" else "") for col, category in keys
            )
            select = ", ".join(_quote(c) for c in columns)
            # Accepted (bandit B608, until 2027-06-30): catalogue names, quoted.
            sql = f"SELECT {select} FROM {_quote(name)} ORDER BY {order}"  # noqa: S608  # nosec B608
            result[name] = _digest(name, columns, _server_side_rows(connection, sql))
        return result


def _server_side_rows(connection: BaseDatabaseWrapper, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows through a named (server-side) cursor: a table of millions of rows is never
    held in memory. Needs an open transaction."""
    raw = connection.connection
    with raw.cursor(name="kka_backup_rows") as cursor:
        cursor.itersize = FETCH
        cursor.execute(sql)
        yield from cursor
