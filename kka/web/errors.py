"""Generic error pages: no stack trace, SQL, path or object detail."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader


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
    return _page(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (stale or missing token): say what to do, never why in detail."""
    return _page(request, 403, form_expired=True)
