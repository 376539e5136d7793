"""Issuing and revoking personal API tokens (audited; the token value is never logged)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from kka.accounts.models import Membership, Organisation, User
from kka.api.models import ApiToken
from kka.api.tokens import token_create
from kka.audit.services import audit_log

OPERATOR = "operator"  # actor_role of rows written from the command line


class NotAMember(ValueError):
    """The user has no active membership in the organisation the token would act in."""


@transaction.atomic
def api_token_issue(
    *,
    actor: User | None,
    user: User,
    organisation: Organisation,
    name: str,
    scope: str,
    days: int,
    via: str = "ui",
) -> tuple[ApiToken, str]:
    """A new token for ``user`` in ``organisation`` and its value, to be shown once.

    ``actor`` is None when an operator creates it from the command line."""
    if (
        not user.is_active
        or not Membership.objects.filter(
            user=user, organisation=organisation, is_active=True
        ).exists()
    ):
        raise NotAMember(user.pk)
    token, raw = token_create(
        user=user, organisation=organisation, name=name, scope=scope, days=days, via=via
    )
    audit_log(
        action="api.token_created",
        actor=actor,
        actor_role="" if actor is not None else OPERATOR,
        organisation=organisation,
        object_type="apitoken",
        object_ref=token.code,
        refs={
            "affected_user": user.pk,
            "scope": token.scope,
            "days": (token.expires_at - token.created_at).days,
            "via": via,
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User | None, token: ApiToken, via: str = "ui") -> ApiToken:
    """Revoke a token; the next request with it answers 401. Revoking twice is a no-op."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_log(
        action="api.token_revoked",
        actor=actor,
        actor_role="" if actor is not None else OPERATOR,
        organisation=token.organisation_id,
        object_type="apitoken",
        object_ref=token.code,
        refs={"affected_user": token.user_id, "via": via},
    )
    return token


def token_status(token: ApiToken, *, now: dt.datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired`` (for lists; the check itself is token_lookup)."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"
