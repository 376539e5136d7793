"""Program report pages and their downloads (pages in ``kka.reports.views``, downloads
in ``kka.reports.views_export``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from kka.reports import views, views_export

app_name = "reports"

# Names (settled, other code links to them):
#   reports:organisation          laporan/                           koordinator, pimpinan
#   reports:organisation_export   laporan/unduh/<fmt>/               fmt: pdf | xlsx | csv
#   reports:own                   laporan/saya/                      konselor, koordinator
#   reports:own_export            laporan/saya/unduh/<fmt>/
#   reports:groups                laporan/kelompok/                  pengawas
#   reports:group                 laporan/kelompok/<code>/
#   reports:group_export          laporan/kelompok/<code>/unduh/<fmt>/
urlpatterns: list[URLPattern] = [
    path("laporan/", views.organisation, name="organisation"),
    path("laporan/unduh/<str:fmt>/", views_export.organisation_export, name="organisation_export"),
    path("laporan/saya/", views.own, name="own"),
    path("laporan/saya/unduh/<str:fmt>/", views_export.own_export, name="own_export"),
    path("laporan/kelompok/", views.groups, name="groups"),
    path("laporan/kelompok/<str:code>/", views.group, name="group"),
    path(
        "laporan/kelompok/<str:code>/unduh/<str:fmt>/",
        views_export.group_export,
        name="group_export",
    ),
]
