"""The interactive API docs (Swagger UI) for signed-in staff, under KKA's own policy.

Swagger UI's script, style sheet and start script come from django-ninja's static files
(``ninja`` is in INSTALLED_APPS), served by KKA itself: the page makes no request to
another site. Its settings travel in a JSON block (not executed), the scripts carry the
CSP nonce, and the online validator badge (a request to swagger.io) is switched off.

The OpenAPI document itself (``/api/v1/openapi.json``) is public: it describes routes
and fields, holds no data, and API clients and schemathesis read it without a session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import Swagger

from kka.lib.http import no_store

if TYPE_CHECKING:
    from ninja import NinjaAPI


class StaffSwagger(Swagger):
    template = "api/docs.html"
    default_settings = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,  # no request to validator.swagger.io
        "persistAuthorization": False,  # a pasted token is not kept in localStorage
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        settings = dict(self.settings, url=self.get_openapi_url(api, kwargs))
        context = {"swagger_settings": settings, "api": api}
        return no_store(lambda req: render(req, self.template, context))(request)
