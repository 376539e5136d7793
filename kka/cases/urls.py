from django.urls import path

from kka.cases import views, views_import

app_name = "cases"

urlpatterns = [
    path("kasus/", views.case_list, name="case_list"),
    path("kasus/<str:code>/", views.case_detail, name="case_detail"),
    path("kasus/<str:code>/ubah/", views.case_edit, name="case_edit"),
    path("kasus/<str:code>/status/", views.case_status, name="case_status"),
    path("kasus/<str:code>/konselor/", views.case_member_add, name="case_member_add"),
    path(
        "kasus/<str:code>/konselor/<str:member>/hapus/",
        views.case_member_remove,
        name="case_member_remove",
    ),
    path("kasus/<str:code>/catatan/baru/", views.record_add, name="record_add"),
    path("kasus/<str:code>/catatan/<str:record>/", views.record_edit, name="record_edit"),
    path(
        "kasus/<str:code>/lampiran/<str:attachment>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path("kasus/<str:code>/peta/", views.map_core, name="map_core"),
    path("kasus/<str:code>/peta/aspek/", views.aspect_add, name="aspect_add"),
    path(
        "kasus/<str:code>/peta/aspek/<str:aspect>/hapus/",
        views.aspect_remove,
        name="aspect_remove",
    ),
    path("kasus/<str:code>/peta/sumber/", views.resource_add, name="resource_add"),
    path(
        "kasus/<str:code>/peta/sumber/<str:resource>/hapus/",
        views.resource_remove,
        name="resource_remove",
    ),
    path("konseli/", views.client_list, name="client_list"),
    path("konseli/baru/", views.client_create, name="client_create"),
    path("konseli/impor/", views_import.client_import, name="client_import"),
    path(
        "konseli/impor/<str:code>/",
        views_import.client_import_preview,
        name="client_import_preview",
    ),
    path("konseli/<str:code>/", views.client_detail, name="client_detail"),
    path("konseli/<str:code>/ubah/", views.client_edit, name="client_edit"),
    path("konseli/<str:code>/wali/", views.guardian_add, name="guardian_add"),
    path(
        "konseli/<str:code>/wali/<str:guardian>/hapus/",
        views.guardian_remove,
        name="guardian_remove",
    ),
    path("konseli/<str:code>/kasus-baru/", views.case_open, name="case_open"),
    path("konseli/<str:code>/persetujuan/baru/", views.consent_add, name="consent_add"),
    path(
        "konseli/<str:code>/persetujuan/<str:consent>/tarik/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path(
        "konseli/<str:code>/persetujuan/<str:consent>/bukti/",
        views.consent_proof,
        name="consent_proof",
    ),
    path(
        "konseli/<str:code>/pindaian/<str:attachment>/",
        views.consent_scan,
        name="consent_scan",
    ),
    path("pengaturan/teks-persetujuan/", views.consent_text_edit, name="consent_text_edit"),
]
