"""KKA planning pages for the case team, and the approval page for approvers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts.models import User
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases import selectors as case_selectors
from kka.cases.models import CaseRecord, ProblemResource
from kka.conferences import access, services
from kka.conferences.forms import (
    PLACE_SUGGESTIONS,
    ROLE_SUGGESTIONS,
    ApprovalForm,
    ParticipantEditForm,
    ParticipantForm,
    PlanForm,
)
from kka.conferences.models import FUNCTIONS, CommitmentProgress, ConferenceStatus, Participant
from kka.lib.http import no_store


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def conference_create(request: HttpRequest, code: str) -> HttpResponse:
    case = case_access.access_case(request.user, code, write=True)
    conference = services.conference_create(actor=_user(request), case=case)
    messages.success(
        request, _("KKA %(n)s dibuat. Lengkapi rencananya.") % {"n": conference.sequence}
    )
    return redirect("conferences:plan", code=conference.code)


@login_required
@no_store
def conference_detail(request: HttpRequest, code: str) -> HttpResponse:
    conference, role = access.access_conference(request.user, code)
    audit_log(
        action="conference.viewed",
        actor=_user(request),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
    )
    participants = list(conference.participants.filter(removed_at__isnull=True))
    commitments = list(
        conference.commitments.select_related(  # type: ignore[attr-defined]
            "participant", "counsellor"
        ).prefetch_related(
            Prefetch(
                "progress",
                queryset=CommitmentProgress.objects.select_related("by_participant", "by_user"),
            )
        )
    )
    committed = {c.participant_id for c in commitments}
    # Read once for every participant: the page's queries must not grow with them.
    consent = case_selectors.current_consent(conference.case.client)
    for participant in participants:
        participant.consent_problem = services.consent_problem(  # type: ignore[attr-defined]
            conference, participant, consent=consent
        )
        participant.has_commitments = participant.pk in committed  # type: ignore[attr-defined]
    writable = role in case_access.WRITER_ROLES
    used_resources = {p.resource_id for p in participants if p.resource_id}
    resources = [
        r
        for r in ProblemResource.objects.filter(problem_map__case=conference.case)
        if r.pk not in used_resources
    ]
    organisation = conference.case.organisation
    return render(
        request,
        "conferences/conference_detail.html",
        {
            "conference": conference,
            "case": conference.case,
            "role": role,
            "writable": writable and conference.status in services.EDITABLE_STATUSES,
            "participants": participants,
            "resources": resources,
            "missing": services.readiness(conference, participants=participants, consent=consent),
            "commitments": commitments,
            "followups": conference.followups.select_related(  # type: ignore[attr-defined]
                "conference", "next_conference", "consent"
            ),
            "needs_approval": services.needs_approval(conference),
            "participant_form": ParticipantForm(
                initial={"disclosure": "invitation", "language": "id"}
            ),
            "role_suggestions": ROLE_SUGGESTIONS.get(organisation.setting, []),
            "records": conference.records.all(),
            "function_labels": [
                str(label) for key, label in FUNCTIONS if key in conference.functions
            ],
            "bidang_label": case_selectors.bidang_label(organisation, conference.bidang),
            "statuses": ConferenceStatus,
            # In lifecycle order, so the irreversible "cancelled" is never preselected.
            # Lifecycle order with the next forward step first; cancelling is never the
            # default, so one careless click cannot cancel a KKA.
            "next_statuses": sorted(
                (
                    (s, ConferenceStatus(s).label)
                    for s in ConferenceStatus.values
                    if s in services.STATUS_MOVES.get(conference.status, set())
                ),
                key=lambda item: (
                    item[0] == ConferenceStatus.CANCELLED,
                    ConferenceStatus.values.index(item[0])
                    < ConferenceStatus.values.index(conference.status),
                ),
            ),
        },
    )


@login_required
def plan_edit(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    case = conference.case
    organisation = case.organisation
    allowed_records = CaseRecord.objects.filter(case=case, may_bring_to_kka=True).order_by(
        "-occurred_on"
    )
    record_choices = [
        (r.code, f"{r.occurred_on:%d-%m-%Y} · {r.get_source_display()} — {r.content[:80]}")
        for r in allowed_records
    ]
    initial: dict[str, Any] = {name: getattr(conference, name) for name in services.PLAN_FIELDS}
    zone = organisation.time_zone
    for name in ("starts_at", "ends_at"):
        if initial[name]:
            initial[name] = timezone.localtime(initial[name]).replace(tzinfo=None)
    initial["records"] = list(conference.records.values_list("code", flat=True))
    form = PlanForm(
        request.POST or None,
        initial=initial,
        bidang_choices=case_selectors.bidang_choices(organisation),
        record_choices=record_choices,
        zone=zone,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        chosen = allowed_records.filter(code__in=data.pop("records"))
        try:
            services.conference_update_plan(
                actor=_user(request), conference=conference, records=list(chosen), **data
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Rencana KKA disimpan."))
            return redirect("conferences:detail", code=conference.code)
    return render(
        request,
        "conferences/plan_form.html",
        {
            "conference": conference,
            "case": case,
            "form": form,
            "place_suggestions": PLACE_SUGGESTIONS.get(organisation.setting, []),
        },
    )


@login_required
@require_POST
def conference_status(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    try:
        services.conference_set_status(
            actor=_user(request), conference=conference, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Status KKA diperbarui."))
    return redirect("conferences:detail", code=conference.code)


@login_required
@require_POST
def participant_add(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    resource_code = request.POST.get("resource", "")
    try:
        if resource_code:
            resource = ProblemResource.objects.filter(
                problem_map__case=conference.case, code=resource_code
            ).first()
            if resource is None:
                raise Http404
            services.participant_add(
                actor=_user(request),
                conference=conference,
                resource=resource,
                disclosure=request.POST.get("disclosure") or "invitation",
            )
        else:
            form = ParticipantForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Nama, peran dan kategori peserta wajib diisi."))
                return redirect("conferences:detail", code=conference.code)
            services.participant_add(
                actor=_user(request),
                conference=conference,
                walk_in=request.POST.get("walk_in") == "1",
                **form.cleaned_data,
            )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Peserta ditambahkan."))
    if request.POST.get("walk_in") == "1":
        return redirect(f"{reverse('conferences:meeting', kwargs={'code': conference.code})}#hadir")
    return redirect("conferences:detail", code=conference.code)


@login_required
def participant_edit(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    form = ParticipantEditForm(
        request.POST or None,
        initial={name: getattr(target, name) for name in ParticipantEditForm.base_fields},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.participant_update(
                actor=_user(request), participant=target, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Data peserta disimpan."))
            return redirect("conferences:detail", code=conference.code)
    return render(
        request,
        "conferences/participant_form.html",
        {
            "conference": conference,
            "participant": target,
            "form": form,
            "role_suggestions": ROLE_SUGGESTIONS.get(conference.case.organisation.setting, []),
        },
    )


@login_required
@require_POST
def participant_remove(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    try:
        services.participant_remove(actor=_user(request), participant=target)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Peserta dihapus dari KKA."))
    return redirect("conferences:detail", code=conference.code)


@login_required
@require_POST
@no_store
def invitation_send(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    channel = request.POST.get("channel", "email")
    if channel not in ("email", "whatsapp", "letter"):
        raise Http404
    try:
        result = services.invitation_send(actor=_user(request), participant=target, channel=channel)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("conferences:detail", code=conference.code)
    if channel == "whatsapp":
        return render(
            request,
            "conferences/whatsapp.html",
            {"conference": conference, "participant": target, **result},
        )
    if channel == "letter":
        return render(
            request,
            "conferences/letter_link.html",
            {"conference": conference, "participant": target, **result},
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:  # single machine: the mail left with this request
        done = _("Undangan dikirim ke %(name)s.")
    else:  # a worker sends it in a moment; a failure is retried and audited
        done = _("Undangan untuk %(name)s masuk antrean pengiriman dan segera dikirim.")
    messages.success(request, done % {"name": target.full_name})
    return redirect("conferences:detail", code=conference.code)


@login_required
@require_POST
def links_revoke(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target: Participant = access.access_participant(
        request.user, conference, participant, write=True
    )
    services.portal_links_revoke(actor=_user(request), participant=target)
    messages.success(request, _("Tautan pribadi %(name)s dicabut.") % {"name": target.full_name})
    return redirect("conferences:detail", code=conference.code)


@login_required
@require_POST
def approval_request(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    try:
        services.conference_request_approval(actor=_user(request), conference=conference)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Permintaan persetujuan dikirim."))
    return redirect("conferences:detail", code=conference.code)


@login_required
@no_store
def approval_review(request: HttpRequest, code: str) -> HttpResponse:
    conference = access.access_conference_for_approval(request.user, code)
    form = ApprovalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.conference_decide_approval(
                actor=_user(request),
                conference=conference,
                approve=form.cleaned_data["decision"] == "approve",
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Keputusan tersimpan."))
            return redirect("web:home")
    audit_log(
        action="conference.approval_viewed",
        actor=_user(request),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
    )
    participants = conference.participants.filter(removed_at__isnull=True)
    return render(
        request,
        "conferences/approval.html",
        {"conference": conference, "participants": participants, "form": form},
    )
