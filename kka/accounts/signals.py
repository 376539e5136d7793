"""Audit of authentication events, which Django announces through signals, and the
session registry that follows logins and logouts (kka.accounts.sessions)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from kka.accounts.models import SessionEndReason
from kka.accounts.services import audit_auth_event
from kka.accounts.sessions import current_session_end, session_register


@receiver(user_logged_in, dispatch_uid="kka_audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_auth_event(action="auth.login", user=user)
    if request is not None and hasattr(request, "session"):
        session_register(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="kka_audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_auth_event(action="auth.logout", user=user)
    if user is not None and request is not None and hasattr(request, "session"):
        current_session_end(request=request, reason=SessionEndReason.LOGOUT, by_user=True)


def _account_of(typed: Any) -> Any:
    email = str(typed or "")
    return get_user_model().objects.filter(email__iexact=email).first() if email else None


@receiver(user_login_failed, dispatch_uid="kka_audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # Nothing typed is stored (people type passwords into the email box); only the
    # account id when the email belongs to one.
    user = _account_of(credentials.get("email") or credentials.get("username"))
    audit_auth_event(action="auth.login_failed", user=None, affected=user, outcome="failure")


@receiver(user_locked_out, dispatch_uid="kka_audit_locked_out")
def _locked_out(sender: Any, request: Any = None, username: Any = None, **kw: Any) -> None:
    # django-axes: the sixth failure for an email from one address, and every try while
    # the lock lasts. Same discipline as above: the account id or nothing, never the email.
    user = _account_of(username)
    audit_auth_event(action="auth.locked_out", user=None, affected=user, outcome="denied")
