"""Generic error pages: no stack trace, SQL, path or object detail.

A database that cannot be reached is not a bug: the request that met it gets a 503
"temporarily unavailable" page (or the API's JSON error) with ``Retry-After`` instead of
the 500 page. Django calls ``handler500`` from inside its ``except`` block, for exceptions
from views and from middleware alike (the session and the user are loaded lazily, so a
stopped database usually surfaces in the middleware), so ``server_error`` looks at
``sys.exc_info()`` to tell the two apart.
"""

from __future__ import annotations

import logging
import sqlite3
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Seconds a client (browser, load balancer, API caller) is asked to wait before retrying.
RETRY_AFTER_SECONDS = 30
# SQLite raises OperationalError for bugs too ("no such table", syntax errors); only these
# mean "the database cannot be used right now". "database is locked" comes after the busy
# timeout (25 s) has run out.
SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error")


def _page(
    request: HttpRequest, status: int, *, form_expired: bool = False, restricted: bool = False
) -> HttpResponse:
    try:
        body: str = loader.render_to_string(
            "errors/error.html",
            {"status": status, "form_expired": form_expired, "restricted": restricted},
            request=request,
        )
    except Exception:
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store, private, max-age=0"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    from kka.privacy.restriction import ProcessingRestricted

    # The person may see the client: saying that changes are frozen reveals nothing new.
    return _page(request, 403, restricted=isinstance(exception, ProcessingRestricted))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    exception = sys.exc_info()[1]
    if exception is not None and database_unavailable(exception):
        return service_unavailable(request, exception)
    return _page(request, 500)


def _driver_errors() -> tuple[type[BaseException], ...]:
    """PostgreSQL driver errors that mean the server cannot serve: every OperationalError
    (connection refused or lost, admin shutdown, cannot connect now, statement timeout)
    and InterfaceError (a connection already closed)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


def _sqlite_unavailable(exception: BaseException) -> bool:
    message = str(exception).lower()
    return any(marker in message for marker in SQLITE_UNAVAILABLE)


def database_unavailable(exception: BaseException) -> bool:
    """True when ``exception`` (or what caused it) says the database cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = exception
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError):
            return _sqlite_unavailable(current)
        if isinstance(current, _driver_errors()):
            return True
        if isinstance(current, OperationalError | InterfaceError):
            # Django wraps the driver's error and chains it as __cause__ (looked at next);
            # one raised without a driver error behind it is judged by the backend.
            cause = current.__cause__
            if cause is None:
                if connection.vendor == "sqlite":
                    return _sqlite_unavailable(current)
                return True
            current = cause
            continue
        current = current.__cause__ or current.__context__
    return False


def _language(request: HttpRequest) -> str:
    """The person's language without asking the database: the one LanguageMiddleware
    chose if it ran (it reads the user's setting), else the language cookie, else
    Indonesian."""
    supported = {code for code, _name in settings.LANGUAGES}
    chosen = getattr(request, "LANGUAGE_CODE", None)
    if chosen in supported:
        return str(chosen)
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in supported:
        return str(cookie)
    return str(settings.LANGUAGE_CODE)


def service_unavailable(
    request: HttpRequest, exception: BaseException | None = None
) -> HttpResponse:
    """503 with Retry-After, rendered from a plain template: no context processors, no
    user, no session, no query."""
    # Exception classes only, never the message: that could quote the SQL being run.
    # This line replaces django.request's traceback for the response (see below).
    cause = exception.__cause__ if exception is not None else None
    logger.warning(
        "database unavailable (%s%s): answered 503",
        type(exception).__name__ if exception is not None else "-",
        f" from {type(cause).__module__}.{type(cause).__name__}" if cause is not None else "",
    )
    language = _language(request)
    with translation.override(language):
        if request.path.startswith("/api/"):
            # The API's error body (kka.api.errors.ErrorBody).
            response: HttpResponse = JsonResponse(
                {
                    "code": "unavailable",
                    "message": _("Layanan sementara tidak tersedia. Coba lagi sebentar lagi."),
                    "detail": None,
                },
                status=503,
            )
        else:
            try:
                body = loader.get_template("errors/503.html").render(
                    {"retry_after": RETRY_AFTER_SECONDS}
                )
            except Exception:
                body = "<!doctype html><title>503</title><h1>503</h1>"
            response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store, private, max-age=0"
    response["Content-Language"] = language
    # Logged above: Django's log_response skips a response marked so, which keeps the
    # driver's message out of the log and an outage from writing a traceback per request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (stale or missing token): say what to do, never why in detail."""
    return _page(request, 403, form_expired=True)
