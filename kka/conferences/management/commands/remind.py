"""``kka remind``: today's commitment reminders and the counsellors' digests.

Run once a day, e.g. from cron: ``15 6 * * * /srv/kka/.venv/bin/kka remind`` (with
Celery beat running, beat does this by itself). Running it again the same day sends
nothing twice; a reminder whose mail failed is sent by the next run. Each organisation
is one ``send_reminders`` task: in-process without ``REDIS_URL`` (prints one line of
counts, never names or addresses), otherwise handed to the workers (prints how many
organisations were enqueued). ``--dry-run`` always counts in-process.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.accounts.models import Organisation
from kka.conferences.reminders import Summary, run_reminders
from kka.jobs import tasks
from kka.jobs.enqueue import new_key


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
        when = f" {today.isoformat()}" if today else ""
        if dry_run:
            summary = run_reminders(today=today, dry_run=True)
        else:
            summary = Summary()
            results = [
                tasks.send_reminders.apply_async(
                    kwargs={
                        "organisation_id": organisation_id,
                        "date": today.isoformat() if today else None,
                        "key": new_key(f"remind:{code}"),
                    }
                )
                for organisation_id, code in Organisation.objects.order_by("id").values_list(
                    "id", "code"
                )
            ]
            if not tasks.app.conf.task_always_eager:
                self.stdout.write(f"kka remind{when}: {len(results)} organisations enqueued")
                return
            for result in results:
                summary.add(Summary(**result.get(propagate=True)))
        prefix = "kka remind (dry run)" if dry_run else "kka remind"
        self.stdout.write(f"{prefix}{when}: {summary.line()}")
        if summary.failed:
            raise CommandError(
                f"{summary.failed} reminder(s) could not be sent; the next run retries them",
                returncode=1,
            )
