"""Subject access export (UU PDP Pasal 32-33): everything about the client and its
processing trail, JSON and PDF, with other people's data left out."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client as HttpClient

from kka.accounts import two_factor
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.conferences import followup, meeting
from kka.conferences.models import CommitmentStatus, Participant
from kka.privacy import subject
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka, full_kka
from tests.documents.util import pdf_text, qpdf_check, squash

pytestmark = pytest.mark.django_db

__all__ = ["full_kka"]

OTHER_CLIENT_CANARY = "KANARI-KONSELI-LAIN-4R8T"
COMMENT_CANARY = "KANARI-KOMENTAR-PESERTA-2W6P"
PARTICIPANT_NOTE_CANARY = "KANARI-KEMAJUAN-PESERTA-5J1D"
COMMITMENT_CANARY = "KANARI-KOMITMEN-8H3C"


def fresh(user: object) -> HttpClient:
    """A browser of ``user`` whose second factor was confirmed just now (step-up)."""
    browser = HttpClient()
    browser.force_login(user)  # type: ignore[arg-type]
    session = browser.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()
    return browser


@pytest.fixture
def kka(full_kka: FullKka) -> FullKka:
    """The closed demo KKA plus: another client of the same counsellor, a participant's
    comment on the minutes, a commitment a participant made, and their progress note."""
    owner = full_kka.world.counsellor
    other = case_services.client_create(
        actor=owner, organisation=full_kka.world.org, full_name=f"Budi {OTHER_CLIENT_CANARY}"
    )
    case_services.case_open(
        actor=owner,
        client=other,
        bidang="sosial",
        title="Kasus lain",
        intake_source="guru",
        description=OTHER_CLIENT_CANARY,
    )
    speaker = _not_a_guardian(full_kka)[0]
    Participant.objects.filter(pk=speaker.pk).update(disclosure="shared_minutes")
    speaker.refresh_from_db()
    if speaker.pledged_at is None:
        Participant.objects.filter(pk=speaker.pk).update(pledged_at=full_kka.conference.created_at)
        speaker.refresh_from_db()
    meeting.minutes_comment(participant=speaker, text=f"Komentar {COMMENT_CANARY}")
    commitment = full_kka.conference.commitments.filter(participant=speaker).first()
    if commitment is None:
        commitment = followup.commitment_add(
            actor=owner,
            conference=full_kka.conference,
            participant=speaker,
            what=f"Menjemput {COMMITMENT_CANARY}",
        )
    else:
        full_kka.conference.commitments.filter(pk=commitment.pk).update(
            what=f"Menjemput {COMMITMENT_CANARY}", status=CommitmentStatus.IN_PROGRESS
        )
        commitment.refresh_from_db()
    followup.commitment_progress_add(
        commitment=commitment, note=f"Catatan {PARTICIPANT_NOTE_CANARY}", participant=speaker
    )
    return full_kka


def _not_a_guardian(kka: FullKka) -> list[Participant]:
    """Participants who are not also the client's guardians (whose data is included)."""
    guardians = {g.full_name for g in kka.case.client.guardians.all()}
    others = [p for p in kka.participants if p.full_name not in guardians]
    assert others, "the demo KKA has participants besides the parents"
    return others


def _url(kka: FullKka, fmt: str) -> str:
    return f"/konseli/{kka.case.client.code}/hak-subjek/salinan/{fmt}/"


def test_json_export_holds_the_clients_data_and_trail_but_nobody_elses(kka: FullKka) -> None:
    client = kka.case.client
    response = fresh(kka.world.counsellor).get(_url(kka, "json"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"] == f'attachment; filename="salinan-data-{client.code}.json"'
    )
    assert client.full_name not in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    data = json.loads(body)
    assert data["client"]["code"] == client.code
    assert data["client"]["full_name"] == client.full_name
    assert DESCRIPTION_CANARY in data["cases"][0]["description"]
    assert data["conferences"] and data["conferences"][0]["plan"]["topic"]
    # Other people: names, contacts, statements.
    for participant in _not_a_guardian(kka):
        assert participant.full_name not in body
        if participant.email:
            assert participant.email not in body
        if participant.phone:
            assert participant.phone not in body
    assert OTHER_CLIENT_CANARY not in body
    assert COMMENT_CANARY not in body
    assert PARTICIPANT_NOTE_CANARY not in body
    assert PRIVATE_CANARY not in body
    # A commitment about the client keeps its text, its maker by role only.
    commitments = [c for conf in data["conferences"] for c in conf["commitments"]]
    promised = next(c for c in commitments if COMMITMENT_CANARY in c["what"])
    assert promised["participant"]["role"] == _not_a_guardian(kka)[0].role
    assert promised["progress_notes_by_participant_withheld"] == 1
    assert data["conferences"][0]["minutes"]["comments_by_participants_withheld"] == 1
    assert data["private_notes"]
    # The processing trail: audit rows about the client, its case and its KKA.
    trail = data["processing_trail"]
    actions = {e["action"] for e in trail["audit_events"]}
    assert "client.created" in actions or "case.opened" in actions
    refs = {e["object_ref"] for e in trail["audit_events"]}
    assert kka.case.code in refs and kka.conference.code in refs
    assert trail["disclosures"], "what was shown to participants is listed"
    exported = AuditEvent.objects.filter(action="privacy.access_exported").get()
    assert exported.object_ref == client.code
    assert exported.refs == {"format": "json"}


def test_pdf_export_is_a_valid_confidential_document_with_the_trail(kka: FullKka) -> None:
    client = kka.case.client
    response = fresh(kka.world.counsellor).get(_url(kka, "pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'attachment; filename="salinan-data-{client.code}.pdf"'
    )
    pdf = response.content
    qpdf_check(pdf)
    text = squash(pdf_text(pdf))
    for heading in (
        "SALINAN DATA PRIBADI DAN JEJAK PEMROSESAN",
        "Identitas konseli",
        "Persetujuan",
        "Jejak pemrosesan",
        "RAHASIA",
    ):
        assert heading in text, heading
    assert client.code in text
    assert OTHER_CLIENT_CANARY not in text
    assert PRIVATE_CANARY not in text
    for participant in _not_a_guardian(kka):
        assert participant.full_name not in text


def test_export_needs_a_fresh_step_up(kka: FullKka) -> None:
    browser = HttpClient()
    browser.force_login(kka.world.counsellor)

    response = browser.get(_url(kka, "json"))

    assert response.status_code == 302
    assert response["Location"].startswith("/akun/verifikasi/")
    assert response.get("Content-Disposition") is None
    assert not AuditEvent.objects.filter(action="privacy.access_exported").exists()


def test_outsiders_get_404_and_a_supervisor_403(kka: FullKka) -> None:
    for user in (kka.world.other_counsellor, kka.world.outsider, kka.world.dpo):
        assert fresh(user).get(_url(kka, "json")).status_code == 404
    assert fresh(kka.world.counsellor).get(_url(kka, "xml")).status_code == 404


def test_an_export_for_an_open_access_request_is_linked_to_it(kka: FullKka) -> None:
    owner = kka.world.counsellor
    request = subject.request_record(actor=owner, client=kka.case.client, kind="access")

    fresh(owner).get(_url(kka, "pdf") + f"?permintaan={request.code}")

    exported = AuditEvent.objects.filter(action="privacy.access_exported").get()
    assert exported.refs == {"format": "pdf", "request": request.code}
    request.refresh_from_db()
    assert request.status == "open", "done only when the counsellor says the copy was given"
