"""The incident register pages (DPO only; everyone else gets 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts.decorators import organisation_capability
from kka.accounts.models import User
from kka.accounts.stepup import step_up_required
from kka.lib.http import file_response, no_store
from kka.privacy import breach_notice, incidents, policy
from kka.privacy.affected import CATEGORIES
from kka.privacy.forms_incidents import IncidentEditForm, IncidentForm
from kka.privacy.incidents import EDITABLE

dpo_only = organisation_capability(policy.may_act_as_dpo)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _detail(code: str) -> HttpResponse:
    return redirect("privacy:incident_detail", code=code)


@dpo_only
@no_store
def incident_list(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    now = timezone.now()
    rows = [
        {"incident": i, "countdown": incidents.countdown(i, now)}
        for i in incidents.incident_list(organisation=organisation)
    ]
    return render(request, "privacy/incident_list.html", {"rows": rows})


@dpo_only
@no_store
def incident_create(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    form = IncidentForm(
        request.POST or None,
        organisation=organisation,
        initial={"discovered_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            incident = incidents.incident_record(
                actor=_user(request),
                organisation=organisation,
                **{name: form.cleaned_data[name] for name in EDITABLE},
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Insiden tercatat. Batas pemberitahuan 3 x 24 jam."))
            return _detail(incident.code)
    return render(request, "privacy/incident_form.html", {"form": form, "incident": None})


@dpo_only
@no_store
def incident_detail(request: HttpRequest, code: str) -> HttpResponse:
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    subjects = [
        {
            "subject": s,
            "categories": [CATEGORIES.get(c, CATEGORIES["lainnya"]) for c in s.categories],
        }
        for s in incident.subjects.select_related("client").order_by("client__code")
    ]
    return render(
        request,
        "privacy/incident_detail.html",
        {
            "incident": incident,
            "countdown": incidents.countdown(incident),
            "subjects": subjects,
            "formats": list(breach_notice.FORMATS),
        },
    )


@dpo_only
@no_store
def incident_edit(request: HttpRequest, code: str) -> HttpResponse:
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    initial = {name: getattr(incident, name) for name in (*EDITABLE, "status")}
    form = IncidentEditForm(
        request.POST or None, organisation=incident.organisation, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in (*EDITABLE, "status")}
        for name in ("discovered_at", "occurred_from", "occurred_to"):
            # The form shows minutes: an unchanged field must not move the deadline.
            stored = getattr(incident, name)
            if stored and values[name] == stored.replace(second=0, microsecond=0):
                values[name] = stored
        try:
            incidents.incident_update(actor=_user(request), incident=incident, **values)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Insiden diperbarui."))
            return _detail(incident.code)
    return render(request, "privacy/incident_form.html", {"form": form, "incident": incident})


@dpo_only
@require_POST
def incident_find_affected(request: HttpRequest, code: str) -> HttpResponse:
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    try:
        result = incidents.incident_find_affected(actor=_user(request), incident=incident)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(n)s konseli terdampak ditemukan dari %(rows)s catatan audit.")
            % {"n": len(result.clients), "rows": result.events},
        )
    return _detail(incident.code)


@dpo_only
@require_POST
def incident_notified(request: HttpRequest, code: str) -> HttpResponse:
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    incidents.incident_notified(actor=_user(request), incident=incident)
    messages.success(request, _("Pemberitahuan insiden tercatat."))
    return _detail(incident.code)


@dpo_only
@require_POST
def incident_subject_notified(request: HttpRequest, code: str, client: str) -> HttpResponse:
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    subject = incidents.access_incident_subject(incident, client)
    incidents.incident_subject_notified(actor=_user(request), incident=incident, subject=subject)
    messages.success(request, _("Pemberitahuan kepada yang terdampak tercatat."))
    return _detail(incident.code)


@dpo_only
@step_up_required
def incident_notice(request: HttpRequest, code: str, client: str) -> HttpResponse:
    """The breach-notice draft for one affected person: it names them (Pasal 46)."""
    incident = incidents.access_incident(request.organisation, code)  # type: ignore[attr-defined]
    subject = incidents.access_incident_subject(incident, client)
    fmt = request.GET.get("format", "pdf")
    if fmt not in breach_notice.FORMATS:
        raise Http404
    data, content_type, filename = breach_notice.breach_notice_draft(
        actor=_user(request), incident=incident, subject=subject, fmt=fmt
    )
    return file_response(data, filename, content_type)
