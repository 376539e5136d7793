"""Erasure with two-person approval: who may ask, who may approve, what it does."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts import two_factor
from kka.accounts.models import Role, User
from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import services
from kka.cases.models import Attachment, Case, CaseRole, Client, ClientNameToken, Guardian
from kka.conferences import services as conference_services
from kka.conferences.models import Participant, PortalLink
from kka.documents import services as document_services
from kka.documents.models import Document
from kka.lib import private_files
from kka.privacy import erasure
from kka.privacy.models import (
    Erasure,
    RequestKind,
    RequestStatus,
    Restriction,
    SubjectRequest,
)
from tests.personas import World, make_user
from tests.test_permission_matrix import PNG

pytestmark = pytest.mark.django_db

NAME = "Ani Lestari Rahasia"


@dataclass
class Scene:
    world: World
    client: Client
    case: Case
    co: User
    supervisor: User
    participant: Participant
    document: Document


@pytest.fixture
def scene(world: World) -> Scene:
    owner = world.counsellor
    co = make_user(organisation=world.org, role=Role.KONSELOR)
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=NAME,
        birth_date="2012-05-01",
        nisn="0012345678",
        guardians=[{"full_name": "Budi Wali", "relationship": "ayah"}],
    )
    case = services.case_open(
        actor=owner,
        client=client,
        bidang="sosial",
        title="Relasi teman",
        intake_source="guru",
        description="Uraian rahasia",
    )
    services.case_member_add(actor=owner, case=case, user=co, role=CaseRole.CO_COUNSELLOR)
    services.case_member_add(actor=owner, case=case, user=supervisor, role=CaseRole.SUPERVISOR)
    services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="observasi",
        content="Catatan rahasia",
        files=[("foto-ani.png", PNG)],
    )
    conference = conference_services.conference_create(actor=owner, case=case)
    participant = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Budi Wali",
        role="ayah",
        category="keluarga",
        email="budi@wali.test",
        disclosure="briefing",
    )
    conference_services.portal_link_create(participant=participant)
    document = document_services.produce(
        actor=owner, kind="daftar_hadir", fmt="pdf", conference=conference
    )
    return Scene(world, client, case, co, supervisor, participant, document)


def browser(user: User, *, fresh: bool = True) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    if fresh:
        session = http.session
        session[two_factor.SESSION_VERIFIED_AT] = time.time()
        session.save()
    return http


def new_url(client: Client) -> str:
    return reverse("privacy:erasure_new", kwargs={"code": client.code})


def detail_url(request: SubjectRequest) -> str:
    return reverse("privacy:erasure_detail", kwargs={"code": request.code})


def approve_url(request: SubjectRequest) -> str:
    return reverse("privacy:erasure_approve", kwargs={"code": request.code})


def reject_url(request: SubjectRequest) -> str:
    return reverse("privacy:erasure_reject", kwargs={"code": request.code})


def ask(scene: Scene, actor: User | None = None) -> SubjectRequest:
    return erasure.erasure_request(
        actor=actor or scene.world.counsellor, client=scene.client, requested_by_note="Ibu"
    )


def actions(*codes: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(action__in=codes).order_by("id").values_list("action", flat=True)
    )


# --- asking -------------------------------------------------------------------------------


def test_counsellor_asks_after_step_up_typing_the_client_code(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    stale = browser(scene.world.counsellor, fresh=False)
    assert "step_up=1" in stale.get(new_url(scene.client))["Location"]
    assert "step_up=1" in stale.post(new_url(scene.client), {})["Location"]

    http = browser(scene.world.counsellor)
    page = http.get(new_url(scene.client))
    assert page.status_code == 200
    assert page.context["counts"]["records"] == 1 and page.context["counts"]["files"] == 1
    wrong = http.post(
        new_url(scene.client),
        {"requested_by_note": "Ibu kandung", "confirm": "on", "typed_code": "SALAH"},
    )
    assert wrong.status_code == 200 and not SubjectRequest.objects.exists()
    unconfirmed = http.post(
        new_url(scene.client),
        {"requested_by_note": "Ibu kandung", "typed_code": scene.client.code},
    )
    assert unconfirmed.status_code == 200 and not SubjectRequest.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = http.post(
            new_url(scene.client),
            {"requested_by_note": "Ibu kandung", "confirm": "on", "typed_code": scene.client.code},
        )
    request = SubjectRequest.objects.get()
    assert done.status_code == 302 and done["Location"] == detail_url(request)
    assert request.kind == RequestKind.ERASURE
    assert request.status == RequestStatus.AWAITING_APPROVAL
    assert request.created_by == scene.world.counsellor
    assert request.requested_by_note == "Ibu kandung"
    event = AuditEvent.objects.get(action="privacy.erasure_requested")
    assert event.object_ref == request.code
    assert event.refs == {"kind": "erasure", "client": scene.client.code}
    # A neutral mail to the DPO and the coordinator: the request code, no name.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [scene.world.dpo.email, scene.world.coordinator.email]
    )
    for message in mail.outbox:
        text = f"{message.subject}{message.body}{getattr(message, 'alternatives', '')}"
        assert request.code in text and detail_url(request) in text
        assert NAME not in text and "Budi" not in text and scene.client.code not in text


def test_supervisor_gets_403_and_everyone_off_the_client_404(scene: Scene) -> None:
    assert browser(scene.supervisor).get(new_url(scene.client)).status_code == 403
    assert browser(scene.co).get(new_url(scene.client)).status_code == 200
    for user in (
        scene.world.other_counsellor,
        scene.world.coordinator,
        scene.world.dpo,
        scene.world.admin,
        scene.world.head,
        scene.world.outsider,
    ):
        assert browser(user).get(new_url(scene.client)).status_code == 404
        assert browser(user).post(new_url(scene.client), {}).status_code == 404
    assert not SubjectRequest.objects.exists()


def test_a_restricted_client_may_still_be_erased(scene: Scene) -> None:
    Restriction.objects.create(client=scene.client, started_by=scene.world.counsellor)
    http = browser(scene.world.counsellor)
    assert http.get(new_url(scene.client)).status_code == 200
    http.post(
        new_url(scene.client),
        {"requested_by_note": "Konseli", "confirm": "on", "typed_code": scene.client.code},
    )
    request = SubjectRequest.objects.get(kind=RequestKind.ERASURE)
    browser(scene.world.dpo).post(approve_url(request))
    assert Client.objects.get(pk=scene.client.pk).full_name == erasure.MARKER


def test_a_second_request_while_one_waits_is_refused(scene: Scene) -> None:
    first = ask(scene)
    with pytest.raises(ValidationError):
        ask(scene, scene.co)
    page = browser(scene.co).get(new_url(scene.client))
    assert detail_url(first) in page.content.decode()
    assert SubjectRequest.objects.count() == 1


# --- deciding -----------------------------------------------------------------------------


def test_the_requester_cannot_approve_even_as_coordinator(scene: Scene) -> None:
    coordinator = scene.world.coordinator
    services.case_member_add(
        actor=scene.world.counsellor, case=scene.case, user=coordinator, role=CaseRole.CO_COUNSELLOR
    )
    request = ask(scene, coordinator)
    http = browser(coordinator)
    page = http.get(detail_url(request))
    assert page.status_code == 200 and not page.context["may_decide"]
    assert http.post(approve_url(request)).status_code == 403
    assert http.post(reject_url(request)).status_code == 403
    with pytest.raises(PermissionDenied):
        erasure.erasure_approve(actor=coordinator, request=request)
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL
    assert not Erasure.objects.exists()
    # Another approver (the DPO) may.
    assert browser(scene.world.dpo).get(detail_url(request)).context["may_decide"]


def test_case_team_sees_the_request_but_only_a_dpo_or_coordinator_decides(scene: Scene) -> None:
    request = ask(scene)
    for user in (scene.world.counsellor, scene.co, scene.supervisor):
        http = browser(user)
        assert http.get(detail_url(request)).status_code == 200
        assert http.post(approve_url(request)).status_code == 403
        assert http.post(reject_url(request)).status_code == 403
    for user in (
        scene.world.other_counsellor,
        scene.world.admin,
        scene.world.head,
        scene.world.outsider,
    ):
        http = browser(user)
        assert http.get(detail_url(request)).status_code == 404
        assert http.post(approve_url(request)).status_code == 404
        assert http.post(reject_url(request)).status_code == 404
    # A deactivated DPO is no approver any more.
    scene.world.org.memberships.filter(user=scene.world.dpo).update(is_active=False)
    assert browser(scene.world.dpo).post(approve_url(request)).status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL


def test_approving_needs_a_fresh_step_up(scene: Scene) -> None:
    request = ask(scene)
    stale = browser(scene.world.dpo, fresh=False)
    for url in (approve_url(request), reject_url(request)):
        response = stale.post(url)
        assert response.status_code == 302 and "step_up=1" in response["Location"]
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL


def test_the_approver_sees_codes_and_counts_never_content(scene: Scene) -> None:
    request = ask(scene)
    page = browser(scene.world.dpo).get(detail_url(request)).content.decode()
    assert scene.client.code in page and request.code in page
    for secret in (NAME, "Budi", "Uraian rahasia", "Catatan rahasia", "Relasi teman", "Ibu"):
        assert secret not in page


def test_approval_erases_and_pages_show_the_marker(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    request = ask(scene)
    attachment = Attachment.objects.get(record__case=scene.case)
    stored_name = attachment.stored_name
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(scene.world.coordinator).post(approve_url(request))
    assert response.status_code == 302 and response["Location"] == detail_url(request)

    request.refresh_from_db()
    assert request.status == RequestStatus.DONE
    assert request.approved_by == scene.world.coordinator and request.completed_at
    assert request.requested_by_note == ""
    done = Erasure.objects.get(client=scene.client)
    assert done.summary["records"] == 1 and done.summary["stored_files"] == 2
    assert done.summary["links_revoked"] == 1

    client = Client.objects.get(pk=scene.client.pk)
    assert client.full_name == erasure.MARKER
    assert (client.nisn, client.birth_date, client.nisn_token) == ("", "", "")
    assert not ClientNameToken.objects.filter(client=client).exists()
    assert not Guardian.objects.filter(client=client).exists()
    case = Case.objects.get(pk=scene.case.pk)
    assert (case.title, case.description, case.bidang) == (erasure.MARKER, "", "sosial")
    participant = Participant.objects.get(pk=scene.participant.pk)
    assert (participant.full_name, participant.email) == (erasure.MARKER, "")
    assert not PortalLink.objects.filter(participant=participant, revoked_at=None).exists()
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    with pytest.raises(FileNotFoundError):
        private_files.read(stored_name)
    document = Document.objects.get(pk=scene.document.pk)
    assert (document.kind, document.produced_for) == ("daftar_hadir", "")
    assert document.stored_name == f"dihapus-{document.code}"

    codes = ["privacy.erasure_approved", "privacy.erased"]
    assert actions(*codes) == codes
    erased = AuditEvent.objects.get(action="privacy.erased")
    assert erased.refs["records"] == 1 and erased.refs["client"] == client.code
    assert audit_verify()[1] is None

    owner = browser(scene.world.counsellor)
    page = owner.get(reverse("cases:client_detail", kwargs={"code": client.code}))
    assert erasure.MARKER in page.content.decode() and NAME not in page.content.decode()
    case_page = owner.get(reverse("cases:case_detail", kwargs={"code": case.code}))
    assert case_page.status_code == 200 and "Uraian rahasia" not in case_page.content.decode()
    download = reverse("documents:download", kwargs={"code": document.code})
    assert owner.get(download).status_code == 404  # the register row stays, the file is gone
    # Erased once: a second request is refused.
    again = owner.get(new_url(client))
    assert "sudah dihapus" in again.content.decode()
    owner.post(
        new_url(client), {"confirm": "on", "typed_code": client.code, "requested_by_note": "x"}
    )
    assert SubjectRequest.objects.count() == 1
    with pytest.raises(ValidationError):
        ask(scene)
    # Deciding twice is refused too.
    with pytest.raises(ValidationError):
        erasure.erasure_reject(actor=scene.world.dpo, request=request)


def test_files_go_only_after_the_commit(
    scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    request = ask(scene)
    stored_name = Attachment.objects.get(record__case=scene.case).stored_name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        erasure.erasure_approve(actor=scene.world.dpo, request=request)
    assert private_files.read(stored_name) == PNG  # still there until the commit
    for callback in callbacks:
        callback()
    with pytest.raises(FileNotFoundError):
        private_files.read(stored_name)


def test_reject_keeps_the_data_and_allows_a_new_request(scene: Scene) -> None:
    request = ask(scene)
    response = browser(scene.world.dpo).post(reject_url(request))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.completed_by == scene.world.dpo and request.approved_by is None
    assert not Erasure.objects.exists()
    assert Client.objects.get(pk=scene.client.pk).full_name == NAME
    event = AuditEvent.objects.get(action="privacy.request_rejected")
    assert event.refs == {"kind": "erasure", "client": scene.client.code}
    assert browser(scene.world.dpo).post(approve_url(request)).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED  # a decided request stays decided
    assert ask(scene).status == RequestStatus.AWAITING_APPROVAL


def test_dpo_section_lists_waiting_requests_by_code(scene: Scene) -> None:
    request = ask(scene)
    section = erasure.dpo_section(scene.world.org)
    assert section["waiting"] == [request]
    assert erasure.dpo_section(scene.world.other_org)["waiting"] == []
    page = browser(scene.world.dpo).get(reverse("privacy:dpo_home")).content.decode()
    assert detail_url(request) in page and NAME not in page
