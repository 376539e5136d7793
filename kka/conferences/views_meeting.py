"""Meeting mode: the page the counsellor keeps open during the KKA."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kka.accounts.models import User
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.conferences import access, followup, meeting, services
from kka.conferences.asas import DEFAULT_STRUCTURING, asas_list
from kka.conferences.forms import LAISEG_QUESTIONS, PROCESS_QUESTIONS, CloseForm, PledgeForm
from kka.conferences.models import (
    Attendance,
    Commitment,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    EvaluationScheme,
    Minutes,
)
from kka.lib import dates
from kka.lib.http import no_store
from kka.lib.request_context import client_ip


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _meeting_url(conference: Conference) -> str:
    return reverse("conferences:meeting", kwargs={"code": conference.code})


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _minutes(conference: Conference) -> Minutes:
    # Read without creating: a GET writes nothing.
    return Minutes.objects.filter(conference=conference).first() or Minutes(conference=conference)


def _scheme(conference: Conference) -> str:
    """The organisation's laiseg scheme (UCA unless it chose BMB3)."""
    scheme = conference.case.organisation.evaluation_scheme
    return scheme if scheme in followup.ANSWER_KEYS else EvaluationScheme.UCA


def _laiseg_answers(
    conference: Conference, *, evaluations: list[Evaluation] | None = None
) -> dict[str, dict[str, Any]]:
    """Recorded laiseg per participant code: labelled answers (in the scheme they were
    given in) and whether the participant answered through their own link.
    ``evaluations``: all of the conference's evaluations, when the page read them."""
    recorded: dict[str, dict[str, Any]] = {}
    if evaluations is None:
        evaluations = list(
            conference.evaluations.filter(kind=EvaluationKind.LAISEG)  # type: ignore[attr-defined]
            .exclude(participant=None)
            .select_related("participant")
        )
    for evaluation in evaluations:
        if evaluation.kind != EvaluationKind.LAISEG or evaluation.participant is None:
            continue
        answers = evaluation.answers_dict
        questions = LAISEG_QUESTIONS.get(evaluation.scheme, LAISEG_QUESTIONS[EvaluationScheme.UCA])
        recorded[evaluation.participant.code] = {
            "rows": [(name, answers.get(key, "")) for key, name, _question in questions],
            "portal": evaluation.recorded_by_id is None,
            "at": evaluation.done_at,
        }
    return recorded


def _page(request: HttpRequest, conference: Conference, role: str, **extra: Any) -> HttpResponse:
    organisation = conference.case.organisation
    minutes = _minutes(conference)
    # Each list read once (in the models' order) and shared by the page's sections, so
    # the number of queries stays the same however much the KKA holds.
    evaluations = list(
        conference.evaluations.select_related("participant")  # type: ignore[attr-defined]
    )
    process = next((e for e in evaluations if e.kind == EvaluationKind.PROCESS), None)
    later = [
        e for e in evaluations if e.kind in (EvaluationKind.LAIJAPEN, EvaluationKind.LAIJAPANG)
    ]
    later.sort(key=lambda e: (e.due_on is None, e.due_on or dt.date.min))
    all_participants = list(conference.participants.all())  # type: ignore[attr-defined]
    addenda = list(minutes.addenda.select_related("author")) if minutes.pk else []
    process_answers = process.answers_dict if process else {}
    scheme = _scheme(conference)
    context = {
        "conference": conference,
        "case": conference.case,
        "writable": role in case_access.WRITER_ROLES,
        "role": role,
        "structuring": organisation.structuring_text or str(DEFAULT_STRUCTURING),
        "asas": asas_list(organisation.asas_variant),
        "participants": [p for p in all_participants if p.removed_at is None],
        "attendance_choices": Attendance.choices,
        "attendance_labels": dict(Attendance.choices),
        "minutes": minutes,
        "pledge_form": PledgeForm(),
        "finalised": minutes.finalised_at is not None,
        "addenda": addenda,
        "minutes_responses": meeting.minutes_responses(
            conference,
            minutes=minutes if minutes.pk else None,
            participants=all_participants,
            addenda=addenda,
        ),
        "commitments": conference.commitments.select_related(  # type: ignore[attr-defined]
            "participant", "counsellor"
        ).order_by("created_at"),
        "commitment_statuses": CommitmentStatus.choices,
        "later_evaluations": later,
        "scheme": scheme,
        "laiseg_questions": LAISEG_QUESTIONS[scheme],
        "laiseg_answers": _laiseg_answers(conference, evaluations=evaluations),
        "process_evaluation": process,
        "process_questions": [
            (key, name, question, process_answers.get(key, ""))
            for key, name, question in PROCESS_QUESTIONS
        ],
        "evaluation_open": conference.status in followup.EVALUATION_STATUSES,
        "may_close": conference.status == ConferenceStatus.HELD,
        "close_form": CloseForm(),
        **extra,
    }
    return render(request, "conferences/meeting.html", context)


@login_required
@no_store
def meeting_page(request: HttpRequest, code: str) -> HttpResponse:
    conference, role = access.access_conference(request.user, code)
    audit_log(
        action="conference.viewed",
        actor=_user(request),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
        refs={"page": "meeting"},
    )
    return _page(request, conference, role)


@login_required
@require_POST
@no_store
def minutes_save(request: HttpRequest, code: str) -> HttpResponse:
    conference, role = access.access_conference(request.user, code, write=True)
    try:
        base_version = int(request.POST.get("version", ""))
    except ValueError:
        base_version = -1
    if base_version < 0:
        message = _("Muat ulang halaman: versi notulen tidak dikenali.")
        if _wants_json(request):
            return JsonResponse({"message": message}, status=400)
        messages.error(request, message)
        return redirect("conferences:meeting", code=conference.code)
    values = {name: request.POST[name] for name in meeting.MINUTES_FIELDS if name in request.POST}
    try:
        minutes = meeting.minutes_save(
            actor=_user(request),
            conference=conference,
            base_version=base_version,
            values=values,
        )
    except meeting.MinutesConflict as conflict:
        if _wants_json(request):
            return JsonResponse(
                {
                    "conflict": True,
                    "current_version": conflict.current_version,
                    "current": conflict.current,
                    "message": _(
                        "Orang lain menyimpan lebih dulu. Gabungkan kedua teks, lalu simpan lagi."
                    ),
                },
                status=409,
            )
        return _page(request, conference, role, conflict=conflict)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse({"message": " ".join(exc.messages)}, status=400)
        messages.error(request, " ".join(exc.messages))
        return redirect("conferences:meeting", code=conference.code)
    saved_at = dates.local(timezone.now(), conference.case.organisation.time_zone)
    if _wants_json(request):
        return JsonResponse({"version": minutes.version, "saved_at": f"{saved_at:%H.%M.%S}"})
    messages.success(request, _("Notulen disimpan."))
    return redirect("conferences:meeting", code=conference.code)


@login_required
@require_POST
def minutes_finalise(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    try:
        meeting.minutes_finalise(actor=_user(request), conference=conference)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Notulen difinalkan. Koreksi selanjutnya berupa adendum."))
    return redirect("conferences:meeting", code=conference.code)


@login_required
@require_POST
def minutes_addendum(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    try:
        meeting.minutes_addendum_add(
            actor=_user(request),
            conference=conference,
            layer="private" if request.POST.get("layer") == "private" else "shared",
            text=request.POST.get("text", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Adendum dicatat."))
    return redirect("conferences:meeting", code=conference.code)


@login_required
@require_POST
def attendance_set(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    try:
        meeting.attendance_set(
            actor=_user(request),
            participant=target,
            attendance=request.POST.get("attendance", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_meeting_url(conference) + "#hadir")


@login_required
@require_POST
def pledge_on_device(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    """The pledge taken on the counsellor's device, or recorded as signed on paper."""
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    on_paper = request.POST.get("paper") == "1"
    form = PledgeForm(request.POST)
    try:
        if on_paper:
            services.pledge_take(
                participant=target,
                typed_name=target.full_name,
                agreed=True,
                ip=client_ip(request),
                channel="paper",
                actor=_user(request),
            )
        elif form.is_valid():
            services.pledge_take(
                participant=target,
                typed_name=form.cleaned_data["typed_name"],
                agreed=form.cleaned_data["agreed"],
                ip=client_ip(request),
                channel="device",
                actor=_user(request),
            )
        else:
            raise ValidationError(_("Tulis nama lengkap dan centang pernyataan."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Komitmen kerahasiaan %(name)s tercatat.") % {"name": target.full_name}
        )
    return redirect(_meeting_url(conference) + "#hadir")


@login_required
@require_POST
def commitment_add(request: HttpRequest, code: str) -> HttpResponse:
    """Fast entry during or after the meeting: who, what, by when, how it is checked."""
    conference, _role = access.access_conference(request.user, code, write=True)
    who = request.POST.get("who", "")
    participant = None
    counsellor = None
    if who == "me":
        counsellor = _user(request)
    elif who:
        participant = access.access_participant(request.user, conference, who, write=True)
    due_on = None
    if request.POST.get("due_on"):
        try:
            due_on = dt.date.fromisoformat(request.POST["due_on"])
        except ValueError:
            messages.error(request, _("Tanggal tidak valid."))
            return redirect(_meeting_url(conference) + "#komitmen")
    try:
        followup.commitment_add(
            actor=_user(request),
            conference=conference,
            participant=participant,
            counsellor=counsellor,
            what=request.POST.get("what", ""),
            due_on=due_on,
            check_method=request.POST.get("check_method", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Komitmen dicatat."))
    return redirect(_meeting_url(conference) + "#komitmen")


@login_required
@require_POST
def commitment_status(request: HttpRequest, code: str, commitment: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    target = Commitment.objects.filter(conference=conference, code=commitment).first()
    if target is None:
        raise Http404
    try:
        followup.commitment_set_status(
            actor=_user(request), commitment=target, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_meeting_url(conference) + "#komitmen")


@login_required
@require_POST
def laiseg(request: HttpRequest, code: str, participant: str) -> HttpResponse:
    """Immediate evaluation of one participant in the organisation's scheme (UCA or
    BMB3), recorded by the counsellor."""
    conference, _role = access.access_conference(request.user, code, write=True)
    target = access.access_participant(request.user, conference, participant, write=True)
    scheme = _scheme(conference)
    answers = {key: request.POST.get(key, "") for key in followup.ANSWER_KEYS[scheme]}
    try:
        followup.laiseg_record(
            conference=conference,
            participant=target,
            answers=answers,
            scheme=scheme,
            actor=_user(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Penilaian segera %(name)s tercatat.") % {"name": target.full_name}
        )
    return redirect(_meeting_url(conference) + "#penilaian")


@login_required
@require_POST
def process_evaluation(request: HttpRequest, code: str) -> HttpResponse:
    conference, _role = access.access_conference(request.user, code, write=True)
    answers = {key: request.POST.get(key, "") for key in followup.PROCESS_KEYS}
    try:
        followup.process_evaluation_record(
            actor=_user(request), conference=conference, answers=answers
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Evaluasi proses tercatat."))
    return redirect(_meeting_url(conference) + "#penilaian")


@login_required
@require_POST
def conference_close(request: HttpRequest, code: str) -> HttpResponse:
    """Close a held KKA with finalised minutes; laijapen and laijapang are scheduled
    (days after the KKA as typed on the page, 14 and 60 when left blank)."""
    conference, _role = access.access_conference(request.user, code, write=True)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                f"{form.fields[name].label}: {error}"
                for name, errors in form.errors.items()
                for error in errors
            ),
        )
        return redirect(_meeting_url(conference) + "#penilaian")
    try:
        followup.conference_close(
            actor=_user(request),
            conference=conference,
            short_days=form.cleaned_data["short_days"],
            long_days=form.cleaned_data["long_days"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_meeting_url(conference) + "#penilaian")
    due: dict[str, Any] = dict(
        conference.evaluations.filter(  # type: ignore[attr-defined]
            kind__in=[EvaluationKind.LAIJAPEN, EvaluationKind.LAIJAPANG]
        ).values_list("kind", "due_on")
    )
    messages.success(
        request,
        _(
            "KKA ditutup. Penilaian jangka pendek (laijapen) dijadwalkan %(short)s, "
            "penilaian jangka panjang (laijapang) %(long)s."
        )
        % {
            "short": dates.long_date(due[EvaluationKind.LAIJAPEN]),
            "long": dates.long_date(due[EvaluationKind.LAIJAPANG]),
        },
    )
    return redirect("conferences:detail", code=conference.code)
