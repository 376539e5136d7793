"""The HTTP API under ``/api/v1/`` (django-ninja, OpenAPI 3 at ``/api/v1/openapi.json``).

Routes call the same access functions and services as the web UI; an object the caller
may not see answers 404. Resources are addressed by public codes only. Each area has its
router in ``kka/api/routers/``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kka.api.auth import TokenAuth
from kka.api.docs import StaffSwagger
from kka.api.errors import ApiError, ErrorBody
from kka.api.ratelimit import RateLimited
from kka.api.routers import cases, conferences, documents, reports
from kka.privacy.restriction import ProcessingRestricted

# Answers any route can give, whatever it declares: no or a bad token (401), input that
# does not parse (422), too many requests (429). Every operation in the document lists them.
ALWAYS_POSSIBLE = {
    401: "No token, or one that is unknown, expired or revoked",
    422: "The request's parameters or body do not parse",
    429: "Too many requests: wait the seconds in Retry-After",
}


class KkaApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", ErrorBody.model_json_schema())
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status, description in ALWAYS_POSSIBLE.items():
                    # ninja keys responses by int; a str key would duplicate it in the JSON.
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": description, "content": body}
        return schema


api = KkaApi(
    title="KKA API",
    version="1",
    description="Konferensi Kasus: cases, conferences, participants, commitments, "
    "evaluations and documents, by public code. Authenticate with a personal token: "
    "`Authorization: Bearer kka_…`.",
    urls_namespace="api",
    auth=TokenAuth(),
    # The docs page asks for a login itself (kka.api.docs); openapi.json stays public.
    docs=StaffSwagger(),
)


def error(request: HttpRequest, status: int, code: str, message: str, detail: Any = None) -> Any:
    return api.create_response(
        request, {"code": code, "message": message, "detail": detail}, status=status
    )


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error(request, exc.status, exc.code, exc.message, exc.detail)  # type: ignore[no-any-return]


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = error(
        request, 429, "rate_limited", _("Terlalu banyak permintaan. Coba lagi sebentar lagi.")
    )
    response["Retry-After"] = str(exc.retry_after)
    return response  # type: ignore[no-any-return]


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", _("Tidak ditemukan."))  # type: ignore[no-any-return]


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    if isinstance(exc, ProcessingRestricted):
        # The same answer from every route (the access functions raise it centrally).
        message = str(ProcessingRestricted.message)
        return error(request, 403, "processing_restricted", message)  # type: ignore[no-any-return]
    return error(request, 403, "forbidden", _("Tindakan ini tidak diizinkan."))  # type: ignore[no-any-return]


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error(
        request, 401, "unauthenticated", _("Token tidak ada, tidak berlaku, atau sudah dicabut.")
    )
    response["WWW-Authenticate"] = "Bearer"
    return response  # type: ignore[no-any-return]


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Field locations and messages only; never the submitted values.
    detail = [
        {"loc": [str(part) for part in item.get("loc", [])], "type": item.get("type", "")}
        for item in exc.errors
    ]
    return error(request, 422, "invalid", _("Data yang dikirim tidak valid."), detail)  # type: ignore[no-any-return]


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        429: "rate_limited",
    }
    code = codes.get(exc.status_code, "error")
    return error(request, exc.status_code, code, str(exc))  # type: ignore[no-any-return]


api.add_router("/cases", cases.router)
api.add_router("/conferences", conferences.router)
api.add_router("/documents", documents.router)
api.add_router("/reports", reports.router)
