"""One error body for the whole API: ``{"code": ..., "message": ..., "detail": ...}``.

``code`` is stable and English (``not_found``, ``forbidden``, ``unauthenticated``,
``conflict``, ``invalid``, ``rate_limited``, ``bad_request``); ``message`` is in the
caller's language (Indonesian by default, English with ``Accept-Language: en`` or the
user's setting). Nothing from the database or the stack ever appears in an error.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    detail: Any = None


class ApiError(Exception):
    """Raise from a route for a deliberate error answer (e.g. 409 conflict)."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
