"""The signed-in user's active memberships, read once per request and reused.

OrganisationMiddleware reads them at the start of every request; the access checks
(kka.cases.access) and the audit rows' role (kka.accounts.policy.role_in) answer from
that list instead of asking the database again. Only for the request's own user, only
for the rest of that request, and forgotten as soon as any membership or user row is
saved or deleted in it, so a change made during the request is seen by the checks
after it (they query again).
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.db.models.signals import post_delete, post_save

from kka.accounts.models import Membership, User

_memo: contextvars.ContextVar[tuple[int, bool, tuple[Membership, ...]] | None] = (
    contextvars.ContextVar("kka_memberships", default=None)
)


def remember(user: Any, memberships: list[Membership]) -> contextvars.Token[Any]:
    return _memo.set((user.pk, bool(user.is_active), tuple(memberships)))


def release(token: contextvars.Token[Any]) -> None:
    _memo.reset(token)


def active_memberships(user_pk: int | None) -> tuple[bool, tuple[Membership, ...]] | None:
    """(user is active, their active memberships), or None: not known, ask the database."""
    memo = _memo.get()
    if memo is None or user_pk is None or memo[0] != user_pk:
        return None
    return memo[1], memo[2]


def forget(**_kwargs: Any) -> None:
    if _memo.get() is not None:
        _memo.set(None)


for _model in (Membership, User):
    post_save.connect(forget, sender=_model, dispatch_uid=f"kka-memo-{_model.__name__}-save")
    post_delete.connect(forget, sender=_model, dispatch_uid=f"kka-memo-{_model.__name__}-del")
