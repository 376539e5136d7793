"""``kka beat [celery options]``: Celery beat, which enqueues the scheduled jobs (the
daily reminders at 06:15 in each organisation's zone, the retention listing, pruning
old job records; kka/celery.py). Run exactly one beat per installation."""

from __future__ import annotations

from kka.jobs.management.commands import worker


class Command(worker.Command):
    help = "Run Celery beat: enqueue the scheduled jobs (one per installation; REDIS_URL)."
    celery_command = "beat"
