"""Audit of authentication events, which Django announces through signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from kka.accounts.services import audit_auth_event


@receiver(user_logged_in, dispatch_uid="kka_audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_auth_event(action="auth.login", user=user)


@receiver(user_logged_out, dispatch_uid="kka_audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_auth_event(action="auth.logout", user=user)


@receiver(user_login_failed, dispatch_uid="kka_audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # Nothing typed is stored (people type passwords into the email box); only the
    # account id when the email belongs to one.
    email = str(credentials.get("email") or credentials.get("username") or "")
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    audit_auth_event(action="auth.login_failed", user=None, affected=user, outcome="failure")
