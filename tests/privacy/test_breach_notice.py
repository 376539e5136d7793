"""The breach-notice draft (UU PDP Pasal 46): to the client, or the guardians of a minor,
with the three required elements, served only after a fresh step-up."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from kka.accounts import two_factor
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import Client
from kka.documents import common
from kka.privacy import breach_notice, incidents
from kka.privacy.models import Incident, IncidentSubject
from tests.documents.util import pdf_text, qpdf_check, squash
from tests.personas import World

pytestmark = pytest.mark.django_db

DESCRIPTION = "Akun konselor dibuka dari warnet oleh orang yang tidak berwenang."
MEASURES = "Kata sandi direset dan verifikasi dua langkah diwajibkan bagi semua konselor."


def _incident(world: World) -> Incident:
    world.org.city = "Bandung"
    world.org.phone = "022-1234567"
    world.org.email = "bk@smp.test"
    world.org.save()
    start = timezone.now() - dt.timedelta(days=1)
    return incidents.incident_record(
        actor=world.dpo,
        organisation=world.org,
        title="Akun dipakai orang lain",
        description=DESCRIPTION,
        measures=MEASURES,
        discovered_at=timezone.now(),
        occurred_from=start,
        occurred_to=start + dt.timedelta(hours=3),
        suspect_user=world.counsellor,
    )


def _subject(incident: Incident, client: Client) -> IncidentSubject:
    return IncidentSubject.objects.create(
        incident=incident, client=client, categories=["identitas", "catatan_konseling"]
    )


def _minor(world: World) -> Client:
    return services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Nadia Putri",
        birth_date=dt.date(timezone.localdate().year - 13, 3, 1).isoformat(),
        guardians=[
            {"full_name": "Hendra Wijaya", "relationship": "ayah", "address": "Jl. Mawar 5"},
            {"full_name": "Lina Marlina", "relationship": "ibu"},
        ],
    )


def _adult(world: World) -> Client:
    return services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Yusuf Maulana",
        birth_date="1990-02-02",
        address="Jl. Kenanga 9",
        guardians=[{"full_name": "Marni Susanti", "relationship": "ibu"}],
    )


def test_minor_notice_goes_to_the_guardians_with_the_three_elements(world: World) -> None:
    incident = _incident(world)
    subject = _subject(incident, _minor(world))
    pdf, content_type, filename = breach_notice.breach_notice_draft(
        actor=world.dpo, incident=incident, subject=subject
    )
    assert content_type == "application/pdf"
    assert filename == f"pemberitahuan-{incident.code}-{subject.client.code}.pdf"
    qpdf_check(pdf)
    text = squash(pdf_text(pdf))
    assert "Yth. Bapak Hendra Wijaya (Ayah)" in text
    assert "Yth. Ibu Lina Marlina (Ibu)" in text
    assert "orang tua/wali dari Nadia Putri" in text
    assert "di Jl. Mawar 5" in text
    # 1. which data
    assert "Data pribadi yang terungkap" in text
    assert "Catatan konseling" in text and "Identitas" in text
    # 2. when and how
    assert "Kapan dan bagaimana" in text
    assert DESCRIPTION in text
    assert "Terjadi sejak" in text
    assert common.moment_text(world.org, incident.occurred_from) in text
    assert common.moment_text(world.org, incident.discovered_at) in text
    # 3. what is being done, and whom to ask
    assert "Upaya penanganan dan pemulihan" in text
    assert MEASURES in text
    assert world.dpo.email in text and "022-1234567" in text
    assert "Pasal 46" in text
    assert "RAHASIA" in text


def test_adult_notice_goes_to_the_client(world: World) -> None:
    incident = _incident(world)
    subject = _subject(incident, _adult(world))
    pdf, _type, _name = breach_notice.breach_notice_draft(
        actor=world.dpo, incident=incident, subject=subject
    )
    qpdf_check(pdf)
    text = squash(pdf_text(pdf))
    assert "Yth. Sdr. Yusuf Maulana" in text
    assert "di Jl. Kenanga 9" in text
    assert "Marni" not in text  # an adult's parent is not told
    assert DESCRIPTION in text and MEASURES in text


def test_docx_draft_is_a_word_file(world: World) -> None:
    incident = _incident(world)
    subject = _subject(incident, _adult(world))
    data, content_type, filename = breach_notice.breach_notice_draft(
        actor=world.dpo, incident=incident, subject=subject, fmt="docx"
    )
    assert filename.endswith(".docx") and "wordprocessingml" in content_type
    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "Yusuf Maulana" in body and "Upaya penanganan dan pemulihan" in body


def _fresh(browser: HttpClient) -> None:
    session = browser.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()


def test_download_needs_step_up_and_is_served_as_a_private_attachment(world: World) -> None:
    incident = _incident(world)
    client = _minor(world)
    _subject(incident, client)
    url = f"/privasi/insiden/{incident.code}/terdampak/{client.code}/pemberitahuan/"
    browser = HttpClient()
    browser.force_login(world.dpo)
    stale = browser.get(url)
    assert stale.status_code == 302 and "step_up=1" in stale["Location"]
    assert not AuditEvent.objects.filter(action="privacy.breach_notice_drafted").exists()
    _fresh(browser)
    response = browser.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="pemberitahuan-{incident.code}-{client.code}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    row = AuditEvent.objects.get(action="privacy.breach_notice_drafted")
    assert row.object_ref == incident.code
    assert row.refs == {"client": client.code, "format": "pdf"}
    assert browser.get(url + "?format=odt").status_code == 404


def test_only_the_dpo_and_only_for_an_affected_client(world: World) -> None:
    incident = _incident(world)
    affected_client = _minor(world)
    other = _adult(world)
    _subject(incident, affected_client)
    base = f"/privasi/insiden/{incident.code}/terdampak/"
    for name, user in world.personas().items():
        browser = HttpClient()
        browser.force_login(user)
        _fresh(browser)
        expected = 200 if name == "dpo" else 404
        assert browser.get(f"{base}{affected_client.code}/pemberitahuan/").status_code == expected
    dpo = HttpClient()
    dpo.force_login(world.dpo)
    _fresh(dpo)
    assert dpo.get(f"{base}{other.code}/pemberitahuan/").status_code == 404


def test_marking_one_person_notified(world: World) -> None:
    incident = _incident(world)
    client = _adult(world)
    subject = _subject(incident, client)
    browser = HttpClient()
    browser.force_login(world.dpo)
    url = f"/privasi/insiden/{incident.code}/terdampak/{client.code}/diberitahukan/"
    assert browser.post(url).status_code == 302
    subject.refresh_from_db()
    assert subject.notified_at is not None
    row = AuditEvent.objects.get(action="privacy.incident_updated")
    assert row.refs == {"change": "subject_notified", "client": client.code}
    page = browser.get(f"/privasi/insiden/{incident.code}/").content.decode()
    assert "Yusuf" not in page  # the register shows codes; the name is in the letter only
