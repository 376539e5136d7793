"""The web pages for a person's own API tokens, under /akun/ (kka/urls.py)."""

from django.urls import path

from kka.api import views

app_name = "api_ui"

urlpatterns = [
    path("token-api/", views.token_list, name="tokens"),
    path("token-api/baru/", views.token_create, name="token_create"),
    path("token-api/<str:code>/cabut/", views.token_revoke, name="token_revoke"),
]
