"""``kka restore --input DIR``: rebuild an empty installation from a backup and verify it.

Refuses a database with tables or a file storage with files. Reads and authenticates the
whole backup before writing anything (wrong passphrase, tampering, truncation: nothing
is written). Then compares row counts, table checksums and file checksums with the
manifest and verifies the audit chain; exits 1 on any mismatch. ``--verify-only`` makes
the same comparison against what is configured now, writing nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.backup.archive import ArchiveError
from kka.backup.container import BackupCryptoError, PassphraseError, check_passphrase
from kka.backup.pgtools import ToolMissing
from kka.backup.services import BackupError, restore, verify_only


class Command(BaseCommand):
    help = (
        "Restore a backup made by 'kka backup' into the configured (empty) database and "
        "file storage, then verify it against the backup's manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="the backup directory")
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="write nothing; compare the configured database and files with the backup",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = check_passphrase(os.environ.get("KKA_BACKUP_PASSPHRASE"))
        except PassphraseError as exc:
            raise CommandError(f"{exc}.") from exc
        try:
            if options["verify_only"]:
                report = verify_only(source=options["input"], passphrase=passphrase)
            else:
                report = restore(source=options["input"], passphrase=passphrase, progress=self._say)
        except (BackupError, BackupCryptoError, ArchiveError, ToolMissing, OSError) as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        verb = "Compared with" if options["verify_only"] else "Restored"
        self._say(
            f"{verb} a {report.vendor} backup made {report.created_at}: {report.tables} "
            f"tables, {report.rows} rows, {report.files} files ({report.file_bytes} bytes) "
            f"in {report.seconds:.1f} s."
        )
        self._say("Verification:")
        for check in report.checks:
            mark = "ok  " if check.ok else "FAIL"
            self._say(f"  {mark} {check.what}" + (f": {check.detail}" if check.detail else ""))
        if not report.ok:
            raise CommandError("The restored data does NOT match the backup.", returncode=1)
        self._say("The restore matches the backup.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
