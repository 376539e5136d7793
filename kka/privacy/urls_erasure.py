"""URL patterns of the privacy app's erasure pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.privacy import views_erasure

urlpatterns: list[URLPattern] = [
    path("konseli/<str:code>/hapus-data/", views_erasure.erasure_new, name="erasure_new"),
    path("privasi/hapus/<str:code>/", views_erasure.erasure_detail, name="erasure_detail"),
    path(
        "privasi/hapus/<str:code>/setujui/",
        views_erasure.erasure_approve,
        name="erasure_approve",
    ),
    path("privasi/hapus/<str:code>/tolak/", views_erasure.erasure_reject, name="erasure_reject"),
]
