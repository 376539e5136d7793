"""The home page (dashboard) and the health endpoints."""

from __future__ import annotations

from django.conf import settings
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
    from kka.reports import services as report_services

    organisation = getattr(request, "organisation", None)
    awaiting = (
        list(conferences_awaiting_approval(request.user, organisation)[:20])
        if organisation is not None
        else []
    )
    context: dict[str, object] = {"awaiting_approval": awaiting}
    if organisation is not None and policy.may_counsel(getattr(request, "membership", None)):
        context["dashboard"] = dashboard_for(request.user, organisation)
    # A pengawas sees the organisation groups whose program reports they may read.
    context["report_groups"] = list(
        report_services.groups_for(getattr(request, "membership", None))
    )
    return render(request, "web/home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive. Touches nothing else."""
    return JsonResponse({"status": "ok"})


# Seconds each dependency of /readyz may take to answer (the database's bound is its
# connect_timeout, KKA_DB_CONNECT_TIMEOUT): a probe that hangs is a probe that fails late.
READY_TIMEOUT_SECONDS = 2


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return False
    return True


def _cache_up() -> bool:
    """A round trip through the default cache (Redis when configured; its socket timeouts
    are set in settings.CACHES)."""
    from django.core.cache import cache

    try:
        cache.set("kka:readyz", "1", timeout=10)
        return cache.get("kka:readyz") == "1"
    except Exception:
        return False


def _broker_configured() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER


def _broker_up() -> bool:
    url = str(settings.CELERY_BROKER_URL)
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=READY_TIMEOUT_SECONDS,
                socket_timeout=READY_TIMEOUT_SECONDS,
            )
            try:
                return bool(client.ping())
            finally:
                client.close()
        from kombu import Connection

        with Connection(url, connect_timeout=READY_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=1, timeout=READY_TIMEOUT_SECONDS)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database, the cache and (when configured) the broker answer.

    503 otherwise. The body says up or down per component and nothing more.
    """
    checks = {"database": _database_up(), "cache": _cache_up()}
    if _broker_configured():
        checks["broker"] = _broker_up()
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable"}
    body.update({name: "up" if up else "down" for name, up in checks.items()})
    return JsonResponse(body, status=200 if ready else 503)
