"""After the meeting, through the private link: a participant with the shared-minutes
level agrees to the shared minutes (once) or comments on them, and a participant who
attended answers the immediate evaluation (laiseg) in the organisation's scheme.

Nothing here is reachable before it is allowed (404, no rows), nobody sees another
participant's comments or the counsellor's private notes, and audit rows carry codes
only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client as HttpClient
from django.utils import timezone

from kka.audit.models import AuditEvent
from kka.conferences import followup, meeting, services
from kka.conferences.models import (
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    MinutesResponse,
    Participant,
)
from kka.portal import laiseg
from tests.conferences.test_followup import Held, held
from tests.personas import make_world

pytestmark = pytest.mark.django_db

PORTAL = "/undangan/"
AGREE = "/undangan/notulen/setuju/"
COMMENT = "/undangan/notulen/komentar/"
LAISEG = "/undangan/penilaian/"

SHARED = "Disepakati BERSAMA-Q7 Ani diantar setiap pagi"
PRIVATE = "Konselor mencatat PRIBADI-Z9 dugaan tekanan di rumah"
FATHER_COMMENT = "Mohon dikoreksi AYAH-K3: jam masuk pukul tujuh"
TEACHER_COMMENT = "Ada yang terlewat GURU-M5 tentang tugas susulan"
ANSWER = "Saya paham sekarang JAWABAN-R8"
SECRETS = ("BERSAMA-Q7", "PRIBADI-Z9", "AYAH-K3", "GURU-M5", "JAWABAN-R8")


@dataclass
class Portal:
    setup: Held
    father: Participant
    teacher: Participant
    http: HttpClient  # the father's browser
    teacher_http: HttpClient


def enter(participant: Participant) -> HttpClient:
    http = HttpClient()
    token = services.portal_link_create(participant=participant)
    assert http.get(f"{PORTAL}?t={token}").status_code == 302
    return http


def pledge(participant: Participant) -> None:
    services.pledge_take(
        participant=participant, typed_name="Nama Lengkap", agreed=True, ip=None, channel="online"
    )


def build(
    *,
    disclosure: str = "shared_minutes",
    scheme: str = "uca",
    pledged: bool = True,
    finalised: bool = True,
    attendance: str = "present",
    status: str = ConferenceStatus.HELD,
) -> Portal:
    world = make_world()
    world.org.evaluation_scheme = scheme
    world.org.save(update_fields=["evaluation_scheme"])
    setup = held(world, status=status)
    owner = world.counsellor
    Participant.objects.filter(pk__in=[setup.father.pk, setup.teacher.pk]).update(
        disclosure=disclosure
    )
    father = Participant.objects.get(pk=setup.father.pk)
    teacher = Participant.objects.get(pk=setup.teacher.pk)
    if pledged:
        pledge(father)
    pledge(teacher)
    if pledged or attendance not in ("present", "represented"):
        meeting.attendance_set(actor=owner, participant=father, attendance=attendance)
    meeting.attendance_set(actor=owner, participant=teacher, attendance="present")
    meeting.minutes_save(
        actor=owner,
        conference=setup.conference,
        base_version=0,
        values={"shared_text": SHARED, "private_text": PRIVATE},
    )
    if finalised:
        meeting.minutes_finalise(actor=owner, conference=setup.conference)
    return Portal(setup, father, teacher, enter(father), enter(teacher))


def page(http: HttpClient) -> str:
    response = http.get(PORTAL)
    assert response.status_code == 200
    return response.content.decode()


def responses(participant: Participant, kind: str | None = None) -> list[MinutesResponse]:
    rows = MinutesResponse.objects.filter(participant=participant)
    return list(rows.filter(kind=kind) if kind else rows)


def assert_no_secret_in_audit() -> None:
    for event in AuditEvent.objects.all():
        row = json.dumps(
            [event.action, event.object_type, event.object_ref, event.refs], ensure_ascii=False
        )
        for secret in SECRETS:
            assert secret not in row, (event.action, secret)


# --- agreeing and commenting ---------------------------------------------------------------


def test_a_participant_agrees_once() -> None:
    kka = build()
    before = page(kka.http)
    assert SHARED in before
    assert f'action="{AGREE}"' in before and "Menunggu tanggapan Anda" in before

    response = kka.http.post(AGREE)
    assert response.status_code == 302 and response["Location"].endswith("#notulen")
    [agreed] = responses(kka.father, "agree")
    assert agreed.minutes.conference == kka.setup.conference
    after = kka.http.get(PORTAL, follow=True).content.decode()
    assert "Anda menyatakan setuju dengan notulen ini pada" in after
    assert f'action="{AGREE}"' not in after

    # Agreeing again (a double tap) changes nothing and is not an error.
    assert kka.http.post(AGREE).status_code == 302
    assert responses(kka.father, "agree") == [agreed]
    events = AuditEvent.objects.filter(action="portal.minutes_agreed")
    assert events.count() == 1
    event = events.get()
    assert event.object_ref == kka.father.code
    assert event.refs == {"conference": kka.setup.conference.code, "response": agreed.code}
    assert event.actor_id is None


def test_a_participant_comments_and_sees_only_their_own_comments() -> None:
    kka = build()
    assert kka.teacher_http.post(COMMENT, {"comment": TEACHER_COMMENT}).status_code == 302
    assert kka.teacher_http.post(AGREE).status_code == 302
    response = kka.http.post(COMMENT, {"comment": f"  {FATHER_COMMENT}  "})
    assert response.status_code == 302
    [mine] = responses(kka.father, "comment")
    assert mine.comment == FATHER_COMMENT
    # Stored encrypted, as every text of a case.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM conferences_minutesresponse WHERE id = %s", [mine.pk])
        assert "AYAH-K3" not in cursor.fetchone()[0]

    father_page = page(kka.http)
    assert FATHER_COMMENT in father_page
    assert "GURU-M5" not in father_page
    assert "PRIBADI-Z9" not in father_page
    # The teacher's agreement is not the father's.
    assert "Anda menyatakan setuju" not in father_page

    teacher_page = page(kka.teacher_http)
    assert "GURU-M5" in teacher_page
    assert "AYAH-K3" not in teacher_page and "PRIBADI-Z9" not in teacher_page

    second = kka.http.post(COMMENT, {"comment": "Komentar kedua"})
    assert second.status_code == 302
    assert len(responses(kka.father, "comment")) == 2
    events = AuditEvent.objects.filter(action="portal.minutes_commented")
    assert events.count() == 3
    assert_no_secret_in_audit()


def test_an_empty_or_too_long_comment_is_refused_and_nothing_typed_is_lost() -> None:
    kka = build()
    empty = kka.http.post(COMMENT, {"comment": "   "})
    assert empty.status_code == 200
    assert "Tuliskan komentar Anda." in empty.content.decode()
    long_text = "PANJANG-" + "x" * meeting.COMMENT_MAX
    too_long = kka.http.post(COMMENT, {"comment": long_text})
    assert too_long.status_code == 200
    body = too_long.content.decode()
    assert "Komentar paling panjang 2000 karakter" in body
    assert long_text in body  # given back in the comment box
    assert responses(kka.father) == []
    assert not AuditEvent.objects.filter(action="portal.minutes_commented").exists()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"finalised": False}, "minutes not final yet"),
        ({"pledged": False, "attendance": "absent"}, "no confidentiality pledge"),
        ({"disclosure": "briefing"}, "briefing level"),
        ({"disclosure": "invitation"}, "invitation level"),
    ],
)
def test_agreeing_and_commenting_are_not_offered_when_not_allowed(
    change: dict[str, Any], why: str
) -> None:
    kka = build(**change)
    body = page(kka.http)
    assert "BERSAMA-Q7" not in body and "PRIBADI-Z9" not in body, why
    assert f'action="{AGREE}"' not in body and f'action="{COMMENT}"' not in body, why
    assert kka.http.post(AGREE).status_code == 404, why
    assert kka.http.post(COMMENT, {"comment": FATHER_COMMENT}).status_code == 404, why
    assert responses(kka.father) == [], why
    with pytest.raises(PermissionDenied):
        meeting.minutes_agree(participant=kka.father)
    assert not AuditEvent.objects.filter(
        action__in=["portal.minutes_agreed", "portal.minutes_commented"]
    ).exists()


def test_a_revoked_link_answers_404_and_records_nothing() -> None:
    kka = build()
    services.portal_links_revoke(actor=kka.setup.world.counsellor, participant=kka.father)
    assert kka.http.post(AGREE).status_code == 404
    assert kka.http.post(COMMENT, {"comment": FATHER_COMMENT}).status_code == 404
    assert kka.http.post(LAISEG, {"understanding": ANSWER}).status_code == 404
    assert responses(kka.father) == []
    assert not Evaluation.objects.filter(participant=kka.father).exists()
    assert AuditEvent.objects.filter(action="portal.denied").count() >= 1


def test_a_removed_participant_answers_nothing() -> None:
    kka = build()
    Participant.objects.filter(pk=kka.father.pk).update(removed_at=timezone.now())
    assert kka.http.post(AGREE).status_code == 404
    assert kka.http.post(COMMENT, {"comment": FATHER_COMMENT}).status_code == 404
    assert kka.http.post(LAISEG, {"understanding": ANSWER}).status_code == 404
    removed = Participant.objects.get(pk=kka.father.pk)
    with pytest.raises(PermissionDenied):
        meeting.minutes_agree(participant=removed)
    with pytest.raises(PermissionDenied):
        meeting.minutes_comment(participant=removed, text="x")
    assert responses(kka.father) == []
    assert not Evaluation.objects.filter(participant=kka.father).exists()


def test_a_stale_participant_object_cannot_answer_after_losing_access() -> None:
    """The service re-reads the participant: a level lowered meanwhile is respected."""
    kka = build()
    Participant.objects.filter(pk=kka.father.pk).update(disclosure="briefing")
    with pytest.raises(PermissionDenied):
        meeting.minutes_agree(participant=kka.father)  # still says shared_minutes in memory
    assert responses(kka.father) == []


# --- the counsellor sees the answers --------------------------------------------------------


def test_the_counsellor_sees_agreements_and_comments_on_the_meeting_page() -> None:
    kka = build()
    kka.http.post(AGREE)
    kka.http.post(COMMENT, {"comment": FATHER_COMMENT})
    owner = kka.setup.world.counsellor
    staff = HttpClient()
    staff.force_login(owner)
    body = staff.get(f"/kka/{kka.setup.conference.code}/pertemuan/").content.decode()
    assert "Tanggapan peserta atas notulen bersama" in body
    section = body.split('id="tanggapan-notulen"', 1)[1]
    items = {
        chunk.split("</strong>", 1)[0]: chunk for chunk in section.split("<li><div><strong>")[1:]
    }
    assert "setuju" in items[kka.father.full_name]
    assert FATHER_COMMENT in items[kka.father.full_name]
    assert "belum menyatakan setuju" in items[kka.teacher.full_name]
    assert FATHER_COMMENT not in items[kka.teacher.full_name]

    rows = meeting.minutes_responses(kka.setup.conference)
    by_code = {row.participant.code: row for row in rows}
    assert by_code[kka.father.code].agreed_at is not None
    assert [c.comment for c in by_code[kka.father.code].comments] == [FATHER_COMMENT]
    assert by_code[kka.teacher.code].agreed_at is None
    assert not by_code[kka.father.code].agreed_before_addendum

    # A shared addendum after the agreement: the counsellor is told they agreed before it.
    meeting.minutes_addendum_add(
        actor=owner, conference=kka.setup.conference, layer="shared", text="Koreksi", reason="Salah"
    )
    rows = meeting.minutes_responses(kka.setup.conference)
    assert {r.participant.code: r for r in rows}[kka.father.code].agreed_before_addendum
    body = staff.get(f"/kka/{kka.setup.conference.code}/pertemuan/").content.decode()
    assert "(sebelum adendum terakhir)" in body


def test_participants_below_the_shared_level_are_not_listed_for_the_counsellor() -> None:
    kka = build(disclosure="briefing")
    assert meeting.minutes_responses(kka.setup.conference) == []


# --- immediate evaluation through the link -------------------------------------------------


def test_the_portal_questions_follow_the_evaluation_schemes() -> None:
    for scheme, questions in laiseg.QUESTIONS.items():
        assert tuple(key for key, *_ in questions) == followup.ANSWER_KEYS[scheme]


def test_laiseg_through_the_link_with_uca() -> None:
    kka = build(scheme="uca")
    body = page(kka.http)
    assert f'action="{LAISEG}"' in body
    assert "Hal baru apa yang Anda pahami dari pertemuan ini?" in body
    assert 'name="understanding"' in body and 'name="comfort"' in body
    assert 'name="action"' in body and 'name="berpikir"' not in body

    response = kka.http.post(
        LAISEG, {"understanding": ANSWER, "comfort": "Lega", "action": "Mengantar Ani"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#penilaian")
    evaluation = Evaluation.objects.get(participant=kka.father, kind=EvaluationKind.LAISEG)
    assert evaluation.scheme == "uca"
    assert evaluation.recorded_by is None
    assert json.loads(evaluation.answers) == {
        "understanding": ANSWER,
        "comfort": "Lega",
        "action": "Mengantar Ani",
    }
    after = kka.http.get(PORTAL, follow=True).content.decode()
    assert "Terima kasih, penilaian Anda tercatat." in after
    assert "sudah tercatat" in after
    assert 'name="understanding"' not in after and ANSWER not in after

    # A second answer is refused: nothing changes.
    again = kka.http.post(LAISEG, {"understanding": "Jawaban lain"}, follow=True)
    assert again.status_code == 200
    assert "sudah tercatat sebelumnya" in again.content.decode()
    assert Evaluation.objects.filter(participant=kka.father, kind="laiseg").count() == 1
    assert json.loads(Evaluation.objects.get(pk=evaluation.pk).answers)["understanding"] == ANSWER

    event = AuditEvent.objects.get(action="evaluation.recorded", object_ref=evaluation.code)
    assert event.refs["channel"] == "portal" and event.refs["scheme"] == "uca"
    assert event.actor_id is None
    assert_no_secret_in_audit()


def test_laiseg_through_the_link_with_bmb3() -> None:
    kka = build(scheme="bmb3", disclosure="invitation")
    body = page(kka.http)
    for key in followup.ANSWER_KEYS["bmb3"]:
        assert f'name="{key}"' in body
    assert 'name="understanding"' not in body
    assert "Bagian mana yang menjadi tanggung jawab Anda" in body
    answers = {key: f"{key} {ANSWER}" for key in followup.ANSWER_KEYS["bmb3"]}
    answers["bersikap"] = ""  # questions may be left empty
    assert kka.http.post(LAISEG, answers).status_code == 302
    evaluation = Evaluation.objects.get(participant=kka.father, kind="laiseg")
    assert evaluation.scheme == "bmb3"
    assert json.loads(evaluation.answers) == answers
    assert_no_secret_in_audit()


def test_a_participant_who_left_early_answers_too() -> None:
    kka = build(attendance="left_early")
    assert kka.http.post(LAISEG, {"action": "Mengantar Ani"}).status_code == 302
    assert Evaluation.objects.filter(participant=kka.father, kind="laiseg").exists()


def test_an_empty_laiseg_is_refused_with_the_form_shown_again() -> None:
    kka = build()
    response = kka.http.post(LAISEG, {"understanding": " ", "comfort": "", "action": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Jawab paling sedikit satu pertanyaan." in body
    assert 'name="understanding"' in body
    assert not Evaluation.objects.filter(participant=kka.father).exists()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"status": ConferenceStatus.INVITED}, "the KKA has not taken place"),
        ({"attendance": "absent"}, "did not attend"),
        ({"attendance": "represented"}, "was represented"),
        ({"pledged": False, "attendance": "absent"}, "no pledge"),
    ],
)
def test_laiseg_is_not_offered_when_not_allowed(change: dict[str, Any], why: str) -> None:
    kka = build(**change)
    body = page(kka.http)
    assert f'action="{LAISEG}"' not in body, why
    assert 'id="penilaian"' not in body, why
    assert kka.http.post(LAISEG, {"understanding": ANSWER}).status_code == 404, why
    assert not Evaluation.objects.filter(participant=kka.father).exists(), why


def test_a_laiseg_recorded_by_the_counsellor_is_not_asked_again() -> None:
    kka = build()
    followup.laiseg_record(
        conference=kka.setup.conference,
        participant=kka.father,
        answers={"understanding": ANSWER},
        actor=kka.setup.world.counsellor,
    )
    body = page(kka.http)
    assert "sudah tercatat" in body and 'name="understanding"' not in body
    assert ANSWER not in body
    kka.http.post(LAISEG, {"understanding": "lagi"})
    assert Evaluation.objects.filter(participant=kka.father, kind="laiseg").count() == 1


def test_laiseg_in_a_closed_kka_is_still_possible_through_the_link() -> None:
    kka = build(status=ConferenceStatus.HELD)
    followup.conference_close(actor=kka.setup.world.counsellor, conference=kka.setup.conference)
    assert kka.http.post(LAISEG, {"comfort": "Lega"}).status_code == 302
    assert Evaluation.objects.filter(participant=kka.father, kind="laiseg").exists()
