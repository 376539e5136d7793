"""Key rotation: re-encrypt every stored value and file with the newest field key.

After a new key has been put first in ``KKA_FIELD_KEYS`` (``new,old``) and the
application restarted, :func:`rotate` walks

* every column of type :class:`~kka.lib.fields.EncryptedTextField` in every installed
  model, reading the raw tokens with plain SQL (the ORM would decrypt them), and
* every file in the private storage (attachments, consent scans, documents, document
  templates, letterhead logos — all written by :mod:`kka.lib.private_files`): on the
  file system under ``PRIVATE_FILES_ROOT``, replaced atomically; in object storage
  (``KKA_S3_BUCKET``) listed through the storage and written back under the same name,

and re-encrypts whatever does not already open with the newest key alone. Values that
already do are left untouched, so a run is idempotent and an interrupted run can simply
be started again. Afterwards the old key can be removed from ``KKA_FIELD_KEYS``.

Not affected: the blind indexes (keyed with ``KKA_INDEX_KEY``, rebuilt by
``kka reindex``), the audit log (holds no encrypted values), Django's signed sessions
(``KKA_SECRET_KEY``) and django_otp's TOTP secrets (its own columns, not field-encrypted).

Reports carry table names, primary keys, file names (server-made random names) and
counts — never a value.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import connection, transaction

from kka.audit.models import Outcome
from kka.audit.services import audit_log
from kka.lib import private_files
from kka.lib.crypto import parse_keys
from kka.lib.fields import EncryptedTextField

BATCH_SIZE = 500
TEMP_PREFIX = ".rotate-"
TEMP_SUFFIX = ".tmp"


class NoKeys(ValueError):
    """No field-encryption keys are configured, or one of them is malformed."""


@dataclass(frozen=True)
class EncryptedTable:
    """One database table and its encrypted columns."""

    label: str  # "cases.Client"
    table: str
    pk_column: str
    columns: tuple[str, ...]


@dataclass
class Failure:
    """A value or file that no configured key opens (named, never shown)."""

    where: str  # table name, or "files"
    ref: str  # primary key, or the file's server-made name
    column: str = ""

    def __str__(self) -> str:
        if self.column:
            return f"{self.where} pk={self.ref} column={self.column}"
        return f"{self.where}: {self.ref}"


@dataclass
class Tally:
    """Counts for one table (or for the private files)."""

    label: str
    where: str
    old: int = 0  # under an older key: rotated (or, in a dry run, would be)
    current: int = 0  # already under the newest key
    changed_meanwhile: int = 0  # rewritten by the application while we worked
    failures: list[Failure] = field(default_factory=list)


@dataclass
class RotationReport:
    dry_run: bool
    key_count: int
    tables: list[Tally]
    files: Tally

    @property
    def tallies(self) -> list[Tally]:
        return [*self.tables, self.files]

    @property
    def old(self) -> int:
        return sum(t.old for t in self.tallies)

    @property
    def failures(self) -> list[Failure]:
        return [f for t in self.tallies for f in t.failures]

    def audit_refs(self) -> dict[str, int | str | None]:
        refs: dict[str, int | str | None] = {
            t.where: t.old for t in self.tables if t.old or t.failures
        }
        refs["files"] = self.files.old
        refs["keys"] = self.key_count
        refs["failed"] = len(self.failures)
        return refs


@dataclass(frozen=True)
class _Keys:
    newest: Fernet
    all: MultiFernet
    count: int

    def rotated(self, token: bytes) -> bytes | None:
        """``None`` when the newest key already opens ``token``; else the re-encrypted
        token. Raises InvalidToken when no key opens it."""
        try:
            self.newest.decrypt(token)
        except InvalidToken:
            return self.all.rotate(token)
        return None


def _keys() -> _Keys:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise NoKeys("no field-encryption keys are configured (KKA_FIELD_KEYS)")
    try:
        fernets = parse_keys(keys)
    except ValueError as exc:
        raise NoKeys(f"KKA_FIELD_KEYS: {exc}") from exc
    return _Keys(newest=fernets[0], all=MultiFernet(fernets), count=len(fernets))


def encrypted_tables() -> list[EncryptedTable]:
    """Every table holding an EncryptedTextField, in a stable order.

    ``local_concrete_fields`` puts an inherited column on its parent's table only.
    """
    found = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped:
            continue
        columns = tuple(
            f.column for f in meta.local_concrete_fields if isinstance(f, EncryptedTextField)
        )
        if columns:
            found.append(
                EncryptedTable(
                    label=meta.label,
                    table=meta.db_table,
                    pk_column=meta.pk.column,
                    columns=columns,
                )
            )
    return sorted(found, key=lambda t: t.table)


def _batches(table: EncryptedTable, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Raw rows (pk, token, token, …) in primary-key order, ``batch_size`` at a time."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in (table.pk_column, *table.columns))
    last: Any = None
    while True:
        where = "" if last is None else f" WHERE {qn(table.pk_column)} > %s"
        params: list[Any] = ([] if last is None else [last]) + [batch_size]
        order = f" ORDER BY {qn(table.pk_column)} LIMIT %s"
        # Accepted (bandit B608, until 2027-05-31): names from the model registry only.
        sql = f"SELECT {columns} FROM {qn(table.table)}{where}{order}"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _compare_and_swap(table: EncryptedTable, column: str, pk: Any, old: str, new: str) -> bool:
    """Replace the token only if it is still the one we read: a value the application
    rewrote meanwhile (already with the newest key) is not overwritten with stale data."""
    qn = connection.ops.quote_name
    where = f"{qn(table.pk_column)} = %s AND {qn(column)} = %s"
    # Accepted (bandit B608, until 2027-05-31): names from the model registry only.
    sql = f"UPDATE {qn(table.table)} SET {qn(column)} = %s WHERE {where}"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [new, pk, old])
        return cursor.rowcount == 1


def _rotate_table(table: EncryptedTable, keys: _Keys, *, dry_run: bool, batch_size: int) -> Tally:
    tally = Tally(label=table.label, where=table.table)
    for rows in _batches(table, batch_size):
        # One transaction per batch: a long run never holds one huge transaction, and
        # what is done stays done if the run is interrupted.
        with transaction.atomic():
            for pk, *tokens in rows:
                for column, token in zip(table.columns, tokens, strict=True):
                    if token is None:
                        continue
                    try:
                        new = keys.rotated(str(token).encode("ascii"))
                    except (InvalidToken, UnicodeError):
                        tally.failures.append(Failure(table.table, str(pk), column))
                        continue
                    if new is None:
                        tally.current += 1
                    elif dry_run or _compare_and_swap(
                        table, column, pk, token, new.decode("ascii")
                    ):
                        tally.old += 1
                    else:
                        tally.changed_meanwhile += 1
    return tally


def private_file_paths(root: Path | None = None) -> list[Path]:
    """Every stored file under the private root (not our own temporary files)."""
    base = Path(settings.PRIVATE_FILES_ROOT) if root is None else root
    if not base.is_dir():
        return []
    paths = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            paths.append(path)
    return paths


def _remove_stale_temporaries(base: Path) -> None:
    """Copies left by an interrupted run: they would escape a later erasure."""
    if base.is_dir():
        for path in base.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> bool:
    """Write ``data`` next to ``path`` and rename it over ``path`` atomically, keeping
    the file's mode (and, when run as root, its owner, so the service can still read it).

    False (nothing written) when ``path`` disappeared meanwhile — the file was removed
    by the application and must not come back.
    """
    try:
        before = path.stat()
    except FileNotFoundError:
        return False
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), stat.S_IMODE(before.st_mode))
            if os.geteuid() == 0:
                os.fchown(fh.fileno(), before.st_uid, before.st_gid)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not path.exists():
            return False
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return True


def stored_file_names(store: Storage) -> list[str]:
    """Every file in a (non-file-system) private storage, by name; files are flat."""
    _dirs, names = store.listdir("")
    return sorted(name for name in names if not name.startswith("."))


def _rotate_stored_files(store: Storage, keys: _Keys, *, dry_run: bool) -> Tally:
    """Object storage: each object is replaced whole by one write under its own name."""
    tally = Tally(label="private files", where="files")
    for name in stored_file_names(store):
        try:
            with store.open(name, "rb") as fh:
                new = keys.rotated(fh.read())
        except FileNotFoundError:
            continue  # removed by the application meanwhile
        except InvalidToken:
            tally.failures.append(Failure("files", name))
            continue
        if new is None:
            tally.current += 1
        elif dry_run:
            tally.old += 1
        elif store.exists(name):  # a file removed meanwhile must not come back
            store.save(name, ContentFile(new))
            tally.old += 1
        else:
            tally.changed_meanwhile += 1
    return tally


def _rotate_files(keys: _Keys, *, dry_run: bool) -> Tally:
    store = private_files.storage()
    if not isinstance(store, FileSystemStorage):
        return _rotate_stored_files(store, keys, dry_run=dry_run)
    base = Path(store.location)  # PRIVATE_FILES_ROOT, unless configured otherwise
    tally = Tally(label="private files", where="files")
    if not dry_run:
        _remove_stale_temporaries(base)
    for path in private_file_paths(base):
        name = str(path.relative_to(base))
        try:
            new = keys.rotated(path.read_bytes())
        except FileNotFoundError:
            continue  # removed by the application meanwhile
        except InvalidToken:
            tally.failures.append(Failure("files", name))
            continue
        if new is None:
            tally.current += 1
        elif dry_run or replace_file(path, new):
            tally.old += 1
        else:
            tally.changed_meanwhile += 1
    return tally


def rotate(
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[Tally], None] | None = None,
) -> RotationReport:
    """Re-encrypt (or, with ``dry_run``, only count) everything not under the newest key.

    A real run ends with one ``keys.rotated`` audit row holding the counts per table;
    its outcome is ``failure`` when some value or file opened with no key.
    """
    keys = _keys()
    store = private_files.storage()
    # Checked before anything is rewritten: in object storage a save must replace the
    # object under its own name (S3 as configured: file_overwrite), never add a copy.
    overwrites = isinstance(store, FileSystemStorage) or getattr(store, "file_overwrite", False)
    if not dry_run and not overwrites:
        raise NoKeys("the private storage cannot overwrite a file in place (file_overwrite)")
    tables = []
    for table in encrypted_tables():
        tally = _rotate_table(table, keys, dry_run=dry_run, batch_size=batch_size)
        tables.append(tally)
        if progress is not None:
            progress(tally)
    files = _rotate_files(keys, dry_run=dry_run)
    if progress is not None:
        progress(files)
    report = RotationReport(dry_run=dry_run, key_count=keys.count, tables=tables, files=files)
    if not dry_run:
        audit_log(
            action="keys.rotated",
            object_type="keys",
            refs=report.audit_refs(),
            outcome=Outcome.FAILURE if report.failures else Outcome.SUCCESS,
        )
    return report
