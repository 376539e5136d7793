"""Erasure pages: the counsellor asks, a second authorised user approves or rejects.

The access check comes before the step-up check (as for the counsellor-only minutes):
someone who may not see the client or the request gets 404 without being asked for a
code first; whoever may act is sent to the step-up page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kka.accounts import two_factor
from kka.accounts.models import User
from kka.accounts.stepup import step_up_url
from kka.cases import access as case_access
from kka.lib.http import no_store
from kka.privacy import erasure
from kka.privacy.forms_erasure import ErasureRequestForm
from kka.privacy.models import RequestStatus


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@no_store
@require_http_methods(["GET", "POST"])
def erasure_new(request: HttpRequest, code: str) -> HttpResponse:
    # Erasure is a data subject's right: asked for even while processing is restricted.
    client = case_access.access_client(request.user, code, write=True, despite_restriction=True)
    if not two_factor.verified_recently(request):
        return redirect(step_up_url(request))
    erased = erasure.is_erased(client)
    pending = erasure.pending_request(client)
    form = ErasureRequestForm(request.POST or None, client_code=client.code)
    if request.method == "POST" and not erased and pending is None and form.is_valid():
        try:
            subject_request = erasure.erasure_request(
                actor=_user(request),
                client=client,
                requested_by_note=form.cleaned_data["requested_by_note"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Permintaan penghapusan dicatat dan menunggu persetujuan orang kedua."),
            )
            return redirect("privacy:erasure_detail", code=subject_request.code)
    return render(
        request,
        "privacy/erasure_new.html",
        {
            "client": client,
            "form": form,
            "erased": erased,
            "pending": pending,
            "counts": erasure.preview(client),
        },
    )


@login_required
@no_store
@require_GET
def erasure_detail(request: HttpRequest, code: str) -> HttpResponse:
    subject_request = erasure.access_erasure_request(request.user, code)
    user = _user(request)
    done = erasure.erasure_of(subject_request)
    waiting = subject_request.status == RequestStatus.AWAITING_APPROVAL
    may_decide = (
        waiting
        and subject_request.created_by_id != user.pk
        and erasure.is_approver(user, subject_request.organisation_id)
    )
    return render(
        request,
        "privacy/erasure_detail.html",
        {
            "subject_request": subject_request,
            "client_code": subject_request.client.code,
            "counts": done.summary if done else erasure.preview(subject_request.client),
            "erasure": done,
            "waiting": waiting,
            "may_decide": may_decide,
            "is_requester": subject_request.created_by_id == user.pk,
        },
    )


def _decide(request: HttpRequest, code: str, *, approve: bool) -> HttpResponse:
    subject_request = erasure.access_erasure_request(request.user, code, decide=True)
    if not two_factor.verified_recently(request):
        return redirect(step_up_url(request))
    try:
        if approve:
            erasure.erasure_approve(actor=_user(request), request=subject_request)
        else:
            erasure.erasure_reject(actor=_user(request), request=subject_request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if approve:
            messages.success(request, _("Data pribadi konseli telah dihapus."))
        else:
            messages.success(request, _("Permintaan penghapusan ditolak."))
    return redirect("privacy:erasure_detail", code=subject_request.code)


@login_required
@require_POST
def erasure_approve(request: HttpRequest, code: str) -> HttpResponse:
    return _decide(request, code, approve=True)


@login_required
@require_POST
def erasure_reject(request: HttpRequest, code: str) -> HttpResponse:
    return _decide(request, code, approve=False)
