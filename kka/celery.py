"""The Celery application: ``celery -A kka.celery worker`` and ``celery -A kka.celery beat``.

Configuration comes from Django's settings (the ``CELERY_`` names in kka/settings.py):
without ``REDIS_URL`` every task runs in-process when it is enqueued. Tasks live in
kka/jobs/tasks.py; their payloads carry ids and short codes only.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kka.settings")

app = Celery("kka")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Every hour; each organisation is reminded in the hour of KKA_REMIND_HOUR in its own
    # time zone (06:15 WIB, WITA and WIT alike). Running twice sends nothing twice.
    "daily-reminders": {
        "task": "kka.jobs.tasks.daily_reminders",
        "schedule": crontab(minute=15),
    },
    # What retention has made due, counted into the audit log. Never destroys.
    "retention-listing": {
        "task": "kka.jobs.tasks.retention_listing",
        "schedule": crontab(hour=6, minute=30),
    },
    "prune-job-runs": {
        "task": "kka.jobs.tasks.prune_job_runs",
        "schedule": crontab(hour=3, minute=45),
    },
}


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_a_broken_configuration(**_kwargs: Any) -> None:
    """A worker or beat checks the configuration as ``kka`` does before it starts."""
    from kka.checks import refuse_to_start_on_errors

    refuse_to_start_on_errors()
