"""URL patterns of the privacy app's breakglass pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.privacy import views_breakglass as views

urlpatterns: list[URLPattern] = [
    path("akses-darurat/", views.request_page, name="breakglass_request"),
    path("akses-darurat/<str:code>/akhiri/", views.end, name="breakglass_end"),
    path("privasi/akses-darurat/", views.register, name="breakglass_list"),
    path(
        "privasi/akses-darurat/<str:code>/tinjau/",
        views.review,
        name="breakglass_review",
    ),
]
