"""Second-factor pages: verify, enrol, manage (backup codes, reset)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kka.accounts import two_factor
from kka.accounts.models import User
from kka.accounts.stepup import step_up_required, step_up_url
from kka.lib.http import no_store

# Wrong passwords typed at a step-up (no second factor) before the session is ended.
PASSWORD_STEP_UP_LIMIT = 5
# Accepted (bandit B105, until 2027-05-31): a session key name, not a password.
SESSION_PASSWORD_FAILURES = "kka_step_up_failures"  # noqa: S105  # nosec B105


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Kode"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class PasswordAgainForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Kata sandi"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:home")


@login_required
@no_store
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    device = two_factor.confirmed_device(user)
    step_up = bool(request.GET.get("step_up") or request.POST.get("step_up"))
    if device is None and two_factor.required():
        return redirect(reverse("accounts:otp_enrol") + "?" + request.GET.urlencode())
    form: forms.Form
    if device is None:
        form = PasswordAgainForm(request.POST or None)
    else:
        form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device is None:
            accepted = user.check_password(form.cleaned_data["password"])
            method, reason = "password", ""
        else:
            accepted, method = two_factor.verify_code(
                user=user, device=device, code=form.cleaned_data["code"]
            )
            reason = method if method == "throttled" else ""
        if accepted:
            with transaction.atomic():
                first = not two_factor.is_verified(request) and device is not None
                two_factor.mark_verified(request, device)
                request.session.pop(SESSION_PASSWORD_FAILURES, None)
                two_factor.audit(
                    "auth.otp_verified" if first else "auth.step_up", user, method=method
                )
            return redirect(_next(request))
        two_factor.audit("auth.otp_failed", user, outcome="failure", method=method)
        if device is None:
            failures = int(request.session.get(SESSION_PASSWORD_FAILURES, 0)) + 1
            request.session[SESSION_PASSWORD_FAILURES] = failures
            if failures >= PASSWORD_STEP_UP_LIMIT:
                logout(request)
                return redirect("accounts:login")
            form.add_error(None, _("Kata sandi salah."))
        elif reason == "throttled":
            form.add_error(None, _("Terlalu banyak percobaan. Tunggu sebentar, lalu coba lagi."))
        else:
            form.add_error(None, _("Kode tidak cocok atau sudah pernah dipakai."))
    return render(
        request,
        "accounts/otp_verify.html",
        {
            "form": form,
            "password_mode": device is None,
            "step_up": step_up,
            "next": _next(request),
        },
    )


@login_required
@no_store
@require_http_methods(["GET", "POST"])
def otp_enrol(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if two_factor.confirmed_device(user) is not None:
        return redirect("accounts:otp_manage")
    if not two_factor.required() and not two_factor.verified_recently(request):
        # Voluntary enrolment changes how the account logs in: password first.
        return redirect(step_up_url(request))
    device = two_factor.enrolment_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].replace(" ", "")
        if two_factor.looks_like_totp(code) and device.verify_token(code):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = two_factor.backup_codes_replace(user=user)
                two_factor.mark_verified(request, device)
                two_factor.audit("auth.otp_enrolled", user)
            return _show_backup_codes(request, codes)
        two_factor.audit("auth.otp_failed", user, outcome="failure", method="enrol")
        form.add_error(None, _("Kode tidak cocok. Periksa jam ponsel Anda, lalu coba lagi."))
    return render(
        request,
        "accounts/otp_enrol.html",
        {
            "form": form,
            "qr": two_factor.qr_data_uri(device),
            "secret": two_factor.secret_base32(device),
            "required": two_factor.required(),
            "next": _next(request),
        },
    )


def _show_backup_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(
        request, "accounts/otp_backup_codes.html", {"codes": codes, "next": _next(request)}
    )


@login_required
@step_up_required
@no_store
@require_http_methods(["GET", "POST"])
def otp_manage(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    device = two_factor.confirmed_device(user)
    if device is None:
        return redirect("accounts:otp_enrol")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "regenerate":
            with transaction.atomic():
                codes = two_factor.backup_codes_replace(user=user)
                two_factor.audit("auth.backup_codes_regenerated", user)
            return _show_backup_codes(request, codes)
        if action == "reset":
            two_factor.device_reset(user=user)
            messages.info(request, _("Autentikasi dua langkah dihapus. Daftarkan aplikasi lagi."))
            return redirect("accounts:otp_enrol")
    context: dict[str, Any] = {
        "device": device,
        "codes_left": two_factor.backup_codes_left(user),
        "required": two_factor.required(),
    }
    return render(request, "accounts/otp_manage.html", context)
