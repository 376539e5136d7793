"""The counsellor's home page (dashboard): upcoming KKAs with readiness, invitations
not answered, pledges missing, commitments due this week and overdue, evaluations
due and cases gone quiet, over the cases the viewer may see and nothing else.

Data is built through the services, as the pages do; only states a service cannot
reach by design (an old activity date, a past due date) are set on the rows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kka.accounts.models import Organisation, Role, User
from kka.cases import services as case_services
from kka.cases.models import Case, CaseRole
from kka.conferences import followup, meeting, services
from kka.conferences.dashboard import Dashboard, dashboard_for
from kka.conferences.models import (
    Commitment,
    Conference,
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    Participant,
    Rsvp,
)
from tests.conferences.test_planning import (
    add_participant,
    give_consent,
    local_moment,
    logged_in,
    make_case,
    page_text,
)
from tests.personas import World, make_organisation, make_user, make_world

pytestmark = pytest.mark.django_db

SECRET_WHAT = "Mengantar ke sekolah tiap pagi rahasia-komitmen-dasbor"
OTHER_WHAT = "Komitmen kasus lain rahasia-konselor-dua"


def kka(
    owner: User,
    organisation: Organisation,
    *,
    title: str,
    status: str = ConferenceStatus.PLANNED,
    days: int | None = 7,
    consent: bool = True,
    people: tuple[tuple[str, str], ...] = (("keluarga", "ayah"), ("staf_lembaga", "wali kelas")),
    case: Case | None = None,
) -> tuple[Conference, list[Participant]]:
    """A KKA on a (new) case, ``days`` from today at 09.00 local time, in ``status``."""
    if case is None:
        case = make_case(owner, organisation, title=title, full_name=f"Nama {title}")
        if consent:
            give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    if days is not None:
        starts = local_moment(organisation, days=days, hour=9)
        conference = services.conference_update_plan(
            actor=owner,
            conference=conference,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            place="Ruang BK",
        )
    participants = [
        add_participant(owner, conference, category=category, role=role, full_name=f"Nama {role}")
        for category, role in people
    ]
    path = [ConferenceStatus.PLANNED, ConferenceStatus.INVITED, ConferenceStatus.HELD]
    path += [ConferenceStatus.CLOSED]
    if status in path:
        for step in path[: path.index(status) + 1]:
            if step == ConferenceStatus.CLOSED:
                meeting.minutes_finalise(actor=owner, conference=conference)
                conference = followup.conference_close(actor=owner, conference=conference)
            else:
                conference = services.conference_set_status(
                    actor=owner, conference=conference, status=step
                )
    return conference, participants


def commit(
    conference: Conference, who: Participant | User, what: str, due_on: dt.date | None
) -> Commitment:
    """A commitment; a due date in the past is set on the row (as time passing would)."""
    owner = conference.case.owner
    kwargs: dict[str, Any] = (
        {"participant": who} if isinstance(who, Participant) else {"counsellor": who}
    )
    commitment = followup.commitment_add(
        actor=owner, conference=conference, what=what, due_on=None, **kwargs
    )
    Commitment.objects.filter(pk=commitment.pk).update(due_on=due_on)
    commitment.refresh_from_db()
    return commitment


def local_today(organisation: Organisation, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def titles(section: Any) -> list[str]:
    out = []
    for item in section:
        for attr in ("conference", "commitment", "evaluation"):
            obj = getattr(item, attr, None)
            if obj is not None:
                conference = obj if attr == "conference" else obj.conference
                out.append(conference.case.title)
                break
        else:
            out.append(item.title)  # a case
    return out


def pledge(participant: Participant) -> None:
    services.pledge_take(
        participant=participant, typed_name="Nama lengkap", agreed=True, ip=None, channel="portal"
    )


def board(user: User, organisation: Organisation, **kwargs: Any) -> Dashboard:
    return dashboard_for(user, organisation, **kwargs)


# --- upcoming KKAs ---------------------------------------------------------------------------


def test_upcoming_kka_shows_readiness_and_counts(world: World) -> None:
    owner = world.counsellor
    conference, (father, teacher) = kka(owner, world.org, title="Relasi teman")
    add_participant(owner, conference, category="keluarga", role="ibu")
    services.invitation_send(actor=owner, participant=father, channel="letter")
    services.invitation_send(actor=owner, participant=teacher, channel="letter")
    father.refresh_from_db()
    services.portal_rsvp(participant=father, answer=Rsvp.YES)
    services.pledge_take(
        participant=father, typed_name="Nama ayah", agreed=True, ip=None, channel="portal"
    )

    d = board(owner, world.org)

    assert [u.conference.pk for u in d.upcoming] == [conference.pk]
    u = d.upcoming.items[0]
    assert (u.participants, u.invited, u.answered, u.unanswered) == (3, 2, 1, 1)
    assert (u.pledged, u.pledges_missing) == (1, 2)
    assert u.problems == [] and u.overdue is False

    html = page_text(logged_in(owner).get("/"))
    assert "Relasi teman · KKA 1" in html
    assert conference.case.code in html
    assert f"/kka/{conference.code}/" in html
    assert "Diundang 2/3" in html and "Menjawab 1/2" in html and "Kerahasiaan 1/3" in html
    assert "Siap: semua syarat terpenuhi." in html
    assert "Ringkasan pekerjaan" in html
    assert "Tidak ada yang perlu ditindaklanjuti saat ini." not in html
    # Roles, not names: the page names nobody.
    assert "wali kelas" in html and "ibu" in html
    assert "Nama ayah" not in html and "Nama wali kelas" not in html
    assert "Nama Relasi teman" not in html  # the client


def per_role(problems: list[str]) -> list[str]:
    """'ayah, wali kelas: X' -> 'ayah: X', 'wali kelas: X' (the planning page's form)."""
    out = []
    for line in problems:
        roles, sep, problem = line.partition(": ")
        if sep and "persetujuan" in problem:
            out += [f"{role}: {problem}" for role in roles.split(", ")]
        else:
            out.append(line)
    return out


def test_readiness_problems_name_roles_and_match_the_planning_page() -> None:
    world = make_world()
    owner = world.counsellor
    world.org.require_plan_approval = True
    world.org.save(update_fields=["require_plan_approval"])
    cases = {
        "no consent": kka(owner, world.org, title="Tanpa izin", consent=False),
        "no date": kka(owner, world.org, title="Tanpa waktu", days=None, status="draft"),
        "nobody": kka(owner, world.org, title="Tanpa peserta", people=()),
    }
    limited, _people = kka(owner, world.org, title="Izin terbatas", consent=False)
    give_consent(owner, limited.case.client, purposes=["purpose_hold_kka", "share_school_staff"])
    cases["limited"] = (limited, _people)

    d = board(owner, world.org)

    shown = {u.conference.pk: u.problems for u in d.upcoming}
    for conference, people in cases.values():
        expected = services.readiness(Conference.objects.get(pk=conference.pk))
        for person in people:
            expected = [m.replace(person.full_name, person.role) for m in expected]
        assert sorted(per_role(shown[conference.pk])) == sorted(expected), conference.case.title
    assert any(m.startswith("ayah: ") for m in shown[limited.pk])
    assert not any(m.startswith("wali kelas: ") for m in shown[limited.pk])
    assert "Waktu pertemuan belum ditentukan." in shown[cases["no date"][0].pk]
    assert "Belum ada peserta." in shown[cases["nobody"][0].pk]
    assert any("disetujui" in m for m in shown[limited.pk])


def test_the_same_problem_for_several_participants_is_one_line() -> None:
    world = make_world()
    kka(world.counsellor, world.org, title="Tanpa izin", consent=False)
    d = board(world.counsellor, world.org)
    consent_lines = [m for m in d.upcoming.items[0].problems if "persetujuan" in m]
    assert consent_lines == [
        "ayah, wali kelas: Belum ada persetujuan orang tua/wali yang berlaku untuk konseli ini "
        "(konseli masih anak)."
    ]


def test_upcoming_window_grace_forgotten_drafts_and_what_is_left_out(world: World) -> None:
    owner = world.counsellor
    org = world.org
    soon, _ = kka(owner, org, title="Besok", days=1)
    kka(owner, org, title="Belum bertanggal", days=None, status="draft")
    running, _ = kka(owner, org, title="Sedang berlangsung", days=3)
    forgotten, (forgotten_father, _t) = kka(owner, org, title="Terlupa", days=3)
    services.invitation_send(actor=owner, participant=forgotten_father, channel="letter")
    kka(owner, org, title="Sudah terlaksana", status=ConferenceStatus.HELD)
    cancelled, _ = kka(owner, org, title="Batal")
    services.conference_set_status(actor=owner, conference=cancelled, status="cancelled")
    closed_case, _ = kka(owner, org, title="Kasus ditutup")
    case_services.case_change_status(
        actor=owner, case=closed_case.case, status="closed", outcome="resolved"
    )
    # "running" started 11 hours ago, "forgotten" 13 hours ago (seen from a later now).
    now = running.starts_at + dt.timedelta(hours=11)
    Conference.objects.filter(pk=forgotten.pk).update(
        starts_at=now - dt.timedelta(hours=13), ends_at=now - dt.timedelta(hours=12)
    )
    Conference.objects.filter(pk=soon.pk).update(
        starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1, hours=1)
    )

    d = board(owner, org, now=now)

    assert titles(d.upcoming) == ["Terlupa", "Sedang berlangsung", "Besok", "Belum bertanggal"]
    by_title = {u.conference.case.title: u for u in d.upcoming}
    assert by_title["Terlupa"].overdue is True
    assert by_title["Terlupa"].problems[0] == (
        "Waktunya sudah lewat, tetapi KKA belum dicatat terlaksana."
    )
    assert by_title["Sedang berlangsung"].overdue is False
    assert by_title["Belum bertanggal"].problems[0] == "Waktu pertemuan belum ditentukan."
    # A forgotten KKA's unanswered invitation is not chased any more.
    assert "Terlupa" not in titles(d.unanswered)


def test_meeting_mode_link_on_the_day(world: World) -> None:
    owner = world.counsellor
    today, _ = kka(owner, world.org, title="Hari ini", days=0)
    later, _ = kka(owner, world.org, title="Minggu depan", days=7)
    now = today.starts_at - dt.timedelta(hours=2)

    d = board(owner, world.org, now=now)

    assert {u.conference.case.title: u.is_today for u in d.upcoming} == {
        "Hari ini": True,
        "Minggu depan": False,
    }
    html = page_text(logged_in(owner).get("/"))
    # The page uses the real clock: the KKA at 09.00 today is "today" whatever the hour.
    assert f"/kka/{today.code}/pertemuan/" in html
    assert f"/kka/{later.code}/pertemuan/" not in html


# --- invitations and pledges -------------------------------------------------------------


def test_unanswered_invitations_only_invited_and_pending(world: World) -> None:
    owner = world.counsellor
    conference, (father, teacher, mother) = kka(
        owner,
        world.org,
        title="Undangan",
        people=(("keluarga", "ayah"), ("staf_lembaga", "wali kelas"), ("keluarga", "ibu")),
    )
    uncle = add_participant(owner, conference, category="keluarga", role="paman")
    for p in (father, teacher, uncle):
        services.invitation_send(actor=owner, participant=p, channel="letter")
    teacher.refresh_from_db()
    services.portal_rsvp(participant=teacher, answer=Rsvp.NO)
    uncle.refresh_from_db()
    services.participant_remove(actor=owner, participant=uncle)

    d = board(owner, world.org)

    assert [i.participant.role for i in d.unanswered] == ["ayah"]
    assert mother.invited_at is None  # never invited: not "unanswered"
    html = page_text(logged_in(owner).get("/"))
    section = html.split('id="d-unanswered"')[1].split("</section>")[0]
    assert "<strong>ayah</strong>" in section
    assert "paman" not in section and "wali kelas" not in section
    assert "diundang sejak " in section


def test_pledges_missing_on_upcoming_and_held_kkas(world: World) -> None:
    owner = world.counsellor
    planned, (father, _teacher, mother) = kka(
        owner,
        world.org,
        title="Akan datang",
        people=(("keluarga", "ayah"), ("staf_lembaga", "wali kelas"), ("keluarga", "ibu")),
    )
    services.pledge_take(
        participant=father, typed_name="Nama ayah", agreed=True, ip=None, channel="portal"
    )
    services.invitation_send(actor=owner, participant=mother, channel="letter")
    mother.refresh_from_db()
    services.portal_rsvp(participant=mother, answer=Rsvp.NO)  # not coming: no pledge needed
    held, (h_father, _h_teacher) = kka(
        owner, world.org, title="Terlaksana", status=ConferenceStatus.HELD
    )
    meeting.attendance_set(actor=owner, participant=h_father, attendance="absent")
    kka(owner, world.org, title="Selesai", status=ConferenceStatus.CLOSED)

    d = board(owner, world.org)

    missing = [(i.conference.case.title, i.participant.role) for i in d.pledges_missing]
    assert sorted(missing) == [("Akan datang", "wali kelas"), ("Terlaksana", "wali kelas")]
    html = page_text(logged_in(owner).get("/"))
    section = html.split('id="d-pledges"')[1].split("</section>")[0]
    assert f"/kka/{held.code}/pertemuan/" in section  # held: straight to meeting mode
    assert f"/kka/{planned.code}/" in section
    assert "KKA sudah terlaksana; kehadiran belum dicatat" in section
    assert "Selesai · KKA" not in section


def test_participants_of_one_kka_are_grouped_on_one_line(world: World) -> None:
    owner = world.counsellor
    kka(
        owner,
        world.org,
        title="Tiga peserta",
        people=(("keluarga", "ayah"), ("keluarga", "ibu"), ("staf_lembaga", "wali kelas")),
    )

    d = board(owner, world.org)

    assert d.pledges_missing.count == 3
    assert [(g.conference.case.title, g.roles) for g in d.pledges_missing.by_kka] == [
        ("Tiga peserta", "ayah, ibu, wali kelas")
    ]
    html = page_text(logged_in(owner).get("/"))
    assert "<strong>ayah, ibu, wali kelas</strong>" in html


# --- commitments -------------------------------------------------------------------------


def test_commitments_this_week_and_overdue_in_the_organisations_time_zone() -> None:
    org = make_organisation(name="SMA Jayapura", time_zone="Asia/Jayapura")  # WIT, UTC+9
    owner = make_user(organisation=org, role=Role.KONSELOR)
    conference, (father, teacher) = kka(owner, org, title="Papua")
    # 16.30 UTC on 29 November is already 01.30 on 30 November in Jayapura.
    now = dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC)
    assert local_today(org, now) == dt.date(2026, 11, 30)
    yesterday = commit(conference, father, "kemarin", dt.date(2026, 11, 29))
    today = commit(conference, teacher, "hari ini", dt.date(2026, 11, 30))
    sixth = commit(conference, owner, "hari keenam", dt.date(2026, 12, 6))
    seventh = commit(conference, father, "hari ketujuh", dt.date(2026, 12, 7))
    undated = commit(conference, father, "tanpa tanggal", None)
    done = commit(conference, teacher, "sudah selesai", dt.date(2026, 11, 20))
    followup.commitment_set_status(actor=owner, commitment=done, status="done")

    d = board(owner, org, now=now)

    assert (d.today, d.week_end) == (dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert [i.commitment.pk for i in d.commitments_overdue] == [yesterday.pk]
    assert d.commitments_overdue.items[0].days_late == 1
    assert [i.commitment.pk for i in d.commitments_due] == [today.pk, sixth.pk]
    assert [i.mine for i in d.commitments_due] == [False, True]
    shown = {i.commitment.pk for i in (*d.commitments_due, *d.commitments_overdue)}
    assert not shown & {seventh.pk, undated.pk, done.pk}

    # The same moment in Jakarta (UTC+7) is still 29 November: "kemarin" is due today.
    Organisation.objects.filter(pk=org.pk).update(time_zone="Asia/Jakarta")
    org.refresh_from_db()
    d = board(owner, org, now=now)
    assert d.today == dt.date(2026, 11, 29)
    assert [i.commitment.pk for i in d.commitments_overdue] == []
    assert [i.commitment.pk for i in d.commitments_due] == [yesterday.pk, today.pk]


def test_commitment_text_only_on_the_dashboards_of_the_case_team(world: World) -> None:
    owner = world.counsellor
    conference, (father, _t) = kka(owner, world.org, title="Milik konselor satu")
    today = local_today(world.org)
    commit(conference, father, SECRET_WHAT, today + dt.timedelta(days=2))
    commit(conference, owner, "Komitmen konselor sendiri", today - dt.timedelta(days=3))
    co = make_user(organisation=world.org, role=Role.KONSELOR, full_name="Pendamping")
    case_services.case_member_add(
        actor=owner, case=conference.case, user=co, role=CaseRole.CO_COUNSELLOR
    )

    mine = page_text(logged_in(owner).get("/"))
    assert SECRET_WHAT in mine
    assert "<strong>Anda</strong>: Komitmen konselor sendiri" in mine
    assert "lewat 3 hari" in mine
    # The co-counsellor sees the case's commitments, the owner named as a person.
    theirs = page_text(logged_in(co).get("/"))
    assert SECRET_WHAT in theirs
    assert f"<strong>{owner.full_name}</strong>: Komitmen konselor sendiri" in theirs
    # Nobody else, whatever their role in the organisation.
    for user in (world.other_counsellor, world.coordinator, world.head, world.admin, world.dpo):
        html = page_text(logged_in(user).get("/"))
        assert SECRET_WHAT not in html, user.full_name
        assert "Milik konselor satu" not in html, user.full_name
    assert SECRET_WHAT not in page_text(logged_in(world.outsider).get("/"))


# --- evaluations ---------------------------------------------------------------------------


def test_evaluations_due_within_seven_days_and_overdue(world: World) -> None:
    owner = world.counsellor
    org = world.org
    now = timezone.now()
    today = local_today(org, now)

    def closed_with_laijapen(title: str, due: dt.date) -> Evaluation:
        conference, _ = kka(owner, org, title=title, status=ConferenceStatus.CLOSED)
        Evaluation.objects.filter(conference=conference, kind=EvaluationKind.LAIJAPANG).update(
            due_on=today + dt.timedelta(days=60)
        )
        evaluation = Evaluation.objects.get(conference=conference, kind=EvaluationKind.LAIJAPEN)
        Evaluation.objects.filter(pk=evaluation.pk).update(due_on=due)
        return evaluation

    late = closed_with_laijapen("Terlambat", today - dt.timedelta(days=2))
    edge = closed_with_laijapen("Hari ketujuh", today + dt.timedelta(days=7))
    beyond = closed_with_laijapen("Hari kedelapan", today + dt.timedelta(days=8))
    done = closed_with_laijapen("Sudah dinilai", today)
    followup.later_evaluation_record(
        actor=owner,
        evaluation=done,
        client_situation="Membaik",
        commitment_results={},
        analysis="Tujuan tercapai",
        data_needs_met="met",
    )

    d = board(owner, org, now=now)

    assert [(i.evaluation.pk, i.overdue, i.days_late) for i in d.evaluations_due] == [
        (late.pk, True, 2),
        (edge.pk, False, 0),
    ]
    assert beyond.pk not in {i.evaluation.pk for i in d.evaluations_due}
    html = page_text(logged_in(owner).get("/"))
    section = html.split('id="d-evaluations"')[1].split("</section>")[0]
    assert "Penilaian jangka pendek (laijapen)" in section
    assert "lewat 2 hari" in section
    assert f"/kka/{late.conference.code}/penilaian/{late.code}/" in section  # record it there
    assert f"/kka/{late.conference.code}/pertemuan/" in section


# --- cases gone quiet ----------------------------------------------------------------------


def test_inactive_cases_boundary_at_thirty_days(world: World) -> None:
    owner = world.counsellor
    now = timezone.now()
    quiet = make_case(owner, world.org, title="Tepat tiga puluh hari")
    recent = make_case(owner, world.org, title="Kurang sedetik")
    old_closed = make_case(owner, world.org, title="Ditutup lama")
    case_services.case_change_status(
        actor=owner, case=old_closed, status="closed", outcome="resolved"
    )
    Case.objects.filter(pk=quiet.pk).update(last_activity_at=now - dt.timedelta(days=30))
    Case.objects.filter(pk=recent.pk).update(
        last_activity_at=now - dt.timedelta(days=30) + dt.timedelta(seconds=1)
    )
    Case.objects.filter(pk=old_closed.pk).update(last_activity_at=now - dt.timedelta(days=90))

    d = board(owner, world.org, now=now)

    assert titles(d.inactive_cases) == ["Tepat tiga puluh hari"]
    assert d.inactive_cases.items[0].quiet_days == 30
    assert d.active_cases == 2
    html = page_text(logged_in(owner).get("/"))
    section = html.split('id="d-inactive"')[1].split("</section>")[0]
    assert f"/kasus/{quiet.code}/" in section
    assert "hari lalu" in section


# --- scope: only the viewer's cases, one organisation ---------------------------------------


def build_everything(owner: User, org: Organisation, *, prefix: str, what: str) -> Case:
    """One item in every section of ``owner``'s dashboard."""
    today = local_today(org)
    planned, (father, _t) = kka(owner, org, title=f"{prefix} mendatang")
    services.invitation_send(actor=owner, participant=father, channel="letter")
    commit(planned, father, what, today + dt.timedelta(days=1))
    commit(planned, father, f"{what} terlambat", today - dt.timedelta(days=1))
    closed, _ = kka(owner, org, title=f"{prefix} selesai", status=ConferenceStatus.CLOSED)
    Evaluation.objects.filter(conference=closed).update(due_on=today)
    quiet = make_case(owner, org, title=f"{prefix} sepi")
    make_quiet(quiet)
    return quiet


def make_quiet(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=45))


def test_every_section_leaves_out_other_counsellors_and_other_organisations(
    world: World,
) -> None:
    build_everything(world.counsellor, world.org, prefix="Satu", what=SECRET_WHAT)
    build_everything(world.other_counsellor, world.org, prefix="Dua", what=OTHER_WHAT)
    build_everything(world.outsider, world.other_org, prefix="Lain", what="Komitmen PT lain")

    d = board(world.counsellor, world.org)

    sections = {
        "upcoming": d.upcoming,
        "unanswered": d.unanswered,
        "pledges": d.pledges_missing,
        "due": d.commitments_due,
        "overdue": d.commitments_overdue,
        "evaluations": d.evaluations_due,
        "inactive": d.inactive_cases,
    }
    for name, section in sections.items():
        seen = titles(section)
        assert seen, name
        assert all(t.startswith("Satu") for t in seen), (name, seen)
    # Own dashboard in the other organisation: only the other organisation's case.
    outsider = board(world.outsider, world.other_org)
    assert {t.split()[0] for t in titles(outsider.upcoming)} == {"Lain"}
    # Asking for another organisation than one's own shows nothing of either.
    assert board(world.counsellor, world.other_org).nothing_to_do

    html = page_text(logged_in(world.counsellor).get("/"))
    assert SECRET_WHAT in html
    assert OTHER_WHAT not in html and "Dua mendatang" not in html and "Dua sepi" not in html
    assert "Komitmen PT lain" not in html and "Lain mendatang" not in html
    other = page_text(logged_in(world.other_counsellor).get("/"))
    assert SECRET_WHAT not in other and "Satu mendatang" not in other
    assert OTHER_WHAT in other


def test_a_supervisor_sees_the_supervised_case(world: World) -> None:
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    quiet = build_everything(world.counsellor, world.org, prefix="Satu", what=SECRET_WHAT)
    for case in Case.objects.filter(owner=world.counsellor):
        case_services.case_member_add(
            actor=world.counsellor, case=case, user=supervisor, role=CaseRole.SUPERVISOR
        )
    make_quiet(quiet)  # adding the supervisor was activity on it

    d = board(supervisor, world.org)

    assert titles(d.commitments_due) == ["Satu mendatang"]
    assert titles(d.inactive_cases) == ["Satu sepi"]


# --- roles without cases, empty states -----------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "dpo", "head"])
def test_roles_without_cases_get_the_page_without_case_sections(world: World, persona: str) -> None:
    build_everything(world.counsellor, world.org, prefix="Satu", what=SECRET_WHAT)
    user = world.personas()[persona]

    response = logged_in(user).get("/")

    assert response.status_code == 200
    html = page_text(response)
    assert f"<h2>{world.org.name}</h2>" in html
    assert 'id="d-upcoming"' not in html and "Ringkasan pekerjaan" not in html
    for title in ("Satu mendatang", "Satu selesai", "Satu sepi", SECRET_WHAT):
        assert title not in html
    assert "Kasus aktif" not in html


def test_a_new_counsellor_sees_every_empty_state_in_indonesian(world: World) -> None:
    html = page_text(logged_in(world.counsellor).get("/"))

    for text in (
        "Tidak ada KKA yang akan datang.",
        "Semua undangan sudah dijawab.",
        "Semua peserta sudah menyatakan komitmen kerahasiaan.",
        "Tidak ada komitmen yang lewat batas waktu.",
        "Tidak ada komitmen yang jatuh tempo minggu ini.",
        "Tidak ada penilaian yang jatuh tempo dalam 7 hari.",
        "Semua kasus aktif ada kegiatannya dalam 30 hari terakhir.",
        "Kasus aktif: 0",
        "Tidak ada yang perlu ditindaklanjuti saat ini.",
    ):
        assert text in html, text
    assert board(world.counsellor, world.org).nothing_to_do


def test_coordinator_keeps_the_approval_section_and_gets_a_dashboard(world: World) -> None:
    world.org.require_plan_approval = True
    world.org.save(update_fields=["require_plan_approval"])
    conference, _ = kka(world.counsellor, world.org, title="Perlu persetujuan")
    services.conference_request_approval(actor=world.counsellor, conference=conference)

    html = page_text(logged_in(world.coordinator).get("/"))

    assert "Rencana KKA menunggu persetujuan Anda" in html
    assert f"/kka/{conference.code}/tinjau/" in html
    assert 'id="d-upcoming"' in html  # a coordinator also counsels
    assert f'/kka/{conference.code}/"' not in html  # but not this case's own pages


# --- queries stay bounded ------------------------------------------------------------------


def count_home_queries(user: User) -> int:
    http = logged_in(user)
    http.get("/")  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        assert http.get("/").status_code == 200
    return len(ctx.captured_queries)


def test_home_page_queries_do_not_grow_with_kkas_and_participants(
    world: World, django_assert_max_num_queries: Any
) -> None:
    owner = world.counsellor
    build_everything(owner, world.org, prefix="Awal", what="satu")
    few = count_home_queries(owner)

    for n in range(6):
        conference, people = kka(
            owner,
            world.org,
            title=f"Banyak {n}",
            consent=n % 2 == 0,
            people=(
                ("keluarga", "ayah"),
                ("keluarga", "ibu"),
                ("staf_lembaga", "wali kelas"),
                ("staf_lembaga", "guru mapel"),
            ),
        )
        if n % 2 == 0:
            services.invitation_send(actor=owner, participant=people[0], channel="letter")
        commit(conference, people[0], f"komitmen {n}", local_today(world.org))
        commit(conference, owner, f"komitmen konselor {n}", local_today(world.org))
    build_everything(owner, world.org, prefix="Akhir", what="dua")
    kka(owner, world.org, title="Terlaksana", status=ConferenceStatus.HELD)

    many = count_home_queries(owner)
    assert many == few
    http = logged_in(owner)
    http.get("/")
    with django_assert_max_num_queries(15):
        response = http.get("/")
    assert page_text(response).count("· KKA ") > 10
