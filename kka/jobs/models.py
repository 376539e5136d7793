"""One row per unit of background work, so a redelivered task does it once."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobOutcome(models.TextChoices):
    PENDING = "pending", _("Menunggu")
    DONE = "done", _("Selesai")
    GAVE_UP = "gave_up", _("Gagal")


class JobRun(models.Model):
    """A task's idempotency key and what became of it (codes and counts only).

    The key is made when the work is asked for (``kka.jobs.enqueue``), travels in the
    task's payload and is claimed under a row lock by the task (``kka.jobs.runs``): the
    work and the mark "done" commit together, so a second delivery finds it done.
    """

    key = models.CharField(max_length=120, unique=True)
    task = models.CharField(max_length=80)
    outcome = models.CharField(
        max_length=10, choices=JobOutcome.choices, default=JobOutcome.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)  # failed attempts (rolled back)
    error = models.CharField(max_length=80, blank=True)  # the last exception's class name
    result = models.JSONField(default=dict, blank=True)  # counts and codes only
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["outcome", "created_at"], name="jobrun_outcome_created")]

    def __str__(self) -> str:
        return f"{self.task}:{self.key}:{self.outcome}"
