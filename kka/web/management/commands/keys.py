"""``kka keys``: field-encryption keys.

* ``kka keys new`` prints a fresh key for KKA_FIELD_KEYS.
* ``kka keys status`` counts the values and files still under an older key.
* ``kka keys rotate`` re-encrypts them with the newest (first) key; ``--dry-run`` only
  counts. Afterwards the old keys can be removed from KKA_FIELD_KEYS.

Output names tables, primary keys and server-made file names, never a value.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.lib.crypto import new_field_key
from kka.lib.rotation import BATCH_SIZE, NoKeys, RotationReport, Tally, rotate

# At most this many failing values are named one by one; the rest are counted.
LISTED_FAILURES = 50


class Command(BaseCommand):
    help = (
        "Field-encryption keys. 'new' prints a fresh key for KKA_FIELD_KEYS; 'status' "
        "counts values still under an older key; 'rotate' re-encrypts them with the newest."
    )
    requires_system_checks = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("new", help="print a new key")
        sub.add_parser("status", help="count values and files still under an older key")
        rotate_parser = sub.add_parser(
            "rotate", help="re-encrypt every value and file with the newest key"
        )
        rotate_parser.add_argument(
            "--dry-run", action="store_true", help="only count; change nothing"
        )
        rotate_parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="rows per transaction"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        if subcommand == "new":
            self.stdout.write(new_field_key())
        elif subcommand == "status":
            self._status()
        elif subcommand == "rotate":
            self._rotate(dry_run=options["dry_run"], batch_size=options["batch_size"])

    def _run(self, *, dry_run: bool, batch_size: int, verb: str) -> RotationReport:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(tally: Tally) -> None:
            line = f"{tally.label} ({tally.where}): {tally.old} {verb}, {tally.current} current"
            if tally.changed_meanwhile:
                line += f", {tally.changed_meanwhile} changed by the application meanwhile"
            if tally.failures:
                line += f", {len(tally.failures)} FAILED"
            self.stdout.write(line)

        try:
            return rotate(dry_run=dry_run, batch_size=batch_size, progress=progress)
        except NoKeys as exc:
            raise CommandError(f"{exc}.") from exc

    def _fail_on_undecryptable(self, report: RotationReport) -> None:
        failures = report.failures
        if not failures:
            return
        for failure in failures[:LISTED_FAILURES]:
            self.stderr.write(f"cannot decrypt: {failure}")
        if len(failures) > LISTED_FAILURES:
            self.stderr.write(f"… and {len(failures) - LISTED_FAILURES} more")
        raise CommandError(
            f"{len(failures)} encrypted values or files open with none of the "
            f"{report.key_count} configured keys. Do not remove any key; restore the "
            "missing key or the affected rows from a backup.",
            returncode=1,
        )

    def _status(self) -> None:
        report = self._run(dry_run=True, batch_size=BATCH_SIZE, verb="under an older key")
        self.stdout.write(f"Keys configured: {report.key_count}.")
        self._fail_on_undecryptable(report)
        if report.old:
            self.stdout.write(
                f"{report.old} values and files still need an older key: "
                "run 'kka keys rotate' before removing it."
            )
        elif report.key_count > 1:
            self.stdout.write(
                "Everything is under the newest key: the older keys can be removed "
                "from KKA_FIELD_KEYS."
            )
        else:
            self.stdout.write("Everything is under the only key.")

    def _rotate(self, *, dry_run: bool, batch_size: int) -> None:
        verb = "to rotate" if dry_run else "rotated"
        report = self._run(dry_run=dry_run, batch_size=batch_size, verb=verb)
        self._fail_on_undecryptable(report)
        if dry_run:
            self.stdout.write(f"Dry run: {report.old} values and files would be re-encrypted.")
            return
        self.stdout.write(f"Re-encrypted {report.old} values and files with the newest key.")
        meanwhile = sum(t.changed_meanwhile for t in report.tallies)
        if meanwhile:
            self.stdout.write(
                f"{meanwhile} values or files were changed or removed by KKA meanwhile; "
                "'kka keys status' shows whether anything still needs an older key."
            )
        if report.key_count > 1:
            self.stdout.write(
                "The older keys can now be removed from KKA_FIELD_KEYS "
                "(run 'kka keys status' after restarting to confirm)."
            )
        else:
            self.stdout.write(
                "Only one key is configured: put a new key first in KKA_FIELD_KEYS "
                "('new,old'), restart KKA, then rotate."
            )
