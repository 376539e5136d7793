"""Which break-glass grant the current request reads under (for the audit log).

``kka.cases.access.case_role`` enters the scope when it answers "break_glass"; every
audit row the same actor writes for the same organisation during that request then
carries ``actor_role="break_glass"`` and ``refs["break_glass"] = <grant code>``. The
scope is tied to the request id, so a value left behind in a reused thread never
tags a later request, and nothing is tagged outside a request.
"""

from __future__ import annotations

import contextvars

from kka.lib.request_context import current_request_id

ROLE = "break_glass"

# (request id, user id, organisation id, grant code)
_scope: contextvars.ContextVar[tuple[str, int, int, str] | None] = contextvars.ContextVar(
    "kka_break_glass", default=None
)


def enter(*, user_id: int, organisation_id: int, grant_code: str) -> None:
    request_id = current_request_id()
    if request_id == "-":
        return
    _scope.set((request_id, user_id, organisation_id, grant_code))


def grant_for(actor_id: object, organisation_id: object) -> str | None:
    """The grant code when ``actor_id`` reads under break-glass in this request."""
    value = _scope.get()
    if value is None:
        return None
    request_id, user_id, scope_organisation_id, grant_code = value
    if request_id != current_request_id():
        return None
    if actor_id != user_id or organisation_id != scope_organisation_id:
        return None
    return grant_code
