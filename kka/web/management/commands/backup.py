"""``kka backup --output DIR``: an encrypted, consistent backup while KKA runs.

The passphrase comes from KKA_BACKUP_PASSPHRASE (at least 12 characters). Output: counts,
sizes and durations, never a row's content.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.backup.archive import ArchiveError
from kka.backup.container import BackupCryptoError, PassphraseError, check_passphrase
from kka.backup.pgtools import ToolMissing
from kka.backup.services import BackupError, backup


class Command(BaseCommand):
    help = (
        "Write an encrypted backup (database, stored files, generated keys, manifest of "
        "checksums) into an empty or new directory, while KKA keeps running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, type=Path, help="directory to create")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = check_passphrase(os.environ.get("KKA_BACKUP_PASSPHRASE"))
        except PassphraseError as exc:
            raise CommandError(f"{exc}: refusing to write an unprotected backup.") from exc
        try:
            report = backup(output=options["output"], passphrase=passphrase, progress=self._say)
        except (BackupError, BackupCryptoError, ArchiveError, ToolMissing, OSError) as exc:
            raise CommandError(f"Backup failed: {exc}") from exc
        if report.vanished_files:
            self._say(
                f"{report.vanished_files} files were deleted by KKA while the backup ran "
                "(after the database snapshot); they are not in the backup."
            )
        if report.datadir_files:
            self._say(
                "Key files from the data directory included: " + ", ".join(report.datadir_files)
            )
        else:
            self._say(
                "No key files included: keep KKA_FIELD_KEYS (and KKA_INDEX_KEY, "
                "KKA_SECRET_KEY) safe apart from this backup; a restore needs them."
            )
        self._say(
            f"Backup written: {report.path} ({report.backup_bytes} bytes, "
            f"{report.vendor}, {report.tables} tables, {report.rows} rows, "
            f"{report.files} files) in {report.seconds:.1f} s."
        )

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
