"""Helpers for API tests: a token for a user and a client that sends it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from kka.accounts.models import Membership, User
from kka.api.models import TokenScope
from kka.api.tokens import token_create

READ = TokenScope.READ.value
WRITE = TokenScope.WRITE.value


def token_for(user: User, scope: str = READ, *, organisation: Any = None) -> str:
    """A fresh token value for the user in their (first active) organisation."""
    if organisation is None:
        organisation = (
            Membership.objects.filter(user=user, is_active=True)
            .select_related("organisation")
            .order_by("id")
            .first()
            .organisation  # type: ignore[union-attr]
        )
    _token, raw = token_create(user=user, organisation=organisation, name="uji", scope=scope)
    return raw


def api_client(user: User | None = None, scope: str = READ, *, raw: str | None = None) -> Client:
    """A test client sending ``Authorization: Bearer <token>`` with every request.

    With no user and no raw token the client sends no Authorization header at all."""
    if raw is None and user is not None:
        raw = token_for(user, scope)
    if raw is None:
        return Client()
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
