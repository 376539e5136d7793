"""The home page (dashboard) and the health endpoints."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kka.accounts import policy


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from kka.conferences.access import conferences_awaiting_approval
    from kka.conferences.dashboard import dashboard_for

    organisation = getattr(request, "organisation", None)
    awaiting = (
        list(conferences_awaiting_approval(request.user, organisation)[:20])
        if organisation is not None
        else []
    )
    context: dict[str, object] = {"awaiting_approval": awaiting}
    if organisation is not None and policy.may_counsel(getattr(request, "membership", None)):
        context["dashboard"] = dashboard_for(request.user, organisation)
    return render(request, "web/home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database answers. 503 otherwise; never says why in detail."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})
