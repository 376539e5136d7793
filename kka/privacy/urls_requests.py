"""URL patterns of the privacy app's requests pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.privacy import views_requests as views

urlpatterns: list[URLPattern] = [
    path("konseli/<str:code>/hak-subjek/", views.subject_home, name="subject_home"),
    path("konseli/<str:code>/hak-subjek/permintaan/", views.request_add, name="request_add"),
    path(
        "konseli/<str:code>/hak-subjek/permintaan/<str:request_code>/tutup/",
        views.request_close,
        name="request_close",
    ),
    path(
        "konseli/<str:code>/hak-subjek/salinan/<str:fmt>/",
        views.access_export,
        name="access_export",
    ),
    path("konseli/<str:code>/hak-subjek/pembetulan/", views.correction, name="correction"),
    path(
        "konseli/<str:code>/hak-subjek/pembatasan/",
        views.restriction_start,
        name="restriction_start",
    ),
    path(
        "konseli/<str:code>/hak-subjek/pembatasan/cabut/",
        views.restriction_lift,
        name="restriction_lift",
    ),
    path("privasi/permintaan/", views.request_list, name="request_list"),
]
