"""Writing to the audit log. Call inside the transaction of the change it records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kka.audit.actions import check_action
from kka.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    ChainBreak,
    normalise_ip,
    row_hash,
    verify_rows,
)
from kka.audit.models import AuditEvent, AuditHead, Outcome
from kka.lib import breakglass_scope
from kka.lib.request_context import current_client_ip, current_request_id

# Arbitrary constant naming the audit-append lock on PostgreSQL.
_PG_LOCK_KEY = 0x4B4B41


def _lock_chain() -> None:
    """Serialise appends so concurrent writers still form one linear chain.

    SQLite runs every transaction with BEGIN IMMEDIATE (see settings), which already
    admits one writer at a time; PostgreSQL takes a transaction-scoped advisory lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def _head() -> AuditHead:
    _lock_chain()
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    return head or AuditHead(pk=1, last_id=0, last_hash=GENESIS_HASH)


def _chained(head: AuditHead, entry: Mapping[str, Any]) -> AuditEvent:
    """The next row after ``head`` (which moves on to it)."""
    check_action(entry["action"])
    actor = entry.get("actor")
    organisation = entry.get("organisation")
    ip = entry.get("ip")
    request_id = current_request_id()
    values: dict[str, Any] = {
        "id": head.last_id + 1,
        "at": (entry.get("at") or timezone.now()).astimezone(dt.UTC),
        "actor_id": getattr(actor, "pk", actor),
        "actor_role": entry.get("actor_role", ""),
        "organisation_id": getattr(organisation, "pk", organisation),
        "action": entry["action"],
        "object_type": entry.get("object_type", ""),
        "object_ref": str(entry.get("object_ref", "")),
        "refs": dict(entry.get("refs") or {}),
        "outcome": str(entry.get("outcome", Outcome.SUCCESS)),
        "request_id": request_id if request_id != "-" else "",
        "ip": normalise_ip(ip if ip is not None else current_client_ip()),
        "prev_hash": head.last_hash,
    }
    break_glass = breakglass_scope.grant_for(values["actor_id"], values["organisation_id"])
    if break_glass:  # a coordinator's emergency access: every row names the grant
        values["actor_role"] = breakglass_scope.ROLE
        values["refs"]["break_glass"] = break_glass
    values["row_hash"] = row_hash(values, head.last_hash)
    head.last_id = values["id"]
    head.last_hash = values["row_hash"]
    return AuditEvent(**values)


# Rows one statement may append on PostgreSQL (larger batches: bulk_create, then the head).
_ONE_STATEMENT_MAX = 50


def _write(events: list[AuditEvent], head: AuditHead) -> None:
    """Insert the rows and move the head to the last of them, under the lock of _head().

    On PostgreSQL, once the head row exists, one statement does both (a data-modifying
    WITH: the INSERT, then the head's UPDATE): one round trip fewer per audited request.
    The rows and hashes are exactly those of the plain path (SQLite, first row, batches).
    """
    if connection.vendor != "postgresql" or head._state.adding or len(events) > _ONE_STATEMENT_MAX:
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(events, batch_size=500)
        head.save()
        return
    quote = connection.ops.quote_name
    fields = AuditEvent._meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for event in events:
        params.extend(f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields)
    params.extend([head.last_id, head.last_hash, head.pk, len(events)])
    events_table = quote(AuditEvent._meta.db_table)
    head_table = quote(AuditHead._meta.db_table)
    values = ", ".join([row] * len(events))
    last_id, last_hash, head_id = quote("last_id"), quote("last_hash"), quote("id")
    # Only quoted names from the models are formatted in; every value is bound (%s).
    # Accepted (bandit B608, until 2027-06-30): model names only, values bound.
    sql = f"WITH appended AS (INSERT INTO {events_table} ({columns}) VALUES {values} RETURNING 1) UPDATE {head_table} SET {last_id} = %s, {last_hash} = %s WHERE {head_id} = %s AND (SELECT count(*) FROM appended) = %s"  # noqa: S608, E501  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved = cursor.rowcount
    if moved != 1:  # the head row vanished under the lock: refuse (the transaction rolls back)
        raise RuntimeError("the audit chain head could not be moved")
    for event in events:
        event._state.adding = False
        event._state.db = connection.alias


@transaction.atomic
def audit_log(
    *,
    action: str,
    actor: Any = None,
    actor_role: str = "",
    organisation: Any = None,
    object_type: str = "",
    object_ref: str = "",
    refs: Mapping[str, int | str | None] | None = None,
    outcome: str = Outcome.SUCCESS,
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one audit row. ``refs`` and ``object_ref`` carry ids or codes, never content."""
    check_action(action)
    head = _head()
    event = _chained(head, locals())
    _write([event], head)
    return event


@transaction.atomic
def audit_log_many(entries: list[dict[str, Any]]) -> int:
    """Append several rows under one lock (bulk operations such as an import).

    Each entry takes the keyword arguments of :func:`audit_log`.
    """
    if not entries:
        return 0
    head = _head()
    events = [_chained(head, entry) for entry in entries]
    _write(events, head)
    return len(events)


def audit_verify() -> tuple[int, ChainBreak | None]:
    """Verify the whole chain from the database, streaming rows in id order."""
    head = AuditHead.objects.filter(pk=1).first()
    if head is None and AuditEvent.objects.exists():
        # Rows are only ever written together with the head: its removal hides truncation.
        return 0, ChainBreak(None, "the chain head record is missing")
    fields = ["prev_hash", "row_hash", *HASHED_FIELDS]
    rows = AuditEvent.objects.order_by("id").values(*fields).iterator(chunk_size=5000)
    return verify_rows(
        rows,
        head_id=head.last_id if head else None,
        head_hash=head.last_hash if head else None,
    )
