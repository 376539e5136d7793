"""URL patterns of the privacy app's retention pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
