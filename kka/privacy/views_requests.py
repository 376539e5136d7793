"""Data subject rights pages of a client, and the DPO's full request register.

Each view: access (404 for anyone who may not see the client, 403 for a reader who
may not write it) → fresh step-up → form → service. The access check comes before
the step-up, so an outsider gets the same 404 as for a client that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts import two_factor
from kka.accounts.decorators import organisation_capability
from kka.accounts.models import User
from kka.accounts.stepup import step_up_url
from kka.lib.http import file_response, no_store
from kka.privacy import export, policy, subject
from kka.privacy.forms import CloseForm, CorrectionForm, RequestForm
from kka.privacy.models import RequestKind
from kka.privacy.restriction import active_restriction


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _stale(request: HttpRequest, client: Any) -> HttpResponse | None:
    """A redirect to the step-up page unless the second factor was confirmed recently.
    After a refused POST the person comes back to the client's rights page."""
    if two_factor.verified_recently(request):
        return None
    if request.method == "GET":
        return redirect(step_up_url(request))
    target = reverse("privacy:subject_home", kwargs={"code": client.code})
    return redirect(
        reverse("accounts:otp_verify") + "?" + urlencode({"next": target, "step_up": "1"})
    )


def _erasure_url(name: str, code: str) -> str | None:
    """A link into the erasure pages, if that part of KKA is installed."""
    try:
        return reverse(f"privacy:{name}", kwargs={"code": code})
    except NoReverseMatch:
        return None


def _home(request: HttpRequest, client: Any, *, request_form: RequestForm | None = None) -> Any:
    requests = list(subject.requests_of(client))
    for item in requests:
        item.countdown = (  # type: ignore[attr-defined]
            subject.countdown(item.due_at) if item.status in subject.OPEN_STATUSES else None
        )
        item.erasure_url = (  # type: ignore[attr-defined]
            _erasure_url("erasure_detail", item.code) if item.kind == RequestKind.ERASURE else None
        )
    return render(
        request,
        "privacy/subject_home.html",
        {
            "client": client,
            "requests": requests,
            "request_form": request_form or RequestForm(),
            "close_form": CloseForm(),
            "corrections": subject.corrections_of(client),
            "restrictions": subject.restrictions_of(client),
            "restriction": active_restriction(client.pk),
            "erasure_new_url": _erasure_url("erasure_new", client.code),
            "kinds": RequestKind,
        },
    )


@login_required
@no_store
def subject_home(request: HttpRequest, code: str) -> HttpResponse:
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    return _home(request, client)


@login_required
@no_store
@require_POST
def request_add(request: HttpRequest, code: str) -> HttpResponse:
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    form = RequestForm(request.POST)
    if form.is_valid():
        try:
            subject.request_record(
                actor=_user(request),
                client=client,
                kind=form.cleaned_data["kind"],
                requested_by_note=form.cleaned_data["requested_by_note"],
                received_at=form.cleaned_data["received_at"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Permintaan dicatat. Batas waktu: 3 x 24 jam."))
            return redirect("privacy:subject_home", code=client.code)
    return _home(request, client, request_form=form)


@login_required
@no_store
@require_POST
def request_close(request: HttpRequest, code: str, request_code: str) -> HttpResponse:
    """Mark a request done (``outcome=done``) or refuse it with a reason (``rejected``)."""
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    target = subject.access_request(client, request_code)
    form = CloseForm(request.POST)
    note = form.cleaned_data["outcome_note"] if form.is_valid() else ""
    try:
        if request.POST.get("outcome") == "rejected":
            subject.request_reject(actor=_user(request), request=target, outcome_note=note)
            messages.success(request, _("Permintaan ditolak dan alasannya dicatat."))
        else:
            subject.request_complete(actor=_user(request), request=target, outcome_note=note)
            messages.success(request, _("Permintaan ditandai selesai."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("privacy:subject_home", code=client.code)


@login_required
@no_store
def access_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The subject's copy of their data and its processing trail (JSON or PDF).

    Made for an open access request (``?permintaan=<code>``), the audit row names the
    request; the request itself is marked done by the counsellor once the copy has
    reached the subject, which KKA cannot know (a download is not a delivery)."""
    client = subject.access_subject(request.user, code)
    if fmt not in export.FORMATS:
        raise Http404
    if (stale := _stale(request, client)) is not None:
        return stale
    linked = subject.requests_of(client).filter(
        code=request.GET.get("permintaan", ""), kind=RequestKind.ACCESS
    )
    data = export.access_export(
        actor=_user(request), client=client, fmt=fmt, request=linked.first()
    )
    return file_response(data, export.filename(client, fmt), export.FORMATS[fmt][0])


@login_required
@no_store
def correction(request: HttpRequest, code: str) -> HttpResponse:
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    guardians = list(client.guardians.order_by("id"))
    form = CorrectionForm(request.POST or None, client=client, guardians=guardians)
    request_code = request.GET.get("permintaan") or request.POST.get("permintaan") or ""
    if request.method == "POST" and form.is_valid():
        try:
            subject.correction_apply(
                actor=_user(request),
                client=client,
                client_values=form.client_values(),
                guardian_values=form.guardian_values(),
                reason=form.cleaned_data["reason"],
                request_code=request_code,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Data konseli dibetulkan; riwayatnya tersimpan."))
            return redirect("privacy:subject_home", code=client.code)
    return render(
        request,
        "privacy/subject_correction.html",
        {"client": client, "form": form, "request_code": request_code},
    )


@login_required
@no_store
@require_POST
def restriction_start(request: HttpRequest, code: str) -> HttpResponse:
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    try:
        subject.restriction_start(
            actor=_user(request), client=client, request_code=request.POST.get("permintaan")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Pemrosesan dibatasi: setiap perubahan ditolak sampai dicabut.")
        )
    return redirect("privacy:subject_home", code=client.code)


@login_required
@no_store
@require_POST
def restriction_lift(request: HttpRequest, code: str) -> HttpResponse:
    client = subject.access_subject(request.user, code)
    if (stale := _stale(request, client)) is not None:
        return stale
    try:
        subject.restriction_lift(actor=_user(request), client=client)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Pembatasan pemrosesan dicabut."))
    return redirect("privacy:subject_home", code=client.code)


@organisation_capability(policy.may_act_as_dpo)
@no_store
def request_list(request: HttpRequest) -> HttpResponse:
    """The DPO's register: every request of the organisation, client codes only."""
    register = subject.request_register(request.organisation)  # type: ignore[attr-defined]
    return render(request, "privacy/requests_list.html", register)
