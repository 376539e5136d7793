"""``kka backup`` and ``kka restore``: what they do, without the command-line dressing.

A backup is one encrypted file ``kka-backup.enc`` in the output directory
(:mod:`kka.backup.container`). Inside the encryption, an archive
(:mod:`kka.backup.archive`) holds:

* ``database/sqlite3`` — a copy made with SQLite's online backup API, or
  ``database/postgresql.dump`` — ``pg_dump --format=custom`` of the snapshot exported by
  a REPEATABLE READ transaction that stays open while the dump runs;
* ``files/<name>`` — every file of the private storage, as stored (already encrypted
  with the field keys);
* ``datadir/<name>`` — the key files KKA generated in its data directory, when it reads
  its keys from there (development and single-machine installs without KKA_FIELD_KEYS);
* ``manifest.json`` — last: format, times, versions, per-table row counts and checksums
  (computed on the SQLite copy, or in the PostgreSQL snapshot's transaction), every
  file's size and sha256, and fingerprints of the field keys the data needs.

A restore first reads and authenticates the whole file without writing anything, then
writes into the empty target and verifies it against the manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3

# Accepted (bandit B404, until 2027-06-30): pg_dump / pg_restore only, no shell.
import subprocess  # nosec B404
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection, connections, transaction
from django.utils import timezone

from kka.audit.services import audit_verify
from kka.backup.archive import ArchiveWriter, read_entries
from kka.backup.container import DecryptingReader, EncryptingWriter
from kka.backup.manifest import TableSum, postgres_table_sums, sqlite_table_sums
from kka.backup.pgtools import find_tool, libpq_env
from kka.lib import private_files
from kka.lib.datadir import data_dir, ensure_private_dir
from kka.lib.rotation import private_file_paths, stored_file_names

BACKUP_FILE = "kka-backup.enc"
MANIFEST_VERSION = 1
SQLITE_ENTRY = "database/sqlite3"
POSTGRES_ENTRY = "database/postgresql.dump"
# Key files KKA generates in its data directory, and the variable that replaces each.
DATADIR_KEYS = {
    "field.keys": "KKA_FIELD_KEYS",
    "index.key": "KKA_INDEX_KEY",
    "secret.key": "KKA_SECRET_KEY",
}

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is safe to print."""


@dataclass
class BackupReport:
    path: Path
    began_at: dt.datetime
    vendor: str
    tables: int
    rows: int
    database_bytes: int
    files: int
    file_bytes: int
    vanished_files: int
    datadir_files: list[str]
    backup_bytes: int
    seconds: float


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""


@dataclass
class RestoreReport:
    vendor: str
    created_at: str
    tables: int
    rows: int
    files: int
    file_bytes: int
    seconds: float
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _kka_version() -> str:
    try:
        return metadata.version("kka")
    except metadata.PackageNotFoundError:
        return "unknown"


def key_fingerprint(key: str) -> str:
    """Names a field key without revealing it (it is 256 random bits)."""
    return hashlib.sha256(b"kka-backup-field-key\n" + key.strip().encode("ascii")).hexdigest()[:16]


def _vendor() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database: {vendor}")
    return vendor


def _storage_names(store: Storage) -> list[str]:
    if isinstance(store, FileSystemStorage):
        base = Path(store.location)
        return [str(path.relative_to(base)) for path in private_file_paths(base)]
    try:
        return stored_file_names(store)
    except FileNotFoundError:
        return []


# --- Backup ------------------------------------------------------------------------------


def backup(*, output: Path, passphrase: bytes, progress: Progress) -> BackupReport:
    started = time.monotonic()
    vendor = _vendor()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise BackupError(f"{output} exists and is not an empty directory")
    ensure_private_dir(output)
    target = output / BACKUP_FILE
    partial = output / f".{BACKUP_FILE}.partial"
    try:
        with open(partial, "xb") as fh:
            os.chmod(partial, 0o600)
            writer = EncryptingWriter(fh, passphrase)
            archive = ArchiveWriter(writer)
            report = _write_archive(archive, vendor=vendor, progress=progress)
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
        _fsync_dir(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    report.path = target
    report.backup_bytes = target.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def _write_archive(archive: ArchiveWriter, *, vendor: str, progress: Progress) -> BackupReport:
    if vendor == "sqlite":
        began_at, tables, db_bytes = _backup_sqlite(archive, progress)
    else:
        began_at, tables, db_bytes = _backup_postgres(archive, progress)
    rows = sum(t.rows for t in tables.values())
    progress(f"Database: {len(tables)} tables, {rows} rows, {db_bytes} bytes.")

    store = private_files.storage()
    files: list[dict[str, Any]] = []
    vanished = 0
    for name in _storage_names(store):
        try:
            with store.open(name, "rb") as fh:
                written = archive.add_file(f"files/{name}", fh)
        except FileNotFoundError:
            vanished += 1  # removed by the application after the database snapshot
            continue
        files.append({"name": name, "size": written.size, "sha256": written.sha256})
    file_bytes = sum(f["size"] for f in files)
    progress(f"Files: {len(files)}, {file_bytes} bytes.")

    datadir: list[dict[str, Any]] = []
    for name, variable in DATADIR_KEYS.items():
        path = data_dir() / name
        if os.environ.get(variable) or not path.is_file():
            continue  # the key comes from the environment: kept apart from the backup
        with open(path, "rb") as fh:
            written = archive.add_file(f"datadir/{name}", fh)
        datadir.append({"name": name, "size": written.size, "sha256": written.sha256})

    manifest = {
        "format_version": MANIFEST_VERSION,
        "created_at": timezone.now().astimezone(dt.UTC).isoformat(),
        "began_at": began_at.isoformat(),
        "kka_version": _kka_version(),
        "database": {
            "vendor": vendor,
            "entry": SQLITE_ENTRY if vendor == "sqlite" else POSTGRES_ENTRY,
        },
        "tables": {name: tables[name].as_json() for name in sorted(tables)},
        "files": files,
        "datadir": datadir,
        "field_keys": [key_fingerprint(k) for k in settings.FIELD_ENCRYPTION_KEYS],
    }
    archive.add("manifest.json", [json.dumps(manifest, sort_keys=True, indent=1).encode()])
    archive.finish()
    return BackupReport(
        path=Path(),
        began_at=began_at,
        vendor=vendor,
        tables=len(tables),
        rows=rows,
        database_bytes=db_bytes,
        files=len(files),
        file_bytes=file_bytes,
        vanished_files=vanished,
        datadir_files=[d["name"] for d in datadir],
        backup_bytes=0,
        seconds=0.0,
    )


def _began(progress: Progress) -> dt.datetime:
    began = timezone.now().astimezone(dt.UTC)
    progress(f"Backup began at {began.isoformat()} (monotonic {time.monotonic():.6f}).")
    return began


def _backup_sqlite(
    archive: ArchiveWriter, progress: Progress
) -> tuple[dt.datetime, dict[str, TableSum], int]:
    source_path = str(settings.DATABASES["default"]["NAME"])
    if not Path(source_path).is_file():
        raise BackupError(f"there is no database at {source_path}")
    workdir = Path(tempfile.mkdtemp(prefix="kka-backup-"))  # mode 0700
    try:
        copy = workdir / "kka.sqlite3"
        source = sqlite3.connect(source_path, timeout=25)
        try:
            began = _began(progress)
            destination = sqlite3.connect(copy)
            try:
                # One step: the copy is the database as of one moment, writers keep going.
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()
        with sqlite3.connect(copy) as con:
            # A self-contained file (no -wal next to it) that opens read-only anywhere.
            con.execute("PRAGMA journal_mode=DELETE")
        con.close()
        tables = sqlite_table_sums(str(copy))
        with open(copy, "rb") as fh:
            written = archive.add_file(SQLITE_ENTRY, fh)
        return began, tables, written.size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _backup_postgres(
    archive: ArchiveWriter, progress: Progress
) -> tuple[dt.datetime, dict[str, TableSum], int]:
    pg_dump = find_tool("pg_dump")
    connection.ensure_connection()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            began = _began(progress)
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        # The exported snapshot stays valid while this transaction is open.
        # Accepted (bandit B603, until 2027-06-30): pg_dump, fixed arguments, no shell.
        process = subprocess.Popen(  # noqa: S603  # nosec B603
            [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=libpq_env(),
        )
        assert process.stdout is not None and process.stderr is not None
        errors = _drain(process.stderr)
        try:
            written = archive.add_file(POSTGRES_ENTRY, process.stdout)
        finally:
            returncode = process.wait()
        if returncode != 0:
            raise BackupError(f"pg_dump failed (exit {returncode}): {errors()}")
        tables = postgres_table_sums(connection)
    return began, tables, written.size


def _drain(stream: IO[bytes]) -> Callable[[], str]:
    """Read a child's stderr in the background (a full pipe would stall it)."""
    chunks: list[bytes] = []
    thread = threading.Thread(target=lambda: chunks.extend(iter(lambda: stream.read(4096), b"")))
    thread.daemon = True
    thread.start()

    def text() -> str:
        thread.join(timeout=5)
        return b"".join(chunks).decode("utf-8", "replace").strip()[-2000:]

    return text


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Restore -----------------------------------------------------------------------------


def _open_entries(path: Path, passphrase: bytes) -> Iterator[tuple[str, Iterator[bytes]]]:
    with open(path, "rb") as fh:
        yield from read_entries(DecryptingReader(fh, passphrase))  # type: ignore[arg-type]


def read_manifest(path: Path, passphrase: bytes) -> dict[str, Any]:
    """Authenticate the whole backup (writing nothing) and check its entries against the
    manifest; the manifest."""
    seen: dict[str, tuple[int, str]] = {}
    manifest_bytes = b""
    for name, chunks in _open_entries(path, passphrase):
        digest = hashlib.sha256()
        size = 0
        data = []
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            if name == "manifest.json":
                data.append(chunk)
        if name in seen:
            raise BackupError(f"the backup holds {name} twice")
        seen[name] = (size, digest.hexdigest())
        if name == "manifest.json":
            manifest_bytes = b"".join(data)
    if not manifest_bytes:
        raise BackupError("the backup has no manifest")
    manifest: dict[str, Any] = json.loads(manifest_bytes)
    if manifest.get("format_version") != MANIFEST_VERSION:
        raise BackupError("unsupported manifest version")
    entry = manifest["database"]["entry"]
    if entry not in seen:
        raise BackupError("the backup has no database")
    for group, prefix in (("files", "files/"), ("datadir", "datadir/")):
        for item in manifest[group]:
            if seen.get(prefix + item["name"]) != (item["size"], item["sha256"]):
                raise BackupError(f"a file in the backup does not match its manifest ({group})")
    return manifest


def target_is_empty() -> list[str]:
    """What makes the configured database or storage non-empty (empty list: nothing)."""
    problems = []
    tables = connection.introspection.table_names()
    if tables:
        problems.append(f"the database has {len(tables)} tables")
    names = _storage_names(private_files.storage())
    if names:
        problems.append(f"the file storage holds {len(names)} files")
    return problems


def restore(*, source: Path, passphrase: bytes, progress: Progress) -> RestoreReport:
    started = time.monotonic()
    vendor = _vendor()
    path = source / BACKUP_FILE
    if not path.is_file():
        raise BackupError(f"no {BACKUP_FILE} in {source}")
    problems = target_is_empty()
    if problems:
        raise BackupError(
            "the target is not empty: "
            + "; ".join(problems)
            + ". Restore only into an empty database and an empty file storage."
        )
    progress("Authenticating the whole backup before writing anything …")
    manifest = read_manifest(path, passphrase)
    if manifest["database"]["vendor"] != vendor:
        raise BackupError(
            f"the backup is of a {manifest['database']['vendor']} database; "
            f"the configured database is {vendor}"
        )
    progress(
        f"Backup made {manifest['created_at']} by KKA {manifest['kka_version']}: "
        f"{len(manifest['tables'])} tables, {len(manifest['files'])} files."
    )

    store = private_files.storage()
    written_files = 0
    for name, chunks in _open_entries(path, passphrase):
        if name == SQLITE_ENTRY:
            _restore_sqlite(chunks)
            progress("Database restored.")
        elif name == POSTGRES_ENTRY:
            _restore_postgres(chunks)
            progress("Database restored (pg_restore).")
        elif name.startswith("files/"):
            stored = name.removeprefix("files/")
            saved = store.save(stored, ContentFile(b"".join(chunks)))
            if saved != stored:
                raise BackupError("the file storage renamed a restored file")
            written_files += 1
        elif name.startswith("datadir/"):
            key_name = name.removeprefix("datadir/")
            if key_name not in DATADIR_KEYS:
                raise BackupError("unexpected data-directory entry in the backup")
            _write_private(data_dir() / key_name, b"".join(chunks))
    progress(f"Files restored: {written_files}.")
    report = verify(manifest)
    report.seconds = time.monotonic() - started
    return report


def verify_only(*, source: Path, passphrase: bytes) -> RestoreReport:
    """Compare what is configured now with a backup, writing nothing (a restore drill)."""
    started = time.monotonic()
    path = source / BACKUP_FILE
    if not path.is_file():
        raise BackupError(f"no {BACKUP_FILE} in {source}")
    manifest = read_manifest(path, passphrase)
    if manifest["database"]["vendor"] != _vendor():
        raise BackupError("the backup is of another kind of database")
    report = verify(manifest)
    report.seconds = time.monotonic() - started
    return report


def _write_private(path: Path, data: bytes) -> None:
    ensure_private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.restore")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)


def _restore_sqlite(chunks: Iterator[bytes]) -> None:
    target = Path(str(settings.DATABASES["default"]["NAME"]))
    connections.close_all()
    ensure_private_dir(target.parent)
    temporary = target.with_name(f".{target.name}.restore")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    # The target had no tables: what is there is an empty file KKA's start-up opened.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(temporary, target)
    _fsync_dir(target.parent)


def _restore_postgres(chunks: Iterator[bytes]) -> None:
    pg_restore = find_tool("pg_restore")
    connections.close_all()
    env = libpq_env()
    # Accepted (bandit B603, until 2027-06-30): pg_restore, fixed arguments, no shell.
    process = subprocess.Popen(  # noqa: S603  # nosec B603
        [
            pg_restore,
            "--no-owner",
            "--exit-on-error",
            "--no-password",
            f"--dbname={env.get('PGDATABASE', '')}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stderr is not None
    errors = _drain(process.stderr)
    try:
        with contextlib.suppress(BrokenPipeError):
            for chunk in chunks:
                process.stdin.write(chunk)
            process.stdin.close()
    finally:
        returncode = process.wait()
    if returncode != 0:
        raise BackupError(
            f"pg_restore failed (exit {returncode}): {errors()} — the database may hold "
            "part of the backup now; empty it before trying again"
        )


def verify(manifest: dict[str, Any]) -> RestoreReport:
    """Compare the configured database and storage with a backup's manifest."""
    vendor = manifest["database"]["vendor"]
    checks: list[Check] = []
    if vendor == "sqlite":
        connections.close_all()
        sums = sqlite_table_sums(str(settings.DATABASES["default"]["NAME"]))
    else:
        with transaction.atomic():
            sums = postgres_table_sums(connection)
    expected: dict[str, dict[str, Any]] = manifest["tables"]
    missing = sorted(set(expected) - set(sums))
    extra = sorted(set(sums) - set(expected))
    checks.append(Check("tables present", not missing and not extra, _names(missing, extra)))
    count_bad = [t for t in expected if t in sums and sums[t].rows != expected[t]["rows"]]
    sum_bad = [t for t in expected if t in sums and sums[t].sha256 != expected[t]["sha256"]]
    rows = sum(s.rows for s in sums.values())
    checks.append(Check(f"row counts ({rows} rows)", not count_bad, ", ".join(count_bad)))
    checks.append(Check(f"table checksums ({len(sums)} tables)", not sum_bad, ", ".join(sum_bad)))

    store = private_files.storage()
    bad_files = 0
    file_bytes = 0
    for item in manifest["files"]:
        digest = hashlib.sha256()
        try:
            with store.open(item["name"], "rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    digest.update(chunk)
        except FileNotFoundError:
            bad_files += 1
            continue
        file_bytes += item["size"]
        if digest.hexdigest() != item["sha256"]:
            bad_files += 1
    checks.append(
        Check(
            f"file checksums ({len(manifest['files'])} files)",
            bad_files == 0,
            f"{bad_files} missing or different" if bad_files else "",
        )
    )
    bad_keys = 0
    for item in manifest["datadir"]:
        path = data_dir() / item["name"]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != item["sha256"]:
            bad_keys += 1
    if manifest["datadir"]:
        checks.append(Check("data-directory key files", bad_keys == 0))

    configured = _configured_field_keys(manifest)
    needed = manifest.get("field_keys") or []
    absent = [k for k in needed if k not in configured]
    checks.append(
        Check(
            "field-encryption keys configured",
            not absent,
            f"{len(absent)} of the {len(needed)} keys the backup was made with are not "
            "configured (KKA_FIELD_KEYS): encrypted values and files cannot be read"
            if absent
            else "",
        )
    )
    audit_rows, problem = audit_verify()
    checks.append(
        Check(
            f"audit chain ({audit_rows} rows)",
            problem is None,
            f"broken at {problem}" if problem is not None else "",
        )
    )
    return RestoreReport(
        vendor=vendor,
        created_at=manifest["created_at"],
        tables=len(sums),
        rows=rows,
        files=len(manifest["files"]),
        file_bytes=file_bytes,
        seconds=0.0,
        checks=checks,
    )


def _configured_field_keys(manifest: dict[str, Any]) -> set[str]:
    """Fingerprints of the keys the next start of KKA will use."""
    if os.environ.get("KKA_FIELD_KEYS"):
        keys = [k for k in os.environ["KKA_FIELD_KEYS"].split(",") if k.strip()]
    elif any(item["name"] == "field.keys" for item in manifest["datadir"]):
        keys = (data_dir() / "field.keys").read_text().replace(",", " ").split()
    else:
        keys = list(settings.FIELD_ENCRYPTION_KEYS)
    return {key_fingerprint(k) for k in keys}


def _names(missing: list[str], extra: list[str]) -> str:
    parts = []
    if missing:
        parts.append("missing: " + ", ".join(missing))
    if extra:
        parts.append("not in the backup: " + ", ".join(extra))
    return "; ".join(parts)
