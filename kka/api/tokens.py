"""Making and checking personal API tokens.

A token is ``kka_`` + 40 random URL-safe characters. Only a SHA-256 of it is stored
(the token has 240 bits of entropy, so an unkeyed hash is enough and survives a change
of any server key). Checking re-reads the token, the user and the membership on every
request: revoking, expiry, deactivating the user or the membership take effect on the
next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from kka.accounts.models import Membership, Organisation, User
from kka.api.models import ApiToken, TokenScope

# Accepted (bandit B105, until 2027-05-31): the public prefix of every token, not a secret.
TOKEN_PREFIX = "kka_"  # noqa: S105  # nosec B105
DEFAULT_DAYS = 90
MAX_DAYS = 365


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    organisation: Organisation,
    name: str,
    scope: str = TokenScope.READ,
    days: int = DEFAULT_DAYS,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its value (shown once). Auditing is the caller's service's job."""
    if scope not in TokenScope.values:
        raise ValueError("unknown scope")
    days = max(1, min(int(days), MAX_DAYS))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(30)
    moment = now or timezone.now()
    token = ApiToken.objects.create(
        user=user,
        organisation=organisation,
        name=name[:80],
        scope=scope,
        prefix=raw[:10],
        token_hash=hash_token(raw),
        created_at=moment,
        expires_at=moment + dt.timedelta(days=days),
        created_via=via,
    )
    return token, raw


def token_lookup(raw: str, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token for ``raw``, or None (unknown, revoked, expired, user or membership
    inactive). Constant-time enough: the lookup is by a hash of the presented value."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "organisation")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    moment = now or timezone.now()
    if token is None or token.revoked_at is not None or token.expires_at <= moment:
        return None
    if not token.user.is_active:
        return None
    member = Membership.objects.filter(
        user_id=token.user_id, organisation_id=token.organisation_id, is_active=True
    ).first()
    if member is None:
        return None
    token._membership = member  # type: ignore[attr-defined]
    return token


def may_write(token: Any) -> bool:
    return getattr(token, "scope", None) == TokenScope.WRITE
