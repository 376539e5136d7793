"""A backup taken while writes continue holds every write committed before it began (#9).

A writer process keeps adding case records (every third with an attachment, so files
are written too) through the real service, each its own transaction with its audit row,
and prints each committed record's id with the monotonic clock read after the commit.
Meanwhile ``kka backup`` runs; it prints the monotonic moment its snapshot began (the
SQLite online backup starts, or PostgreSQL's REPEATABLE READ snapshot is taken). The
backup is restored into an empty installation: the restore must verify (row counts,
table checksums, files, audit chain), and every record committed before the backup
began must be there, with its attachment's file.

The database is the suite's: SQLite, or with a postgres ``DATABASE_URL`` databases
``kka_backup_…`` on that server. Run as a script (``python -m
tests.faults.test_backup_under_writes``) it is the writer, in the environment given.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backup.util import ROOT, new_install, seeded_install

# The writer commits for at least this long before the backup starts, and after it ends.
BEFORE_SECONDS = 3.0
AFTER_SECONDS = 2.0
BEGAN = re.compile(r"Backup began at \S+ \(monotonic (\d+\.\d+)\)")


def _writer() -> None:
    import datetime as dt

    import django

    django.setup()
    from kka.cases.models import Case
    from kka.cases.services import record_add

    stop = False

    def on_term(_signo: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    case = Case.objects.select_related("owner").order_by("pk").first()
    assert case is not None
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
    print(json.dumps({"ready": True}), flush=True)
    n = 0
    while not stop:
        files = [(f"scan-{n}.png", png)] if n % 3 == 0 else []
        record = record_add(
            actor=case.owner,
            case=case,
            occurred_on=dt.date.today(),
            source="lainnya",
            content=f"Catatan {n}",
            files=files,
        )
        committed = time.monotonic()  # after record_add's transaction has committed
        print(json.dumps({"id": record.pk, "t": committed, "file": bool(files)}), flush=True)
        n += 1


def _stop(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=60)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.faults
def test_every_write_committed_before_the_backup_began_is_restored(tmp_path: Path) -> None:
    source = seeded_install(tmp_path, "writes-src")
    target = new_install(tmp_path, "writes-dst")
    try:
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.test_backup_under_writes"],
            env=source.env(),
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            assert writer.stdout is not None
            assert json.loads(writer.stdout.readline()) == {"ready": True}, writer.stderr
            time.sleep(BEFORE_SECONDS)  # writes keep committing meanwhile
            started = time.monotonic()
            result = source.kka("backup", "--output", str(tmp_path / "backup"))
            ended = time.monotonic()
            time.sleep(AFTER_SECONDS)
        finally:
            writes = _stop(writer)
        assert result.returncode == 0, result.stdout + result.stderr
        match = BEGAN.search(result.stdout)
        assert match, result.stdout
        began = float(match.group(1))
        assert started <= began <= ended

        before = {w["id"] for w in writes if float(w["t"]) < began}  # type: ignore[arg-type]
        during = [w for w in writes if began <= float(w["t"]) <= ended]  # type: ignore[arg-type]
        after = [w for w in writes if float(w["t"]) > ended]  # type: ignore[arg-type]
        assert len(before) >= 5, f"the writer committed only {len(before)} records before"
        assert after, "the writer stopped writing during the backup"

        restored = target.kka("restore", "--input", str(tmp_path / "backup"))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "The restore matches the backup." in restored.stdout

        present = {row[0] for row in target.query("SELECT id FROM cases_caserecord")}
        missing = before - present
        assert not missing, f"{len(missing)} records committed before the backup are missing"
        # Each of those records' attachments is restored with its file.
        with_files = [w["id"] for w in writes if w["file"] and w["id"] in before]
        stored = target.query(
            "SELECT record_id, stored_name FROM cases_attachment WHERE record_id IN ("
            + ",".join(str(int(i)) for i in with_files)  # type: ignore[call-overload]
            + ")"
        )
        assert {row[0] for row in stored} == set(with_files)
        files = target.private_files()
        assert all(row[1] in files for row in stored)
        print(
            f"writes before the backup: {len(before)}, during: {len(during)}, "
            f"after: {len(after)}; backup {ended - started:.1f} s"
        )
    finally:
        source.drop()
        target.drop()


if __name__ == "__main__":
    _writer()
