"""``kka worker [celery options]``: a Celery worker for KKA's background jobs.

The same as ``celery -A kka.celery worker --loglevel=INFO …``, after KKA's
configuration checks (``kka`` refuses to start on errors). Needs ``REDIS_URL``: without
it every task already runs in the web process and there is nothing to work on.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

NO_REDIS = (
    "REDIS_URL is not set: tasks run in-process in the application itself, so a worker "
    "has nothing to do. Set REDIS_URL (the same on every server) to use workers."
)


class Command(BaseCommand):
    help = "Run a Celery worker for the background jobs (needs REDIS_URL)."
    celery_command = "worker"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "celery_args",
            nargs=argparse.REMAINDER,
            help="passed on to celery, e.g. --concurrency=2",
        )

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option after the command belongs to celery, not to Django's parser.
        if len(argv) > 2 and argv[2] in ("-h", "--help"):
            super().run_from_argv(argv)
            return
        try:
            self.handle(celery_args=argv[2:])
        except CommandError as error:
            self.stderr.write(f"CommandError: {error}")
            raise SystemExit(1) from None

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError(NO_REDIS)
        from kka.celery import app

        app.start([self.celery_command, "--loglevel=INFO", *(options.get("celery_args") or [])])
