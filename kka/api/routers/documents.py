"""API routes: documents — a KKA's documents and downloading one.

The same access functions and services as kka.documents.views: a document is visible
exactly when what it is about is; every download is recorded (``document.accessed``
through ``services.record_access``). The counsellor-only minutes (``notulen`` edition
``rahasia``) need a fresh second factor in the web; a token cannot give one, so the API
refuses them with 403 ``step_up_required`` (and, as in the web, a break-glass reader gets
404). ``GET /conferences/{code}/documents`` lives here but hangs on the conferences router.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import codes_4xx

from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.api.access import code_or_404, in_token_organisation
from kka.api.errors import ApiError, ErrorBody
from kka.api.pagination import page_of
from kka.api.schemas_cases import ListParams
from kka.api.schemas_documents import DocumentItem, DocumentList
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.conferences import access as conference_access
from kka.documents import registry, services
from kka.documents.models import Document, DocumentAccess
from kka.lib.http import file_response
from kka.privacy import breakglass

router = Router(tags=["documents"])

RAHASIA = "rahasia"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_rahasia(document: Document) -> bool:
    return document.kind == "notulen" and document.edition == RAHASIA


def document_item(document: Document, kinds: dict[str, Any]) -> DocumentItem:
    kind = kinds.get(document.kind)
    return DocumentItem(
        code=document.code,
        kind=document.kind,
        title=str(kind.title) if kind else document.kind,
        edition=document.edition,
        format=document.format,
        draft=document.draft,
        finalised_at=document.finalised_at,
        created_at=document.created_at,
        size=document.size,
        pages=document.pages,
        participant=document.participant.code if document.participant else None,
        download_url=reverse("api:document_download", kwargs={"code": document.code}),
    )


_DOWNLOAD_OPENAPI = {
    "responses": {
        "200": {
            "description": "Berkas dokumen (PDF atau DOCX)",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }
}


@router.get(
    "/{code}/download",
    response={codes_4xx: ErrorBody},
    url_name="document_download",
    summary="Mengunduh satu dokumen",
    openapi_extra=_DOWNLOAD_OPENAPI,
)
def document_download(request: HttpRequest, code: str) -> HttpResponse:
    document = services.access_document(request.user, code_or_404(code))
    in_token_organisation(request, document.organisation_id)
    if _is_rahasia(document):
        if document.case and breakglass.is_break_glass(request.user, document.case):
            raise Http404  # break-glass: the private notes stay with the case team
        raise ApiError(
            403,
            "step_up_required",
            _("Notulen rahasia hanya dapat diunduh lewat aplikasi web setelah verifikasi ulang."),
        )
    data = services.document_bytes(document)
    services.record_access(
        document=document, channel=DocumentAccess.Channel.DOWNLOAD, user=_user(request)
    )
    return file_response(data, services.filename(document), services.content_type(document))


# Registered on the conferences router (its URL is /conferences/{code}/documents); the
# import sits here, after this module's router, so the two modules do not import in a circle.
from kka.api.routers.conferences import router as conferences_router  # noqa: E402


@conferences_router.get(
    "/{code}/documents",
    response={200: DocumentList, codes_4xx: ErrorBody},
    url_name="conference_documents",
    summary="Dokumen sebuah KKA",
)
def conference_documents(
    request: HttpRequest, code: str, page: Query[ListParams]
) -> dict[str, Any]:
    """Every document about the KKA, newest first, each with its kind, format and download
    URL. A break-glass reader does not see the counsellor-only minutes (as in the web)."""
    conference, role = conference_access.access_conference(request.user, code_or_404(code))
    in_token_organisation(request, conference.case.organisation_id)
    qs = (
        Document.objects.filter(conference=conference)
        .select_related("participant")
        .order_by("-created_at", "-id")
    )
    if role == case_access.BREAK_GLASS:
        qs = qs.exclude(edition=RAHASIA)
    rows, count = page_of(qs, page.limit, page.offset)
    audit_log(
        action="document.list_viewed",
        actor=_user(request),
        actor_role=role_in(_user(request), conference.case.organisation_id),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
        refs={"shown": ",".join(d.code for d in rows), "via": "api"},
    )
    kinds = registry.load_all()
    return {"items": [document_item(d, kinds) for d in rows], "count": count}
