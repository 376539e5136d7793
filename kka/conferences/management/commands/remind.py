"""``kka remind``: today's commitment reminders and the counsellors' digests.

Run once a day, e.g. from cron: ``15 6 * * * /srv/kka/.venv/bin/kka remind``. Running
it again the same day sends nothing twice; a reminder whose mail failed is sent by
the next run. Prints one line of counts (never names or addresses).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.conferences.reminders import run_reminders


def _date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date wants YYYY-MM-DD, not {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Email participants about commitments due soon or overdue (neutral wording, a "
        "link to their page) and give each counsellor a daily digest. Run daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            default=None,
            help="pretend today is YYYY-MM-DD in every organisation (tests, catching up)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count what would be sent; send nothing and record nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        today = _date(options["date"])
        summary = run_reminders(today=today, dry_run=dry_run)
        prefix = "kka remind (dry run)" if dry_run else "kka remind"
        when = f" {today.isoformat()}" if today else ""
        self.stdout.write(f"{prefix}{when}: {summary.line()}")
        if summary.failed:
            raise CommandError(
                f"{summary.failed} reminder(s) could not be sent; the next run retries them",
                returncode=1,
            )
