from django.urls import path

from kka.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
]
