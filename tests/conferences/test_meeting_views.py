"""Meeting mode through the web: structuring, attendance with pledges, minutes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.conferences import services
from kka.conferences.models import Minutes, MinutesDraft, Participant
from tests.personas import make_world


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    world = make_world()
    client = case_services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Rudi Hartono",
        birth_date="1990-01-01",
    )
    case = case_services.case_open(
        actor=world.counsellor,
        client=client,
        bidang="sosial",
        title="Relasi",
        intake_source="sendiri",
    )
    conference = services.conference_create(actor=world.counsellor, case=case)
    participant = services.participant_add(
        actor=world.counsellor,
        conference=conference,
        full_name="Bu Ratna",
        role="wali kelas",
        category="staf_lembaga",
    )
    http = HttpClient()
    http.force_login(world.counsellor)
    return {"world": world, "conference": conference, "participant": participant, "http": http}


def url(name: str, scene: dict[str, Any], **extra: str) -> str:
    return reverse(f"conferences:{name}", kwargs={"code": scene["conference"].code, **extra})


def test_meeting_page_shows_the_structuring_and_the_asas_list(scene: dict[str, Any]) -> None:
    page = scene["http"].get(url("meeting", scene)).content.decode()
    assert "bukan untuk menghakimi" in page
    assert "Tut wuri handayani" in page and "Kenormatifan" in page
    org = scene["world"].org
    org.asas_variant = "11"
    org.structuring_text = "Pembukaan khusus lembaga kami."
    org.save()
    page = scene["http"].get(url("meeting", scene)).content.decode()
    assert "Pembukaan khusus lembaga kami." in page
    assert "Keharmonisan" in page and "Tut wuri handayani" not in page
    assert not Minutes.objects.exists()  # a GET writes nothing


def test_nobody_is_marked_present_without_a_pledge(scene: dict[str, Any]) -> None:
    participant = scene["participant"]
    target = url("attendance", scene, participant=participant.code)
    response = scene["http"].post(target, {"attendance": "present"}, follow=True)
    assert "belum menyatakan komitmen kerahasiaan" in response.content.decode()
    participant.refresh_from_db()
    assert participant.attendance == "unknown"
    pledge = url("pledge_on_device", scene, participant=participant.code)
    scene["http"].post(pledge, {"typed_name": "Ratna Dewi", "agreed": "on"})
    participant.refresh_from_db()
    assert participant.pledge_channel == "device" and participant.pledged_at is not None
    scene["http"].post(target, {"attendance": "present"})
    participant.refresh_from_db()
    assert participant.attendance == "present" and participant.arrived_at is not None
    assert AuditEvent.objects.filter(action="attendance.recorded").exists()


def test_a_pledge_signed_on_paper_can_be_recorded(scene: dict[str, Any]) -> None:
    participant = scene["participant"]
    scene["http"].post(url("pledge_on_device", scene, participant=participant.code), {"paper": "1"})
    participant.refresh_from_db()
    assert participant.pledge_channel == "paper"


def test_walk_ins_are_added_during_the_meeting(scene: dict[str, Any]) -> None:
    response = scene["http"].post(
        url("participant_add", scene),
        {
            "walk_in": "1",
            "full_name": "Pak Joko",
            "role": "paman",
            "category": "keluarga",
            "disclosure": "invitation",
            "language": "id",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#hadir")
    assert Participant.objects.get(full_name__isnull=False, walk_in=True).role == "paman"


def test_autosave_answers_json_and_a_stale_save_gets_409_with_the_other_text(
    scene: dict[str, Any],
) -> None:
    http = scene["http"]
    headers = {"X-Requested-With": "fetch"}
    first = http.post(
        url("minutes_save", scene), {"version": "0", "shared_text": "Teks pertama"}, headers=headers
    )
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = http.post(
        url("minutes_save", scene), {"version": "0", "shared_text": "Teks kedua"}, headers=headers
    )
    assert stale.status_code == 409
    assert stale.json()["current"]["shared_text"] == "Teks pertama"
    assert Minutes.objects.get().shared_text == "Teks pertama"
    assert MinutesDraft.objects.count() == 1
    # Without JavaScript the page comes back with both texts.
    page = http.post(url("minutes_save", scene), {"version": "0", "shared_text": "Teks ketiga"})
    body = page.content.decode()
    assert page.status_code == 200 and "Teks pertama" in body and "Orang lain menyimpan" in body


def test_finalised_minutes_refuse_every_edit_route_and_take_addenda(scene: dict[str, Any]) -> None:
    http = scene["http"]
    http.post(url("minutes_save", scene), {"version": "0", "shared_text": "Kesepakatan"})
    http.post(url("minutes_finalise", scene))
    minutes = Minutes.objects.get()
    assert minutes.finalised_at is not None
    for version in ("1", "2", "0"):
        http.post(url("minutes_save", scene), {"version": version, "shared_text": "Ubah"})
        http.post(
            url("minutes_save", scene),
            {"version": version, "shared_text": "Ubah"},
            headers={"X-Requested-With": "fetch"},
        )
    minutes.refresh_from_db()
    assert minutes.shared_text == "Kesepakatan" and minutes.version == 1
    http.post(
        url("minutes_addendum", scene),
        {"layer": "shared", "text": "Tanggal diperbaiki", "reason": "Salah ketik"},
    )
    assert minutes.addenda.count() == 1
    assert AuditEvent.objects.filter(action="minutes.addendum_added").exists()
    page = http.get(url("meeting", scene)).content.decode()
    assert "Tanggal diperbaiki" in page and 'id="minutes-form"' not in page


def test_removing_a_participant_with_a_commitment_keeps_the_record(scene: dict[str, Any]) -> None:
    from kka.conferences import followup

    participant = scene["participant"]
    services.conference_set_status(
        actor=scene["world"].counsellor, conference=scene["conference"], status="planned"
    )
    followup.commitment_add(
        actor=scene["world"].counsellor,
        conference=scene["conference"],
        participant=participant,
        what="Memantau tugas harian",
    )
    services.participant_remove(actor=scene["world"].counsellor, participant=participant)
    participant.refresh_from_db()
    assert participant.removed_at is not None


def test_commitments_are_added_fast_and_their_status_changes(scene: dict[str, Any]) -> None:
    from kka.conferences.models import Commitment

    http = scene["http"]
    services.conference_set_status(
        actor=scene["world"].counsellor, conference=scene["conference"], status="planned"
    )
    participant = scene["participant"]
    for who, what in [(participant.code, "Memantau tugas harian"), ("me", "Kunjungan rumah")]:
        response = http.post(
            url("commitment_add", scene),
            {"who": who, "what": what, "due_on": "2026-12-15", "check_method": "Buku tugas"},
        )
        assert response.status_code == 302 and response["Location"].endswith("#komitmen")
    assert Commitment.objects.count() == 2
    mine = Commitment.objects.get(counsellor=scene["world"].counsellor)
    http.post(url("commitment_status", scene, commitment=mine.code), {"status": "done"})
    mine.refresh_from_db()
    assert mine.status == "done"
    page = http.get(url("meeting", scene)).content.decode()
    assert "Memantau tugas harian" in page and "Kunjungan rumah" in page
    assert AuditEvent.objects.filter(action__startswith="commitment.").count() >= 3
    for row in AuditEvent.objects.all():
        assert "Memantau" not in str(row.refs) and "Memantau" not in row.object_ref


def test_laiseg_process_evaluation_and_closing_from_meeting_mode(scene: dict[str, Any]) -> None:
    from kka.conferences.models import Evaluation

    http = scene["http"]
    counsellor = scene["world"].counsellor
    conference = scene["conference"]
    participant = scene["participant"]
    laiseg = url("laiseg", scene, participant=participant.code)
    answers = {"understanding": "PAHAM-3X", "comfort": "Lega", "action": "Memantau"}
    # Before the meeting is held, nothing is recorded.
    http.post(laiseg, answers)
    assert not Evaluation.objects.exists()
    services.conference_set_status(actor=counsellor, conference=conference, status="planned")
    services.conference_set_status(actor=counsellor, conference=conference, status="invited")
    services.conference_set_status(actor=counsellor, conference=conference, status="held")
    http.post(laiseg, answers)
    evaluation = Evaluation.objects.get(kind="laiseg", participant=participant)
    assert evaluation.answers_dict["understanding"] == "PAHAM-3X"
    http.post(
        url("process_evaluation", scene),
        {"participation": "Aktif", "atmosphere": "Hangat", "adherence": "Sesuai"},
    )
    assert Evaluation.objects.filter(kind="proses").count() == 1
    # Closing needs finalised minutes.
    response = http.post(url("close", scene), follow=True)
    assert "difinalkan" in response.content.decode()
    conference.refresh_from_db()
    assert conference.status == "held"
    http.post(url("minutes_save", scene), {"version": "0", "shared_text": "Kesepakatan"})
    http.post(url("minutes_finalise", scene))
    http.post(url("close", scene))
    conference.refresh_from_db()
    assert conference.status == "closed"
    assert set(Evaluation.objects.filter(conference=conference).values_list("kind", flat=True)) >= {
        "laiseg",
        "proses",
        "laijapen",
        "laijapang",
    }
    for row in AuditEvent.objects.all():
        assert "PAHAM-3X" not in str(row.refs)
