"""After the meeting through the web, as the counsellor uses it: laiseg in the
organisation's scheme, closing with chosen days, laijapen/laijapang, follow-up and
referral behind the consent gate, follow-up status, and the next KKA."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Role, User
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import CaseRole, CaseStatus
from kka.conferences import followup, meeting, services
from kka.conferences.models import (
    Commitment,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    Evaluation,
    FollowUp,
    FollowUpStatus,
)
from tests.conferences.test_followup import Held, held
from tests.conferences.test_planning import give_consent, make_case
from tests.personas import make_user, make_world

pytestmark = pytest.mark.django_db

SECRET_ANSWER = "Saya paham sekarang rahasia-jawaban-7Q"
SECRET_SITUATION = "Ani mulai bergaul rahasia-keadaan-7Q"
SECRET_RESULT_NOTE = "Dijemput tiap Jumat rahasia-hasil-7Q"
SECRET_ANALYSIS = "Tujuan tercapai sebagian rahasia-analisis-7Q"
SECRET_REASON = "Gejala kecemasan berat rahasia-alasan-7Q"
SECRET_NOTE = "Bawa buku tugas rahasia-catatan-7Q"
SECRET_PROGRESS = "Sudah dua kali dijemput rahasia-kemajuan-7Q"
SECRETS = (
    SECRET_ANSWER,
    SECRET_SITUATION,
    SECRET_RESULT_NOTE,
    SECRET_ANALYSIS,
    SECRET_REASON,
    SECRET_NOTE,
    SECRET_PROGRESS,
)


def assert_audit_holds_no_typed_text() -> None:
    rows = repr(list(AuditEvent.objects.values()))
    for secret in SECRETS:
        assert secret not in rows
        assert secret.split(" rahasia-")[1] not in rows


@dataclass
class Scene:
    held: Held
    http: HttpClient
    owner: User

    @property
    def conference(self) -> Conference:
        return self.held.conference


def login(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def scene() -> Scene:
    setup = held(make_world())
    return Scene(setup, login(setup.world.counsellor), setup.world.counsellor)


def page(http: HttpClient, url: str) -> str:
    response = http.get(url)
    assert response.status_code == 200
    return response.content.decode()


def meeting_url(conference: Conference) -> str:
    return reverse("conferences:meeting", kwargs={"code": conference.code})


def close(scene: Scene, **days: Any) -> HttpClient:
    meeting.minutes_finalise(actor=scene.owner, conference=scene.conference)
    return scene.http.post(
        reverse("conferences:close", kwargs={"code": scene.conference.code}), days, follow=True
    )


def evaluation_url(conference: Conference, evaluation: Evaluation) -> str:
    return reverse(
        "conferences:later_evaluation",
        kwargs={"code": conference.code, "evaluation": evaluation.code},
    )


def with_supervisor(scene: Scene) -> HttpClient:
    supervisor = make_user(organisation=scene.held.world.org, role=Role.KONSELOR)
    case_services.case_member_add(
        actor=scene.owner, case=scene.held.case, user=supervisor, role=CaseRole.SUPERVISOR
    )
    return login(supervisor)


# --- laiseg and process evaluation in meeting mode ---------------------------------------------


def test_the_questions_asked_are_exactly_the_keys_the_service_stores() -> None:
    from kka.conferences.forms import LAISEG_QUESTIONS, PROCESS_QUESTIONS

    for scheme, keys in followup.ANSWER_KEYS.items():
        assert tuple(key for key, *_rest in LAISEG_QUESTIONS[scheme]) == keys
    assert tuple(key for key, *_rest in PROCESS_QUESTIONS) == followup.PROCESS_KEYS


def test_laiseg_asks_the_three_uca_questions_by_default(scene: Scene) -> None:
    body = page(scene.http, meeting_url(scene.conference))
    for label in ("Pemahaman baru", "Perasaan", "Rencana tindakan"):
        assert f">{label}</label>" in body
    assert "Bertanggung jawab" not in body
    father = scene.held.father.code
    assert 'name="understanding"' in body and f'id="understanding-{father}"' in body


def test_laiseg_with_a_bmb3_organisation_stores_five_answers(scene: Scene) -> None:
    org = scene.held.world.org
    org.evaluation_scheme = "bmb3"
    org.save(update_fields=["evaluation_scheme"])
    body = page(scene.http, meeting_url(scene.conference))
    for label in ("Berpikir", "Merasa", "Bersikap", "Bertindak", "Bertanggung jawab"):
        assert f">{label}</label>" in body
    assert ">Pemahaman baru</label>" not in body
    answers = {
        "berpikir": SECRET_ANSWER,
        "merasa": "Lega",
        "bersikap": "Mendukung",
        "bertindak": "Menjemput",
        "bertanggung_jawab": "Memantau",
        "understanding": "ignored: not a BMB3 question",
    }
    father = scene.held.father
    response = scene.http.post(
        reverse(
            "conferences:laiseg",
            kwargs={"code": scene.conference.code, "participant": father.code},
        ),
        answers,
    )
    assert response.status_code == 302 and response["Location"].endswith("#penilaian")
    evaluation = Evaluation.objects.get(kind="laiseg", participant=father)
    assert evaluation.scheme == "bmb3"
    assert evaluation.answers_dict == {
        "berpikir": SECRET_ANSWER,
        "merasa": "Lega",
        "bersikap": "Mendukung",
        "bertindak": "Menjemput",
        "bertanggung_jawab": "Memantau",
    }
    # Shown read-only afterwards, with no second form for the same participant.
    body = page(scene.http, meeting_url(scene.conference))
    assert SECRET_ANSWER in body and "sudah dinilai" in body
    laiseg_action = reverse(
        "conferences:laiseg", kwargs={"code": scene.conference.code, "participant": father.code}
    )
    assert laiseg_action not in body
    assert_audit_holds_no_typed_text()


def test_answers_given_through_the_portal_are_shown_read_only(scene: Scene) -> None:
    father = scene.held.father
    followup.laiseg_record(
        conference=scene.conference,
        participant=father,
        answers={"understanding": SECRET_ANSWER, "comfort": "Tenang", "action": "Mengantar"},
        via_portal=True,
    )
    body = page(scene.http, meeting_url(scene.conference))
    assert SECRET_ANSWER in body and "Tenang" in body
    assert "dijawab lewat tautan pribadi" in body
    father_action = reverse(
        "conferences:laiseg", kwargs={"code": scene.conference.code, "participant": father.code}
    )
    teacher_action = reverse(
        "conferences:laiseg",
        kwargs={"code": scene.conference.code, "participant": scene.held.teacher.code},
    )
    assert father_action not in body and teacher_action in body


def test_laiseg_forms_wait_until_the_kka_is_held(scene: Scene) -> None:
    planned = held(scene.held.world, status=ConferenceStatus.PLANNED)
    body = page(scene.http, meeting_url(planned.conference))
    assert "setelah KKA berstatus terlaksana" in body
    assert (
        reverse(
            "conferences:laiseg",
            kwargs={"code": planned.conference.code, "participant": planned.father.code},
        )
        not in body
    )


def test_recorded_process_evaluation_prefills_its_form(scene: Scene) -> None:
    url = reverse("conferences:process_evaluation", kwargs={"code": scene.conference.code})
    scene.http.post(
        url, {"participation": "Semua aktif", "atmosphere": SECRET_ANSWER, "adherence": "Sesuai"}
    )
    body = page(scene.http, meeting_url(scene.conference))
    assert f">{SECRET_ANSWER}</textarea>" in body and ">Semua aktif</textarea>" in body
    scene.http.post(url, {"participation": "Sebagian", "atmosphere": "", "adherence": ""})
    assert Evaluation.objects.filter(kind="proses").count() == 1
    assert Evaluation.objects.get(kind="proses").answers_dict["participation"] == "Sebagian"
    assert_audit_holds_no_typed_text()


# --- closing -------------------------------------------------------------------------------------


def test_the_close_form_offers_editable_days_with_the_defaults(scene: Scene) -> None:
    body = page(scene.http, meeting_url(scene.conference))
    assert re.search(r'name="short_days"[^>]*value="14"', body)
    assert re.search(r'name="long_days"[^>]*value="60"', body)


@pytest.mark.parametrize(
    ("posted", "short", "long"), [({}, 14, 60), ({"short_days": "10", "long_days": "90"}, 10, 90)]
)
def test_closing_schedules_laijapen_and_laijapang_on_the_chosen_days(
    scene: Scene, posted: dict[str, str], short: int, long: int
) -> None:
    response = close(scene, **posted)
    scene.conference.refresh_from_db()
    assert scene.conference.status == ConferenceStatus.CLOSED
    start = followup.conference_local_date(scene.conference)
    due = dict(scene.conference.evaluations.values_list("kind", "due_on"))
    assert due["laijapen"] == start + dt.timedelta(days=short)
    assert due["laijapang"] == start + dt.timedelta(days=long)
    body = response.content.decode()
    assert "KKA ditutup" in body and str(due["laijapang"].year) in body


@pytest.mark.parametrize(
    "posted", [{"short_days": "0", "long_days": "60"}, {"short_days": "60", "long_days": "30"}]
)
def test_closing_with_impossible_days_changes_nothing(scene: Scene, posted: dict[str, str]) -> None:
    response = close(scene, **posted)
    assert "msg-error" in response.content.decode()
    scene.conference.refresh_from_db()
    assert scene.conference.status == ConferenceStatus.HELD
    assert not scene.conference.evaluations.exists()


# --- later evaluations -----------------------------------------------------------------------


@dataclass
class Closed:
    scene: Scene
    by_father: Commitment
    by_me: Commitment
    laijapen: Evaluation
    laijapang: Evaluation


@pytest.fixture
def closed() -> Closed:
    world = make_world()
    owner = world.counsellor
    setup = held(world, status=ConferenceStatus.PLANNED)
    services.conference_update_plan(
        actor=owner,
        conference=setup.conference,
        aim="Memahami penyebab Ani menarik diri",
        expected_results="Ani kembali bergaul",
    )
    conference = setup.conference
    for step in (ConferenceStatus.INVITED, ConferenceStatus.HELD):
        conference = services.conference_set_status(actor=owner, conference=conference, status=step)
    setup.conference = conference
    meeting.minutes_save(
        actor=owner,
        conference=conference,
        base_version=0,
        values={
            "data_wanted": "Pola pertemanan",
            "data_obtained": "Sering sendiri saat istirahat",
            "conclusions": "Perlu pendampingan teman sebaya",
            "directions": "Konseling individual mingguan",
        },
    )
    by_father = followup.commitment_add(
        actor=owner, conference=conference, participant=setup.father, what="Menjemput tiap Jumat"
    )
    by_me = followup.commitment_add(
        actor=owner, conference=conference, counsellor=owner, what="Konseling mingguan"
    )
    meeting.minutes_finalise(actor=owner, conference=conference)
    followup.conference_close(actor=owner, conference=conference)
    scene = Scene(setup, login(owner), owner)
    return Closed(
        scene,
        by_father,
        by_me,
        conference.evaluations.get(kind="laijapen"),
        conference.evaluations.get(kind="laijapang"),
    )


def evaluation_post(closed: Closed, **overrides: str) -> dict[str, str]:
    data = {
        "client_situation": SECRET_SITUATION,
        f"result_{closed.by_father.code}": "done",
        f"note_{closed.by_father.code}": SECRET_RESULT_NOTE,
        f"result_{closed.by_me.code}": "partly",
        f"note_{closed.by_me.code}": "",
        "analysis": SECRET_ANALYSIS,
        "data_needs_met": "partly",
    }
    data.update(overrides)
    return data


def test_later_evaluation_page_shows_aims_and_minutes_beside_the_form(closed: Closed) -> None:
    conference = closed.scene.conference
    body = page(closed.scene.http, evaluation_url(conference, closed.laijapen))
    for text in (
        "Memahami penyebab Ani menarik diri",
        "Ani kembali bergaul",
        "Pola pertemanan",
        "Sering sendiri saat istirahat",
        "Perlu pendampingan teman sebaya",
        "Konseling individual mingguan",
        "Menjemput tiap Jumat",
        "Konseling mingguan",
        "Penilaian jangka pendek (laijapen)",
    ):
        assert text in body
    for code in (closed.by_father.code, closed.by_me.code):
        for value in ("done", "partly", "not_done"):
            assert f'name="result_{code}" value="{value}"' in body
    assert "sanksi" not in body.lower() and "hukuman" not in body.lower()
    viewed = AuditEvent.objects.filter(action="conference.viewed", object_ref=conference.code)
    assert any(row.refs.get("evaluation") == closed.laijapen.code for row in viewed)


def test_later_evaluation_records_a_result_per_commitment(closed: Closed) -> None:
    http = closed.scene.http
    url = evaluation_url(closed.scene.conference, closed.laijapen)
    response = http.post(url, evaluation_post(closed))
    assert response.status_code == 302 and response["Location"] == url
    closed.laijapen.refresh_from_db()
    assert closed.laijapen.done_at is not None
    assert closed.laijapen.client_situation == SECRET_SITUATION
    assert closed.laijapen.analysis == SECRET_ANALYSIS
    assert closed.laijapen.data_needs_met == "partly"
    assert closed.laijapen.commitment_results_dict == {
        closed.by_father.code: {"result": "done", "note": SECRET_RESULT_NOTE},
        closed.by_me.code: {"result": "partly", "note": ""},
    }
    body = page(http, url)
    assert SECRET_SITUATION in body and SECRET_RESULT_NOTE in body
    assert "Sebagian terlaksana" in body and "Catat ulang" in body
    # Recording again replaces the result.
    http.post(url, evaluation_post(closed, **{f"result_{closed.by_father.code}": "not_done"}))
    closed.laijapen.refresh_from_db()
    assert closed.laijapen.commitment_results_dict[closed.by_father.code]["result"] == "not_done"
    assert (
        Evaluation.objects.filter(conference=closed.scene.conference, kind="laijapen").count() == 1
    )
    assert not Evaluation.objects.get(pk=closed.laijapang.pk).done_at
    assert (
        AuditEvent.objects.filter(
            action="evaluation.recorded", object_ref=closed.laijapen.code
        ).count()
        == 2
    )
    assert_audit_holds_no_typed_text()


def test_later_evaluation_needs_a_result_for_every_commitment(closed: Closed) -> None:
    url = evaluation_url(closed.scene.conference, closed.laijapen)
    data = evaluation_post(closed)
    del data[f"result_{closed.by_me.code}"]
    response = closed.scene.http.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pilih hasil komitmen ini." in body
    assert SECRET_SITUATION in body  # what was typed stays in the form
    closed.laijapen.refresh_from_db()
    assert closed.laijapen.done_at is None


def test_later_evaluation_refuses_codes_not_of_this_kka(closed: Closed) -> None:
    http = closed.scene.http
    conference = closed.scene.conference
    other = held(closed.scene.held.world)
    meeting.minutes_finalise(actor=closed.scene.owner, conference=other.conference)
    followup.conference_close(actor=closed.scene.owner, conference=other.conference)
    foreign = other.conference.evaluations.get(kind="laijapen")
    laiseg = followup.laiseg_record(
        conference=conference,
        participant=closed.scene.held.father,
        answers={"understanding": "x"},
        actor=closed.scene.owner,
    )
    process = followup.process_evaluation_record(
        actor=closed.scene.owner, conference=conference, answers={}
    )
    for evaluation in (foreign, laiseg, process):
        url = evaluation_url(conference, evaluation)
        assert http.get(url).status_code == 404
        assert http.post(url, evaluation_post(closed)).status_code == 404
    missing = reverse(
        "conferences:later_evaluation", kwargs={"code": conference.code, "evaluation": "NOPE"}
    )
    assert http.get(missing).status_code == 404
    assert http.get(evaluation_url(other.conference, foreign)).status_code == 200
    foreign.refresh_from_db()
    assert foreign.done_at is None


def test_supervisor_reads_the_evaluation_but_gets_403_on_every_post(closed: Closed) -> None:
    scene = closed.scene
    supervisor = with_supervisor(scene)
    http = scene.http
    http.post(evaluation_url(scene.conference, closed.laijapen), evaluation_post(closed))
    body = page(supervisor, evaluation_url(scene.conference, closed.laijapen))
    assert SECRET_SITUATION in body
    assert "Catat ulang" not in body and 'name="client_situation"' not in body
    home_visit = followup.followup_add(actor=scene.owner, case=scene.held.case, kind="home_visit")
    posts = [
        (evaluation_url(scene.conference, closed.laijapen), evaluation_post(closed)),
        (reverse("conferences:next_kka", kwargs={"code": scene.conference.code}), {}),
        (
            reverse("conferences:followup_add", kwargs={"code": scene.held.case.code}),
            {"kind": "home_visit"},
        ),
        (
            reverse("conferences:followup_status", kwargs={"code": home_visit.code}),
            {"status": "done"},
        ),
        (
            reverse(
                "conferences:laiseg",
                kwargs={"code": scene.conference.code, "participant": scene.held.teacher.code},
            ),
            {"understanding": "x"},
        ),
        (reverse("conferences:close", kwargs={"code": scene.conference.code}), {}),
    ]
    for url, data in posts:
        assert supervisor.post(url, data).status_code == 403, url
    followup_form = reverse("conferences:followup_add", kwargs={"code": scene.held.case.code})
    assert supervisor.get(followup_form).status_code == 403
    home_visit.refresh_from_db()
    assert home_visit.status == FollowUpStatus.PLANNED
    assert FollowUp.objects.count() == 1
    assert Conference.objects.filter(case=scene.held.case).count() == 1
    # On the case and KKA pages the supervisor sees follow-ups without the status forms.
    case_page = page(
        supervisor, reverse("cases:case_detail", kwargs={"code": scene.held.case.code})
    )
    assert "Kunjungan rumah" in case_page
    assert reverse("conferences:followup_status", kwargs={"code": home_visit.code}) not in case_page
    kka_page = page(
        supervisor, reverse("conferences:detail", kwargs={"code": scene.conference.code})
    )
    assert reverse("conferences:next_kka", kwargs={"code": scene.conference.code}) not in kka_page


# --- follow-up and referral ----------------------------------------------------------------------


def followup_url(scene: Scene, **query: str) -> str:
    url = reverse("conferences:followup_add", kwargs={"code": scene.held.case.code})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def referral(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "referral",
        "referral_to": "psikolog",
        "referral_to_name": "Biro Psikologi Harapan",
        "reason": SECRET_REASON,
        "planned_on": "2030-02-01",
        "note": SECRET_NOTE,
    }
    data.update(overrides)
    return data


def test_the_followup_form_offers_every_kind_but_the_next_kka(scene: Scene) -> None:
    body = page(scene.http, followup_url(scene))
    for kind in ("individual_counselling", "home_visit", "consultation", "referral"):
        assert f'value="{kind}"' in body
    assert 'value="next_kka"' not in body
    assert "Dialihtangankan kepada" in body and "Alasan alih tangan kasus" in body
    assert "sanksi" not in body.lower() and "hukuman" not in body.lower()
    preselected = page(scene.http, followup_url(scene, jenis="referral"))
    assert re.search(r'value="referral"[^>]*checked', preselected)
    assert re.search(r'<details class="referral"\s+open', preselected)


def test_referral_blocked_by_the_consent_gate_shows_why_and_creates_nothing() -> None:
    world = make_world()
    owner = world.counsellor
    case = make_case(owner, world.org)
    give_consent(owner, case.client, purposes=["purpose_hold_kka", "share_family"])
    http = login(owner)
    url = reverse("conferences:followup_add", kwargs={"code": case.code})
    response = http.post(url, referral())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alih tangan kasus belum dapat dicatat." in body
    assert "tidak mencakup" in body and "profesional luar" in body
    assert reverse("cases:consent_add", kwargs={"code": case.client.code}) in body
    assert SECRET_REASON in body  # the typed reason is kept in the form
    assert not FollowUp.objects.exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert not AuditEvent.objects.filter(action="followup.added").exists()
    # Within the school's own circle, sharing with school staff is enough.
    give_consent(owner, case.client, purposes=["purpose_hold_kka", "share_school_staff"])
    response = http.post(url, referral(referral_to="tppk"))
    assert response.status_code == 302
    assert FollowUp.objects.get().referral_to == "tppk"
    assert_audit_holds_no_typed_text()


def test_referral_without_any_consent_names_the_guardian() -> None:
    world = make_world()
    case = make_case(world.counsellor, world.org, minor=True)
    response = login(world.counsellor).post(
        reverse("conferences:followup_add", kwargs={"code": case.code}), referral()
    )
    body = response.content.decode()
    assert response.status_code == 200 and "orang tua/wali" in body
    assert not FollowUp.objects.exists()


def test_allowed_referral_moves_the_case_to_referred(scene: Scene) -> None:
    response = scene.http.post(followup_url(scene), referral(), follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(
        reverse("cases:case_detail", kwargs={"code": scene.held.case.code}) + "#tindak-lanjut"
    )
    assert "Alih tangan kasus dicatat. Status kasus: Dialihtangankan." in body
    made = FollowUp.objects.get()
    assert made.kind == "referral" and made.referral_to == "psikolog"
    assert made.consent is not None and made.conference is None
    assert made.planned_on == dt.date(2030, 2, 1)
    scene.held.case.refresh_from_db()
    assert scene.held.case.status == CaseStatus.REFERRED
    # The case page lists it for the team: to whom, why, under which consent.
    assert "Psikolog" in body and "Biro Psikologi Harapan" in body and SECRET_REASON in body
    assert "berdasarkan persetujuan" in body
    assert_audit_holds_no_typed_text()


def test_referral_fields_missing_or_on_another_kind_are_refused(scene: Scene) -> None:
    response = scene.http.post(followup_url(scene), referral(referral_to="", reason=""))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Pilih pihak penerima alih tangan kasus." in body
    assert "Tuliskan alasan alih tangan kasus." in body
    response = scene.http.post(followup_url(scene), referral(kind="home_visit"))
    assert response.status_code == 200
    assert "Hanya untuk alih tangan kasus" in response.content.decode()
    assert not FollowUp.objects.exists()


def test_a_followup_from_a_kka_is_tied_to_it_and_listed_on_its_page(scene: Scene) -> None:
    conference = scene.conference
    response = scene.http.post(
        followup_url(scene, kka=conference.code),
        {"kind": "home_visit", "planned_on": "2030-03-03", "note": SECRET_NOTE},
    )
    detail = reverse("conferences:detail", kwargs={"code": conference.code})
    assert response.status_code == 302 and response["Location"] == detail + "#tindak-lanjut"
    made = FollowUp.objects.get()
    assert made.conference == conference and made.kind == "home_visit"
    body = page(scene.http, detail)
    assert "Kunjungan rumah" in body and SECRET_NOTE in body
    assert reverse("conferences:followup_status", kwargs={"code": made.code}) in body
    case_page = page(
        scene.http, reverse("cases:case_detail", kwargs={"code": scene.held.case.code})
    )
    assert "Kunjungan rumah" in case_page and "diputuskan di KKA" in case_page
    # A KKA of another case cannot be named.
    other = held(scene.held.world)
    assert scene.http.get(followup_url(scene, kka=other.conference.code)).status_code == 404
    assert (
        scene.http.post(
            followup_url(scene, kka=other.conference.code), {"kind": "home_visit"}
        ).status_code
        == 404
    )
    assert FollowUp.objects.count() == 1
    assert_audit_holds_no_typed_text()


def status_options(body: str, code: str) -> list[str]:
    match = re.search(rf'<select id="fs-{code}" name="status">(.*?)</select>', body, re.S)
    return re.findall(r'value="([a-z_]+)"', match.group(1)) if match else []


def test_followup_status_moves_only_along_allowed_transitions(scene: Scene) -> None:
    made = followup.followup_add(actor=scene.owner, case=scene.held.case, kind="consultation")
    case_url = reverse("cases:case_detail", kwargs={"code": scene.held.case.code})
    status_url = reverse("conferences:followup_status", kwargs={"code": made.code})
    body = page(scene.http, case_url)
    assert set(status_options(body, made.code)) == followup.FOLLOWUP_MOVES["planned"]
    response = scene.http.post(status_url, {"status": "in_progress"})
    assert response.status_code == 302 and response["Location"] == case_url + "#tindak-lanjut"
    made.refresh_from_db()
    assert made.status == FollowUpStatus.IN_PROGRESS
    assert (
        set(status_options(page(scene.http, case_url), made.code))
        == (followup.FOLLOWUP_MOVES["in_progress"])
    )
    scene.http.post(status_url, {"status": "done"})
    made.refresh_from_db()
    assert made.status == FollowUpStatus.DONE
    assert status_options(page(scene.http, case_url), made.code) == []
    response = scene.http.post(status_url, {"status": "planned"}, follow=True)
    assert "tidak dapat diubah" in response.content.decode()
    made.refresh_from_db()
    assert made.status == FollowUpStatus.DONE
    assert AuditEvent.objects.filter(action="followup.status_changed").count() == 2


def test_status_change_from_the_kka_page_returns_there(scene: Scene) -> None:
    made = followup.followup_add(
        actor=scene.owner, case=scene.held.case, conference=scene.conference, kind="home_visit"
    )
    response = scene.http.post(
        reverse("conferences:followup_status", kwargs={"code": made.code}),
        {"status": "cancelled", "back": "kka"},
    )
    assert response["Location"] == (
        reverse("conferences:detail", kwargs={"code": scene.conference.code}) + "#tindak-lanjut"
    )
    made.refresh_from_db()
    assert made.status == FollowUpStatus.CANCELLED


def test_outsiders_get_404_on_followups(scene: Scene) -> None:
    made = followup.followup_add(actor=scene.owner, case=scene.held.case, kind="home_visit")
    stranger = login(scene.held.world.other_counsellor)
    status_url = reverse("conferences:followup_status", kwargs={"code": made.code})
    assert stranger.post(status_url, {"status": "done"}).status_code == 404
    assert stranger.get(followup_url(scene)).status_code == 404
    made.refresh_from_db()
    assert made.status == FollowUpStatus.PLANNED


# --- next KKA and the conference page ------------------------------------------------------------


def test_next_kka_copies_participants_and_lists_open_commitments(closed: Closed) -> None:
    scene = closed.scene
    followup.commitment_set_status(
        actor=scene.owner, commitment=closed.by_me, status=CommitmentStatus.DONE
    )
    url = reverse("conferences:next_kka", kwargs={"code": scene.conference.code})
    response = scene.http.post(url, follow=True)
    new = Conference.objects.get(case=scene.held.case, sequence=2)
    assert response.redirect_chain[0][0] == reverse("conferences:plan", kwargs={"code": new.code})
    body = response.content.decode()
    assert "KKA 2 dibuat. 2 peserta disalin dari KKA 1" in body
    assert "1 komitmen yang masih terbuka" in body
    names = {p.full_name for p in new.participants.all()}
    assert names == {scene.held.father.full_name, scene.held.teacher.full_name}
    assert "Menjemput tiap Jumat" in new.materials_note
    assert "Konseling mingguan" not in new.materials_note
    assert all(p.pledged_at is None and p.invited_at is None for p in new.participants.all())
    # Only once per KKA: a second press creates nothing and says so.
    again = scene.http.post(url, follow=True)
    assert "sudah dibuat" in again.content.decode()
    assert Conference.objects.filter(case=scene.held.case).count() == 2
    kka_page = page(
        scene.http, reverse("conferences:detail", kwargs={"code": scene.conference.code})
    )
    assert "Buka KKA 2" in kka_page


def test_kka_page_lists_later_evaluations_commitments_and_progress(closed: Closed) -> None:
    scene = closed.scene
    followup.commitment_progress_add(
        commitment=closed.by_father, note=SECRET_PROGRESS, participant=scene.held.father
    )
    followup.commitment_progress_add(
        commitment=closed.by_me, note="Sesi pertama selesai", actor=scene.owner
    )
    body = page(scene.http, reverse("conferences:detail", kwargs={"code": scene.conference.code}))
    for evaluation in (closed.laijapen, closed.laijapang):
        assert evaluation_url(scene.conference, evaluation) in body
        assert evaluation.get_kind_display() in body
        assert str(evaluation.due_on.year) in body
    assert "belum dicatat" in body
    assert SECRET_PROGRESS in body and "lewat tautan pribadi" in body
    assert "Sesi pertama selesai" in body
    assert "Menjemput tiap Jumat" in body
    assert reverse("conferences:next_kka", kwargs={"code": scene.conference.code}) in body
    assert followup_url(scene, kka=scene.conference.code) in body
    assert "sanksi" not in body.lower() and "hukuman" not in body.lower()
    meeting_page = page(scene.http, meeting_url(scene.conference))
    assert evaluation_url(scene.conference, closed.laijapen) in meeting_page
    assert 'name="short_days"' not in meeting_page  # already closed
    assert_audit_holds_no_typed_text()


def test_case_page_offers_follow_up_and_referral_and_keeps_closing_with_outcome(
    scene: Scene,
) -> None:
    body = page(scene.http, reverse("cases:case_detail", kwargs={"code": scene.held.case.code}))
    assert 'id="tindak-lanjut"' in body and "Belum ada tindak lanjut." in body
    assert followup_url(scene) in body and followup_url(scene, jenis="referral") in body
    assert reverse("cases:case_status", kwargs={"code": scene.held.case.code}) in body
    assert 'name="outcome"' in body
