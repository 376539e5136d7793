"""PDF from HTML templates with WeasyPrint; no resource is fetched from outside."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.template.loader import render_to_string


class ExternalResourceRefused(ValueError):
    pass


def _url_fetcher(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    """Serve only our own static files (by path); refuse every other URL."""
    parsed = urlparse(url)
    if parsed.scheme == "kka-static":
        path = finders.find(parsed.path.lstrip("/"))
        if path:
            with open(path, "rb") as fh:
                return {"string": fh.read(), "filename": parsed.path}
    raise ExternalResourceRefused(url)


def render_pdf(
    template: str, context: dict[str, Any], *, request: HttpRequest | None = None
) -> bytes:
    import weasyprint

    html = render_to_string(template, context, request=request)
    document = weasyprint.HTML(string=html, base_url="kka-static:///", url_fetcher=_url_fetcher)
    return document.write_pdf()  # type: ignore[no-any-return]
