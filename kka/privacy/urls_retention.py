"""URL patterns of the privacy app's retention pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.privacy import views_retention

urlpatterns: list[URLPattern] = [
    path(
        "privasi/masa-simpan/",
        views_retention.retention_settings,
        name="retention_settings",
    ),
    path("privasi/ropa/", views_retention.ropa_page, name="ropa"),
]
