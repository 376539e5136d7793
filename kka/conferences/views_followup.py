"""After the KKA, for the case team: later evaluations (laijapen, laijapang), follow-up
and referral (alih tangan kasus), and the next KKA."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts.models import User
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases import selectors as case_selectors
from kka.cases.models import Case
from kka.conferences import access, followup
from kka.conferences.forms import FOLLOWUP_FORM_KINDS, FollowUpForm, LaterEvaluationForm
from kka.conferences.models import (
    LATER_EVALUATION_KINDS,
    OPEN_COMMITMENT_STATUSES,
    CommitmentResult,
    Conference,
    Evaluation,
    FollowUp,
    FollowUpKind,
    Minutes,
)
from kka.lib.http import no_store


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _access_followup(user: Any, code: str, *, write: bool = False) -> FollowUp:
    """A follow-up is visible exactly when its case is (404 otherwise, 403 on a write
    by a supervisor): the case's own access function decides."""
    found = FollowUp.objects.select_related("case", "conference").filter(code=code).first()
    if found is None:
        raise Http404
    case_access.access_case(user, found.case.code, write=write)
    return found


# --- later evaluations ------------------------------------------------------------------------


def _later_evaluation_initial(evaluation: Evaluation, minutes: Minutes | None) -> dict[str, Any]:
    if evaluation.done_at is None:
        return {"data_needs_met": minutes.data_needs if minutes is not None else ""}
    initial: dict[str, Any] = {
        "client_situation": evaluation.client_situation,
        "analysis": evaluation.analysis,
        "data_needs_met": evaluation.data_needs_met,
    }
    for code, item in evaluation.commitment_results_dict.items():
        initial[f"result_{code}"] = item.get("result", "")
        initial[f"note_{code}"] = item.get("note", "")
    return initial


@login_required
@no_store
def later_evaluation(request: HttpRequest, code: str, evaluation: str) -> HttpResponse:
    """Record (or record again) a laijapen or laijapang beside the KKA's aims and the
    minutes' data, conclusions and directions."""
    posting = request.method == "POST"
    conference, role = access.access_conference(request.user, code, write=posting)
    target = (
        Evaluation.objects.filter(
            conference=conference, code=evaluation, kind__in=LATER_EVALUATION_KINDS
        )
        .select_related("recorded_by")
        .first()
    )
    if target is None:
        raise Http404
    minutes = Minutes.objects.filter(conference=conference).first()
    commitments = list(
        conference.commitments.select_related(  # type: ignore[attr-defined]
            "participant", "counsellor"
        )
        .prefetch_related("progress__by_user", "progress__by_participant")
        .order_by("due_on", "id")
    )
    form = LaterEvaluationForm(
        request.POST if posting else None,
        commitments=commitments,
        initial=_later_evaluation_initial(target, minutes),
    )
    if posting and form.is_valid():
        try:
            followup.later_evaluation_record(
                actor=_user(request),
                evaluation=target,
                client_situation=form.cleaned_data["client_situation"],
                commitment_results=form.commitment_results(),
                analysis=form.cleaned_data["analysis"],
                data_needs_met=form.cleaned_data["data_needs_met"],
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("%(kind)s tercatat.") % {"kind": target.get_kind_display()})
            return redirect(
                "conferences:later_evaluation", code=conference.code, evaluation=target.code
            )
    if not posting:
        audit_log(
            action="conference.viewed",
            actor=_user(request),
            organisation=conference.case.organisation_id,
            object_type="conference",
            object_ref=conference.code,
            refs={"page": "evaluation", "evaluation": target.code},
        )
    results = target.commitment_results_dict
    labels = dict(CommitmentResult.choices)
    recorded_rows = [
        (c, labels.get(results[c.code].get("result", ""), ""), results[c.code].get("note", ""))
        for c in commitments
        if c.code in results
    ]
    return render(
        request,
        "conferences/evaluation_form.html",
        {
            "conference": conference,
            "case": conference.case,
            "evaluation": target,
            "minutes": minutes,
            "commitments": commitments,
            "form": form,
            "writable": role in case_access.WRITER_ROLES,
            "recorded_rows": recorded_rows,
            "reopen": posting,
        },
    )


# --- follow-up -----------------------------------------------------------------------------------


def _followup_anchor(case: Case, conference: Conference | None) -> str:
    if conference is not None:
        return reverse("conferences:detail", kwargs={"code": conference.code}) + "#tindak-lanjut"
    return reverse("cases:case_detail", kwargs={"code": case.code}) + "#tindak-lanjut"


@login_required
@no_store
def followup_add(request: HttpRequest, code: str) -> HttpResponse:
    """Plan a follow-up of the case, optionally decided in one of its KKAs (``?kka=``).
    A referral passes the consent gate; when it does not, nothing is created and the
    page says why, with a link to record the client's consent."""
    case = case_access.access_case(request.user, code, write=True)
    conference = None
    if request.GET.get("kka"):
        conference, _role = access.access_conference(request.user, request.GET["kka"], write=True)
        if conference.case_id != case.pk:
            raise Http404
    kinds = {value for value, _label in FOLLOWUP_FORM_KINDS}
    chosen = request.GET.get("jenis", "")
    form = FollowUpForm(
        request.POST if request.method == "POST" else None,
        initial={"kind": chosen} if chosen in kinds else {},
    )
    consent_problem = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = followup.followup_add(
                actor=_user(request),
                case=case,
                conference=conference,
                kind=data["kind"],
                referral_to=data["referral_to"] if data["kind"] == FollowUpKind.REFERRAL else "",
                referral_to_name=data["referral_to_name"],
                reason=data["reason"],
                planned_on=data["planned_on"],
                note=data["note"],
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "consent":
                consent_problem = " ".join(exc.messages)
            elif hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, " ".join(exc.messages))
        else:
            if created.kind == FollowUpKind.REFERRAL:
                case.refresh_from_db(fields=["status"])
                messages.success(
                    request,
                    _("Alih tangan kasus dicatat. Status kasus: %(status)s.")
                    % {"status": case.get_status_display()},
                )
            else:
                messages.success(request, _("Tindak lanjut dicatat."))
            return redirect(_followup_anchor(case, conference))
    referral_open = (form.data.get("kind") if form.is_bound else chosen) == FollowUpKind.REFERRAL
    return render(
        request,
        "conferences/followup_form.html",
        {
            "case": case,
            "client": case.client,
            "conference": conference,
            "form": form,
            "consent": case_selectors.current_consent(case.client),
            "is_minor": case_selectors.client_is_minor(case.client),
            "consent_problem": consent_problem,
            "referral_open": referral_open or bool(consent_problem),
        },
    )


@login_required
@require_POST
def followup_status(request: HttpRequest, code: str) -> HttpResponse:
    target = _access_followup(request.user, code, write=True)
    try:
        followup.followup_set_status(
            actor=_user(request), followup=target, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Status tindak lanjut diperbarui."))
    back_to_kka = request.POST.get("back") == "kka" and target.conference is not None
    return redirect(_followup_anchor(target.case, target.conference if back_to_kka else None))


@login_required
@require_POST
def next_kka(request: HttpRequest, code: str) -> HttpResponse:
    """The next KKA of the case: participants copied, open commitments listed in its plan."""
    conference, _role = access.access_conference(request.user, code, write=True)
    try:
        new = followup.next_kka_create(actor=_user(request), conference=conference)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_followup_anchor(conference.case, conference))
    copied = new.participants.filter(removed_at__isnull=True).count()  # type: ignore[attr-defined]
    still_open = conference.commitments.filter(  # type: ignore[attr-defined]
        status__in=OPEN_COMMITMENT_STATUSES
    ).count()
    messages.success(
        request,
        _(
            "KKA %(n)s dibuat. %(participants)s peserta disalin dari KKA %(previous)s "
            "(belum diundang; tautan dan komitmen kerahasiaan diminta lagi) dan "
            "%(open)s komitmen yang masih terbuka dicatat di bagian M. Periksa rencananya."
        )
        % {
            "n": new.sequence,
            "participants": copied,
            "previous": conference.sequence,
            "open": still_open,
        },
    )
    return redirect("conferences:plan", code=new.code)
