"""Producing and downloading documents; the "print everything" bundle of a KKA.

Thin views: the services check access (404 for anyone who may not see the case, 403
for a supervisor who tries to produce) and record every generation and download.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from kka.accounts import two_factor
from kka.accounts.models import User
from kka.accounts.stepup import step_up_url
from kka.conferences import access as conference_access
from kka.documents import registry, services
from kka.documents.models import DocumentAccess, DocumentFormat
from kka.lib.http import file_response, no_store
from kka.privacy import breakglass

# Options a form may pass to a kind (everything else in the POST is ignored).
OPTION_NAMES = ("blank_rows",)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _fallback_page(scope: dict[str, Any]) -> str:
    """Where to go back to when a document cannot be produced."""
    conference = scope.get("conference")
    if conference is None and scope.get("participant") is not None:
        conference = scope["participant"].conference
    if conference is None and scope.get("evaluation") is not None:
        conference = scope["evaluation"].conference
    if conference is None and scope.get("followup") is not None:
        conference = scope["followup"].conference
    if conference is not None:
        return reverse("conferences:detail", kwargs={"code": conference.code})
    if scope.get("followup") is not None:
        return reverse("cases:case_detail", kwargs={"code": scope["followup"].case.code})
    client = scope.get("client") or getattr(scope.get("consent"), "client", None)
    return reverse("cases:client_detail", kwargs={"code": client.code}) if client else "/"


@login_required
@require_POST
def produce(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """Produce a document (fmt=pdf|docx, edition=…, finalise=1) and go to its download."""
    kinds = registry.load_all()
    kind_obj = kinds.get(kind)
    if kind_obj is None:
        raise Http404
    scope = services.access_scope(request.user, kind_obj, code, write=True)
    fmt = request.POST.get("fmt", DocumentFormat.PDF)
    edition = request.POST.get("edition", "")
    if fmt not in services.FORMATS or edition not in kind_obj.editions:
        return HttpResponseBadRequest()
    options = {name: request.POST[name] for name in OPTION_NAMES if request.POST.get(name)}
    try:
        document = services.produce(
            actor=_user(request),
            kind=kind_obj.code,
            fmt=fmt,
            edition=edition,
            finalise=request.POST.get("finalise") == "1",
            options=options,
            **scope,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, _fallback_page(scope))
    return redirect("documents:download", code=document.code)


@login_required
@no_store
def download(request: HttpRequest, code: str) -> HttpResponse:
    document = services.access_document(request.user, code)
    # The counsellor-only minutes (private notes) ask for a fresh second factor.
    rahasia = document.kind == "notulen" and document.edition == "rahasia"
    if rahasia and document.case and breakglass.is_break_glass(request.user, document.case):
        raise Http404  # break-glass: the private notes stay with the case team
    if rahasia and not two_factor.verified_recently(request):
        return redirect(step_up_url(request))
    data = services.document_bytes(document)
    services.record_access(
        document=document, channel=DocumentAccess.Channel.DOWNLOAD, user=_user(request)
    )
    return file_response(data, services.filename(document), services.content_type(document))


@login_required
@no_store
@require_http_methods(["GET", "POST"])
def bundle(request: HttpRequest, code: str) -> HttpResponse:
    """One PDF of the latest PDF of every document of a KKA. GET merges what exists;
    POST (the case's counsellors) first produces what is missing."""
    posting = request.method == "POST"
    conference, _role = conference_access.access_conference(request.user, code, write=posting)
    if posting:
        services.bundle_produce_missing(actor=_user(request), conference=conference)
    documents = services.bundle_documents(conference)
    if breakglass.is_break_glass(request.user, conference.case):
        documents = [d for d in documents if d.edition != "rahasia"]
    if any(d.edition == "rahasia" for d in documents) and not two_factor.verified_recently(request):
        return redirect(step_up_url(request))  # holds the counsellor-only minutes
    try:
        data = services.bundle(user=_user(request), conference=conference, documents=documents)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("conferences:detail", code=conference.code)
    name = f"dokumen-KKA{conference.sequence}-{conference.code}.pdf"
    return file_response(data, name, "application/pdf")
