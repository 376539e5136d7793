"""URL patterns of the privacy app's incidents pages (included by kka.privacy.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.privacy import views_incidents as views

urlpatterns: list[URLPattern] = [
    path("privasi/insiden/", views.incident_list, name="incident_list"),
    path("privasi/insiden/baru/", views.incident_create, name="incident_create"),
    path("privasi/insiden/<str:code>/", views.incident_detail, name="incident_detail"),
    path("privasi/insiden/<str:code>/ubah/", views.incident_edit, name="incident_edit"),
    path(
        "privasi/insiden/<str:code>/terdampak/",
        views.incident_find_affected,
        name="incident_find_affected",
    ),
    path(
        "privasi/insiden/<str:code>/diberitahukan/",
        views.incident_notified,
        name="incident_notified",
    ),
    path(
        "privasi/insiden/<str:code>/terdampak/<str:client>/diberitahukan/",
        views.incident_subject_notified,
        name="incident_subject_notified",
    ),
    path(
        "privasi/insiden/<str:code>/terdampak/<str:client>/pemberitahuan/",
        views.incident_notice,
        name="incident_notice",
    ),
]
