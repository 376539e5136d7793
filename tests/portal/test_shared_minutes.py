"""Through their link, a participant with the shared-minutes level reads the shared
layer of finalised minutes, and never the counsellor's private notes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient

from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.conferences import meeting, services
from kka.conferences.models import Disclosure
from tests.personas import make_world


def _invited(disclosure: str, capture: Any) -> tuple[Any, Any, HttpClient]:
    world = make_world()
    owner = world.counsellor
    client = case_services.client_create(
        actor=owner, organisation=world.org, full_name="Rudi Hartono", birth_date="1990-01-01"
    )
    case_services.consent_record(
        actor=owner,
        client=client,
        giver="konseli",
        giver_name="Rudi Hartono",
        channel="lisan",
        purposes=["purpose_hold_kka", "share_family"],
    )
    case = case_services.case_open(
        actor=owner, client=client, bidang="sosial", title="Relasi", intake_source="sendiri"
    )
    conference = services.conference_create(actor=owner, case=case)
    import datetime as dt

    from django.utils import timezone

    services.conference_update_plan(
        actor=owner,
        conference=conference,
        place="Ruang BK",
        starts_at=timezone.now() + dt.timedelta(days=2),
    )
    services.conference_set_status(actor=owner, conference=conference, status="planned")
    participant = services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Siti",
        role="istri",
        category="keluarga",
        email="siti@uji.test",
        disclosure=disclosure,
    )
    with capture(execute=True):
        services.invitation_send(actor=owner, participant=participant, channel="email")
    link = re.search(r"/undangan/\?t=\S+", mail.outbox[-1].body).group(0)
    http = HttpClient()
    http.get(link)
    http.post("/undangan/kerahasiaan/", {"typed_name": "Siti Aminah", "agreed": "on"})
    meeting.minutes_save(
        actor=owner,
        conference=conference,
        base_version=0,
        values={"shared_text": "BERSAMA-7Q kesepakatan", "private_text": "PRIBADI-9Z catatan"},
    )
    return conference, participant, http


@pytest.mark.django_db
def test_shared_layer_only_after_finalising_and_never_the_private_notes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conference, participant, http = _invited("shared_minutes", django_capture_on_commit_callbacks)
    page = http.get("/undangan/").content.decode()
    assert "BERSAMA-7Q" not in page  # not final yet
    meeting.minutes_finalise(actor=conference.case.owner, conference=conference)
    page = http.get("/undangan/").content.decode()
    assert "BERSAMA-7Q" in page
    assert "PRIBADI-9Z" not in page
    assert Disclosure.objects.filter(participant=participant, kind="shared_minutes_view").exists()
    assert AuditEvent.objects.filter(action="portal.minutes_viewed").exists()


@pytest.mark.django_db
def test_the_briefing_level_never_sees_minutes(django_capture_on_commit_callbacks: Any) -> None:
    conference, _participant, http = _invited("briefing", django_capture_on_commit_callbacks)
    meeting.minutes_finalise(actor=conference.case.owner, conference=conference)
    page = http.get("/undangan/").content.decode()
    assert "BERSAMA-7Q" not in page and "PRIBADI-9Z" not in page


@pytest.mark.django_db
def test_a_participant_sees_only_their_own_commitments_and_adds_progress(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kka.conferences import followup
    from kka.conferences.models import CommitmentProgress

    conference, participant, http = _invited("briefing", django_capture_on_commit_callbacks)
    owner = conference.case.owner
    other = services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Pak Budi",
        role="paman",
        category="keluarga",
    )
    own = followup.commitment_add(
        actor=owner, conference=conference, participant=participant, what="MILIK-SITI-4K"
    )
    theirs = followup.commitment_add(
        actor=owner, conference=conference, participant=other, what="MILIK-BUDI-8M"
    )
    page = http.get("/undangan/").content.decode()
    assert "MILIK-SITI-4K" in page and "MILIK-BUDI-8M" not in page
    response = http.post(f"/undangan/komitmen/{own.code}/", {"note": "Sudah mulai"})
    assert response.status_code == 302
    assert CommitmentProgress.objects.filter(commitment=own).count() == 1
    assert http.post(f"/undangan/komitmen/{theirs.code}/", {"note": "x"}).status_code == 404
    assert not CommitmentProgress.objects.filter(commitment=theirs).exists()
