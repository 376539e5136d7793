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
import threading
import time
from pathlib import Path

import pytest

from tests.backup.util import ROOT, new_install, seeded_install

# The writer commits for at least this long before the backup starts; after the backup
# ends, the test waits (up to AFTER_TIMEOUT) for the writer's next commit, which shows
# the writer was not stopped by the backup.
BEFORE_SECONDS = 3.0
AFTER_TIMEOUT = 60.0
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


class _Drain:
    """Reads the writer's stdout and stderr as they come, so that a full pipe never
    stops the writer, and keeps its committed writes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.writes: list[dict[str, object]] = []
        self.stderr: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        self.threads = [
            threading.Thread(target=self._out, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._err, args=(proc.stderr,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _out(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            if line.startswith("{"):
                self.writes.append(json.loads(line))

    def _err(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.stderr.append(line)

    def wait_for_write_after(self, moment: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if any(float(w["t"]) > moment for w in self.writes if "t" in w):  # type: ignore[arg-type]
                return
            time.sleep(0.1)

    def stop(self) -> list[dict[str, object]]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        for thread in self.threads:
            thread.join(timeout=10)
        return [w for w in self.writes if "id" in w]


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
        drain = _Drain(writer)
        try:
            ready_by = time.monotonic() + 120
            while not drain.writes and writer.poll() is None and time.monotonic() < ready_by:
                time.sleep(0.1)
            assert drain.writes[:1] == [{"ready": True}], "".join(drain.stderr)
            time.sleep(BEFORE_SECONDS)  # writes keep committing meanwhile
            started = time.monotonic()
            result = source.kka("backup", "--output", str(tmp_path / "backup"))
            ended = time.monotonic()
            drain.wait_for_write_after(ended, AFTER_TIMEOUT)
        finally:
            writes = drain.stop()
        assert result.returncode == 0, result.stdout + result.stderr
        match = BEGAN.search(result.stdout)
        assert match, result.stdout
        began = float(match.group(1))
        assert started <= began <= ended

        before = {w["id"] for w in writes if float(w["t"]) < began}  # type: ignore[arg-type]
        during = [w for w in writes if began <= float(w["t"]) <= ended]  # type: ignore[arg-type]
        after = [w for w in writes if float(w["t"]) > ended]  # type: ignore[arg-type]
        assert len(before) >= 5, f"the writer committed only {len(before)} records before"
        stderr_tail = "".join(drain.stderr)[-2000:]
        assert after, f"the writer stopped writing during the backup: {stderr_tail}"

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
