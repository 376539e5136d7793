"""Login and password screens, organisation switching, and the admin's member pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts import policy, services, sessions
from kka.accounts.decorators import organisation_capability
from kka.accounts.forms import (
    LanguageForm,
    LoginForm,
    MemberAddForm,
    MemberRoleForm,
    OrganisationForm,
    OrganisationSwitchForm,
    lockout_message,
)
from kka.accounts.middleware import SESSION_ORGANISATION_KEY
from kka.accounts.models import Membership, Organisation, User
from kka.accounts.stepup import step_up_required
from kka.audit.services import audit_log


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


LOCKED_OUT_STATUS = 429


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the answer to a login refused by the lock.

    The login view has already rendered its own page with the lockout message
    (``LoginForm.clean``); that page is kept and only marked 429. The answer is the
    same for an email with or without an account: the lock is per typed email and
    address, whatever exists.
    """
    if isinstance(original_response, HttpResponse) and not original_response.streaming:
        original_response.status_code = LOCKED_OUT_STATUS
        return original_response
    # No rendered page to keep (axes' async path passes none): show the login page.
    form = LoginForm(request)
    form._errors = ErrorDict(  # type: ignore[attr-defined]
        {NON_FIELD_ERRORS: form.error_class([lockout_message()], error_class="nonfield")}
    )
    return render(
        request,
        LoginView.template_name,
        {"form": form, "next": ""},
        status=LOCKED_OUT_STATUS,
    )


@method_decorator(step_up_required(password_in_form=True), name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            services.audit_auth_event(
                action="auth.password_changed",
                user=self.request.user,  # type: ignore[arg-type]
            )
            # Every other session of the person ends; this one (its key just rotated) stays.
            sessions.user_sessions_end(
                actor=self.request.user,  # type: ignore[arg-type]
                user=self.request.user,  # type: ignore[arg-type]
                reason="password_changed",
                keep=sessions.current_row(self.request),
                keep_key=self.request.session.session_key,
            )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/emails/password_reset.txt"
    subject_template_name = "accounts/emails/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # The answer is the same whether or not the email has an account.
        user = User.objects.filter(email__iexact=form.cleaned_data["email"], is_active=True).first()
        if user is not None:
            services.audit_auth_event(
                action="auth.password_reset_requested", user=None, affected=user
            )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            services.audit_auth_event(action="auth.password_reset_done", user=form.user)
            sessions.user_sessions_end(actor=None, user=form.user, reason="password_changed")
        return response


def _safe_next(request: HttpRequest, target: str | None, default: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return redirect("web:home")
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
    response = HttpResponseRedirect(_safe_next(request, form.cleaned_data.get("next"), "/"))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=60 * 60 * 24 * 365,
        samesite="Lax",
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
        httponly=True,
    )
    return response


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    form = OrganisationSwitchForm(request.POST)
    memberships = getattr(request, "memberships", [])
    chosen = None
    if form.is_valid():
        chosen = next(
            (m for m in memberships if m.organisation.code == form.cleaned_data["organisation"]),
            None,
        )
    if chosen is None:
        raise Http404
    request.session[SESSION_ORGANISATION_KEY] = chosen.organisation.code
    audit_log(
        action="auth.organisation_switched",
        actor=request.user,
        actor_role=chosen.role,
        organisation=chosen.organisation,
    )
    messages.success(request, _("Lembaga aktif: %(name)s") % {"name": chosen.organisation.name})
    return redirect("web:home")


def _members_of(request: HttpRequest) -> Any:
    return (
        Membership.objects.filter(organisation=request.organisation)  # type: ignore[attr-defined]
        .select_related("user")
        .order_by("-is_active", "user__full_name")
    )


@organisation_capability(policy.may_manage_members)
def member_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/member_list.html", {"members": _members_of(request)})


@organisation_capability(policy.may_manage_members)
def member_add(request: HttpRequest) -> HttpResponse:
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_add(
                actor=request.user,  # type: ignore[arg-type]
                organisation=request.organisation,  # type: ignore[attr-defined]
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Anggota ditambahkan."))
            return redirect("accounts:member_list")
    return render(request, "accounts/member_add.html", {"form": form})


def _member_in_my_organisation(request: HttpRequest, code: str) -> Membership:
    membership = (
        Membership.objects.filter(code=code, organisation=request.organisation)  # type: ignore[attr-defined]
        .select_related("user", "organisation")
        .first()
    )
    if membership is None:
        raise Http404
    return membership


@organisation_capability(policy.may_manage_members)
def member_edit(request: HttpRequest, code: str) -> HttpResponse:
    membership = _member_in_my_organisation(request, code)
    form = MemberRoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.member_change_role(
                actor=request.user,  # type: ignore[arg-type]
                membership=membership,
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Peran diperbarui."))
            return redirect("accounts:member_list")
    return render(request, "accounts/member_edit.html", {"form": form, "member": membership})


@organisation_capability(policy.may_manage_members)
@require_POST
def member_set_active(request: HttpRequest, code: str) -> HttpResponse:
    membership = _member_in_my_organisation(request, code)
    active = request.POST.get("active") == "1"
    try:
        services.member_set_active(
            actor=request.user,  # type: ignore[arg-type]
            membership=membership,
            active=active,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Anggota diaktifkan kembali.") if active else _("Anggota dinonaktifkan.")
        )
    return redirect("accounts:member_list")


@organisation_capability(policy.may_edit_organisation)
def organisation_settings(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    # The form gets its own copy: validation writes into the instance, and the
    # service must compare the stored values with the submitted ones.
    form = OrganisationForm(
        request.POST or None, instance=Organisation.objects.get(pk=organisation.pk)
    )
    if request.method == "POST" and form.is_valid():
        services.organisation_update(
            actor=request.user,  # type: ignore[arg-type]
            organisation=organisation,
            **{name: form.cleaned_data[name] for name in services.ORGANISATION_EDITABLE_FIELDS},
        )
        messages.success(request, _("Pengaturan lembaga disimpan."))
        return redirect("accounts:organisation_settings")
    return render(
        request,
        "accounts/organisation_settings.html",
        {"form": form, "has_logo": bool(organisation.logo_stored_name)},
    )


@organisation_capability(policy.may_edit_organisation)
@require_POST
def organisation_logo(request: HttpRequest) -> HttpResponse:
    """Upload or remove the logo of the kop surat."""
    organisation = request.organisation  # type: ignore[attr-defined]
    upload = request.FILES.get("logo")
    remove = request.POST.get("remove") == "1"
    if not remove and upload is None:
        messages.error(request, _("Pilih berkas logo."))
        return redirect("accounts:organisation_settings")
    try:
        services.organisation_set_logo(
            actor=request.user,  # type: ignore[arg-type]
            organisation=organisation,
            data=None if remove else upload.read(services.LOGO_MAX_BYTES + 1),  # type: ignore[union-attr]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Logo dihapus.") if remove else _("Logo disimpan."))
    return redirect("accounts:organisation_settings")
