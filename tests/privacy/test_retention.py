"""Retention: periods per organisation, what is due (time travel with ``--date``), and
destruction only with the listing's confirmation token."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient

from kka.accounts import two_factor
from kka.accounts.models import UserSession
from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import services
from kka.cases.models import Attachment, Case, CaseRecord, CaseStatus, Client, ProblemMap
from kka.conferences import services as conference_services
from kka.conferences.models import Conference, LetterNumber, Participant, PortalLink
from kka.documents import services as document_services
from kka.documents.models import Document
from kka.privacy import retention
from kka.privacy.erasure import MARKER
from kka.privacy.models import RecordType, Restriction, RetentionRule
from tests.personas import World

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
CLIENT_NAME = "Rahasia Kanarinama"
RECORD_CANARY = "KANARI-CATATAN-4R7T"
CLOSED_AT = dt.datetime(2020, 3, 10, 10, 0, tzinfo=dt.UTC)
# 60 months (the default) after CLOSED_AT is 2025-03-10.
DAY_BEFORE = "2025-03-09"
DAY_AFTER = "2025-03-11"


@dataclass
class Scene:
    world: World
    case: Case
    client: Client
    conference: Conference
    participant: Participant
    document: Document


def _files_root() -> Path:
    return Path(settings.PRIVATE_FILES_ROOT)


def _build(world: World, *, name: str = CLIENT_NAME) -> Scene:
    owner = world.counsellor
    client = services.client_create(
        actor=owner, organisation=world.org, full_name=name, birth_date="2008-05-01"
    )
    case = services.case_open(
        actor=owner, client=client, bidang="sosial", title="Relasi teman", intake_source="guru"
    )
    services.record_add(
        actor=owner,
        case=case,
        occurred_on=dt.date(2020, 1, 10),
        source="observasi",
        content=f"Catatan {RECORD_CANARY}",
        files=[("foto.png", PNG)],
    )
    services.problem_map_set_core(actor=owner, case=case, core_problem="Inti masalah")
    conference = conference_services.conference_create(actor=owner, case=case)
    participant = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Budi Walikelas",
        role="wali kelas",
        category="staf_lembaga",
        disclosure="briefing",
    )
    document = document_services.produce(
        actor=owner, kind="daftar_hadir", fmt="pdf", conference=conference
    )
    PortalLink.objects.create(participant=participant, token_hash=secrets.token_hex(32))
    # The KKA was cancelled and the case closed at CLOSED_AT.
    Conference.objects.filter(pk=conference.pk).update(status="cancelled", updated_at=CLOSED_AT)
    case = services.case_change_status(actor=owner, case=case, status="closed", outcome="resolved")
    Case.objects.filter(pk=case.pk).update(closed_at=CLOSED_AT)
    case.refresh_from_db()
    return Scene(world, case, client, conference, participant, document)


@pytest.fixture
def scene(world: World) -> Scene:
    return _build(world)


def _only(world: World, *record_types: str) -> None:
    """Give every other record type a period so long that nothing of it is due."""
    for record_type in RecordType.values:
        if record_type not in record_types:
            retention.retention_rule_set(
                actor=world.dpo,
                organisation=world.org,
                record_type=record_type,
                months=retention.MAX_MONTHS,
            )


def _retention(*args: str) -> str:
    out = io.StringIO()
    call_command("privacy", "retention", *args, stdout=out)
    return out.getvalue()


def _token(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("Confirmation token: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError("no token in the listing")


def _line(output: str, org_code: str, record_type: str) -> str:
    return next(
        line
        for line in output.splitlines()
        if line.startswith(f"{org_code}  {record_type} ")
        or line.startswith(f"{org_code}  {record_type}")
    )


# --- periods ------------------------------------------------------------------------------


def test_months_before_clamps_to_the_end_of_the_month() -> None:
    moment = dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC)
    assert retention.months_before(moment, 1) == dt.datetime(2026, 2, 28, 8, 0, tzinfo=dt.UTC)
    assert retention.months_before(moment, 60) == dt.datetime(2021, 3, 31, 8, 0, tzinfo=dt.UTC)
    assert retention.months_before(moment, 13).date() == dt.date(2025, 2, 28)


def test_defaults_apply_until_the_organisation_sets_its_own(world: World) -> None:
    assert retention.periods(world.org) == retention.DEFAULT_MONTHS
    retention.retention_rule_set(
        actor=world.dpo, organisation=world.org, record_type="closed_case", months=36
    )
    assert retention.periods(world.org)["closed_case"] == 36
    assert retention.periods(world.other_org)["closed_case"] == 60
    event = AuditEvent.objects.get(action="privacy.retention_rule_changed")
    assert event.refs == {"record_type": "closed_case", "old": 60, "months": 36}
    assert event.actor_id == world.dpo.pk and event.actor_role == "dpo"


def test_setting_the_same_period_again_changes_and_logs_nothing(world: World) -> None:
    assert (
        retention.retention_rule_set(
            actor=world.dpo, organisation=world.org, record_type="session", months=12
        )
        is None
    )
    assert not RetentionRule.objects.exists()
    assert not AuditEvent.objects.filter(action="privacy.retention_rule_changed").exists()


# --- time travel: what is due -------------------------------------------------------------


def test_closed_case_is_due_only_after_its_period(scene: Scene) -> None:
    org = scene.world.org.code
    before = _retention("--date", DAY_BEFORE)
    assert scene.case.code not in _line(before, org, "closed_case")
    assert "due: 0" in _line(before, org, "closed_case")
    after = _retention("--date", DAY_AFTER)
    line = _line(after, org, "closed_case")
    assert "due: 1" in line and scene.case.code in line
    assert scene.client.code in _line(after, org, "inactive_client")
    assert scene.document.code in _line(after, org, "document")


def test_the_listing_names_codes_never_names_and_is_audited(scene: Scene) -> None:
    output = _retention("--date", DAY_AFTER)
    for secret in (CLIENT_NAME, "Kanarinama", "Budi", RECORD_CANARY, "Relasi teman"):
        assert secret not in output
    # One row per organisation listed.
    assert AuditEvent.objects.filter(action="privacy.retention_listed").count() == 2
    event = AuditEvent.objects.get(
        action="privacy.retention_listed", organisation_id=scene.world.org.pk
    )
    assert event.refs["closed_case"] == 1 and event.refs["date"] == DAY_AFTER
    assert event.actor_id is None and event.actor_role == retention.OPERATOR_ROLE


def test_a_shorter_period_makes_it_due_sooner(scene: Scene) -> None:
    retention.retention_rule_set(
        actor=scene.world.dpo, organisation=scene.world.org, record_type="closed_case", months=12
    )
    due = {
        item.record_type: item
        for item in retention.due(scene.world.org, now=dt.datetime(2021, 3, 11, tzinfo=dt.UTC))
    }
    assert due["closed_case"].codes == (scene.case.code,)
    assert due["inactive_client"].codes == ()


def test_a_reopened_case_is_not_due(scene: Scene) -> None:
    services.case_change_status(actor=scene.world.counsellor, case=scene.case, status="open")
    output = _retention("--date", DAY_AFTER)
    org = scene.world.org.code
    assert "due: 0" in _line(output, org, "closed_case")
    assert "due: 0" in _line(output, org, "inactive_client")
    assert "due: 0" in _line(output, org, "document")


def test_a_restricted_client_is_never_due(scene: Scene) -> None:
    Restriction.objects.create(client=scene.client, started_by=scene.world.counsellor)
    sets = retention.due(scene.world.org, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    counts = {item.record_type: item.count for item in sets}
    assert counts["closed_case"] == counts["inactive_client"] == counts["document"] == 0


def test_other_organisations_and_the_organisation_filter(scene: Scene) -> None:
    output = _retention("--date", DAY_AFTER, "--organisation", scene.world.other_org.code)
    assert scene.case.code not in output
    assert scene.world.org.code not in output
    with pytest.raises(CommandError):
        _retention("--organisation", "NOPE")
    with pytest.raises(CommandError):
        _retention("--date", "10-03-2025")


# --- destruction --------------------------------------------------------------------------


def _snapshot(scene: Scene) -> dict[str, Any]:
    record = CaseRecord.objects.get(case=scene.case)
    return {
        "record": record.content,
        "map": ProblemMap.objects.get(case=scene.case).core_problem,
        "participant": Participant.objects.get(pk=scene.participant.pk).full_name,
        "attachments": list(Attachment.objects.values_list("stored_name", flat=True)),
        "links": PortalLink.objects.count(),
    }


def test_destroy_without_or_with_a_wrong_token_changes_nothing(scene: Scene) -> None:
    _only(scene.world, "closed_case")
    listing = _retention("--date", DAY_AFTER)
    assert _token(listing)
    before = _snapshot(scene)
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="--confirm"):
        _retention("--date", DAY_AFTER, "--destroy")
    with pytest.raises(CommandError, match="Nothing was destroyed"):
        _retention("--date", DAY_AFTER, "--destroy", "--confirm", "0000000000")
    assert _snapshot(scene) == before
    assert all((_files_root() / name).exists() for name in before["attachments"])
    assert AuditEvent.objects.count() == audit_rows


def test_destroy_with_the_token_removes_the_case_content_and_files(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    _only(scene.world, "closed_case")
    letters_before = list(LetterNumber.objects.values_list("number", "conference_id"))
    files = list(Attachment.objects.values_list("stored_name", flat=True))
    assert files and all((_files_root() / name).exists() for name in files)
    token = _token(_retention("--date", DAY_AFTER))
    with django_capture_on_commit_callbacks(execute=True):
        output = _retention("--date", DAY_AFTER, "--destroy", "--confirm", token)
    assert "destroyed: 1" in output

    assert not any((_files_root() / name).exists() for name in files)
    case = Case.objects.get(pk=scene.case.pk)
    # Kept for statistics: status, outcome, bidang, dates.
    assert case.status == CaseStatus.CLOSED and case.outcome == "resolved"
    assert case.bidang == "sosial" and case.closed_at == CLOSED_AT
    assert case.title == MARKER and case.description == ""
    assert not CaseRecord.objects.filter(case=case).exists()
    assert not Attachment.objects.exists()
    assert not ProblemMap.objects.filter(case=case).exists()
    assert Conference.objects.get(pk=scene.conference.pk).topic == MARKER
    participant = Participant.objects.get(pk=scene.participant.pk)
    assert participant.full_name == MARKER
    assert not PortalLink.objects.filter(participant=participant).exists()
    assert list(LetterNumber.objects.values_list("number", "conference_id")) == letters_before
    # The document has its own rule (not due yet): its file is still there.
    assert (_files_root() / scene.document.stored_name).exists()

    event = AuditEvent.objects.get(action="privacy.destroyed")
    assert event.organisation_id == scene.world.org.pk
    assert event.refs["record_type"] == "closed_case" and event.refs["count"] == 1
    assert event.refs["files"] == 1
    assert audit_verify()[1] is None
    # Destroyed once: nothing of it is due any more.
    again = _retention("--date", DAY_AFTER)
    assert "due: 0" in _line(again, scene.world.org.code, "closed_case")


def test_a_changed_set_needs_a_new_listing(world: World) -> None:
    first = _build(world, name="Satu Pertama")
    _only(world, "closed_case")
    token = _token(_retention("--date", DAY_AFTER))
    _build(world, name="Dua Kedua")
    with pytest.raises(CommandError, match="does not match"):
        _retention("--date", DAY_AFTER, "--destroy", "--confirm", token)
    assert Case.objects.get(pk=first.case.pk).title != MARKER
    token = _token(_retention("--date", DAY_AFTER))
    output = _retention("--date", DAY_AFTER, "--destroy", "--confirm", token)
    assert "destroyed: 2" in output


def test_documents_lose_their_files_and_keep_their_register_row(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    _only(scene.world, "document")
    stored = scene.document.stored_name
    assert (_files_root() / stored).exists()
    token = _token(_retention("--date", DAY_AFTER))
    with django_capture_on_commit_callbacks(execute=True):
        _retention("--date", DAY_AFTER, "--destroy", "--confirm", token)
    document = Document.objects.get(pk=scene.document.pk)
    assert not (_files_root() / stored).exists()
    assert document.stored_name.startswith("dihapus-") and document.produced_for == ""
    assert document.kind == "daftar_hadir" and document.sha256 == scene.document.sha256
    assert Case.objects.get(pk=scene.case.pk).title != MARKER  # the case has its own rule


def test_an_inactive_client_is_anonymised_by_the_erasure_routine(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    _only(scene.world, "inactive_client")
    token = _token(_retention("--date", DAY_AFTER))
    with django_capture_on_commit_callbacks(execute=True):
        _retention("--date", DAY_AFTER, "--destroy", "--confirm", token)
    client = Client.objects.get(pk=scene.client.pk)
    assert client.full_name == MARKER and client.birth_date == ""
    assert not client.name_tokens.exists()
    assert not (_files_root() / scene.document.stored_name).exists()
    assert AuditEvent.objects.get(action="privacy.destroyed").refs["record_type"] == (
        "inactive_client"
    )
    assert "due: 0" in _line(
        _retention("--date", DAY_AFTER), scene.world.org.code, "inactive_client"
    )


def test_portal_links_go_a_month_after_the_kka_ends(scene: Scene) -> None:
    _only(scene.world, "portal_link")
    # Cancelled at CLOSED_AT (2020-03-10): one month, and never within the 30-day grace.
    early = retention.due(scene.world.org, now=dt.datetime(2020, 4, 5, tzinfo=dt.UTC))
    assert {item.record_type: item.count for item in early}["portal_link"] == 0
    output = _retention("--date", "2020-04-11")
    assert scene.participant.code in _line(output, scene.world.org.code, "portal_link")
    _retention("--date", "2020-04-11", "--destroy", "--confirm", _token(output))
    assert not PortalLink.objects.exists()
    assert Participant.objects.get(pk=scene.participant.pk).full_name == "Budi Walikelas"


def test_ended_sessions_are_deleted_after_their_period(world: World) -> None:
    _only(world, "session")
    old = UserSession.objects.create(
        user=world.counsellor,
        key_hash="1" * 64,
        key_encrypted="k1",
        ended_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    recent = UserSession.objects.create(
        user=world.counsellor,
        key_hash="2" * 64,
        key_encrypted="k2",
        ended_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
    )
    outsider = UserSession.objects.create(
        user=world.outsider,
        key_hash="3" * 64,
        key_encrypted="k3",
        ended_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    output = _retention("--date", "2025-03-01", "--organisation", world.org.code)
    line = _line(output, world.org.code, "session")
    assert old.code in line and recent.code not in line and outsider.code not in line
    _retention(
        "--date",
        "2025-03-01",
        "--organisation",
        world.org.code,
        "--destroy",
        "--confirm",
        _token(output),
    )
    assert set(UserSession.objects.values_list("pk", flat=True)) == {recent.pk, outsider.pk}
    event = AuditEvent.objects.get(action="privacy.destroyed")
    assert event.refs["record_type"] == "session" and event.refs["count"] == 1


# --- the DPO's page -----------------------------------------------------------------------


def _fresh(browser: HttpClient) -> None:
    session = browser.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()


def test_the_dpo_sets_periods_after_a_step_up(world: World) -> None:
    browser = HttpClient()
    browser.force_login(world.dpo)
    url = "/privasi/masa-simpan/"
    stale = browser.get(url)
    assert stale.status_code == 302 and "step_up=1" in stale["Location"]
    _fresh(browser)
    page = browser.get(url)
    assert page.status_code == 200 and "Masa simpan data" in page.content.decode()
    data = {**retention.DEFAULT_MONTHS, "closed_case": 36}
    response = browser.post(url, data)
    assert response.status_code == 302
    assert retention.periods(world.org)["closed_case"] == 36
    assert RetentionRule.objects.filter(organisation=world.org).count() == 1
    assert AuditEvent.objects.filter(action="privacy.retention_rule_changed").count() == 1


def test_a_period_out_of_range_is_refused(world: World) -> None:
    browser = HttpClient()
    browser.force_login(world.dpo)
    _fresh(browser)
    data = {**retention.DEFAULT_MONTHS, "session": 0}
    response = browser.post("/privasi/masa-simpan/", data)
    assert response.status_code == 200
    assert not RetentionRule.objects.exists()


def test_only_the_dpo_opens_the_retention_page(world: World) -> None:
    for name, user in world.personas().items():
        if name == "dpo":
            continue
        browser = HttpClient()
        browser.force_login(user)
        _fresh(browser)
        assert browser.get("/privasi/masa-simpan/").status_code == 404, name
        assert browser.post("/privasi/masa-simpan/", {"session": 1}).status_code == 404, name
    assert not RetentionRule.objects.exists()


def test_the_dpo_page_shows_counts_due(scene: Scene) -> None:
    section = retention.dpo_section(scene.world.org)
    rows = {row["record_type"]: row for row in section["rows"]}
    # Now (2026) the case closed in 2020 is past its five years.
    assert rows["closed_case"]["due"] == 1 and rows["closed_case"]["is_default"]
    browser = HttpClient()
    browser.force_login(scene.world.dpo)
    page = browser.get("/privasi/").content.decode()
    assert "Masa simpan data" in page
    assert CLIENT_NAME not in page and scene.case.code not in page


def test_a_case_reopened_after_the_listing_is_not_destroyed(scene: Scene) -> None:
    """The destroyer locks the rows and checks them again; a reopened case undoes all."""
    services.case_change_status(actor=scene.world.counsellor, case=scene.case, status="open")
    with pytest.raises(retention.TokenMismatch):
        retention._destroy_cases([scene.case.pk])
    with pytest.raises(retention.TokenMismatch):
        retention._destroy_clients([scene.client.pk])
    assert Case.objects.get(pk=scene.case.pk).title == "Relasi teman"
