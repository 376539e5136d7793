from django.urls import path

from kka.privacy import (
    urls_breakglass,
    urls_erasure,
    urls_incidents,
    urls_requests,
    urls_retention,
    views_dpo,
)

app_name = "privacy"

urlpatterns = [
    path("privasi/", views_dpo.dpo_home, name="dpo_home"),
    *urls_breakglass.urlpatterns,
    *urls_requests.urlpatterns,
    *urls_erasure.urlpatterns,
    *urls_incidents.urlpatterns,
    *urls_retention.urlpatterns,
]
