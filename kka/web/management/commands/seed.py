"""``kka seed``: deterministic synthetic data at scale, for benchmarks and load tests.

    kka seed --organisations 10 --cases 1000 --seed 1 [--today 2026-12-01]

Refuses in production mode and on an unmigrated database. Progress goes to stderr;
the summary (row counts, time) and one counsellor login per organisation (emails
only) to stdout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from kka.seed.generate import DEFAULT_PASSWORD, DEFAULT_TODAY, Options, seed


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def unapplied_migrations() -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = (
        "Create deterministic synthetic organisations, counsellors, clients, cases and KKAs "
        "(with their audit rows) for benchmarks. Never in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisations", type=_positive, default=10)
        parser.add_argument(
            "--cases", type=_non_negative, default=1000, help="spread over the organisations"
        )
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"password of every seeded user (default {DEFAULT_PASSWORD})",
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=DEFAULT_TODAY,
            help=f"the day the data ends at, YYYY-MM-DD (default {DEFAULT_TODAY.isoformat()})",
        )
        parser.add_argument(
            "--batch-size", type=_positive, default=500, help="cases per transaction"
        )
        parser.add_argument(
            "--documents-every",
            type=_non_negative,
            default=100,
            help="one stored PDF per this many held KKAs (0: none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "kka seed refuses to run in production mode (KKA_ENV=production): "
                "it writes synthetic data."
            )
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"The database is not migrated ({pending} migrations pending): run 'kka migrate'."
            )
        opts = Options(
            organisations=options["organisations"],
            cases=options["cases"],
            seed=options["seed"],
            password=options["password"],
            today=options["today"],
            batch_size=options["batch_size"],
            documents_every=options["documents_every"],
        )

        def progress(line: str) -> None:
            self.stderr.write(line)
            self.stderr.flush()

        summary = seed(opts, progress=progress)
        rows = sum(summary.counts.values())
        self.stdout.write(
            f"Seeded {opts.organisations} organisations and {opts.cases} cases "
            f"(seed {opts.seed}, today {opts.today.isoformat()}) in {summary.seconds:.1f} s: "
            f"{rows} rows, {rows / max(summary.seconds, 1e-9):.0f} rows/s."
        )
        for table, count in sorted(summary.counts.items()):
            self.stdout.write(f"  {table:<20} {count:>10}")
        self.stdout.write(f"Logins (password: {opts.password}), one counsellor per organisation:")
        for name, email in summary.logins:
            self.stdout.write(f"  {email:<40} {name}")
