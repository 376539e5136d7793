"""A canary in every sensitive field of one case must not reach anyone else.

One unique marker is written into every encrypted field of a client, a case and
everything hanging from it. Then every URL of the project is requested (GET and
POST) as each persona who may not see the case; the marker must not appear in any
response body or header, in any log line, in any audit row, in the raw SQLite file
or in the stored files. The case team does see it (so the search can find it).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Role
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import CaseRole
from kka.conferences import followup, meeting, report
from kka.conferences import services as conference_services
from kka.documents import services as document_services
from tests.personas import make_user, make_world
from tests.test_permission_matrix import MATRIX, PNG

OUTSIDERS = ["anonymous", "outsider", "other_counsellor", "coordinator", "head", "admin", "dpo"]


def seed(marker: str) -> dict[str, Any]:
    world = make_world()
    owner = world.counsellor
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=f"Nama {marker}",
        sex="P",
        birth_date="2011-02-03",
        nisn=f"N{marker}",
        employee_number=f"E{marker}",
        nik=f"K{marker}",
        group=f"Kelas {marker}",
        address=f"Jalan {marker}",
        phone=f"0812{marker}",
        guardians=[
            {
                "full_name": f"Wali {marker}",
                "relationship": "ibu",
                "phone": f"0813{marker}",
                "email": f"{marker.lower()}@wali.test",
                "address": f"Rumah {marker}",
            }
        ],
    )
    case = services.case_open(
        actor=owner,
        client=client,
        bidang="pribadi",
        title="Judul netral",
        intake_source="orang_tua",
        description=f"Uraian {marker}",
    )
    services.case_member_add(actor=owner, case=case, user=supervisor, role=CaseRole.SUPERVISOR)
    record = services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="wawancara",
        content=f"Isi {marker}",
        may_bring_to_kka=True,
        files=[(f"berkas-{marker}.png", PNG + marker.encode())],
    )
    services.problem_map_set_core(actor=owner, case=case, core_problem=f"Inti {marker}")
    aspect = services.aspect_add(
        actor=owner, case=case, kind="penyebab", text=f"Aspek {marker}", records=[record]
    )
    services.resource_add(
        actor=owner,
        case=case,
        name=f"Sumber {marker}",
        role="wali kelas",
        category="staf_lembaga",
        contribution=f"Bantuan {marker}",
        aspects=[aspect],
    )
    consent = services.consent_record(
        actor=owner,
        client=client,
        giver="orang_tua",
        giver_name=f"Pemberi {marker}",
        channel="kertas",
        purposes=["purpose_hold_kka", "share_family"],
        note=f"Catatan {marker}",
        scan=(f"pindai-{marker}.png", PNG + marker.encode()),
    )
    conference = conference_services.conference_create(actor=owner, case=case)
    conference_services.conference_update_plan(
        actor=owner,
        conference=conference,
        aim=f"Tujuan {marker}",
        summary=f"Ringkas {marker}",
        briefing=f"Briefing {marker}",
        special_notes=f"Khusus {marker}",
        materials_note=f"Bahan {marker}",
    )
    participant = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name=f"Peserta {marker}",
        role="ibu",
        category="keluarga",
        email=f"{marker.lower()}@peserta.test",
        phone=f"0815{marker}",
        disclosure="briefing",
    )
    closed, commitment, laijapen, home_visit, document = _after_the_meeting(owner, case, marker)
    return {
        "world": world,
        "owner": owner,
        "supervisor": supervisor,
        "objects": {
            "case": case.code,
            "client": client.code,
            "record": record.code,
            "attachment": record.attachments.get().code,
            "aspect": aspect.code,
            "resource": case.problem_map.resources.get().code,
            "guardian": client.guardians.get().code,
            "consent": consent.code,
            "scan": consent.scan.code,
            "case_member": "X",
            "membership": world.org.memberships.get(user=world.dpo).code,
            "batch": "X",
            "conference": conference.code,
            "participant": participant.code,
            "commitment": commitment.code,
            "closed_conference": closed.code,
            "evaluation": laijapen.code,
            "followup": home_visit.code,
            "document": document.code,
            "uidb64": "MQ",
            "token": "x-y",
        },
    }


def _after_the_meeting(owner: Any, case: Any, marker: str) -> tuple[Any, Any, Any, Any, Any]:
    """A second KKA of the case, held and closed, with the marker in its minutes (both
    layers), commitments, progress, evaluations, a participant's comment and a
    follow-up."""
    closed = conference_services.conference_create(actor=owner, case=case)
    mother = conference_services.participant_add(
        actor=owner,
        conference=closed,
        full_name=f"Ibu {marker}",
        role="ibu",
        category="keluarga",
        disclosure="shared_minutes",
    )
    conference_services.pledge_take(
        participant=mother,
        typed_name=f"Ibu {marker}",
        agreed=True,
        ip="",
        channel="device",
        actor=owner,
    )
    for step in ("planned", "invited", "held"):
        closed = conference_services.conference_set_status(
            actor=owner, conference=closed, status=step
        )
    meeting.attendance_set(actor=owner, participant=mother, attendance="present")
    meeting.minutes_save(
        actor=owner,
        conference=closed,
        base_version=0,
        values={
            "shared_text": f"Bersama {marker}",
            "private_text": f"Pribadi {marker}",
            "data_wanted": f"Ingin {marker}",
            "data_obtained": f"Peroleh {marker}",
            "conclusions": f"Simpul {marker}",
            "directions": f"Arah {marker}",
        },
    )
    commitment = followup.commitment_add(
        actor=owner,
        conference=closed,
        participant=mother,
        what=f"Janji {marker}",
        check_method=f"Periksa {marker}",
    )
    followup.commitment_progress_add(commitment=commitment, note=f"Maju {marker}", actor=owner)
    followup.laiseg_record(
        conference=closed,
        participant=mother,
        answers={"understanding": f"Paham {marker}", "comfort": f"Rasa {marker}"},
        via_portal=True,
    )
    followup.process_evaluation_record(
        actor=owner, conference=closed, answers={"atmosphere": f"Suasana {marker}"}
    )
    meeting.minutes_finalise(actor=owner, conference=closed)
    meeting.minutes_comment(participant=mother, text=f"Komentar {marker}")
    meeting.minutes_addendum_add(
        actor=owner,
        conference=closed,
        layer="private",
        text=f"Adendum {marker}",
        reason=f"Sebab {marker}",
    )
    closed = followup.conference_close(actor=owner, conference=closed)
    report.report_save(
        actor=owner,
        conference=closed,
        values={name: f"Laporan {name} {marker}" for name in report.COMPONENT_NAMES},
    )
    laijapen = closed.evaluations.get(kind="laijapen")
    followup.later_evaluation_record(
        actor=owner,
        evaluation=laijapen,
        client_situation=f"Keadaan {marker}",
        commitment_results={commitment.code: {"result": "partly", "note": f"Hasil {marker}"}},
        analysis=f"Analisis {marker}",
        data_needs_met="met",
    )
    # A numbered letter to the mother (the register names her only to the case team)
    # and the counsellor-only minutes with the private layer.
    conference_services.letter_number_issue(
        actor=owner,
        organisation=case.organisation,
        kind="undangan",
        conference=closed,
        participant=mother,
    )
    secret_minutes = document_services.produce(
        actor=owner, kind="notulen", edition="rahasia", fmt="pdf", conference=closed
    )
    home_visit = followup.followup_add(
        actor=owner, case=case, conference=closed, kind="home_visit", note=f"Kunjungan {marker}"
    )
    return closed, commitment, laijapen, home_visit, secret_minutes


def _user_for(persona: str, scene: dict[str, Any]) -> Any:
    world = scene["world"]
    return {
        "anonymous": None,
        "outsider": world.outsider,
        "other_counsellor": world.other_counsellor,
        "coordinator": world.coordinator,
        "head": world.head,
        "admin": world.admin,
        "dpo": world.dpo,
    }[persona]


@pytest.mark.django_db
def test_canary_never_reaches_another_persona(caplog: Any) -> None:
    marker = "KANARI" + uuid.uuid4().hex[:12].upper()
    caplog.set_level(logging.DEBUG)
    scene = seed(marker)
    seen: list[str] = []
    requests = 0
    for persona in OUTSIDERS:
        http = HttpClient()
        user = _user_for(persona, scene)
        if user is not None:
            http.force_login(user)
        for name, (kwargs_spec, _expect) in MATRIX.items():
            kwargs = {k: scene["objects"].get(v, v) for k, v in kwargs_spec.items()}
            url = reverse(name, kwargs=kwargs)
            for method in ("get", "post"):
                response = getattr(http, method)(url, {})
                requests += 1
                blob = response.content + str(response.headers).encode()
                if marker.encode() in blob or marker.lower().encode() in blob:
                    seen.append(f"{method.upper()} {url} as {persona}")
    assert requests > 500
    assert seen == [], f"canary leaked: {seen}"
    assert marker not in caplog.text and marker.lower() not in caplog.text


@pytest.mark.django_db
def test_canary_is_visible_to_the_case_team_so_the_search_can_find_it() -> None:
    marker = "KANARI" + uuid.uuid4().hex[:12].upper()
    scene = seed(marker)
    for user in (scene["owner"], scene["supervisor"]):
        http = HttpClient()
        http.force_login(user)
        page = http.get(reverse("cases:case_detail", kwargs={"code": scene["objects"]["case"]}))
        assert marker.encode() in page.content


@pytest.mark.django_db
def test_audit_rows_hold_no_canary() -> None:
    marker = "KANARI" + uuid.uuid4().hex[:12].upper()
    scene = seed(marker)
    http = HttpClient()
    http.force_login(scene["owner"])
    http.get(reverse("cases:case_detail", kwargs={"code": scene["objects"]["case"]}))
    rows = list(AuditEvent.objects.values())
    assert len(rows) > 10
    assert marker not in repr(rows) and marker.lower() not in repr(rows)


@pytest.mark.django_db(transaction=True)
def test_canary_is_not_in_the_raw_database_file_nor_the_stored_files() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the raw-file check reads the SQLite database file")
    marker = "KANARI" + uuid.uuid4().hex[:12].upper()
    seed(marker)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_path = Path(connection.settings_dict["NAME"])
    blobs = [db_path.read_bytes()]
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists():
        blobs.append(wal.read_bytes())
    for path in Path(settings.PRIVATE_FILES_ROOT).rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes())
    for blob in blobs:
        assert marker.encode() not in blob
        assert marker.lower().encode() not in blob
        assert marker.encode("utf-16-le") not in blob
