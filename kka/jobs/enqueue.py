"""Asking for background work: after the commit, with ids and short codes only.

``enqueue(task, key=..., participant_id=7)`` sends the task once the current transaction
commits (at once outside one), so a worker never sees work whose data was rolled back.
Without ``REDIS_URL`` the task runs right there, in-process (Celery's eager mode).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from celery import Task
from django.db import transaction

from kka.jobs.models import JobRun

# A payload value: an id, a short code (kinds, dates, keys) or a list of them. Names,
# addresses and text never travel through the broker (a test checks every payload).
CODE = re.compile(r"^[A-Za-z0-9_.:\-]{0,120}$")
Payload = int | str | None | list[int] | list[str]


def new_key(prefix: str) -> str:
    """A fresh idempotency key: the kind of work and 16 random hex digits."""
    return f"{prefix}:{secrets.token_hex(8)}"


def check_payload(kwargs: dict[str, Any]) -> None:
    """Refuse anything but ids and short codes (a programming error, caught in tests)."""
    for name, value in kwargs.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None or (isinstance(item, int) and not isinstance(item, bool)):
                continue
            if isinstance(item, str) and CODE.match(item):
                continue
            raise TypeError(f"task argument {name!r} is not an id or a short code")


def enqueue(task: Task, *, key: str | None = None, record: bool = False, **kwargs: Payload) -> str:
    """Send ``task`` with ``kwargs`` and an idempotency key after the commit; returns the
    key. ``record`` writes the key's JobRun row now, in the caller's transaction, so the
    request that asked for the work and the job's record commit together."""
    key = key or new_key(task.name.rsplit(".", 1)[-1])
    payload: dict[str, Any] = {**kwargs, "key": key}
    check_payload(payload)
    if record:
        JobRun.objects.get_or_create(key=key, defaults={"task": task.name.rsplit(".", 1)[-1]})
    transaction.on_commit(lambda: send(task, payload))
    return key


def send(task: Task, kwargs: dict[str, Any]) -> Any:
    """Send now. In-process (no broker), the task runs here with its retries (at once,
    without the back-off pauses) and its final failure is raised to the caller."""
    result = task.apply_async(kwargs=kwargs)
    if task.app.conf.task_always_eager:
        return result.get(propagate=True)
    return result
