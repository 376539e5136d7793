"""``Authorization: Bearer <token>`` for the API.

On success ``request.user``, ``request.membership`` and ``request.organisation`` are set
as the web middleware would, so the same access functions and services answer the same.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from kka.api.tokens import token_lookup


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_lookup(token)
        if found is None:
            return None
        request.user = found.user
        request.membership = found._membership  # type: ignore[attr-defined]
        request.organisation = found.organisation  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        return found
