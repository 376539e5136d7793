"""Installations for backup tests: real ``kka`` processes, each with its own data directory
and (on PostgreSQL) its own database named ``kka_backup_…``.

The database kind follows the suite's: PostgreSQL when DATABASE_URL is a postgres URL
(databases are made on that server), SQLite otherwise.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
KKA = str(Path(sys.executable).with_name("kka"))
PASSPHRASE = "tes-cadangan-rahasia-12345"
# Variables of the test process that must not leak into an installation's environment.
_DROP = (
    "DJANGO_SETTINGS_MODULE",
    "KKA_TEST_DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "KKA_FIELD_KEYS",
    "KKA_INDEX_KEY",
    "KKA_SECRET_KEY",
    "KKA_BACKUP_PASSPHRASE",
    "KKA_S3_BUCKET",
    "KKA_SERVERS",
)

# Adds one case record with an attachment (a PNG) through the real service.
ADD_ATTACHMENT = """
import datetime as dt
from kka.cases.models import Case
from kka.cases.services import record_add
case = Case.objects.select_related("owner").order_by("pk").first()
png = b"\\x89PNG\\r\\n\\x1a\\n" + bytes(range(256)) * 4800
record_add(actor=case.owner, case=case, occurred_on=dt.date.today(), source="lainnya",
           content="Catatan lampiran", files=[("scan.png", png)])
"""


def on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def vendor() -> str:
    return "postgresql" if on_postgres() else "sqlite"


def _pg_url(database: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def _psql(sql: str) -> None:
    """Run one statement on the suite's server (as the suite's user), in its maintenance
    database ``postgres`` (the suite's own database need not exist)."""
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as con:
        con.execute(sql)  # type: ignore[arg-type]


@dataclass
class Install:
    """One KKA installation: a data directory and, on PostgreSQL, a database."""

    data_dir: Path
    database: str | None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROP}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "kka.settings",
                "KKA_ENV": "development",
                "KKA_DATA_DIR": str(self.data_dir),
                "PYTHONPATH": str(ROOT),
            }
        )
        if self.database:
            env["DATABASE_URL"] = _pg_url(self.database)
        env.update(extra)
        return env

    def kka(
        self, *args: str, passphrase: str | None = PASSPHRASE, timeout: float = 300, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = self.env(**extra)
        if passphrase is not None:
            env["KKA_BACKUP_PASSPHRASE"] = passphrase
        return subprocess.run(
            [KKA, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def must(self, *args: str, **kwargs: str) -> str:
        result = self.kka(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, f"kka {args[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def private_files(self) -> dict[str, bytes]:
        root = self.data_dir / "private"
        if not root.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}

    def table_names(self) -> list[str]:
        if self.database:
            import psycopg

            with psycopg.connect(_pg_url(self.database)) as con:
                rows = con.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            return sorted(r[0] for r in rows)
        path = self.data_dir / "kka.sqlite3"
        if not path.exists():
            return []
        con = sqlite3.connect(path)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            con.close()
        return sorted(r[0] for r in rows)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        if self.database:
            import psycopg

            with psycopg.connect(_pg_url(self.database)) as con:
                cursor = con.execute(sql)  # type: ignore[arg-type]
                return list(cursor.fetchall()) if cursor.description else []
        con = sqlite3.connect(self.data_dir / "kka.sqlite3")
        try:
            with con:
                return list(con.execute(sql).fetchall())
        finally:
            con.close()

    def drop(self) -> None:
        if self.database:
            _psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def new_install(base: Path, label: str) -> Install:
    """An empty installation (nothing migrated)."""
    data_dir = base / label
    database = None
    if on_postgres():
        database = f"kka_backup_{label}_{uuid.uuid4().hex[:8]}"
        assert database.startswith("kka_backup_")
        _psql(f'CREATE DATABASE "{database}"')
    return Install(data_dir=data_dir, database=database)


def seeded_install(base: Path, label: str) -> Install:
    """Migrated, with the demo organisations, cases, conferences and one attachment."""
    install = new_install(base, label)
    install.must("migrate", "-v0")
    install.must("demo")
    install.must("shell", "-c", ADD_ATTACHMENT)
    return install
