"""Test-only URLconf: the project's URLs plus one view that always fails."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

# Error handlers are looked up on the root URLconf, so this one must name them too.
from kka.urls import handler400, handler403, handler404, handler500  # noqa: F401

BOOM_MESSAGE = "rahasia-konseli-dan-detail-internal"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(BOOM_MESSAGE)


urlpatterns = [
    path("uji/meledak/", boom, name="boom"),
    path("", include("kka.urls")),
]
