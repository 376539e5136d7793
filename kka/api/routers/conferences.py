"""API routes: conferences (KKA), their participants, commitments and evaluations.

The same access functions and services as the web pages (kka.conferences.views,
views_meeting, views_followup) and the same audit rows (with ``via: api``). A
conference the caller may not see, or one of another organisation than the token's,
answers 404 exactly like a code that does not exist. Routes that change data need a
write token (403 ``read_only_token``) before anything is looked up.

The documents of a conference (``/{code}/documents``) are registered on this router by
``kka.api.routers.documents``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.responses import codes_4xx

from kka.accounts import policy
from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.api.access import code_or_404, in_token_organisation, require_write
from kka.api.errors import ApiError, ErrorBody
from kka.api.pagination import page_of
from kka.api.schemas_conferences import (
    CommitmentIn,
    CommitmentItem,
    CommitmentList,
    ConferenceCreateIn,
    ConferenceDetail,
    ConferenceFilters,
    ConferenceItem,
    ConferenceList,
    EvaluationList,
    InvitationIn,
    ListParams,
    ParticipantIn,
    ParticipantItem,
    ParticipantList,
    PlanIn,
    ProgressIn,
    ScheduleIn,
    StatusIn,
)
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases import selectors as case_selectors
from kka.cases.models import ProblemResource
from kka.conferences import access, followup, services
from kka.conferences.models import (
    Attendance,
    Commitment,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    Participant,
)
from kka.privacy.restriction import ProcessingRestricted

router = Router(tags=["conferences"])

VIA = "api"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _invalid(exc: ValidationError) -> ApiError:
    """422 with field names only (never the submitted values)."""
    if hasattr(exc, "error_dict"):
        detail = [{"loc": ["body", name], "type": "invalid"} for name in exc.error_dict]
    else:
        detail = [{"loc": ["body"], "type": "invalid"}]
    return ApiError(422, "invalid", " ".join(exc.messages), detail)


def _refused(exc: ValidationError, code: str = "conflict") -> ApiError:
    """A service refusal: field errors are invalid input (422); a refusal of the whole
    action in the object's present state is a conflict (409) with a stable code."""
    if hasattr(exc, "error_dict"):
        return _invalid(exc)
    return ApiError(409, code, " ".join(exc.messages))


def _restricted() -> ApiError:
    return ApiError(403, "processing_restricted", str(ProcessingRestricted.message))


def _conference(request: HttpRequest, code: str, *, write: bool = False) -> tuple[Conference, str]:
    """The conference by code through the web's access function, in the token's
    organisation; 404 for strangers, 403 for a supervisor's write."""
    conference, role = access.access_conference(request.user, code_or_404(code))
    in_token_organisation(request, conference.case.organisation_id)
    if write:
        try:
            conference, role = access.access_conference(request.user, conference.code, write=True)
        except ProcessingRestricted:
            raise _restricted() from None
    return conference, role


def _audit_view(request: HttpRequest, conference: Conference, **refs: Any) -> None:
    audit_log(
        action="conference.viewed",
        actor=_user(request),
        actor_role=role_in(_user(request), conference.case.organisation_id),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
        refs={"via": VIA, **refs},
    )


def _aware(value: dt.datetime | None, time_zone: str) -> dt.datetime | None:
    """A time without an offset is a wall-clock time in the organisation's zone (as the
    web plan form reads it)."""
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=zoneinfo.ZoneInfo(time_zone))


def _local_start(day: dt.date, time_zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(time_zone))


# --- shapes -----------------------------------------------------------------------------


def _item(conference: Conference) -> dict[str, Any]:
    organisation = conference.case.organisation
    return {
        "code": conference.code,
        "case": conference.case.code,
        "sequence": conference.sequence,
        "status": conference.status,
        "status_label": str(ConferenceStatus(conference.status).label),
        "approval": conference.approval,
        "bidang": conference.bidang,
        "bidang_label": case_selectors.bidang_label(organisation, conference.bidang),
        "topic": conference.topic,
        "place": conference.place,
        "starts_at": conference.starts_at,
        "ends_at": conference.ends_at,
        "created_at": conference.created_at,
        "updated_at": conference.updated_at,
    }


def _detail(conference: Conference) -> ConferenceDetail:
    conference = Conference.objects.select_related("case__organisation").get(pk=conference.pk)
    moves = services.STATUS_MOVES.get(conference.status, set())
    return ConferenceDetail(
        **_item(conference),
        functions=list(conference.functions or []),
        aim=conference.aim,
        expected_results=conference.expected_results,
        subject=conference.subject,
        summary=conference.summary,
        organiser=conference.organiser,
        materials_note=conference.materials_note,
        use_of_results=conference.use_of_results,
        evaluation_plan=conference.evaluation_plan,
        related_activities=conference.related_activities,
        special_notes=conference.special_notes,
        client_participation=conference.client_participation,
        briefing=conference.briefing,
        next_statuses=[s for s in ConferenceStatus.values if s in moves],
        participant_count=conference.participants.filter(removed_at__isnull=True).count(),
    )


def _participant(conference: Conference, participant: Participant) -> dict[str, Any]:
    problem = services.consent_problem(conference, participant)
    if participant.first_opened_at is not None:
        state = "opened"
    elif participant.invited_at is not None:
        state = "invited"
    else:
        state = "not_invited"
    attended: bool | None = None
    if participant.attendance != Attendance.UNKNOWN:
        attended = participant.attendance in (Attendance.PRESENT, Attendance.LEFT_EARLY)
    return {
        "code": participant.code,
        "name": participant.full_name,
        "role": participant.role,
        "category": participant.category,
        "category_label": str(participant.get_category_display()),
        "institution": participant.institution,
        "disclosure": participant.disclosure,
        "language": participant.language,
        "invitation": {
            "state": state,
            "invited_at": participant.invited_at,
            "first_opened_at": participant.first_opened_at,
            "letter_number": participant.letter_number,
        },
        "rsvp": participant.rsvp,
        "pledged": participant.pledged_at is not None,
        "attendance": participant.attendance,
        "attended": attended,
        "walk_in": participant.walk_in,
        "consent_problem": {"code": "consent", "message": problem} if problem else None,
    }


def _commitment(commitment: Commitment) -> dict[str, Any]:
    if commitment.participant is not None:
        who, name, role = (
            "participant",
            commitment.participant.full_name,
            commitment.participant.role,
        )
    else:
        assert commitment.counsellor is not None
        who, name, role = "counsellor", commitment.counsellor.full_name, _("konselor")
    progress = [
        {
            "at": note.at,
            "note": note.note,
            "by": "participant" if note.by_participant_id else "counsellor",
            "by_name": note.by_participant.full_name
            if note.by_participant is not None
            else (note.by_user.full_name if note.by_user is not None else ""),
        }
        for note in commitment.progress.all()  # type: ignore[attr-defined]
    ]
    return {
        "code": commitment.code,
        "who": who,
        "participant": commitment.participant.code if commitment.participant else None,
        "who_name": name,
        "who_role": role,
        "what": commitment.what,
        "due_on": commitment.due_on,
        "check_method": commitment.check_method,
        "status": commitment.status,
        "status_label": str(CommitmentStatus(commitment.status).label),
        "progress": progress,
        "created_at": commitment.created_at,
        "updated_at": commitment.updated_at,
    }


def _commitments(conference: Conference) -> QuerySet[Commitment]:
    return (
        Commitment.objects.filter(conference=conference)
        .select_related("participant", "counsellor")
        .prefetch_related("progress__by_user", "progress__by_participant")
        .order_by(F("due_on").asc(nulls_last=True), "id")
    )


def _evaluation(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "code": evaluation.code,
        "kind": evaluation.kind,
        "kind_label": str(EvaluationKind(evaluation.kind).label),
        "participant": evaluation.participant.code if evaluation.participant else None,
        "scheme": evaluation.scheme,
        "answers": evaluation.answers_dict,
        "client_situation": evaluation.client_situation,
        "commitment_results": evaluation.commitment_results_dict,
        "analysis": evaluation.analysis,
        "data_needs_met": evaluation.data_needs_met,
        "due_on": evaluation.due_on,
        "done": evaluation.done_at is not None,
        "done_at": evaluation.done_at,
        "created_at": evaluation.created_at,
    }


def _plan_fields(payload: PlanIn, conference: Conference, *, exclude: set[str]) -> dict[str, Any]:
    """The plan fields sent, times made aware in the organisation's zone. As the web
    form: an end needs a start."""
    fields = {
        name: value
        for name, value in payload.dict(exclude_unset=True, exclude=exclude).items()
        if value is not None or name in ("starts_at", "ends_at")
    }
    zone = conference.case.organisation.time_zone
    for name in ("starts_at", "ends_at"):
        if name in fields:
            fields[name] = _aware(fields[name], zone)
    starts = fields.get("starts_at", conference.starts_at)
    ends = fields.get("ends_at", conference.ends_at)
    if ends is not None and starts is None:
        raise _invalid(
            ValidationError({"starts_at": _("Isi waktu mulai bila waktu selesai diisi.")})
        )
    return fields


# --- conferences ------------------------------------------------------------------------


@router.get(
    "",
    response={200: ConferenceList, codes_4xx: ErrorBody},
    url_name="conference_list",
    summary="KKA dari kasus yang boleh dilihat pemanggil",
)
def conference_list(request: HttpRequest, filters: Query[ConferenceFilters]) -> dict[str, Any]:
    """The conferences of the caller's visible cases in the token's organisation,
    ordered by planned start (unscheduled last), then code. Filters: status, case
    (code), bidang, from/to (days of the planned start in the organisation's zone,
    both inclusive)."""
    organisation = request.organisation  # type: ignore[attr-defined]
    if not policy.may_counsel(getattr(request, "membership", None)):
        raise Http404  # like the case list: only counselling roles have one
    cases = case_access.visible_cases(request.user).filter(organisation=organisation)
    qs: QuerySet[Conference] = Conference.objects.filter(case__in=cases).select_related(
        "case__organisation"
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.case:
        qs = qs.filter(case__code=filters.case)
    if filters.bidang:
        qs = qs.filter(bidang=filters.bidang)
    if filters.from_ is not None:
        qs = qs.filter(starts_at__gte=_local_start(filters.from_, organisation.time_zone))
    if filters.to is not None:
        end = filters.to + dt.timedelta(days=1)
        qs = qs.filter(starts_at__lt=_local_start(end, organisation.time_zone))
    qs = qs.order_by(F("starts_at").asc(nulls_last=True), "code")
    rows, count = page_of(qs, filters.limit, filters.offset)
    audit_log(
        action="conference.list_viewed",
        actor=_user(request),
        actor_role=role_in(_user(request), organisation.pk),
        organisation=organisation.pk,
        object_type="organisation",
        object_ref=organisation.code,
        refs={"shown": ",".join(c.code for c in rows), "via": VIA},
    )
    return {"items": [_item(c) for c in rows], "count": count}


@router.get(
    "/{code}",
    response={200: ConferenceDetail, codes_4xx: ErrorBody},
    url_name="conference_detail",
    summary="Satu KKA dan rencananya",
)
def conference_detail(request: HttpRequest, code: str) -> ConferenceDetail:
    conference, _role = _conference(request, code)
    _audit_view(request, conference)
    return _detail(conference)


@router.post(
    "",
    response={201: ConferenceDetail, codes_4xx: ErrorBody},
    url_name="conference_create",
    summary="Membuat KKA baru untuk sebuah kasus",
)
def conference_create(
    request: HttpRequest, payload: ConferenceCreateIn
) -> Status[ConferenceDetail]:
    """As the web "KKA baru" button: the plan pre-filled from the case, then the plan
    fields sent (if any) applied in the same transaction."""
    require_write(request)
    case = case_access.access_case(request.user, code_or_404(payload.case_code))
    in_token_organisation(request, case.organisation_id)
    try:
        case = case_access.access_case(request.user, case.code, write=True)
    except ProcessingRestricted:
        raise _restricted() from None
    try:
        with transaction.atomic():
            conference = services.conference_create(actor=_user(request), case=case)
            fields = _plan_fields(payload, conference, exclude={"case_code"})
            if fields:
                conference = services.conference_update_plan(
                    actor=_user(request), conference=conference, **fields
                )
    except ValidationError as exc:
        raise _invalid(exc) from None
    return Status(201, _detail(conference))


@router.post(
    "/{code}/schedule",
    response={200: ConferenceDetail, codes_4xx: ErrorBody},
    url_name="conference_schedule",
    summary="Menjadwalkan ulang: waktu mulai/selesai dan tempat",
)
def conference_schedule(request: HttpRequest, code: str, payload: ScheduleIn) -> ConferenceDetail:
    """The web plan's time and place (a change after invitations sends calendar updates).
    A KKA that is held, closed or cancelled answers 409 ``not_editable``."""
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    fields = _plan_fields(payload, conference, exclude=set())  # type: ignore[arg-type]
    if not fields:
        raise ApiError(422, "invalid", _("Data yang dikirim tidak valid."), [{"loc": ["body"]}])
    try:
        conference = services.conference_update_plan(
            actor=_user(request), conference=conference, **fields
        )
    except ValidationError as exc:
        raise _refused(exc, "not_editable") from None
    return _detail(conference)


@router.post(
    "/{code}/status",
    response={200: ConferenceDetail, codes_4xx: ErrorBody},
    url_name="conference_status",
    summary="Mengubah status KKA",
)
def conference_status(request: HttpRequest, code: str, payload: StatusIn) -> ConferenceDetail:
    """The web's moves (draft → planned → invited → held → closed, cancelling before
    the meeting); any other move answers 409 ``invalid_transition``."""
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    try:
        conference = services.conference_set_status(
            actor=_user(request), conference=conference, status=payload.status
        )
    except ValidationError as exc:
        raise _refused(exc, "invalid_transition") from None
    return _detail(conference)


# --- participants -----------------------------------------------------------------------


def _active_participant(request: HttpRequest, conference: Conference, code: str) -> Participant:
    try:
        participant = access.access_participant(
            request.user, conference, code_or_404(code), write=True
        )
    except ProcessingRestricted:
        raise _restricted() from None
    if participant.removed_at is not None:
        raise Http404
    return participant


@router.get(
    "/{code}/participants",
    response={200: ParticipantList, codes_4xx: ErrorBody},
    url_name="participant_list",
    summary="Peserta KKA (urutan seperti halaman KKA)",
)
def participant_list(request: HttpRequest, code: str, params: Query[ListParams]) -> dict[str, Any]:
    conference, _role = _conference(request, code)
    qs = Participant.objects.filter(conference=conference, removed_at__isnull=True).order_by(
        "position", "id"
    )
    rows, count = page_of(qs, params.limit, params.offset)
    _audit_view(request, conference, page="participants")
    return {"items": [_participant(conference, p) for p in rows], "count": count}


@router.post(
    "/{code}/participants",
    response={201: ParticipantItem, codes_4xx: ErrorBody},
    url_name="participant_add",
    summary="Menambah peserta",
)
def participant_add(
    request: HttpRequest, code: str, payload: ParticipantIn
) -> Status[dict[str, Any]]:
    """By hand (``full_name``, ``role``, ``category``) or from a resource of the case's
    problem map (``resource``). As on the web, a participant the client's consent does
    not cover may be added but not invited: the item's ``consent_problem`` says why,
    and the invitation answers 409 ``consent``."""
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    try:
        if payload.resource:
            resource = ProblemResource.objects.filter(
                problem_map__case=conference.case, code=code_or_404(payload.resource)
            ).first()
            if resource is None:
                raise Http404
            participant = services.participant_add(
                actor=_user(request),
                conference=conference,
                resource=resource,
                disclosure=payload.disclosure,
            )
        else:
            missing = [
                name
                for name in ("full_name", "role", "category")
                if not (getattr(payload, name) or "").strip()
            ]
            if missing:
                raise ApiError(
                    422,
                    "invalid",
                    _("Nama, peran dan kategori peserta wajib diisi."),
                    [{"loc": ["body", name], "type": "missing"} for name in missing],
                )
            if payload.email:
                try:
                    validate_email(payload.email)
                except ValidationError:
                    raise ApiError(
                        422,
                        "invalid",
                        _("Alamat email tidak valid."),
                        [{"loc": ["body", "email"], "type": "invalid"}],
                    ) from None
            participant = services.participant_add(
                actor=_user(request),
                conference=conference,
                full_name=payload.full_name,
                role=payload.role,
                category=payload.category,
                institution=payload.institution,
                email=payload.email,
                phone=payload.phone,
                disclosure=payload.disclosure,
                language=payload.language,
                walk_in=payload.walk_in,
            )
    except ValidationError as exc:
        raise _refused(exc, "not_editable") from None
    return Status(201, _participant(conference, participant))


@router.delete(
    "/{code}/participants/{participant_code}",
    response={204: None, codes_4xx: ErrorBody},
    url_name="participant_remove",
    summary="Menghapus peserta dari KKA",
)
def participant_remove(request: HttpRequest, code: str, participant_code: str) -> Status[None]:
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    participant = _active_participant(request, conference, participant_code)
    try:
        services.participant_remove(actor=_user(request), participant=participant)
    except ValidationError as exc:
        raise _refused(exc, "not_editable") from None
    return Status(204, None)


@router.post(
    "/{code}/participants/{participant_code}/invitation",
    response={200: ParticipantItem, codes_4xx: ErrorBody},
    url_name="invitation_send",
    summary="Mengirim undangan lewat email",
)
def invitation_send(
    request: HttpRequest, code: str, participant_code: str, payload: InvitationIn
) -> dict[str, Any]:
    """The web's "Undang" by email: a letter number, a private link mailed to the
    participant (never returned here). Refused with 409 ``consent`` when the client's
    consent does not cover the participant, ``approval_required`` when the plan needs
    approval first, ``not_ready`` otherwise (no time or place, wrong status, no email)."""
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    participant = _active_participant(request, conference, participant_code)
    try:
        services.invitation_send(
            actor=_user(request), participant=participant, channel=payload.channel
        )
    except ValidationError as exc:
        code_of = {"consent": "consent", "approval": "approval_required"}
        raise ApiError(
            409, code_of.get(str(getattr(exc, "code", "")), "not_ready"), " ".join(exc.messages)
        ) from None
    participant.refresh_from_db()
    return _participant(conference, participant)


# --- commitments ------------------------------------------------------------------------


@router.get(
    "/{code}/commitments",
    response={200: CommitmentList, codes_4xx: ErrorBody},
    url_name="commitment_list",
    summary="Komitmen KKA dan catatan kemajuannya",
)
def commitment_list(request: HttpRequest, code: str, params: Query[ListParams]) -> dict[str, Any]:
    """Ordered by due date (none last), then creation."""
    conference, _role = _conference(request, code)
    rows, count = page_of(_commitments(conference), params.limit, params.offset)
    _audit_view(request, conference, page="commitments")
    return {"items": [_commitment(c) for c in rows], "count": count}


@router.post(
    "/{code}/commitments",
    response={201: CommitmentItem, codes_4xx: ErrorBody},
    url_name="commitment_add",
    summary="Mencatat komitmen",
)
def commitment_add(
    request: HttpRequest, code: str, payload: CommitmentIn
) -> Status[dict[str, Any]]:
    """``who``: a participant's code or ``me``. Recorded while the KKA is planned,
    invited, held or closed (409 ``not_editable`` otherwise)."""
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    participant = None
    counsellor = None
    if payload.who == "me":
        counsellor = _user(request)
    else:
        participant = Participant.objects.filter(
            conference=conference, code=payload.who, removed_at__isnull=True
        ).first()
        if participant is None:
            raise ApiError(
                422,
                "invalid",
                _("Peserta itu bukan peserta KKA ini."),
                [{"loc": ["body", "who"], "type": "invalid"}],
            )
    try:
        commitment = followup.commitment_add(
            actor=_user(request),
            conference=conference,
            participant=participant,
            counsellor=counsellor,
            what=payload.what,
            due_on=payload.due_on,
            check_method=payload.check_method,
        )
    except ValidationError as exc:
        raise _refused(exc, "not_editable") from None
    return Status(201, _commitment(_commitments(conference).get(pk=commitment.pk)))


@router.post(
    "/{code}/commitments/{commitment_code}/progress",
    response={201: CommitmentItem, codes_4xx: ErrorBody},
    url_name="commitment_progress",
    summary="Mencatat kemajuan dan/atau status komitmen",
)
def commitment_progress(
    request: HttpRequest, code: str, commitment_code: str, payload: ProgressIn
) -> Status[dict[str, Any]]:
    require_write(request)
    conference, _role = _conference(request, code, write=True)
    commitment = Commitment.objects.filter(
        conference=conference, code=code_or_404(commitment_code)
    ).first()
    if commitment is None:
        raise Http404
    if not payload.note.strip() and payload.status is None:
        raise ApiError(
            422,
            "invalid",
            _("Tuliskan catatan kemajuan atau pilih status."),
            [{"loc": ["body", "note"], "type": "missing"}],
        )
    try:
        with transaction.atomic():
            if payload.note.strip():
                followup.commitment_progress_add(
                    commitment=commitment, note=payload.note, actor=_user(request)
                )
            if payload.status is not None:
                followup.commitment_set_status(
                    actor=_user(request), commitment=commitment, status=payload.status
                )
    except ValidationError as exc:
        raise _invalid(exc) from None
    return Status(201, _commitment(_commitments(conference).get(pk=commitment.pk)))


# --- evaluations ------------------------------------------------------------------------


@router.get(
    "/{code}/evaluations",
    response={200: EvaluationList, codes_4xx: ErrorBody},
    url_name="evaluation_list",
    summary="Penilaian KKA (laiseg, laijapen, laijapang, proses) dan hasilnya",
)
def evaluation_list(request: HttpRequest, code: str, params: Query[ListParams]) -> dict[str, Any]:
    conference, _role = _conference(request, code)
    qs = (
        Evaluation.objects.filter(conference=conference)
        .select_related("participant")
        .order_by("created_at", "id")
    )
    rows, count = page_of(qs, params.limit, params.offset)
    _audit_view(request, conference, page="evaluation")
    return {"items": [_evaluation(e) for e in rows], "count": count}


__all__ = ["ConferenceItem", "router"]
