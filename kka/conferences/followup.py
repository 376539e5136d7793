"""After the meeting: commitments and their progress, evaluations (laiseg, process,
laijapen, laijapang), closing the KKA, follow-up and referral (alih tangan kasus),
and the next KKA.

Every write is one transaction with its audit row (codes only: never the text of a
commitment, an answer, a reason or a note). Reads are scoped through
``kka.cases.access.visible_cases``.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases import selectors as case_selectors
from kka.cases import services as case_services
from kka.cases.models import Case, CaseStatus, Consent
from kka.conferences import services
from kka.conferences.models import (
    LATER_EVALUATION_KINDS,
    OPEN_COMMITMENT_STATUSES,
    Commitment,
    CommitmentProgress,
    CommitmentResult,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    DataNeeds,
    Evaluation,
    EvaluationKind,
    EvaluationScheme,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Minutes,
    Participant,
    ReferralTo,
)

# Commitments are agreed while planning or in the meeting, and recorded until closing.
COMMITMENT_STATUSES = {
    ConferenceStatus.PLANNED,
    ConferenceStatus.INVITED,
    ConferenceStatus.HELD,
    ConferenceStatus.CLOSED,
}
# Immediate evaluation happens at the end of the meeting (or just after, on paper).
EVALUATION_STATUSES = {ConferenceStatus.HELD, ConferenceStatus.CLOSED}
ANSWER_KEYS: dict[str, tuple[str, ...]] = {
    EvaluationScheme.UCA: ("understanding", "comfort", "action"),
    EvaluationScheme.BMB3: (
        "berpikir",
        "merasa",
        "bersikap",
        "bertindak",
        "bertanggung_jawab",
    ),
}
PROCESS_KEYS: tuple[str, ...] = ("participation", "atmosphere", "adherence")
ANSWER_MAX = 4000
FOLLOWUP_MOVES: dict[str, set[str]] = {
    FollowUpStatus.PLANNED: {
        FollowUpStatus.IN_PROGRESS,
        FollowUpStatus.DONE,
        FollowUpStatus.CANCELLED,
    },
    FollowUpStatus.IN_PROGRESS: {FollowUpStatus.DONE, FollowUpStatus.CANCELLED},
    FollowUpStatus.DONE: set(),
    FollowUpStatus.CANCELLED: set(),
}
# Referral targets inside the school's own circle: sharing with school staff is enough.
SCHOOL_CIRCLE_REFERRALS = {ReferralTo.TPPK, ReferralTo.OTHER_COUNSELLOR}


def _audit(
    action: str,
    *,
    actor: User | None,
    organisation_id: int,
    object_type: str,
    object_ref: str,
    **refs: Any,
) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, organisation_id) if actor else "",
        organisation=organisation_id,
        object_type=object_type,
        object_ref=object_ref,
        refs=refs,
    )


def _locked_conference(conference: Conference) -> Conference:
    return (
        Conference.objects.select_for_update(of=("self",))
        .select_related("case__organisation", "case__client")
        .get(pk=conference.pk)
    )


# --- commitments --------------------------------------------------------------------------


@transaction.atomic
def commitment_add(
    *,
    actor: User,
    conference: Conference,
    participant: Participant | None = None,
    counsellor: User | None = None,
    what: str,
    due_on: dt.date | None = None,
    check_method: str = "",
) -> Commitment:
    conference = _locked_conference(conference)
    if conference.status not in COMMITMENT_STATUSES:
        raise ValidationError(
            _('Komitmen tidak dapat dicatat untuk KKA berstatus "%(status)s".')
            % {"status": ConferenceStatus(conference.status).label}
        )
    if (participant is None) == (counsellor is None):
        raise ValidationError(
            _("Pilih satu pihak yang berkomitmen: seorang peserta atau konselor.")
        )
    if participant is not None and (
        participant.conference_id != conference.pk or participant.removed_at is not None
    ):
        raise ValidationError(_("Peserta itu bukan peserta KKA ini."))
    if counsellor is not None and case_access.case_role(counsellor, conference.case) is None:
        raise ValidationError(_("Konselor itu tidak tercatat pada kasus ini."))
    if not what.strip():
        raise ValidationError({"what": _("Tuliskan isi komitmen.")})
    commitment = Commitment(
        conference=conference,
        organisation_id=conference.case.organisation_id,
        participant=participant,
        counsellor=counsellor,
        what=what.strip(),
        due_on=due_on,
        check_method=check_method.strip(),
        created_by=actor,
    )
    commitment.full_clean()
    commitment.save()
    _audit(
        "commitment.added",
        actor=actor,
        organisation_id=conference.case.organisation_id,
        object_type="commitment",
        object_ref=commitment.code,
        conference=conference.code,
        who="participant" if participant is not None else "counsellor",
        participant=participant.code if participant is not None else "",
    )
    return commitment


@transaction.atomic
def commitment_set_status(*, actor: User, commitment: Commitment, status: str) -> Commitment:
    commitment = (
        Commitment.objects.select_for_update(of=("self",))
        .select_related("conference__case")
        .get(pk=commitment.pk)
    )
    if status not in CommitmentStatus.values:
        raise ValidationError(_("Status komitmen tidak dikenal."))
    old = commitment.status
    if old == status:
        return commitment
    commitment.status = status
    commitment.updated_at = timezone.now()
    commitment.full_clean()
    commitment.save(update_fields=["status", "updated_at"])
    _audit(
        "commitment.status_changed",
        actor=actor,
        organisation_id=commitment.conference.case.organisation_id,
        object_type="commitment",
        object_ref=commitment.code,
        conference=commitment.conference.code,
        old=old,
        new=status,
    )
    return commitment


@transaction.atomic
def commitment_progress_add(
    *,
    commitment: Commitment,
    note: str,
    actor: User | None = None,
    participant: Participant | None = None,
) -> CommitmentProgress:
    """A progress note by a counsellor (``actor``) or by the participant who committed.

    A participant may only report on their own commitments: anything else is
    ``PermissionDenied``.
    """
    if (actor is None) == (participant is None):
        raise ValueError("exactly one of actor or participant")
    commitment = Commitment.objects.select_related("conference__case").get(pk=commitment.pk)
    if participant is not None and (
        commitment.participant_id is None
        or commitment.participant_id != participant.pk
        or participant.removed_at is not None
    ):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError({"note": _("Tuliskan catatan kemajuan.")})
    progress = CommitmentProgress(
        commitment=commitment, note=note.strip(), by_user=actor, by_participant=participant
    )
    progress.full_clean()
    progress.save()
    if commitment.status == CommitmentStatus.PLANNED:
        commitment.status = CommitmentStatus.IN_PROGRESS
        commitment.updated_at = timezone.now()
        commitment.save(update_fields=["status", "updated_at"])
    _audit(
        "commitment.progress_added",
        actor=actor,
        organisation_id=commitment.conference.case.organisation_id,
        object_type="commitment",
        object_ref=commitment.code,
        conference=commitment.conference.code,
        by="participant" if participant is not None else "counsellor",
        participant=participant.code if participant is not None else "",
    )
    return progress


def commitments_of_participant(participant: Participant) -> QuerySet[Commitment]:
    """Only the commitments this very participant row made (the portal's view)."""
    return Commitment.objects.filter(participant=participant).order_by("due_on", "id")


def _visible_commitments(viewer: Any, organisation: Organisation) -> QuerySet[Commitment]:
    cases = case_access.visible_cases(viewer).filter(organisation=organisation)
    # The organisation first (index organisation, status, due_on): the rows read grow
    # with the organisation, not with every organisation's commitments.
    return Commitment.objects.filter(
        organisation=organisation, conference__case__in=cases, status__in=OPEN_COMMITMENT_STATUSES
    ).select_related("conference__case", "participant", "counsellor")


def commitments_due(
    *, viewer: Any, organisation: Organisation, start: dt.date, end: dt.date
) -> QuerySet[Commitment]:
    """Open commitments due between ``start`` and ``end`` (inclusive) on visible cases."""
    return _visible_commitments(viewer, organisation).filter(due_on__range=(start, end))


def commitments_overdue(
    *, viewer: Any, organisation: Organisation, today: dt.date
) -> QuerySet[Commitment]:
    """Open commitments whose due date has passed, on the cases the viewer may see."""
    return _visible_commitments(viewer, organisation).filter(due_on__lt=today)


# --- evaluations ----------------------------------------------------------------------------


def _clean_answers(answers: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    unknown = set(answers) - set(keys)
    if unknown:
        raise ValidationError(
            _("Jawaban tidak dikenal: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        )
    clean: dict[str, str] = {}
    for key in keys:
        value = answers.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationError(_("Jawaban harus berupa teks."))
        clean[key] = (value or "").strip()[:ANSWER_MAX]
    return clean


def _check_evaluation_time(conference: Conference) -> None:
    if conference.status not in EVALUATION_STATUSES:
        raise ValidationError(_("Penilaian hanya dapat dicatat setelah KKA terlaksana."))


@transaction.atomic
def laiseg_record(
    *,
    conference: Conference,
    participant: Participant | None = None,
    answers: dict[str, Any],
    scheme: str = EvaluationScheme.UCA,
    actor: User | None = None,
    via_portal: bool = False,
) -> Evaluation:
    """Immediate evaluation (laiseg): one per participant, or the counsellor's own.

    Through the portal the participant answers for themselves (no ``actor``);
    otherwise a counsellor records it.
    """
    conference = _locked_conference(conference)
    if via_portal and (participant is None or actor is not None):
        raise ValueError("a portal answer names the participant and no actor")
    if not via_portal and actor is None:
        raise ValueError("a counsellor records laiseg outside the portal")
    _check_evaluation_time(conference)
    if scheme not in ANSWER_KEYS:
        raise ValidationError(_("Skema penilaian tidak dikenal."))
    if participant is not None:
        if participant.conference_id != conference.pk or participant.removed_at is not None:
            raise ValidationError(_("Peserta itu bukan peserta KKA ini."))
        if Evaluation.objects.filter(
            conference=conference, kind=EvaluationKind.LAISEG, participant=participant
        ).exists():
            raise ValidationError(_("Penilaian segera peserta ini sudah tercatat."))
    clean = _clean_answers(answers, ANSWER_KEYS[scheme])
    evaluation = Evaluation(
        conference=conference,
        kind=EvaluationKind.LAISEG,
        participant=participant,
        scheme=scheme,
        answers=json.dumps(clean, ensure_ascii=False),
        done_at=timezone.now(),
        recorded_by=actor,
    )
    evaluation.full_clean()
    evaluation.save()
    _audit(
        "evaluation.recorded",
        actor=actor,
        organisation_id=conference.case.organisation_id,
        object_type="evaluation",
        object_ref=evaluation.code,
        conference=conference.code,
        kind=evaluation.kind,
        scheme=scheme,
        channel="portal" if via_portal else "staff",
        participant=participant.code if participant is not None else "",
    )
    return evaluation


def _save_evaluation(evaluation: Evaluation, *, actor: User, **refs: Any) -> Evaluation:
    """Stamp, validate, save and audit a staff-recorded evaluation (codes only)."""
    evaluation.done_at = timezone.now()
    evaluation.recorded_by = actor
    evaluation.full_clean()
    evaluation.save()
    conference = evaluation.conference
    _audit(
        "evaluation.recorded",
        actor=actor,
        organisation_id=conference.case.organisation_id,
        object_type="evaluation",
        object_ref=evaluation.code,
        conference=conference.code,
        kind=evaluation.kind,
        channel="staff",
        **refs,
    )
    return evaluation


@transaction.atomic
def process_evaluation_record(
    *, actor: User, conference: Conference, answers: dict[str, Any]
) -> Evaluation:
    """The counsellor's process evaluation (one per KKA; recording again replaces it)."""
    conference = _locked_conference(conference)
    _check_evaluation_time(conference)
    clean = _clean_answers(answers, PROCESS_KEYS)
    evaluation = Evaluation.objects.filter(
        conference=conference, kind=EvaluationKind.PROCESS
    ).first() or Evaluation(conference=conference, kind=EvaluationKind.PROCESS)
    evaluation.answers = json.dumps(clean, ensure_ascii=False)
    return _save_evaluation(evaluation, actor=actor)


def conference_local_date(conference: Conference) -> dt.date:
    """The day the KKA started, in the organisation's zone (today there if unset)."""
    zone = zoneinfo.ZoneInfo(conference.case.organisation.time_zone)
    if conference.starts_at is None:
        return timezone.now().astimezone(zone).date()
    return conference.starts_at.astimezone(zone).date()


@transaction.atomic
def later_evaluations_schedule(
    *, actor: User, conference: Conference, short_days: int = 14, long_days: int = 60
) -> list[Evaluation]:
    """One laijapen and one laijapang, due ``short_days`` / ``long_days`` after the day
    the KKA started (organisation's zone). Calling again changes nothing."""
    conference = _locked_conference(conference)
    _check_evaluation_time(conference)
    if not 0 < short_days < long_days:
        raise ValidationError(
            _("Penilaian jangka pendek harus dijadwalkan sebelum penilaian jangka panjang.")
        )
    start = conference_local_date(conference)
    result: list[Evaluation] = []
    for kind, days in (
        (EvaluationKind.LAIJAPEN, short_days),
        (EvaluationKind.LAIJAPANG, long_days),
    ):
        existing = Evaluation.objects.filter(conference=conference, kind=kind).first()
        if existing is not None:
            result.append(existing)
            continue
        evaluation = Evaluation(
            conference=conference,
            kind=kind,
            due_on=start + dt.timedelta(days=days),
            recorded_by=None,
        )
        evaluation.full_clean()
        evaluation.save()
        _audit(
            "evaluation.scheduled",
            actor=actor,
            organisation_id=conference.case.organisation_id,
            object_type="evaluation",
            object_ref=evaluation.code,
            conference=conference.code,
            kind=kind,
            due_on=evaluation.due_on.isoformat() if evaluation.due_on else "",
        )
        result.append(evaluation)
    return result


@transaction.atomic
def later_evaluation_record(
    *,
    actor: User,
    evaluation: Evaluation,
    client_situation: str,
    commitment_results: dict[str, dict[str, str]],
    analysis: str,
    data_needs_met: str,
) -> Evaluation:
    """Record a laijapen or laijapang: the client's situation, each commitment's result
    (``{code: {"result": done|partly|not_done, "note": "..."}}``), the analysis of aims
    against results and whether the data needs were met."""
    evaluation = (
        Evaluation.objects.select_for_update(of=("self",))
        .select_related("conference__case")
        .get(pk=evaluation.pk)
    )
    if evaluation.kind not in LATER_EVALUATION_KINDS:
        raise ValidationError(_("Hanya penilaian jangka pendek atau jangka panjang."))
    if data_needs_met not in DataNeeds.values:
        raise ValidationError({"data_needs_met": _("Pilihan kebutuhan data tidak dikenal.")})
    conference = evaluation.conference
    known = set(Commitment.objects.filter(conference=conference).values_list("code", flat=True))
    unknown = set(commitment_results) - known
    if unknown:
        raise ValidationError(_("Hasil untuk komitmen yang bukan dari KKA ini."))
    results: dict[str, dict[str, str]] = {}
    for code, item in commitment_results.items():
        result = item.get("result", "")
        if result not in CommitmentResult.values:
            raise ValidationError(_("Pilih hasil untuk setiap komitmen."))
        results[code] = {"result": result, "note": (item.get("note") or "").strip()[:ANSWER_MAX]}
    evaluation.client_situation = client_situation.strip()
    evaluation.commitment_results = json.dumps(results, ensure_ascii=False)
    evaluation.analysis = analysis.strip()
    evaluation.data_needs_met = data_needs_met
    _save_evaluation(evaluation, actor=actor, data_needs=data_needs_met, commitments=len(results))
    return evaluation


@transaction.atomic
def conference_close(
    *, actor: User, conference: Conference, short_days: int = 14, long_days: int = 60
) -> Conference:
    """Close a held KKA whose minutes are final, and schedule laijapen and laijapang."""
    conference = _locked_conference(conference)
    if conference.status != ConferenceStatus.HELD:
        raise ValidationError(_("Hanya KKA yang sudah terlaksana yang dapat ditutup."))
    minutes = Minutes.objects.filter(conference=conference).first()
    if minutes is None or minutes.finalised_at is None:
        raise ValidationError(_("Finalkan notulen sebelum menutup KKA."))
    conference = services.conference_set_status(
        actor=actor, conference=conference, status=ConferenceStatus.CLOSED
    )
    later_evaluations_schedule(
        actor=actor, conference=conference, short_days=short_days, long_days=long_days
    )
    return conference


# --- follow-up and referral -------------------------------------------------------------------


def referral_consent_problem(case: Case, referral_to: str) -> str | None:
    """Why the client's consent in force does not allow this referral, or None."""
    client = case.client
    consent = case_selectors.current_consent(client)
    if consent is None:
        if case_selectors.client_is_minor(client):
            return _(
                "Alih tangan kasus memerlukan persetujuan orang tua/wali yang berlaku; "
                "belum ada (konseli masih anak)."
            )
        return _("Alih tangan kasus memerlukan persetujuan konseli yang berlaku; belum ada.")
    if consent.share_professionals:
        return None
    if referral_to in SCHOOL_CIRCLE_REFERRALS and consent.share_school_staff:
        return None
    field = (
        "share_school_staff" if referral_to in SCHOOL_CIRCLE_REFERRALS else "share_professionals"
    )
    purpose = Consent._meta.get_field(field)
    assert isinstance(purpose, models.Field)
    return _(
        'Alih tangan kasus ditolak: persetujuan yang berlaku tidak mencakup "%(purpose)s".'
    ) % {"purpose": purpose.verbose_name}


@transaction.atomic
def followup_add(
    *,
    actor: User,
    case: Case,
    kind: str,
    conference: Conference | None = None,
    referral_to: str = "",
    referral_to_name: str = "",
    reason: str = "",
    planned_on: dt.date | None = None,
    note: str = "",
) -> FollowUp:
    """Plan a follow-up. A referral passes the consent gate and moves the case to
    "referred" when its state machine allows."""
    case = Case.objects.select_for_update().select_related("client").get(pk=case.pk)
    if case.status == CaseStatus.CLOSED:
        raise ValidationError(_("Kasus yang sudah ditutup harus dibuka kembali terlebih dahulu."))
    if kind not in FollowUpKind.values:
        raise ValidationError({"kind": _("Jenis tindak lanjut tidak dikenal.")})
    if conference is not None and conference.case_id != case.pk:
        raise ValidationError(_("KKA itu bukan dari kasus ini."))
    consent = None
    if kind == FollowUpKind.REFERRAL:
        if referral_to not in ReferralTo.values:
            raise ValidationError({"referral_to": _("Pilih pihak penerima alih tangan kasus.")})
        if not reason.strip():
            raise ValidationError({"reason": _("Tuliskan alasan alih tangan kasus.")})
        problem = referral_consent_problem(case, referral_to)
        if problem:
            raise ValidationError(problem, code="consent")
        consent = case_selectors.current_consent(case.client)
    elif referral_to or referral_to_name or reason:
        raise ValidationError(_("Penerima dan alasan hanya untuk alih tangan kasus."))
    followup = FollowUp(
        case=case,
        conference=conference,
        kind=kind,
        referral_to=referral_to,
        referral_to_name=referral_to_name.strip(),
        reason=reason.strip(),
        consent=consent,
        planned_on=planned_on,
        note=note.strip(),
        created_by=actor,
    )
    followup.full_clean()
    followup.save()
    _audit(
        "followup.added",
        actor=actor,
        organisation_id=case.organisation_id,
        object_type="followup",
        object_ref=followup.code,
        case=case.code,
        conference=conference.code if conference is not None else "",
        kind=kind,
        referral_to=referral_to,
        consent=consent.code if consent is not None else "",
    )
    if kind == FollowUpKind.REFERRAL and CaseStatus.REFERRED in case_services.STATUS_MOVES.get(
        case.status, set()
    ):
        case_services.case_change_status(actor=actor, case=case, status=CaseStatus.REFERRED)
    return followup


@transaction.atomic
def followup_set_status(*, actor: User, followup: FollowUp, status: str) -> FollowUp:
    followup = (
        FollowUp.objects.select_for_update(of=("self",)).select_related("case").get(pk=followup.pk)
    )
    if status not in FOLLOWUP_MOVES.get(followup.status, set()):
        new = FollowUpStatus(status).label if status in FollowUpStatus.values else status
        raise ValidationError(
            _('Status tindak lanjut tidak dapat diubah dari "%(old)s" menjadi "%(new)s".')
            % {"old": FollowUpStatus(followup.status).label, "new": new}
        )
    old = followup.status
    followup.status = status
    followup.updated_at = timezone.now()
    followup.save(update_fields=["status", "updated_at"])
    _audit(
        "followup.status_changed",
        actor=actor,
        organisation_id=followup.case.organisation_id,
        object_type="followup",
        object_ref=followup.code,
        case=followup.case.code,
        old=old,
        new=status,
    )
    return followup


COPIED_PARTICIPANT_FIELDS = (
    "full_name",
    "role",
    "category",
    "institution",
    "email",
    "phone",
    "disclosure",
    "language",
)


def _who_role(commitment: Commitment) -> str:
    if commitment.participant is not None:
        return commitment.participant.role
    return _("konselor")


@transaction.atomic
def next_kka_create(*, actor: User, conference: Conference) -> Conference:
    """The next KKA of the case, its participants copied from this one (no links, no
    pledges, not invited) and its open commitments listed in the counsellor-only
    materials note; recorded as a follow-up of kind "next KKA"."""
    conference = _locked_conference(conference)
    if conference.status not in EVALUATION_STATUSES:
        raise ValidationError(_("KKA berikutnya dibuat setelah KKA ini terlaksana."))
    if (
        FollowUp.objects.filter(conference=conference, kind=FollowUpKind.NEXT_KKA)
        .exclude(status=FollowUpStatus.CANCELLED)
        .exists()
    ):
        raise ValidationError(_("KKA berikutnya dari KKA ini sudah dibuat."))
    case = conference.case
    if case.status == CaseStatus.CLOSED:
        raise ValidationError(_("Kasus yang sudah ditutup harus dibuka kembali terlebih dahulu."))
    new = services.conference_create(actor=actor, case=case)
    for participant in conference.participants.filter(removed_at__isnull=True):
        services.participant_add(
            actor=actor,
            conference=new,
            **{name: getattr(participant, name) for name in COPIED_PARTICIPANT_FIELDS},
        )
    open_commitments = (
        Commitment.objects.filter(conference=conference, status__in=OPEN_COMMITMENT_STATUSES)
        .select_related("participant")
        .order_by("due_on", "id")
    )
    lines = [
        _("Komitmen terbuka: %(what)s (%(who)s)")
        % {"what": " ".join(c.what.split()), "who": _who_role(c)}
        for c in open_commitments
    ]
    if lines:
        new = services.conference_update_plan(
            actor=actor, conference=new, materials_note="\n".join(lines)
        )
    followup = FollowUp(
        case=case,
        conference=conference,
        next_conference=new,
        kind=FollowUpKind.NEXT_KKA,
        created_by=actor,
    )
    followup.full_clean()
    followup.save()
    _audit(
        "followup.added",
        actor=actor,
        organisation_id=case.organisation_id,
        object_type="followup",
        object_ref=followup.code,
        case=case.code,
        conference=conference.code,
        next_conference=new.code,
        kind=FollowUpKind.NEXT_KKA,
    )
    return new
