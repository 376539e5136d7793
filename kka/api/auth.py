"""``Authorization: Bearer <token>`` for the API.

On success ``request.user``, ``request.membership`` and ``request.organisation`` are set
as the web middleware would, so the same access functions and services answer the same.

Each authenticated request is counted against the token's rate limit and writes one
``api.request`` audit row (token code, method, route name: never the token, the query
string or the body); ``last_used_at`` is written at most once a minute. Presented tokens
that do not work are counted per address (kka.api.ratelimit). The token value itself is
never logged, not even with ``DEBUG``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kka.api import ratelimit
from kka.api.access import require_write
from kka.api.models import ApiToken
from kka.api.tokens import token_lookup
from kka.audit.services import audit_log
from kka.lib.request_context import client_ip

LAST_USED_EVERY = dt.timedelta(minutes=1)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return str(match.view_name) if match is not None else ""


def _refuse_address(request: HttpRequest, address: str) -> None:
    wait = ratelimit.address_blocked(address)
    if wait:
        raise ratelimit.RateLimited(wait)


def _failed(request: HttpRequest, address: str) -> None:
    count, limit = ratelimit.count_failure(address)
    if count == limit:  # from now on this address is refused until the minute ends
        audit_log(action="api.rate_limited", outcome="denied", refs={"limit": "address"})


def _count_use(request: HttpRequest, token: ApiToken) -> None:
    count, limit, retry_after = ratelimit.count_token_request(token.code)
    if count > limit:
        if count == limit + 1:
            audit_log(
                action="api.rate_limited",
                actor=token.user,
                organisation=token.organisation_id,
                outcome="denied",
                object_type="apitoken",
                object_ref=token.code,
                refs={"limit": "token"},
            )
        raise ratelimit.RateLimited(retry_after)


def _record_use(request: HttpRequest, token: ApiToken) -> None:
    now = timezone.now()
    audit_log(
        action="api.request",
        actor=token.user,
        organisation=token.organisation_id,
        object_type="apitoken",
        object_ref=token.code,
        refs={"token": token.code, "method": request.method or "", "route": _route(request)},
    )
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # One write a minute at most, even with many servers answering at once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # Like HttpBearer.__call__, but a header with another scheme is a failed attempt
        # and is never logged (ninja logs it with DEBUG on: it may hold a secret).
        value = request.headers.get(self.header)
        if not value:
            return None
        scheme, _sep, token = value.partition(" ")
        address = client_ip(request) or "unknown"
        _refuse_address(request, address)
        if scheme.lower() != self.openapi_scheme:
            _failed(request, address)
            return None
        return self._authenticate(request, token.strip(), address)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address = client_ip(request) or "unknown"
        _refuse_address(request, address)
        return self._authenticate(request, token, address)

    def _authenticate(self, request: HttpRequest, token: str, address: str) -> Any:
        found = token_lookup(token)
        if found is None:
            _failed(request, address)
            return None
        _count_use(request, found)
        request.user = found.user
        request.membership = found._membership  # type: ignore[attr-defined]
        request.organisation = found.organisation  # type: ignore[attr-defined]
        request.api_token = found  # type: ignore[attr-defined]
        request.auth = found  # type: ignore[attr-defined]
        _record_use(request, found)
        if (request.method or "GET").upper() not in SAFE_METHODS:
            # Every route that changes data checks this too; refusing here as well means a
            # route that forgot to cannot be written through with a read token.
            require_write(request)
        return found
