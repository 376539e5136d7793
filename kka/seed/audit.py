"""Audit rows for seeded data, chained in Python and inserted in bulk.

Rows are collected while a batch is built; ``flush`` (inside the batch's transaction)
takes the chain lock exactly as ``kka.audit.services`` does, continues the chain from
the recorded head, bulk-inserts the rows in id order and moves the head on. So
``kka audit verify`` passes afterwards, also when the database already had rows.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection

from kka.audit import services as audit_services
from kka.audit.actions import check_action
from kka.audit.chain import row_hash
from kka.audit.models import AuditEvent, Outcome
from kka.seed import writer


class AuditBuffer:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.written = 0

    def add(
        self,
        action: str,
        *,
        at: dt.datetime,
        actor_id: int | None,
        actor_role: str,
        organisation_id: int | None,
        object_type: str = "",
        object_ref: str = "",
        refs: dict[str, Any] | None = None,
    ) -> None:
        self.rows.append(
            {
                "at": at.astimezone(dt.UTC),
                "actor_id": actor_id,
                "actor_role": actor_role,
                "organisation_id": organisation_id,
                "action": check_action(action),
                "object_type": object_type,
                "object_ref": object_ref,
                "refs": dict(refs or {}),
                "outcome": str(Outcome.SUCCESS),
                "request_id": "",
                "ip": None,
            }
        )

    def take(self) -> list[dict[str, Any]]:
        """The rows collected so far (the buffer starts empty again)."""
        rows, self.rows = self.rows, []
        return rows

    def flush(self, rows: list[dict[str, Any]] | None = None) -> int:
        """Append ``rows`` (default: the collected ones) to the chain, in order. Call
        inside a transaction."""
        if rows is None:
            rows = self.take()
        if not rows:
            return 0
        # The same lock (PostgreSQL advisory lock + head row FOR UPDATE) as audit_log().
        head = audit_services._head()
        for values in rows:
            values["id"] = head.last_id + 1
            values["prev_hash"] = head.last_hash
            values["row_hash"] = row_hash(values, head.last_hash)
            head.last_id = values["id"]
            head.last_hash = values["row_hash"]
        if connection.vendor == "postgresql":
            columns = [f.column for f in AuditEvent._meta.concrete_fields]
            writer.copy_rows(
                AuditEvent._meta.db_table,
                columns,
                ([json.dumps(v["refs"]) if c == "refs" else v[c] for c in columns] for v in rows),
            )
        else:
            # Each value prepared by its field, as the ORM would (datetimes, JSON, IP).
            fields = list(AuditEvent._meta.concrete_fields)
            writer.insert_rows(
                AuditEvent._meta.db_table,
                [f.column for f in fields],
                ([f.get_db_prep_save(v[f.attname], connection) for f in fields] for v in rows),
            )
        head.save()
        count = len(rows)
        self.written += count
        return count
