"""``kka backup`` / ``kka restore`` as an operator runs them (#9, item 3).

Real processes on a real installation (``kka migrate``, ``kka demo`` and an attachment
uploaded through the case service), on the suite's database kind: SQLite files, or
PostgreSQL databases ``kka_backup_…`` on the suite's server.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kka.backup.container import read_header
from kka.backup.services import BACKUP_FILE
from tests.backup.util import PASSPHRASE, Install, new_install, seeded_install, vendor


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backup")


@pytest.fixture(scope="module")
def source(base: Path) -> Iterator[Install]:
    install = seeded_install(base, "src")
    yield install
    install.drop()


@pytest.fixture(scope="module")
def backup_dir(source: Install, base: Path) -> Path:
    output = base / "backup-1"
    out = source.must("backup", "--output", str(output))
    assert "Backup written" in out
    return output


@pytest.fixture
def target(base: Path, request: pytest.FixtureRequest) -> Iterator[Install]:
    install = new_install(base, "dst-" + request.node.name.removeprefix("test_")[:30])
    yield install
    install.drop()


def assert_nothing_written(target: Install) -> None:
    assert target.table_names() == []
    assert target.private_files() == {}


def test_round_trip_restores_everything_and_verifies(
    source: Install, backup_dir: Path, target: Install
) -> None:
    result = target.kka("restore", "--input", str(backup_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Restored a {vendor()} backup" in out
    for line in ("row counts", "table checksums", "file checksums", "audit chain"):
        assert any(row.startswith(f"  ok   {line}") for row in out.splitlines()), out
    assert "FAIL" not in out
    assert "The restore matches the backup." in out

    # Independently of the command's own verification: the same rows, files and keys.
    assert target.table_names() == source.table_names()
    for sql in (
        "SELECT count(*) FROM cases_case",
        "SELECT count(*) FROM audit_auditevent",
        "SELECT max(id), max(row_hash) FROM audit_auditevent",
        "SELECT stored_name, sha256 FROM cases_attachment ORDER BY stored_name",
    ):
        assert target.query(sql) == source.query(sql), sql
    assert target.private_files() == source.private_files() != {}
    assert (target.data_dir / "field.keys").read_text().split() == (
        source.data_dir / "field.keys"
    ).read_text().split()
    assert "Audit chain intact" in target.must("audit", "verify")
    # The restored keys open the restored data: a case page's content decrypts.
    shown = target.must(
        "shell",
        "-c",
        "from kka.cases.models import Client; print(len(Client.objects.first().full_name))",
    )
    assert int(shown.split()[-1]) > 0

    # The verification is not vacuous: one changed row is a mismatch (exit 1).
    target.query(
        "UPDATE cases_case SET title = title || 'x' WHERE id = (SELECT min(id) FROM cases_case)"
    )
    check = target.kka("restore", "--input", str(backup_dir), "--verify-only")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "FAIL table checksums (" in check.stdout
    assert "cases_case" in check.stdout
    assert "does NOT match" in check.stderr

    # A restore into it now is refused: it is not empty.
    again = target.kka("restore", "--input", str(backup_dir))
    assert again.returncode == 1
    assert "the target is not empty" in again.stderr


def test_keys_from_the_environment_stay_out_and_a_restore_needs_them(
    source: Install, base: Path, target: Install
) -> None:
    keys = {
        "KKA_FIELD_KEYS": ",".join((source.data_dir / "field.keys").read_text().split()),
        "KKA_INDEX_KEY": (source.data_dir / "index.key").read_text().strip(),
        "KKA_SECRET_KEY": (source.data_dir / "secret.key").read_text().strip(),
    }
    output = base / "env-keys"
    assert "No key files included" in source.must("backup", "--output", str(output), **keys)

    # Restored without the keys (the target made its own): the data is there, unreadable.
    result = target.kka("restore", "--input", str(output))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "  ok   table checksums" in result.stdout
    assert "  FAIL field-encryption keys configured: 1 of the 1 keys" in result.stdout
    assert (target.data_dir / "field.keys").read_text().split()[0] != keys["KKA_FIELD_KEYS"]

    # With the keys in the environment, as the restore procedure says, it verifies.
    check = target.kka("restore", "--input", str(output), "--verify-only", **keys)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "  ok   field-encryption keys configured" in check.stdout


def test_a_target_with_only_files_is_refused(backup_dir: Path, target: Install) -> None:
    (target.data_dir / "private").mkdir(parents=True)
    (target.data_dir / "private" / "left-over.pdf.enc").write_bytes(b"x")
    result = target.kka("restore", "--input", str(backup_dir))
    assert result.returncode == 1
    assert "the file storage holds 1 files" in result.stderr
    assert target.table_names() == []


def test_backup_refuses_without_a_passphrase(source: Install, base: Path) -> None:
    output = base / "refused"
    result = source.kka("backup", "--output", str(output), passphrase=None)
    assert result.returncode == 1
    assert "KKA_BACKUP_PASSPHRASE is not set" in result.stderr
    assert not output.exists()


def test_restore_refuses_a_short_passphrase(backup_dir: Path, target: Install) -> None:
    result = target.kka("restore", "--input", str(backup_dir), passphrase="pendek-11ch")
    assert result.returncode == 1
    assert "KKA_BACKUP_PASSPHRASE is shorter than 12 characters" in result.stderr
    assert_nothing_written(target)


def test_a_wrong_passphrase_fails_and_writes_nothing(backup_dir: Path, target: Install) -> None:
    result = target.kka("restore", "--input", str(backup_dir), passphrase=PASSPHRASE + "x")
    assert result.returncode == 1
    assert "wrong passphrase" in result.stderr
    assert_nothing_written(target)


def test_a_flipped_byte_is_detected_and_nothing_written(
    backup_dir: Path, base: Path, target: Install
) -> None:
    # (Every byte position, reordering and every cut: tests/backup/test_container.py.)
    copy = base / "flipped"
    shutil.copytree(backup_dir, copy)
    path = copy / BACKUP_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = target.kka("restore", "--input", str(copy))
    assert result.returncode == 1, result.stdout
    assert "the backup file was changed or truncated" in result.stderr
    assert_nothing_written(target)


def test_a_backup_cut_at_a_chunk_boundary_is_detected_and_nothing_written(
    backup_dir: Path, base: Path, target: Install
) -> None:
    copy = base / "cut"
    shutil.copytree(backup_dir, copy)
    path = copy / BACKUP_FILE
    data = path.read_bytes()
    with path.open("rb") as fh:
        read_header(fh)
        header_end = fh.tell()
    # A full chunk is 1 MiB of plaintext: length (4) + nonce (12) + 1 MiB + tag (16).
    boundary = header_end + 4 + 12 + 1024 * 1024 + 16
    assert len(data) > boundary, "the seeded backup should span more than one chunk"
    path.write_bytes(data[:boundary])
    result = target.kka("restore", "--input", str(copy))
    assert result.returncode == 1, result.stdout
    assert "changed or truncated" in result.stderr
    assert_nothing_written(target)


def test_the_backup_directory_holds_nothing_readable_but_the_header(
    source: Install, backup_dir: Path
) -> None:
    files = [p for p in backup_dir.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [BACKUP_FILE]
    data = files[0].read_bytes()
    with files[0].open("rb") as fh:
        header, _digest = read_header(fh)
        header_end = fh.tell()
    assert set(header) == {"format", "version", "cipher", "chunk_size", "kdf"}
    assert set(header["kdf"]) == {"name", "salt", "n", "r", "p"}
    json.dumps(header)  # plain JSON, nothing else
    body = data[header_end:]
    field_key = (source.data_dir / "field.keys").read_text().split()[0]
    attachment = next(iter(source.private_files().values()))
    for known in (
        b"SQLite format 3",
        b"PGDMP",
        b"cases_case",
        b"audit_auditevent",
        b"CREATE TABLE",
        b"SMP Negeri 7 Sukamaju",
        b"smpn7.demo",
        b"manifest",
        b"sha256",
        field_key.encode(),
        attachment[:64],
    ):
        assert known not in body, known
