"""Idempotency for background tasks: a redelivered task does its work once.

Every task carries a key (made by ``kka.jobs.enqueue`` when the work is asked for).
``claim`` locks the key's ``JobRun`` row in a transaction, runs the work inside it and
marks the row done in the same transaction: a second delivery (acks_late after a
crash, a visibility timeout, a duplicate beat tick) waits for the lock and then finds
the work done. Work that must commit piece by piece (the daily reminders: one
transaction per mail) uses ``is_done``/``finish`` instead and relies on its own
per-piece records (``ReminderSent``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kka.audit.models import Outcome
from kka.audit.services import audit_log
from kka.jobs.models import JobOutcome, JobRun
from kka.lib import private_files

logger = logging.getLogger("kka.jobs")


@contextmanager
def claim(key: str, task: str) -> Iterator[JobRun | None]:
    """The locked, pending run of ``key`` (None when it is done already); the block's
    work and the mark "done" commit together, an exception rolls both back (and deletes
    the files the work stored: their rows are gone)."""
    with private_files.removed_if_rolled_back(), transaction.atomic():
        JobRun.objects.get_or_create(key=key, defaults={"task": task})
        run = JobRun.objects.select_for_update().get(key=key)
        if run.outcome != JobOutcome.PENDING:
            logger.info("job %s %s: already %s", task, key, run.outcome)
            yield None
            return
        yield run
        if run.outcome == JobOutcome.PENDING:
            mark_done(run)


def mark_done(run: JobRun) -> None:
    """Mark a claimed run done (with its ``result``) before the block ends: work whose
    last step cannot be undone (a mail) does every write first, then that step."""
    run.outcome = JobOutcome.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "finished_at", "result"])


def is_done(key: str) -> bool:
    return JobRun.objects.filter(key=key).exclude(outcome=JobOutcome.PENDING).exists()


@transaction.atomic
def finish(key: str, task: str, result: dict[str, Any]) -> None:
    run, _created = JobRun.objects.get_or_create(key=key, defaults={"task": task})
    JobRun.objects.filter(pk=run.pk).update(
        outcome=JobOutcome.DONE, finished_at=timezone.now(), result=result
    )


@transaction.atomic
def record_failure(*, key: str, task: str, exc: BaseException, gave_up: bool) -> None:
    """Count a failed attempt (its exception's class only: messages may hold addresses);
    after the last retry, mark the run given up and write one audit row."""
    run, _created = JobRun.objects.get_or_create(key=key, defaults={"task": task})
    if run.outcome != JobOutcome.PENDING:
        return
    error = type(exc).__name__[:80]
    changes: dict[str, Any] = {"attempts": F("attempts") + 1, "error": error}
    if gave_up:
        changes.update(outcome=JobOutcome.GAVE_UP, finished_at=timezone.now())
    JobRun.objects.filter(pk=run.pk).update(**changes)
    logger.warning("job %s %s failed (%s)%s", task, key, error, ", gave up" if gave_up else "")
    if gave_up:
        audit_log(
            action="job.gave_up",
            object_type="job",
            object_ref=key[:64],
            refs={"task": task, "error": error},
            outcome=Outcome.FAILURE,
        )
