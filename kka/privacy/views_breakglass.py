"""Break-glass pages: the coordinator's request and early end, the DPO's register."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kka.accounts import two_factor
from kka.accounts.decorators import organisation_capability
from kka.accounts.models import User
from kka.accounts.stepup import step_up_required
from kka.cases.models import Case
from kka.lib.http import no_store
from kka.privacy import breakglass, policy
from kka.privacy.models import BreakGlass


class BreakGlassForm(forms.Form):
    # Both optional here: the service checks them, so every refusal is audited.
    case_code = forms.CharField(label=gettext_lazy("Kode kasus"), max_length=20, required=False)
    reason = forms.CharField(
        label=gettext_lazy("Alasan"),
        max_length=breakglass.MAX_REASON,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _audit_missing_step_up(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A request sent without a fresh second factor is a refusal too (then step-up)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and not two_factor.verified_recently(request):
            breakglass.refuse(
                actor=_user(request),
                organisation=request.organisation,  # type: ignore[attr-defined]
                why="step_up",
            )
        return view(request, *args, **kwargs)

    return wrapped


@organisation_capability(policy.may_break_glass)
@_audit_missing_step_up
@step_up_required
@no_store
def request_page(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            opened = breakglass.breakglass_open(
                actor=_user(request),
                organisation=organisation,
                case_code=form.cleaned_data["case_code"],
                reason=form.cleaned_data["reason"],
            )
        except breakglass.Refused as exc:
            field = exc.code if exc.code in form.fields else None
            form.add_error(field, exc.messages)
        else:
            if isinstance(opened, Case):
                messages.info(request, _("Anda sudah tercatat pada kasus ini."))
                return redirect("cases:case_detail", code=opened.code)
            return redirect("cases:case_detail", code=opened.case.code)
    return render(
        request,
        "privacy/breakglass_request.html",
        {"form": form, "min_reason": breakglass.MIN_REASON, "minutes": 60},
    )


@login_required
@require_POST
def end(request: HttpRequest, code: str) -> HttpResponse:
    grant = BreakGlass.objects.select_related("case", "organisation").filter(code=code).first()
    if grant is None or grant.user_id != _user(request).pk:
        raise Http404
    if breakglass.breakglass_end(actor=_user(request), grant=grant):
        messages.success(request, _("Akses darurat diakhiri."))
    else:
        messages.info(request, _("Akses darurat ini sudah berakhir."))
    return redirect("web:home")


@organisation_capability(policy.may_act_as_dpo)
@no_store
def register(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    uses = breakglass.uses(organisation)
    breakglass.register_viewed(actor=_user(request), organisation=organisation, shown=len(uses))
    return render(
        request,
        "privacy/breakglass_list.html",
        {"uses": uses, "organisation": organisation},
    )


@organisation_capability(policy.may_act_as_dpo)
@require_POST
def review(request: HttpRequest, code: str) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    grant = BreakGlass.objects.filter(code=code, organisation=organisation).first()
    if grant is None:
        raise Http404
    if breakglass.breakglass_review(actor=_user(request), grant=grant):
        messages.success(request, _("Penggunaan akses darurat ditandai sudah ditinjau."))
    return redirect("privacy:breakglass_list")
