"""HTTP hardening: a nonce-based Content Security Policy and the other security headers.

Every request gets a fresh nonce (``request.csp_nonce``; ``{{ csp_nonce }}`` in templates,
which django-htmx's ``{% htmx_script %}`` also reads). Scripts run only from KKA's own
origin or with that nonce: never ``unsafe-inline``, never ``eval``. Styles come only from
KKA's stylesheets: no template may use a ``style=""`` attribute or a ``<style>`` element
(the PDF templates are rendered by WeasyPrint, not by a browser, and are not affected).

Every response to a signed-in user or to a participant's portal session is marked
``no-store``: client data can be on any such page, including redirects and JSON. Static
files (served before anyone is known) keep their long caching.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"
PORTAL_SESSION_KEY = "kka_portal"  # kka.portal.views.SESSION_KEY (not imported: no cycle)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "bluetooth",
        "display-capture",
    )
)


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives)


def _has_private_viewer(request: HttpRequest) -> bool:
    """A signed-in user or a participant's portal session: the page may hold client data."""
    user = getattr(request, "user", None)
    try:
        if user is not None and user.is_authenticated:
            return True
    except Exception:  # database down (the 503 page): cannot tell, so treat as private
        return True
    session = getattr(request, "session", None)
    if session is None:
        return False
    try:
        return bool(session.get(PORTAL_SESSION_KEY))
    except Exception:  # a broken session store must not turn a page into a 500
        return False


def mark_no_store(response: HttpResponse) -> None:
    if "no-store" in response.get("Cache-Control", ""):
        return  # the view already chose (something at least as strict)
    add_never_cache_headers(response)
    response["Cache-Control"] = NO_STORE


class SecurityHeadersMiddleware:
    """Sits right after Django's SecurityMiddleware, before WhiteNoise, so static files
    get the headers too; it reads ``request.user`` only after the inner middleware set it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = new_nonce()
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        # A view may send a stricter policy of its own (file downloads: sandboxed).
        response.headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if _has_private_viewer(request):
            mark_no_store(response)
        return response


def csp(request: HttpRequest) -> dict[str, Any]:
    """Template context: ``csp_nonce`` for ``<script nonce="{{ csp_nonce }}">``."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}


class RejectNulPathMiddleware:
    """A NUL character in the path is never a KKA address: answer 404 before a view puts
    it into a query (PostgreSQL refuses NUL in text and the request would end in a 500).
    Sits after the language middleware so the 404 page is in the person's language; an
    API path gets the API's JSON error body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            if request.path.startswith("/api/"):
                from django.utils.translation import gettext as _

                from kka.api.api import error  # the API's own error body

                return error(request, 404, "not_found", _("Tidak ditemukan."))  # type: ignore[no-any-return]
            raise Http404
        return self.get_response(request)
