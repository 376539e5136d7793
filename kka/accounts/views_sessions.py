"""A person's own sessions: the list ("Sesi aktif") and ending one or all of them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts import sessions
from kka.accounts.models import SessionEndReason, User, UserSession
from kka.lib.http import no_store


def _logged_out(request: HttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect_to_login(reverse("web:home"))


@login_required
@no_store
def session_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    current = sessions.current_row(request)
    rows = sessions.live_sessions(user=user)
    return render(
        request,
        "accounts/sessions.html",
        {
            "rows": rows,
            "current_pk": current.pk if current is not None else None,
            "others": sum(1 for row in rows if current is None or row.pk != current.pk),
            "idle_minutes": sessions.idle_seconds() // 60,
        },
    )


@login_required
@require_POST
def session_end(request: HttpRequest, code: str) -> HttpResponse:
    # Only the person's own, still open sessions; anybody else's code is "not found".
    user: User = request.user  # type: ignore[assignment]
    row = UserSession.objects.filter(user=user, code=code, ended_at__isnull=True).first()
    if row is None:
        raise Http404
    current = sessions.current_row(request)
    if current is not None and current.pk == row.pk:
        sessions.current_session_logout(
            request=request, reason=SessionEndReason.ENDED_BY_USER, by_user=True
        )
        return _logged_out(request, _("Sesi ini sudah diakhiri."))
    sessions.session_end(actor=user, row=row, reason=SessionEndReason.ENDED_BY_USER)
    messages.success(request, _("Sesi diakhiri. Perangkat itu harus masuk lagi."))
    return redirect("accounts:sessions")


@login_required
@require_POST
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    """End every session of the person; with ``keep_current=1`` all but this one."""
    user: User = request.user  # type: ignore[assignment]
    if request.POST.get("keep_current") == "1":
        current = sessions.current_row(request)
        sessions.user_sessions_end(
            actor=user,
            user=user,
            reason=SessionEndReason.ALL,
            keep=current,
            keep_key=request.session.session_key,
        )
        messages.success(request, _("Semua sesi lain sudah diakhiri."))
        return redirect("accounts:sessions")
    sessions.user_sessions_end(actor=user, user=user, reason=SessionEndReason.ALL)
    request.session.flush()
    return _logged_out(request, _("Anda sudah keluar dari semua perangkat."))
