"""After the meeting: commitments, evaluations, closing, follow-up, referral and the
next KKA. Everything goes through the services, as the pages will.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import services as case_services
from kka.cases.models import Case, CaseRole, CaseStatus
from kka.conferences import followup, meeting, services
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Participant,
    PortalLink,
)
from tests.conferences.test_planning import (
    ALL_PURPOSES,
    add_participant,
    give_consent,
    make_case,
    schedule,
)
from tests.personas import World, make_world

pytestmark = pytest.mark.django_db

SECRET_WHAT = "Menjemput Ani setiap Jumat rahasia-komitmen"
SECRET_NOTE = "Sudah dua kali dijemput rahasia-catatan"
SECRET_ANSWER = "Saya paham sekarang rahasia-jawaban"
SECRET_REASON = "Gejala kecemasan berat rahasia-alasan"


@dataclass
class Held:
    world: World
    case: Case
    conference: Conference
    father: Participant
    teacher: Participant


def held(world: World, *, status: str = ConferenceStatus.HELD, minor: bool = True) -> Held:
    """A case with full consent and a KKA with two participants, moved to ``status``."""
    owner = world.counsellor
    case = make_case(owner, world.org, minor=minor)
    give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    schedule(owner, conference)
    father = add_participant(owner, conference, category="keluarga", role="ayah")
    teacher = add_participant(owner, conference, category="staf_lembaga", role="wali kelas")
    path = [ConferenceStatus.PLANNED, ConferenceStatus.INVITED, ConferenceStatus.HELD]
    path += [ConferenceStatus.CLOSED] if status == ConferenceStatus.CLOSED else []
    for step in path[: path.index(status) + 1] if status in path else []:
        conference = services.conference_set_status(actor=owner, conference=conference, status=step)
    return Held(world, case, conference, father, teacher)


def message(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


@pytest.fixture
def setup() -> Held:
    return held(make_world())


# --- commitments ---------------------------------------------------------------------------


def test_commitment_status_choices_and_indonesian_labels() -> None:
    with translation.override("id"):
        labels = {value: str(label) for value, label in CommitmentStatus.choices}
    assert labels == {
        "planned": "Direncanakan",
        "in_progress": "Sedang berjalan",
        "done": "Selesai",
        "not_done": "Tidak terlaksana",
        "dropped": "Dibatalkan",
    }
    with translation.override("en"):
        assert str(CommitmentStatus.DONE.label) == "Done"
    assert FollowUpStatus.values == ["planned", "in_progress", "done", "cancelled"]
    assert EvaluationKind.values == ["laiseg", "laijapen", "laijapang", "proses"]
    assert FollowUpKind.values == [
        "next_kka",
        "individual_counselling",
        "home_visit",
        "consultation",
        "referral",
    ]


def test_commitment_by_a_participant_or_a_counsellor(setup: Held) -> None:
    owner = setup.world.counsellor
    by_father = followup.commitment_add(
        actor=owner,
        conference=setup.conference,
        participant=setup.father,
        what=SECRET_WHAT,
        due_on=dt.date(2030, 1, 10),
        check_method="Ditanyakan wali kelas",
    )
    by_counsellor = followup.commitment_add(
        actor=owner, conference=setup.conference, counsellor=owner, what="Konseling individual"
    )
    assert by_father.status == CommitmentStatus.PLANNED
    assert Commitment.objects.get(pk=by_father.pk).what == SECRET_WHAT
    assert by_counsellor.counsellor == owner and by_counsellor.participant is None
    with pytest.raises(ValidationError):
        followup.commitment_add(
            actor=owner,
            conference=setup.conference,
            participant=setup.father,
            counsellor=owner,
            what="Dua pihak",
        )
    with pytest.raises(ValidationError):
        followup.commitment_add(actor=owner, conference=setup.conference, what="Tanpa pihak")


def test_the_database_refuses_a_commitment_with_both_or_neither(setup: Held) -> None:
    owner = setup.world.counsellor
    common = {"conference": setup.conference, "what": "x", "created_by": owner}
    with pytest.raises(IntegrityError), transaction.atomic():
        Commitment.objects.create(participant=setup.father, counsellor=owner, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Commitment.objects.create(**common)


def test_commitment_only_for_this_conferences_participants_and_case_counsellors(
    setup: Held,
) -> None:
    world = setup.world
    other = held(world)
    with pytest.raises(ValidationError):
        followup.commitment_add(
            actor=world.counsellor,
            conference=setup.conference,
            participant=other.father,
            what="Bukan peserta KKA ini",
        )
    with pytest.raises(ValidationError):
        followup.commitment_add(
            actor=world.counsellor,
            conference=setup.conference,
            counsellor=world.other_counsellor,
            what="Bukan konselor kasus ini",
        )
    case_services.case_member_add(
        actor=world.counsellor,
        case=setup.case,
        user=world.other_counsellor,
        role=CaseRole.CO_COUNSELLOR,
    )
    assert followup.commitment_add(
        actor=world.counsellor,
        conference=setup.conference,
        counsellor=world.other_counsellor,
        what="Konselor pendamping",
    )


def test_commitment_refused_for_a_removed_participant() -> None:
    world = make_world()
    owner = world.counsellor
    case = make_case(owner, world.org)
    conference = services.conference_create(actor=owner, case=case)
    conference = services.conference_set_status(
        actor=owner, conference=conference, status=ConferenceStatus.PLANNED
    )
    gone = add_participant(owner, conference)
    gone.invited_at = timezone.now()  # invited people are kept as removed, not deleted
    gone.save(update_fields=["invited_at"])
    services.participant_remove(actor=owner, participant=gone)
    gone.refresh_from_db()
    assert gone.removed_at is not None
    with pytest.raises(ValidationError):
        followup.commitment_add(actor=owner, conference=conference, participant=gone, what="x")


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (ConferenceStatus.DRAFT, False),
        (ConferenceStatus.PLANNED, True),
        (ConferenceStatus.INVITED, True),
        (ConferenceStatus.HELD, True),
        (ConferenceStatus.CLOSED, True),
        (ConferenceStatus.CANCELLED, False),
    ],
)
def test_commitments_only_while_planned_invited_held_or_closed(status: str, allowed: bool) -> None:
    world = make_world()
    setup = held(world, status=ConferenceStatus.PLANNED)
    conference = setup.conference
    if status in (ConferenceStatus.DRAFT, ConferenceStatus.CANCELLED):
        conference = services.conference_set_status(
            actor=world.counsellor, conference=conference, status=status
        )
    elif status != ConferenceStatus.PLANNED:
        conference = held(world, status=status).conference
    participant = conference.participants.first()
    if allowed:
        followup.commitment_add(
            actor=world.counsellor, conference=conference, participant=participant, what="x"
        )
    else:
        with pytest.raises(ValidationError):
            followup.commitment_add(
                actor=world.counsellor, conference=conference, participant=participant, what="x"
            )


def test_commitment_set_status(setup: Held) -> None:
    owner = setup.world.counsellor
    commitment = followup.commitment_add(
        actor=owner, conference=setup.conference, participant=setup.father, what=SECRET_WHAT
    )
    for status in ("in_progress", "done", "not_done", "dropped"):
        commitment = followup.commitment_set_status(
            actor=owner, commitment=commitment, status=status
        )
        assert Commitment.objects.get(pk=commitment.pk).status == status
    with pytest.raises(ValidationError):
        followup.commitment_set_status(actor=owner, commitment=commitment, status="punished")
    events = AuditEvent.objects.filter(action="commitment.status_changed")
    assert [e.refs["new"] for e in events.order_by("id")] == [
        "in_progress",
        "done",
        "not_done",
        "dropped",
    ]


def test_a_participant_adds_progress_only_to_their_own_commitments(setup: Held) -> None:
    owner = setup.world.counsellor
    mine = followup.commitment_add(
        actor=owner, conference=setup.conference, participant=setup.father, what=SECRET_WHAT
    )
    theirs = followup.commitment_add(
        actor=owner, conference=setup.conference, participant=setup.teacher, what="Memantau"
    )
    counsellors = followup.commitment_add(
        actor=owner, conference=setup.conference, counsellor=owner, what="Konseling"
    )
    progress = followup.commitment_progress_add(
        commitment=mine, note=SECRET_NOTE, participant=setup.father
    )
    assert progress.by_participant == setup.father and progress.by_user is None
    assert Commitment.objects.get(pk=mine.pk).status == CommitmentStatus.IN_PROGRESS
    for other in (theirs, counsellors):
        with pytest.raises(PermissionDenied):
            followup.commitment_progress_add(
                commitment=other, note="Bukan milik saya", participant=setup.father
            )
    # The counsellor may note progress on any commitment of the KKA.
    followup.commitment_progress_add(commitment=theirs, note="Dicek", actor=owner)
    assert CommitmentProgress.objects.filter(commitment=theirs, by_user=owner).count() == 1
    assert CommitmentProgress.objects.filter(commitment=counsellors).count() == 0


def test_progress_needs_exactly_one_author_in_the_database(setup: Held) -> None:
    owner = setup.world.counsellor
    commitment = followup.commitment_add(
        actor=owner, conference=setup.conference, participant=setup.father, what="x"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CommitmentProgress.objects.create(commitment=commitment, note="x")


def test_commitments_of_participant_are_only_that_participant_rows() -> None:
    world = make_world()
    first = held(world)
    owner = world.counsellor
    own = followup.commitment_add(
        actor=owner, conference=first.conference, participant=first.father, what="Milik ayah"
    )
    followup.commitment_add(
        actor=owner, conference=first.conference, participant=first.teacher, what="Milik guru"
    )
    # The same father in the next KKA is another participant row.
    nxt = followup.next_kka_create(actor=owner, conference=first.conference)
    again = nxt.participants.get(role="ayah")
    services.conference_set_status(actor=owner, conference=nxt, status=ConferenceStatus.PLANNED)
    followup.commitment_add(actor=owner, conference=nxt, participant=again, what="KKA 2")
    assert list(followup.commitments_of_participant(first.father)) == [own]


def test_due_and_overdue_commitments_are_scoped_to_visible_cases() -> None:
    world = make_world()
    mine = held(world)
    owner = world.counsellor
    today = dt.date(2030, 5, 10)
    due = followup.commitment_add(
        actor=owner,
        conference=mine.conference,
        participant=mine.father,
        what="a",
        due_on=today + dt.timedelta(days=3),
    )
    late = followup.commitment_add(
        actor=owner,
        conference=mine.conference,
        participant=mine.teacher,
        what="b",
        due_on=today - dt.timedelta(days=1),
    )
    done_late = followup.commitment_add(
        actor=owner,
        conference=mine.conference,
        counsellor=owner,
        what="c",
        due_on=today - dt.timedelta(days=2),
    )
    followup.commitment_set_status(actor=owner, commitment=done_late, status="done")
    # Another counsellor's case in the same organisation.
    other_case = make_case(world.other_counsellor, world.org, full_name="Budi Lain")
    other_conf = services.conference_create(actor=world.other_counsellor, case=other_case)
    services.conference_set_status(
        actor=world.other_counsellor, conference=other_conf, status="planned"
    )
    followup.commitment_add(
        actor=world.other_counsellor,
        conference=other_conf,
        counsellor=world.other_counsellor,
        what="d",
        due_on=today - dt.timedelta(days=1),
    )
    window = {"start": today, "end": today + dt.timedelta(days=7)}
    assert list(followup.commitments_due(viewer=owner, organisation=world.org, **window)) == [due]
    assert list(
        followup.commitments_overdue(viewer=owner, organisation=world.org, today=today)
    ) == [late]
    assert (
        list(followup.commitments_overdue(viewer=world.head, organisation=world.org, today=today))
        == []
    )
    assert (
        list(
            followup.commitments_overdue(viewer=world.outsider, organisation=world.org, today=today)
        )
        == []
    )
    assert (
        followup.commitments_overdue(
            viewer=world.other_counsellor, organisation=world.org, today=today
        ).count()
        == 1
    )


# --- evaluations ------------------------------------------------------------------------------


def test_laiseg_per_participant_through_the_portal_uca(setup: Held) -> None:
    evaluation = followup.laiseg_record(
        conference=setup.conference,
        participant=setup.father,
        answers={"understanding": SECRET_ANSWER, "comfort": "", "action": "Menjemput"},
        scheme="uca",
        via_portal=True,
    )
    stored = Evaluation.objects.get(pk=evaluation.pk)
    assert stored.kind == "laiseg" and stored.scheme == "uca" and stored.recorded_by is None
    assert stored.answers_dict == {
        "understanding": SECRET_ANSWER,
        "comfort": "",
        "action": "Menjemput",
    }
    assert stored.done_at is not None
    with pytest.raises(ValidationError):  # once per participant
        followup.laiseg_record(
            conference=setup.conference,
            participant=setup.father,
            answers={"understanding": "lagi"},
            via_portal=True,
        )


def test_laiseg_bmb3_keys_and_unknown_keys_refused(setup: Held) -> None:
    owner = setup.world.counsellor
    evaluation = followup.laiseg_record(
        conference=setup.conference,
        participant=setup.teacher,
        answers={"berpikir": "a", "bertanggung_jawab": "b"},
        scheme="bmb3",
        actor=owner,
    )
    assert set(evaluation.answers_dict) == {
        "berpikir",
        "merasa",
        "bersikap",
        "bertindak",
        "bertanggung_jawab",
    }
    assert evaluation.recorded_by == owner
    with pytest.raises(ValidationError) as refused:
        followup.laiseg_record(
            conference=setup.conference,
            participant=setup.father,
            answers={"understanding": "a"},
            scheme="bmb3",
            actor=owner,
        )
    assert "understanding" in message(refused)
    with pytest.raises(ValidationError):
        followup.laiseg_record(
            conference=setup.conference,
            participant=setup.father,
            answers={"berpikir": "a"},
            scheme="lain",
            actor=owner,
        )
    with pytest.raises(ValidationError):
        followup.laiseg_record(
            conference=setup.conference,
            participant=setup.father,
            answers={"understanding": 3},
            actor=owner,
        )
    assert not Evaluation.objects.filter(participant=setup.father).exists()


def test_laiseg_refused_before_the_meeting_or_for_another_kka() -> None:
    world = make_world()
    planned = held(world, status=ConferenceStatus.INVITED)
    with pytest.raises(ValidationError):
        followup.laiseg_record(
            conference=planned.conference,
            participant=planned.father,
            answers={"understanding": "a"},
            via_portal=True,
        )
    other = held(world)
    with pytest.raises(ValidationError):
        followup.laiseg_record(
            conference=other.conference,
            participant=planned.father,
            answers={"understanding": "a"},
            via_portal=True,
        )


def test_process_evaluation_one_per_kka(setup: Held) -> None:
    owner = setup.world.counsellor
    first = followup.process_evaluation_record(
        actor=owner,
        conference=setup.conference,
        answers={"participation": "aktif", "atmosphere": "hangat", "adherence": "sesuai"},
    )
    again = followup.process_evaluation_record(
        actor=owner, conference=setup.conference, answers={"participation": "cukup"}
    )
    assert first.pk == again.pk
    assert Evaluation.objects.get(pk=first.pk).answers_dict == {
        "participation": "cukup",
        "atmosphere": "",
        "adherence": "",
    }
    with pytest.raises(ValidationError):
        followup.process_evaluation_record(
            actor=owner, conference=setup.conference, answers={"understanding": "x"}
        )


def _start_at_local(conference: Conference, when: dt.datetime) -> Conference:
    return services.conference_update_plan(
        actor=conference.created_by,
        conference=conference,
        starts_at=when,
        ends_at=when + dt.timedelta(hours=1),
    )


def test_later_evaluations_are_scheduled_once_from_the_local_start_date() -> None:
    world = make_world()
    world.org.time_zone = "Asia/Jayapura"  # UTC+9
    world.org.save(update_fields=["time_zone"])
    setup = held(world, status=ConferenceStatus.INVITED)
    # 00:30 on 1 March in Jayapura is still 28 February in UTC.
    start = dt.datetime(2030, 3, 1, 0, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Jayapura"))
    conference = _start_at_local(setup.conference, start)
    assert conference.starts_at is not None
    assert conference.starts_at.astimezone(dt.UTC).date() == dt.date(2030, 2, 28)
    conference = services.conference_set_status(
        actor=world.counsellor, conference=conference, status="held"
    )
    first = followup.later_evaluations_schedule(actor=world.counsellor, conference=conference)
    second = followup.later_evaluations_schedule(actor=world.counsellor, conference=conference)
    assert [e.pk for e in first] == [e.pk for e in second]
    rows = {e.kind: e for e in Evaluation.objects.filter(conference=conference)}
    assert set(rows) == {"laijapen", "laijapang"}
    assert rows["laijapen"].due_on == dt.date(2030, 3, 15)
    assert rows["laijapang"].due_on == dt.date(2030, 4, 30)
    assert rows["laijapen"].done_at is None
    assert AuditEvent.objects.filter(action="evaluation.scheduled").count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.create(conference=conference, kind="laijapen")


def test_later_evaluation_days_must_be_ordered(setup: Held) -> None:
    with pytest.raises(ValidationError):
        followup.later_evaluations_schedule(
            actor=setup.world.counsellor, conference=setup.conference, short_days=30, long_days=7
        )


def test_later_evaluation_record(setup: Held) -> None:
    owner = setup.world.counsellor
    commitment = followup.commitment_add(
        actor=owner, conference=setup.conference, participant=setup.father, what=SECRET_WHAT
    )
    short, _long = followup.later_evaluations_schedule(actor=owner, conference=setup.conference)
    recorded = followup.later_evaluation_record(
        actor=owner,
        evaluation=short,
        client_situation="Mulai bergaul",
        commitment_results={commitment.code: {"result": "partly", "note": SECRET_NOTE}},
        analysis="Tujuan sebagian tercapai",
        data_needs_met="partly",
    )
    stored = Evaluation.objects.get(pk=recorded.pk)
    assert stored.commitment_results_dict == {
        commitment.code: {"result": "partly", "note": SECRET_NOTE}
    }
    assert stored.client_situation == "Mulai bergaul"
    assert stored.data_needs_met == "partly" and stored.done_at and stored.recorded_by == owner
    bad: list[dict[str, Any]] = [
        {"commitment_results": {"ZZZZZZZZZZ": {"result": "done"}}},
        {"commitment_results": {commitment.code: {"result": "maybe"}}},
        {"data_needs_met": "sangat"},
    ]
    for override in bad:
        kwargs: dict[str, Any] = {
            "client_situation": "",
            "commitment_results": {},
            "analysis": "",
            "data_needs_met": "met",
        }
        kwargs.update(override)
        with pytest.raises(ValidationError):
            followup.later_evaluation_record(actor=owner, evaluation=short, **kwargs)
    laiseg = followup.laiseg_record(
        conference=setup.conference, answers={"understanding": "x"}, actor=owner
    )
    with pytest.raises(ValidationError):
        followup.later_evaluation_record(
            actor=owner,
            evaluation=laiseg,
            client_situation="",
            commitment_results={},
            analysis="",
            data_needs_met="",
        )


# --- closing ----------------------------------------------------------------------------------


def test_close_requires_a_held_kka() -> None:
    world = make_world()
    setup = held(world, status=ConferenceStatus.INVITED)
    with pytest.raises(ValidationError) as refused:
        followup.conference_close(actor=world.counsellor, conference=setup.conference)
    assert "terlaksana" in message(refused)


def test_close_requires_finalised_minutes(setup: Held) -> None:
    owner = setup.world.counsellor
    with pytest.raises(ValidationError) as refused:
        followup.conference_close(actor=owner, conference=setup.conference)
    assert "notulen" in message(refused).lower()
    meeting.minutes_save(
        actor=owner, conference=setup.conference, base_version=0, values={"shared_text": "x"}
    )
    with pytest.raises(ValidationError):
        followup.conference_close(actor=owner, conference=setup.conference)
    assert Conference.objects.get(pk=setup.conference.pk).status == "held"
    assert not Evaluation.objects.exists()


def test_close_moves_to_closed_and_schedules_the_later_evaluations(setup: Held) -> None:
    owner = setup.world.counsellor
    meeting.minutes_save(
        actor=owner, conference=setup.conference, base_version=0, values={"shared_text": "x"}
    )
    meeting.minutes_finalise(actor=owner, conference=setup.conference)
    closed = followup.conference_close(
        actor=owner, conference=setup.conference, short_days=7, long_days=30
    )
    assert Conference.objects.get(pk=closed.pk).status == ConferenceStatus.CLOSED
    start = followup.conference_local_date(closed)
    due = dict(Evaluation.objects.filter(conference=closed).values_list("kind", "due_on"))
    assert due == {
        "laijapen": start + dt.timedelta(days=7),
        "laijapang": start + dt.timedelta(days=30),
    }
    assert AuditEvent.objects.filter(
        action="conference.status_changed", refs__new="closed"
    ).exists()
    with pytest.raises(ValidationError):
        followup.conference_close(actor=owner, conference=closed)


def test_close_is_one_transaction(setup: Held, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = setup.world.counsellor
    meeting.minutes_finalise(actor=owner, conference=setup.conference)

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("scheduling failed")

    monkeypatch.setattr(followup, "later_evaluations_schedule", boom)
    with pytest.raises(RuntimeError):
        followup.conference_close(actor=owner, conference=setup.conference)
    assert Conference.objects.get(pk=setup.conference.pk).status == ConferenceStatus.HELD


# --- follow-up and referral ---------------------------------------------------------------------


def _case(world: World, *, purposes: list[str] | None, minor: bool = False) -> Case:
    case = make_case(world.counsellor, world.org, minor=minor)
    if purposes is not None:
        give_consent(world.counsellor, case.client, purposes)
    return case


def test_followup_kinds_without_consent_gate() -> None:
    world = make_world()
    case = _case(world, purposes=None)
    visit = followup.followup_add(
        actor=world.counsellor,
        case=case,
        kind="home_visit",
        planned_on=dt.date(2030, 2, 1),
        note="Bersama wali kelas",
    )
    assert visit.status == "planned" and visit.consent is None
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN
    with pytest.raises(ValidationError):
        followup.followup_add(actor=world.counsellor, case=case, kind="hukuman")
    with pytest.raises(ValidationError):
        followup.followup_add(
            actor=world.counsellor, case=case, kind="home_visit", referral_to="psikolog"
        )


def test_referral_refused_without_consent_naming_what_is_missing() -> None:
    world = make_world()
    none = _case(world, purposes=None)
    with pytest.raises(ValidationError) as refused:
        followup.followup_add(
            actor=world.counsellor,
            case=none,
            kind="referral",
            referral_to="psikolog",
            reason=SECRET_REASON,
        )
    assert "persetujuan konseli yang berlaku" in message(refused)
    minor = _case(world, purposes=None, minor=True)
    with pytest.raises(ValidationError) as refused:
        followup.followup_add(
            actor=world.counsellor,
            case=minor,
            kind="referral",
            referral_to="psikolog",
            reason=SECRET_REASON,
        )
    assert "orang tua/wali" in message(refused)
    school_only = _case(world, purposes=["purpose_hold_kka", "share_school_staff"])
    with pytest.raises(ValidationError) as refused:
        followup.followup_add(
            actor=world.counsellor,
            case=school_only,
            kind="referral",
            referral_to="psikiater",
            reason=SECRET_REASON,
        )
    assert message(refused) == (
        "Alih tangan kasus ditolak: persetujuan yang berlaku tidak mencakup "
        '"berbagi dengan profesional luar".'
    )
    family_only = _case(world, purposes=["share_family"])
    with pytest.raises(ValidationError) as refused:
        followup.followup_add(
            actor=world.counsellor,
            case=family_only,
            kind="referral",
            referral_to="tppk",
            reason=SECRET_REASON,
        )
    assert '"berbagi dengan staf sekolah / lembaga"' in message(refused)
    assert not FollowUp.objects.exists()
    assert Case.objects.filter(status=CaseStatus.REFERRED).count() == 0


def test_referral_needs_a_target_and_a_reason() -> None:
    world = make_world()
    case = _case(world, purposes=ALL_PURPOSES)
    with pytest.raises(ValidationError):
        followup.followup_add(actor=world.counsellor, case=case, kind="referral", reason="x")
    with pytest.raises(ValidationError):
        followup.followup_add(
            actor=world.counsellor, case=case, kind="referral", referral_to="psikolog"
        )


def test_referral_with_consent_keeps_the_consent_and_moves_the_case() -> None:
    world = make_world()
    case = _case(world, purposes=["share_professionals"])
    referral = followup.followup_add(
        actor=world.counsellor,
        case=case,
        kind="referral",
        referral_to="psikolog",
        referral_to_name="Biro Psikologi Harapan",
        reason=SECRET_REASON,
    )
    stored = FollowUp.objects.get(pk=referral.pk)
    assert stored.consent is not None and stored.consent.share_professionals
    assert stored.reason == SECRET_REASON
    assert Case.objects.get(pk=case.pk).status == CaseStatus.REFERRED
    # A second referral of an already referred case adds the follow-up only.
    followup.followup_add(
        actor=world.counsellor,
        case=case,
        kind="referral",
        referral_to="dokter",
        reason="Pemeriksaan",
    )
    assert Case.objects.get(pk=case.pk).status == CaseStatus.REFERRED
    assert (
        AuditEvent.objects.filter(action="case.status_changed", refs__new="referred").count() == 1
    )


def test_referral_to_tppk_or_another_counsellor_needs_only_school_staff_sharing() -> None:
    world = make_world()
    for target in ("tppk", "konselor_lain"):
        case = _case(world, purposes=["share_school_staff"])
        referral = followup.followup_add(
            actor=world.counsellor, case=case, kind="referral", referral_to=target, reason="x"
        )
        assert referral.consent is not None
        assert Case.objects.get(pk=case.pk).status == CaseStatus.REFERRED


def test_followup_on_a_closed_case_or_foreign_conference_is_refused(setup: Held) -> None:
    world = setup.world
    other = _case(world, purposes=ALL_PURPOSES)
    with pytest.raises(ValidationError):
        followup.followup_add(
            actor=world.counsellor, case=other, kind="home_visit", conference=setup.conference
        )
    case_services.case_change_status(
        actor=world.counsellor, case=other, status="closed", outcome="resolved"
    )
    with pytest.raises(ValidationError):
        followup.followup_add(actor=world.counsellor, case=other, kind="home_visit")


def test_followup_status_moves() -> None:
    world = make_world()
    case = _case(world, purposes=None)
    item = followup.followup_add(actor=world.counsellor, case=case, kind="individual_counselling")
    item = followup.followup_set_status(actor=world.counsellor, followup=item, status="in_progress")
    item = followup.followup_set_status(actor=world.counsellor, followup=item, status="done")
    assert FollowUp.objects.get(pk=item.pk).status == "done"
    with pytest.raises(ValidationError):
        followup.followup_set_status(actor=world.counsellor, followup=item, status="planned")


# --- the next KKA -------------------------------------------------------------------------------


def test_next_kka_is_prefilled_with_participants_and_open_commitments(setup: Held) -> None:
    owner = setup.world.counsellor
    first = setup.conference
    setup.father.pledged_at = timezone.now()
    setup.father.pledge_name = "Ayah"
    setup.father.invited_at = timezone.now()
    setup.father.rsvp = "hadir"
    setup.father.save()
    PortalLink.objects.create(participant=setup.father, token_hash="a" * 64)
    followup.commitment_add(
        actor=owner, conference=first, participant=setup.father, what=SECRET_WHAT
    )
    running = followup.commitment_add(
        actor=owner, conference=first, counsellor=owner, what="Konseling mingguan"
    )
    followup.commitment_set_status(actor=owner, commitment=running, status="in_progress")
    finished = followup.commitment_add(
        actor=owner, conference=first, participant=setup.teacher, what="Sudah beres"
    )
    followup.commitment_set_status(actor=owner, commitment=finished, status="done")

    nxt = followup.next_kka_create(actor=owner, conference=first)

    assert nxt.case_id == first.case_id and nxt.sequence == first.sequence + 1
    assert nxt.status == ConferenceStatus.DRAFT
    copied = list(nxt.participants.order_by("position"))
    fields = ("full_name", "role", "category", "institution", "email", "phone", "disclosure")
    assert [tuple(getattr(p, f) for f in fields) for p in copied] == [
        tuple(getattr(p, f) for f in fields) for p in (setup.father, setup.teacher)
    ]
    for participant in copied:
        assert participant.pledged_at is None and participant.pledge_name == ""
        assert participant.invited_at is None and participant.rsvp == "pending"
        assert participant.letter_number == "" and not participant.links.exists()
    stored = Conference.objects.get(pk=nxt.pk)
    assert stored.materials_note.splitlines() == [
        f"Komitmen terbuka: {SECRET_WHAT} (ayah)",
        "Komitmen terbuka: Konseling mingguan (konselor)",
    ]
    link = FollowUp.objects.get(kind="next_kka")
    assert link.conference == first and link.next_conference == nxt and link.case == setup.case
    with pytest.raises(ValidationError):
        followup.next_kka_create(actor=owner, conference=first)


def test_next_kka_only_after_the_meeting() -> None:
    world = make_world()
    setup = held(world, status=ConferenceStatus.INVITED)
    with pytest.raises(ValidationError):
        followup.next_kka_create(actor=world.counsellor, conference=setup.conference)


# --- audit and the absence of sanctions ---------------------------------------------------------


def test_audit_rows_carry_codes_only(setup: Held) -> None:
    owner = setup.world.counsellor
    commitment = followup.commitment_add(
        actor=owner,
        conference=setup.conference,
        participant=setup.father,
        what=SECRET_WHAT,
        check_method="rahasia-cara",
    )
    followup.commitment_progress_add(
        commitment=commitment, note=SECRET_NOTE, participant=setup.father
    )
    followup.commitment_set_status(actor=owner, commitment=commitment, status="done")
    followup.laiseg_record(
        conference=setup.conference,
        participant=setup.father,
        answers={"understanding": SECRET_ANSWER},
        via_portal=True,
    )
    followup.process_evaluation_record(
        actor=owner, conference=setup.conference, answers={"atmosphere": SECRET_ANSWER}
    )
    meeting.minutes_finalise(actor=owner, conference=setup.conference)
    followup.conference_close(actor=owner, conference=setup.conference)
    short = Evaluation.objects.get(kind="laijapen")
    followup.later_evaluation_record(
        actor=owner,
        evaluation=short,
        client_situation="rahasia-keadaan",
        commitment_results={commitment.code: {"result": "done", "note": SECRET_NOTE}},
        analysis="rahasia-analisis",
        data_needs_met="met",
    )
    followup.followup_add(
        actor=owner,
        case=setup.case,
        kind="referral",
        conference=setup.conference,
        referral_to="psikolog",
        referral_to_name="rahasia-nama",
        reason=SECRET_REASON,
        note="rahasia-catatan-tl",
    )
    followup.next_kka_create(actor=owner, conference=setup.conference)

    expected = {
        "commitment.added",
        "commitment.progress_added",
        "commitment.status_changed",
        "evaluation.recorded",
        "evaluation.scheduled",
        "followup.added",
        "case.status_changed",
    }
    assert expected <= set(AuditEvent.objects.values_list("action", flat=True))
    portal_row = AuditEvent.objects.get(action="evaluation.recorded", refs__channel="portal")
    assert portal_row.actor_id is None and portal_row.refs["participant"] == setup.father.code
    secrets = ("rahasia", "Ani", "Menjemput", "Lestari", "Biro")
    for event in AuditEvent.objects.all():
        text = json.dumps(
            {f.attname: str(getattr(event, f.attname)) for f in AuditEvent._meta.concrete_fields}
            | {"refs": event.refs},
            ensure_ascii=False,
        )
        for secret in secrets:
            assert secret not in text, (event.action, secret)
    assert audit_verify()[1] is None


SANCTION_WORDS = (
    "sanksi",
    "hukuman",
    "skors",
    "dikeluarkan",
    "punish",
    "sanction",
    "expel",
    "suspend",
)


def test_no_model_anywhere_has_a_sanction_field() -> None:
    offending = []
    for language in ("id", "en"):
        with translation.override(language):
            for model in apps.get_models():
                for field in model._meta.get_fields():
                    words = [field.name, str(getattr(field, "verbose_name", "") or "")]
                    for word in SANCTION_WORDS:
                        if any(word in w.lower() for w in words):
                            offending.append(f"{model._meta.label}.{field.name}: {word}")
    assert offending == []


def test_no_form_or_page_offers_a_sanction_field() -> None:
    """Every Django form in the package and every form control in every template."""
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    from django import forms

    import kka

    for module in pkgutil.walk_packages(kka.__path__, "kka."):
        if module.name.endswith(("forms", "views")) or ".forms" in module.name:
            importlib.import_module(module.name)
    offending = []

    def subclasses(cls: type) -> list[type]:
        found = []
        for sub in cls.__subclasses__():
            found += [sub, *subclasses(sub)]
        return found

    form_classes = [c for c in subclasses(forms.BaseForm) if c.__module__.startswith("kka.")]
    assert len(form_classes) > 10
    for language in ("id", "en"):
        with translation.override(language):
            for form_class in form_classes:
                for name, field in form_class.base_fields.items():  # type: ignore[attr-defined]
                    texts = [name, str(field.label or ""), str(field.help_text or "")]
                    for word in SANCTION_WORDS:
                        if any(word in t.lower() for t in texts):
                            offending.append(f"{form_class.__name__}.{name}: {word}")
    control = re.compile(r"<(?:input|select|textarea)\b[^>]*>", re.I)
    templates = list((Path(kka.__file__).parent / "templates").rglob("*.html"))
    assert len(templates) > 20
    for template in templates:
        for tag in control.findall(template.read_text(encoding="utf-8")):
            for word in SANCTION_WORDS:
                if word in tag.lower():
                    offending.append(f"{template.name}: {tag}")
    assert offending == []
