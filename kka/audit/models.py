"""Append-only, hash-chained audit log.

Rows hold references (ids and public codes), never content. Each row stores the
hash of the previous row and its own hash over a canonical serialisation, so a
changed, removed, inserted or reordered row breaks the chain at that point.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class Outcome(models.TextChoices):
    SUCCESS = "success", "success"
    DENIED = "denied", "denied"
    FAILURE = "failure", "failure"


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("audit rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit rows are append-only")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("update_conflicts") or kwargs.get("ignore_conflicts"):
            raise TypeError("audit rows are append-only")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise TypeError("audit rows are append-only")


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)
    actor_role = models.CharField(max_length=20, blank=True)
    organisation_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40, blank=True)
    object_ref = models.CharField(max_length=64, blank=True)
    # Further references (ids/codes only), e.g. {"affected_user": 7}.
    refs = models.JSONField(default=dict)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    request_id = models.CharField(max_length=32, blank=True)
    ip = models.GenericIPAddressField(null=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    row_hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["organisation_id", "at"]),
            models.Index(fields=["actor_id", "at"]),
            models.Index(fields=["action", "at"]),
            models.Index(fields=["object_type", "object_ref"]),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("audit rows are append-only")
        # Always an INSERT: a new instance carrying an existing id must not UPDATE that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("audit rows are append-only")


class AuditHead(models.Model):
    """The newest row's id and hash, so that removing rows at the end is detected too."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.last_id}"
