from django.urls import include, path

from kka.web import views as web_views

urlpatterns = [
    path("", include("kka.web.urls")),
    path("akun/", include("kka.accounts.urls")),
    path("akun/", include("kka.api.urls_ui")),
    path("", include("kka.cases.urls")),
    path("", include("kka.conferences.urls")),
    path("", include("kka.portal.urls")),
    path("", include("kka.documents.urls")),
    path("", include("kka.privacy.urls")),
    path("", include("kka.reports.urls")),
    path("", include("kka.api.urls")),
    path("healthz", web_views.healthz, name="healthz"),
    path("readyz", web_views.readyz, name="readyz"),
]

handler400 = "kka.web.errors.bad_request"
handler403 = "kka.web.errors.permission_denied"
handler404 = "kka.web.errors.page_not_found"
handler500 = "kka.web.errors.server_error"
