"""A person's own API tokens ("Token API"): the list, creating one (with a fresh step-up;
the value is shown once, on the answer to the form, never again) and revoking one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kka.accounts.models import User
from kka.accounts.stepup import step_up_required
from kka.api import services
from kka.api.models import ApiToken, TokenScope
from kka.api.tokens import DEFAULT_DAYS, MAX_DAYS
from kka.lib.http import no_store


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Nama token"),
        max_length=80,
        help_text=gettext_lazy("Untuk mengenali token, misalnya nama aplikasi yang memakainya."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Cakupan"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(
        label=gettext_lazy("Berlaku (hari)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        help_text=gettext_lazy("1 sampai 365 hari."),
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@no_store
def token_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    tokens = list(
        ApiToken.objects.filter(user=user).select_related("organisation").order_by("-created_at")
    )
    rows = [{"token": token, "status": services.token_status(token)} for token in tokens]
    return render(request, "api/tokens.html", {"rows": rows})


@login_required
@step_up_required
@no_store
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    organisation: Any = getattr(request, "organisation", None)
    if organisation is None:
        raise Http404  # no active membership: a token could act nowhere
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, raw = services.api_token_issue(
            actor=user,
            user=user,
            organisation=organisation,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            days=form.cleaned_data["days"],
            via="ui",
        )
        # Shown once, on this answer (no-store); only its hash is kept.
        return render(request, "api/token_created.html", {"token": token, "raw": raw})
    return render(request, "api/token_create.html", {"form": form, "organisation": organisation})


@login_required
@require_POST
def token_revoke(request: HttpRequest, code: str) -> HttpResponse:
    # Only the person's own tokens; anybody else's code is "not found".
    token = ApiToken.objects.filter(user=_user(request), code=code).first()
    if token is None:
        raise Http404
    services.api_token_revoke(actor=_user(request), token=token, via="ui")
    messages.success(request, _("Token dicabut. Aplikasi yang memakainya tidak bisa masuk lagi."))
    return redirect("api_ui:tokens")
