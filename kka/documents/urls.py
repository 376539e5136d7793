from django.urls import path

from kka.documents import views, views_register, views_templates

app_name = "documents"

urlpatterns = [
    # Producing and downloading documents (helper d1).
    path("dokumen/buat/<str:kind>/<str:code>/", views.produce, name="produce"),
    path("dokumen/<str:code>/unduh/", views.download, name="download"),
    path("kka/<str:code>/dokumen/cetak-semua/", views.bundle, name="bundle"),
    # An organisation's own DOCX templates (helper d5).
    path("lembaga/templat-dokumen/", views_templates.template_list, name="templates"),
    path(
        "lembaga/templat-dokumen/nonaktifkan/",
        views_templates.template_deactivate,
        name="template_deactivate",
    ),
    path(
        "lembaga/templat-dokumen/<str:kind>/",
        views_templates.template_fields,
        name="template_fields",
    ),
    path(
        "lembaga/templat-dokumen/<str:kind>/contoh.docx",
        views_templates.template_sample,
        name="template_sample",
    ),
    path(
        "lembaga/templat-dokumen/<str:kind>/unduh/",
        views_templates.template_download,
        name="template_download",
    ),
    # The letter number register (helper d5).
    path("lembaga/nomor-surat/", views_register.letter_register, name="letter_register"),
    path(
        "lembaga/nomor-surat/csv/", views_register.letter_register_csv, name="letter_register_csv"
    ),
    path("lembaga/nomor-surat/batalkan/", views_register.letter_void, name="letter_void"),
]
