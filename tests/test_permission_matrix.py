"""Every URL of the project x every persona.

The table below must name every URL pattern: a new pattern without a row fails
``test_every_url_pattern_is_in_the_matrix``. For each row and persona the expected
answer is derived from the row's kind:

- anonymous → redirect to the login page (except public pages);
- anyone who may not see the object → 404, the same as a missing object;
- a case supervisor → reads, but 403 on every write;
- the owner and co-counsellors → allowed.

The ``pengawas`` (an education office's supervisor) belongs to the office only: its
office supervises an organisation group holding the scene's organisation, so it reads
that group's aggregate program reports and nothing else (404 on every case, client,
conference, document, portal and privacy page, like an outsider). A second group, of
another office, holds the same organisation: the pengawas gets 404 there too.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kka.accounts.models import OrganisationGroup, Role, Setting, UserSession
from kka.accounts.sessions import key_hash
from kka.api.tokens import token_create
from kka.cases import services
from kka.cases.models import CaseRole, ImportBatch
from kka.conferences import followup, meeting
from kka.conferences import services as conference_services
from kka.conferences.models import ApprovalState, Conference
from kka.documents import services as document_services
from tests.personas import World, make_organisation, make_user, make_world

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)

PERSONAS = [
    "anonymous",
    "outsider",
    "other_counsellor",
    "coordinator",
    "head",
    "admin",
    "dpo",
    "supervisor",
    "co_counsellor",
    "owner",
    "pengawas",
]
CASE_TEAM = {"owner", "co_counsellor", "supervisor"}
# Everyone with a counselling role somewhere (the outsider counsels in another organisation
# and sees its own, empty, lists there).
COUNSELLORS = {
    "owner",
    "co_counsellor",
    "supervisor",
    "other_counsellor",
    "coordinator",
    "outsider",
}


@dataclass
class Scene:
    world: World
    users: dict[str, Any]
    objects: dict[str, str]


def build_scene() -> Scene:
    world = make_world()
    owner = world.counsellor
    co = make_user(organisation=world.org, role=Role.KONSELOR, full_name="Pendamping")
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR, full_name="Supervisor")
    spare = make_user(organisation=world.org, role=Role.KONSELOR, full_name="Cadangan")
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name="Ani Lestari",
        birth_date="2012-05-01",
        guardians=[{"full_name": "Budi", "relationship": "ayah"}],
    )
    case = services.case_open(
        actor=owner, client=client, bidang="sosial", title="Relasi teman", intake_source="guru"
    )
    services.case_member_add(actor=owner, case=case, user=co, role=CaseRole.CO_COUNSELLOR)
    services.case_member_add(actor=owner, case=case, user=supervisor, role=CaseRole.SUPERVISOR)
    removable = services.case_member_add(
        actor=owner, case=case, user=spare, role=CaseRole.CO_COUNSELLOR
    )
    record = services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="observasi",
        content="Catatan",
        files=[("foto.png", PNG)],
    )
    services.problem_map_set_core(actor=owner, case=case, core_problem="Inti")
    aspect = services.aspect_add(actor=owner, case=case, kind="gejala", text="Menyendiri")
    resource = services.resource_add(
        actor=owner, case=case, name="Wali kelas", role="wali kelas", category="staf_lembaga"
    )
    consent = services.consent_record(
        actor=owner,
        client=client,
        giver="orang_tua",
        giver_name="Budi",
        channel="kertas",
        purposes=["purpose_hold_kka"],
        scan=("scan.png", PNG),
    )
    batch = ImportBatch.objects.create(
        organisation=world.org,
        created_by=owner,
        filename="siswa.csv",
        payload=base64.b64encode(b"nama\nAni\n").decode(),
    )
    conference = conference_services.conference_create(actor=owner, case=case)
    participant = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Budi",
        role="ayah",
        category="keluarga",
        disclosure="briefing",
    )
    Conference.objects.filter(pk=conference.pk).update(approval=ApprovalState.PENDING)
    conference_services.conference_set_status(actor=owner, conference=conference, status="planned")
    commitment = followup.commitment_add(
        actor=owner, conference=conference, participant=participant, what="Memantau tugas"
    )
    # A second KKA, held and closed: its minutes are final, laijapen and laijapang are
    # scheduled, and a follow-up was planned from it.
    closed = conference_services.conference_create(actor=owner, case=case)
    for step in ("planned", "invited", "held"):
        closed = conference_services.conference_set_status(
            actor=owner, conference=closed, status=step
        )
    meeting.minutes_finalise(actor=owner, conference=closed)
    closed = followup.conference_close(actor=owner, conference=closed)
    laijapen = closed.evaluations.get(kind="laijapen")
    home_visit = followup.followup_add(actor=owner, case=case, conference=closed, kind="home_visit")
    attendance_list = document_services.produce(
        actor=owner, kind="daftar_hadir", fmt="pdf", conference=conference
    )
    from kka.privacy import subject as privacy_subject

    subject_request = privacy_subject.request_record(actor=owner, client=client, kind="access")
    from kka.privacy import erasure as privacy_erasure

    # An erasure the owner asked for, waiting for the DPO or the coordinator.
    erasure_request = privacy_erasure.erasure_request(actor=owner, client=client)
    # The coordinator's break-glass on the case, already over (it grants nothing now).
    from kka.privacy.models import BreakGlass

    past_break_glass = BreakGlass.objects.create(
        organisation=world.org,
        case=case,
        user=world.coordinator,
        reason="Uji: akses darurat yang sudah berakhir",
        started_at=case.opened_at,
        expires_at=case.opened_at,
    )
    from kka.privacy import incidents as privacy_incidents
    from kka.privacy.models import IncidentSubject

    incident = privacy_incidents.incident_record(
        actor=world.dpo, organisation=world.org, title="Uji", discovered_at=case.opened_at
    )
    IncidentSubject.objects.create(incident=incident, client=client, categories=["identitas"])
    # An education office whose pengawas reads the group holding the scene's organisation;
    # another office's group holds it too (and the other organisation): not the pengawas's.
    office = make_organisation(name="Dinas Pendidikan Uji", setting=Setting.LAINNYA)
    pengawas = make_user(organisation=office, role=Role.PENGAWAS, full_name="Pengawas")
    group = OrganisationGroup.objects.create(name="Sekolah binaan", supervisor=office)
    group.organisations.add(world.org)
    other_office = make_organisation(name="Dinas Lain", setting=Setting.LAINNYA)
    other_group = OrganisationGroup.objects.create(name="Binaan lain", supervisor=other_office)
    other_group.organisations.add(world.org, world.other_org)
    users = {
        "anonymous": None,
        "outsider": world.outsider,
        "other_counsellor": world.other_counsellor,
        "coordinator": world.coordinator,
        "head": world.head,
        "admin": world.admin,
        "dpo": world.dpo,
        "supervisor": supervisor,
        "co_counsellor": co,
        "owner": owner,
        "pengawas": pengawas,
    }
    member = world.org.memberships.get(user=world.dpo)
    other_device_key = secrets.token_urlsafe(24)
    return Scene(
        world=world,
        users=users,
        objects={
            "case": case.code,
            "client": client.code,
            "record": record.code,
            "attachment": record.attachments.get().code,
            "aspect": aspect.code,
            "resource": resource.code,
            "guardian": client.guardians.get().code,
            "consent": consent.code,
            "scan": consent.scan.code if consent.scan else "",
            "case_member": removable.code,
            "membership": member.code,
            "batch": batch.code,
            "conference": conference.code,
            "participant": participant.code,
            "commitment": commitment.code,
            "closed_conference": closed.code,
            "evaluation": laijapen.code,
            "followup": home_visit.code,
            "document": attendance_list.code,
            "subject_request": subject_request.code,
            "breakglass": past_break_glass.code,
            "erasure_request": erasure_request.code,
            "incident": incident.code,
            "group": group.code,
            "other_group": other_group.code,
            # A second session of the owner (another device), which only the owner may end.
            # A personal API token of the owner, which only the owner may revoke.
            "api_token": token_create(user=owner, organisation=world.org, name="uji")[0].code,
            "user_session": UserSession.objects.create(
                user=owner,
                key_hash=key_hash(other_device_key),
                key_encrypted=other_device_key,
            ).code,
        },
    )


# What each kind of page answers: persona -> (GET, POST); None = method not offered.
Expect = tuple[str | None, str | None]


def public(_: str) -> Expect:
    return ("ok", None)


def public_form(_: str) -> Expect:
    return ("ok", "ok")


def post_public(_: str) -> Expect:
    return (None, "ok")


public_post_only = post_public


def logged_in(persona: str) -> Expect:
    return ("login", None) if persona == "anonymous" else ("ok", None)


def logged_in_form(persona: str) -> Expect:
    return ("login", "login") if persona == "anonymous" else ("ok", "ok")


def logout(_: str) -> Expect:
    return (None, "login")


def switch_without_choice(persona: str) -> Expect:
    """An empty choice is an organisation the user is not in: 404, nothing changes."""
    return (None, "login") if persona == "anonymous" else (None, "404")


def org_admin(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona == "admin" else ("404", "404")


def org_admin_post(persona: str) -> Expect:
    _get, post = org_admin(persona)
    return (None, post)


def consent_text_editor(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona in {"admin", "coordinator"} else ("404", "404")


def counselling(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona in COUNSELLORS else ("404", "404")


def counselling_read(persona: str) -> Expect:
    return (counselling(persona)[0], None)


def case_read(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona in CASE_TEAM else ("404", None)


def case_read_write(persona: str) -> Expect:
    """GET shows the object (supervisor too); POST changes it (writers only)."""
    if persona == "anonymous":
        return ("login", "login")
    if persona == "supervisor":
        return ("ok", "403")
    return ("ok", "ok") if persona in CASE_TEAM else ("404", "404")


def case_write(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", "login")
    if persona == "supervisor":
        return ("403", "403")
    return ("ok", "ok") if persona in CASE_TEAM else ("404", "404")


def case_write_post(persona: str) -> Expect:
    return (None, case_write(persona)[1])


def case_owner_post(persona: str) -> Expect:
    if persona == "anonymous":
        return (None, "login")
    if persona in {"supervisor", "co_counsellor"}:
        return (None, "403")
    return (None, "ok") if persona == "owner" else (None, "404")


def batch_owner(persona: str) -> Expect:
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona == "owner" else ("404", "404")


def approver(persona: str) -> Expect:
    """The plan's approval page: a supervisor on the case or the coordinator."""
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona in {"supervisor", "coordinator"} else ("404", "404")


def portal_session(_: str) -> Expect:
    """Participant pages need a portal session from a private link; nobody here has one."""
    return ("404", None)


def portal_session_post(_: str) -> Expect:
    return (None, "404")


def template_editor(persona: str) -> Expect:
    """Own DOCX templates: the org admin and the coordinator."""
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona in {"admin", "coordinator"} else ("404", "404")


def template_editor_read(persona: str) -> Expect:
    return (template_editor(persona)[0], None)


def template_editor_post(persona: str) -> Expect:
    return (None, template_editor(persona)[1])


def template_none_yet(persona: str) -> Expect:
    """Downloading the active template: the scene has none, so editors get 404 too."""
    return ("login", None) if persona == "anonymous" else ("404", None)


def letter_register_reader(persona: str) -> Expect:
    """Letter numbers reveal no content: every counsellor (the outsider sees its own
    organisation's register), the coordinator and the org admin; not the head or DPO."""
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona in COUNSELLORS | {"admin"} else ("404", None)


def own_session_post(persona: str) -> Expect:
    """Ending a session: only its own user (the scene's extra session is the owner's)."""
    if persona == "anonymous":
        return (None, "login")
    return (None, "ok") if persona == "owner" else (None, "404")


def own_token_post(persona: str) -> Expect:
    """Revoking an API token: only its own user (the scene's token is the owner's)."""
    return own_session_post(persona)


def letter_voider_post(persona: str) -> Expect:
    return (None, template_editor(persona)[1])


def client_writer_read(persona: str) -> Expect:
    """A download for who may write the client (GET only)."""
    return (case_write(persona)[0], None)


def dpo_read(persona: str) -> Expect:
    """A page of the DPO only (organisation role); everyone else 404."""
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona == "dpo" else ("404", None)


def dpo_form(persona: str) -> Expect:
    """A form of the DPO only (a step-up sends the DPO on: "ok"); everyone else 404."""
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona == "dpo" else ("404", "404")


def coordinator_form(persona: str) -> Expect:
    """Break-glass request: the coordinator only (sent on to the step-up: "ok")."""
    if persona == "anonymous":
        return ("login", "login")
    return ("ok", "ok") if persona == "coordinator" else ("404", "404")


def breakglass_holder_post(persona: str) -> Expect:
    """Ending a break-glass: only the coordinator who holds it."""
    if persona == "anonymous":
        return (None, "login")
    return (None, "ok") if persona == "coordinator" else (None, "404")


def dpo_post(persona: str) -> Expect:
    return (None, dpo_form(persona)[1])


ERASURE_APPROVERS = {"dpo", "coordinator"}


def erasure_viewer(persona: str) -> Expect:
    """An erasure request: the client's team and the approvers (codes and counts only)."""
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona in CASE_TEAM | ERASURE_APPROVERS else ("404", None)


def erasure_decider_post(persona: str) -> Expect:
    """Approve / reject: a DPO or coordinator (sent on to the step-up: "ok"); the team,
    the requester (the owner) included, sees the request but may not decide: 403."""
    if persona == "anonymous":
        return (None, "login")
    if persona in ERASURE_APPROVERS:
        return (None, "ok")
    return (None, "403") if persona in CASE_TEAM else (None, "404")


# Program reports: aggregates only. Pages and downloads answer GET only.
ORGANISATION_REPORT_READERS = {"coordinator", "head"}
GROUP_REPORT_READERS = {"pengawas"}


def organisation_report(persona: str) -> Expect:
    """The organisation's protected report: its koordinator BK and pimpinan."""
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona in ORGANISATION_REPORT_READERS else ("404", None)


def own_report(persona: str) -> Expect:
    """A counsellor's own cases, exact: every counselling role (the outsider in their own
    organisation, where the report covers their own, empty, caseload)."""
    return counselling_read(persona)


def group_report(persona: str) -> Expect:
    """The groups the pengawas's office supervises; nobody in the member organisations."""
    if persona == "anonymous":
        return ("login", None)
    return ("ok", None) if persona in GROUP_REPORT_READERS else ("404", None)


def nobody_read(persona: str) -> Expect:
    """An object nobody here may read (another office's group): login first, then 404."""
    return ("login", None) if persona == "anonymous" else ("404", None)


# url name -> (kwargs from the scene's objects, expectation)
MATRIX: dict[str, tuple[dict[str, str], Callable[[str], Expect]]] = {
    "healthz": ({}, public),
    "readyz": ({}, public),
    "web:home": ({}, logged_in),
    "accounts:login": ({}, public_form),
    "accounts:logout": ({}, logout),
    "accounts:password_change": ({}, logged_in_form),
    "accounts:password_change_done": ({}, logged_in),
    "accounts:password_reset": ({}, public_form),
    "accounts:password_reset_done": ({}, public),
    "accounts:password_reset_confirm": ({"uidb64": "MQ", "token": "x-y"}, public),
    "accounts:password_reset_complete": ({}, public),
    "accounts:set_language": ({}, post_public),
    "accounts:otp_verify": ({}, logged_in_form),
    "accounts:otp_enrol": ({}, logged_in_form),
    "accounts:otp_manage": ({}, logged_in_form),
    "accounts:switch_organisation": ({}, switch_without_choice),
    "accounts:member_list": ({}, org_admin),
    "accounts:member_add": ({}, org_admin),
    "accounts:member_edit": ({"code": "membership"}, org_admin),
    "accounts:member_set_active": ({"code": "membership"}, org_admin_post),
    "accounts:organisation_settings": ({}, org_admin),
    "accounts:organisation_logo": ({}, org_admin_post),
    "accounts:sessions": ({}, logged_in),
    "accounts:session_end": ({"code": "user_session"}, own_session_post),
    # Ends every session of the person, this one included: back to the login page.
    "accounts:sessions_end_all": ({}, logout),
    # Own API tokens; creating one sends to the step-up first ("ok").
    "api_ui:tokens": ({}, logged_in),
    "api_ui:token_create": ({}, logged_in_form),
    "api_ui:token_revoke": ({"code": "api_token"}, own_token_post),
    "cases:case_list": ({}, counselling_read),
    "cases:client_list": ({}, counselling_read),
    "cases:client_create": ({}, counselling),
    "cases:client_import": ({}, counselling),
    "cases:client_import_preview": ({"code": "batch"}, batch_owner),
    "cases:consent_text_edit": ({}, consent_text_editor),
    "cases:case_detail": ({"code": "case"}, case_read),
    "cases:case_edit": ({"code": "case"}, case_write),
    "cases:case_status": ({"code": "case"}, case_write_post),
    "cases:case_member_add": ({"code": "case"}, case_owner_post),
    "cases:case_member_remove": ({"code": "case", "member": "case_member"}, case_owner_post),
    "cases:record_add": ({"code": "case"}, case_write),
    "cases:record_edit": ({"code": "case", "record": "record"}, case_read_write),
    "cases:attachment_download": ({"code": "case", "attachment": "attachment"}, case_read),
    "cases:map_core": ({"code": "case"}, case_write_post),
    "cases:aspect_add": ({"code": "case"}, case_write_post),
    "cases:aspect_remove": ({"code": "case", "aspect": "aspect"}, case_write_post),
    "cases:resource_add": ({"code": "case"}, case_write_post),
    "cases:resource_remove": ({"code": "case", "resource": "resource"}, case_write_post),
    "cases:client_detail": ({"code": "client"}, case_read),
    "cases:client_edit": ({"code": "client"}, case_write),
    "cases:guardian_add": ({"code": "client"}, case_write_post),
    "cases:guardian_remove": ({"code": "client", "guardian": "guardian"}, case_write_post),
    "cases:case_open": ({"code": "client"}, case_write),
    "cases:consent_add": ({"code": "client"}, case_write),
    "cases:consent_withdraw": ({"code": "client", "consent": "consent"}, case_write_post),
    "cases:consent_proof": ({"code": "client", "consent": "consent"}, case_read),
    "cases:consent_scan": ({"code": "client", "attachment": "scan"}, case_read),
    "conferences:create": ({"code": "case"}, case_write_post),
    "conferences:detail": ({"code": "conference"}, case_read),
    "conferences:plan": ({"code": "conference"}, case_write),
    "conferences:status": ({"code": "conference"}, case_write_post),
    "conferences:participant_add": ({"code": "conference"}, case_write_post),
    "conferences:participant_edit": (
        {"code": "conference", "participant": "participant"},
        case_write,
    ),
    "conferences:participant_remove": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:invitation_send": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:links_revoke": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:approval_request": ({"code": "conference"}, case_write_post),
    "conferences:approval_review": ({"code": "conference"}, approver),
    "conferences:meeting": ({"code": "conference"}, case_read),
    "conferences:minutes_save": ({"code": "conference"}, case_write_post),
    "conferences:minutes_finalise": ({"code": "conference"}, case_write_post),
    "conferences:minutes_addendum": ({"code": "conference"}, case_write_post),
    "conferences:attendance": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:pledge_on_device": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:commitment_add": ({"code": "conference"}, case_write_post),
    "conferences:commitment_status": (
        {"code": "conference", "commitment": "commitment"},
        case_write_post,
    ),
    "conferences:laiseg": (
        {"code": "conference", "participant": "participant"},
        case_write_post,
    ),
    "conferences:process_evaluation": ({"code": "conference"}, case_write_post),
    "conferences:close": ({"code": "conference"}, case_write_post),
    "conferences:report": ({"code": "closed_conference"}, case_read_write),
    "conferences:later_evaluation": (
        {"code": "closed_conference", "evaluation": "evaluation"},
        case_read_write,
    ),
    # Each request runs in its own rolled-back savepoint: every writer creates "the" next KKA.
    "conferences:next_kka": ({"code": "closed_conference"}, case_write_post),
    "conferences:followup_add": ({"code": "case"}, case_write),
    "conferences:followup_status": ({"code": "followup"}, case_write_post),
    "portal:minutes_agree": ({}, portal_session_post),
    "portal:minutes_comment": ({}, portal_session_post),
    "portal:laiseg": ({}, portal_session_post),
    "portal:progress": ({"code": "commitment"}, portal_session_post),
    "portal:home": ({}, portal_session),
    "portal:rsvp": ({}, portal_session_post),
    "portal:pledge": ({}, portal_session_post),
    "portal:leave": ({}, public_post_only),
    "documents:templates": ({}, template_editor),
    "documents:template_deactivate": ({}, template_editor_post),
    "documents:template_fields": ({"kind": "daftar_hadir"}, template_editor_read),
    "documents:template_sample": ({"kind": "daftar_hadir"}, template_editor_read),
    "documents:template_download": ({"kind": "daftar_hadir"}, template_none_yet),
    "documents:letter_register": ({}, letter_register_reader),
    "documents:letter_register_csv": ({}, letter_register_reader),
    "documents:letter_void": ({}, letter_voider_post),
    "documents:produce": ({"kind": "daftar_hadir", "code": "conference"}, case_write_post),
    "documents:download": ({"code": "document"}, case_read),
    "documents:bundle": ({"code": "conference"}, case_read_write),
    # Data subject rights: who may write the client, then a fresh step-up (which a
    # writer here is sent to: "ok"); the DPO's register lists client codes only.
    "privacy:subject_home": ({"code": "client"}, client_writer_read),
    "privacy:request_add": ({"code": "client"}, case_write_post),
    "privacy:request_close": (
        {"code": "client", "request_code": "subject_request"},
        case_write_post,
    ),
    "privacy:access_export": ({"code": "client", "fmt": "pdf"}, client_writer_read),
    "privacy:correction": ({"code": "client"}, case_write),
    "privacy:restriction_start": ({"code": "client"}, case_write_post),
    "privacy:restriction_lift": ({"code": "client"}, case_write_post),
    "privacy:request_list": ({}, dpo_read),
    "privacy:dpo_home": ({}, dpo_read),
    "privacy:retention_settings": ({}, dpo_form),
    "privacy:ropa": ({}, dpo_read),
    "privacy:breakglass_request": ({}, coordinator_form),
    "privacy:breakglass_end": ({"code": "breakglass"}, breakglass_holder_post),
    "privacy:breakglass_list": ({}, dpo_read),
    "privacy:breakglass_review": ({"code": "breakglass"}, dpo_post),
    "privacy:erasure_new": ({"code": "client"}, case_write),
    "privacy:erasure_detail": ({"code": "erasure_request"}, erasure_viewer),
    "privacy:erasure_approve": ({"code": "erasure_request"}, erasure_decider_post),
    "privacy:erasure_reject": ({"code": "erasure_request"}, erasure_decider_post),
    "privacy:incident_list": ({}, dpo_read),
    "privacy:incident_create": ({}, dpo_form),
    "privacy:incident_detail": ({"code": "incident"}, dpo_read),
    "privacy:incident_edit": ({"code": "incident"}, dpo_form),
    "privacy:incident_find_affected": ({"code": "incident"}, dpo_post),
    "privacy:incident_notified": ({"code": "incident"}, dpo_post),
    "privacy:incident_subject_notified": ({"code": "incident", "client": "client"}, dpo_post),
    # A step-up first (the DPO is sent on to it: "ok"); the draft names the addressee.
    "privacy:incident_notice": ({"code": "incident", "client": "client"}, dpo_read),
    # Program reports (aggregates; every format of the downloads: EXPORT_FORMATS below).
    "reports:organisation": ({}, organisation_report),
    "reports:organisation_export": ({"fmt": "csv"}, organisation_report),
    "reports:own": ({}, own_report),
    "reports:own_export": ({"fmt": "csv"}, own_report),
    "reports:groups": ({}, group_report),
    "reports:group": ({"code": "group"}, group_report),
    "reports:group_export": ({"code": "group", "fmt": "csv"}, group_report),
}

# Further rows for URLs already in MATRIX, with other objects or arguments: each report
# download in its other formats, an unknown format, and another office's group.
EXPORT_FORMATS = ("pdf", "xlsx")
MORE: list[tuple[str, dict[str, str], Callable[[str], Expect]]] = [
    *(
        (name, {**MATRIX[name][0], "fmt": fmt}, MATRIX[name][1])
        for name in ("reports:organisation_export", "reports:own_export", "reports:group_export")
        for fmt in EXPORT_FORMATS
    ),
    ("reports:organisation_export", {"fmt": "docx"}, nobody_read),
    ("reports:own_export", {"fmt": "html"}, nobody_read),
    ("reports:group_export", {"code": "group", "fmt": "json"}, nobody_read),
    ("reports:group", {"code": "other_group"}, nobody_read),
    ("reports:group_export", {"code": "other_group", "fmt": "csv"}, nobody_read),
    ("reports:group_export", {"code": "other_group", "fmt": "pdf"}, nobody_read),
]


def _all_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if pattern.namespace and namespace:
                    inner = f"{namespace}:{pattern.namespace}"
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                names.add(f"{namespace}:{pattern.name}" if namespace else str(pattern.name))

    walk(get_resolver().url_patterns, None)
    # The HTTP API authenticates with tokens, not sessions: tests/api/test_api_matrix.py
    # holds its own matrix of every API route.
    return {name for name in names if not name.startswith("api:")}


def test_every_url_pattern_is_in_the_matrix() -> None:
    names = _all_url_names()
    assert names - set(MATRIX) == set(), "URL patterns missing from the permission matrix"
    assert set(MATRIX) - names == set(), "matrix rows for URLs that no longer exist"


def _classify(response: Any) -> str:
    if response.status_code in (301, 302) and "/akun/masuk/" in response.get("Location", ""):
        return "login"
    if response.status_code in (403, 404):
        return str(response.status_code)
    if response.status_code < 400:
        return "ok"
    return str(response.status_code)


CASES = [
    (name, persona, method)
    for name in MATRIX
    for persona in PERSONAS
    for method in ("GET", "POST")
    if MATRIX[name][1](persona)[0 if method == "GET" else 1] is not None
]


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    """Built once per module inside an outer transaction; each test runs in a savepoint
    that is rolled back, so a test's writes never reach the next test."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona", "method"), CASES)
def test_permission_matrix(scene: Scene, name: str, persona: str, method: str) -> None:
    kwargs_spec, expectation = MATRIX[name]
    kwargs = {key: scene.objects.get(value, value) for key, value in kwargs_spec.items()}
    url = reverse(name, kwargs=kwargs)
    http = HttpClient()
    user = scene.users[persona]
    if user is not None:
        http.force_login(user)
    response = http.get(url) if method == "GET" else http.post(url, {})
    expected = expectation(persona)[0 if method == "GET" else 1]
    assert _classify(response) == expected, (
        f"{method} {url} as {persona}: got {response.status_code}, expected {expected}"
    )


MORE_CASES = [
    (n, name, persona)
    for n, (name, _kwargs, expectation) in enumerate(MORE)
    for persona in PERSONAS
    if expectation(persona)[0] is not None
]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "name", "persona"), MORE_CASES)
def test_permission_matrix_more(scene: Scene, row: int, name: str, persona: str) -> None:
    _name, kwargs_spec, expectation = MORE[row]
    kwargs = {key: scene.objects.get(value, value) for key, value in kwargs_spec.items()}
    url = reverse(name, kwargs=kwargs)
    http = HttpClient()
    user = scene.users[persona]
    if user is not None:
        http.force_login(user)
    response = http.get(url)
    expected = expectation(persona)[0]
    assert _classify(response) == expected, (
        f"GET {url} as {persona}: got {response.status_code}, expected {expected}"
    )


@pytest.mark.django_db
def test_a_report_page_names_no_client_and_no_case(scene: Scene) -> None:
    """What each reader gets is aggregates: no client's name or code, no case code or
    title, no link to case content."""
    from kka.cases.models import Case

    case = Case.objects.select_related("client").get(code=scene.objects["case"])
    # Every code of case content in the scene: a link to any of it would carry one.
    content = ("case", "client", "record", "conference", "closed_conference", "participant")
    content += ("commitment", "evaluation", "followup", "document", "consent", "attachment")
    secrets_ = [case.title, case.client.full_name, *(scene.objects[key] for key in content)]
    pages = [
        ("reports:organisation", {}, "coordinator"),
        ("reports:organisation", {}, "head"),
        ("reports:own", {}, "owner"),
        ("reports:groups", {}, "pengawas"),
        ("reports:group", {"code": scene.objects["group"]}, "pengawas"),
    ]
    for name, kwargs, persona in pages:
        http = HttpClient()
        http.force_login(scene.users[persona])
        response = http.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200, (name, persona)
        body = response.content.decode()
        for secret in secrets_:
            assert secret not in body, (name, persona, secret)


@pytest.mark.django_db
def test_the_pengawas_sees_its_own_group_and_not_the_other(scene: Scene) -> None:
    http = HttpClient()
    http.force_login(scene.users["pengawas"])
    listing = http.get(reverse("reports:groups")).content.decode()
    assert "Sekolah binaan" in listing
    assert "Binaan lain" not in listing and scene.objects["other_group"] not in listing
    page = http.get(reverse("reports:group", kwargs={"code": scene.objects["group"]}))
    assert page.status_code == 200
    assert scene.world.org.name in page.content.decode()
    assert scene.world.other_org.name not in page.content.decode()


@pytest.mark.django_db
def test_removed_co_counsellor_loses_access_on_the_next_request() -> None:
    scene = build_scene()
    http = HttpClient()
    http.force_login(scene.users["co_counsellor"])
    url = reverse("cases:case_detail", kwargs={"code": scene.objects["case"]})
    assert http.get(url).status_code == 200
    from kka.cases.models import CaseMember

    member = CaseMember.objects.get(user=scene.users["co_counsellor"])
    services.case_member_remove(actor=scene.users["owner"], member=member)
    assert http.get(url).status_code == 404


@pytest.mark.django_db
def test_deactivated_owner_loses_access_on_the_next_request() -> None:
    scene = build_scene()
    http = HttpClient()
    http.force_login(scene.users["owner"])
    url = reverse("cases:case_detail", kwargs={"code": scene.objects["case"]})
    assert http.get(url).status_code == 200
    scene.world.org.memberships.filter(user=scene.users["owner"]).update(is_active=False)
    assert http.get(url).status_code == 404


# --- Expired session: every staff page sends an idle or too old session to the login page.

STAFF_GET = [name for name in MATRIX if MATRIX[name][1]("anonymous")[0] == "login"]


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["idle", "absolute"])
@pytest.mark.parametrize("name", STAFF_GET)
def test_expired_session_is_sent_to_login_and_removed(scene: Scene, name: str, reason: str) -> None:
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from kka.accounts import sessions

    kwargs = {key: scene.objects.get(value, value) for key, value in MATRIX[name][0].items()}
    url = reverse(name, kwargs=kwargs)
    http = HttpClient()
    http.force_login(scene.users["owner"])
    session = http.session
    key = session.session_key
    if reason == "idle":
        session[sessions.SEEN_AT] -= settings.SESSION_IDLE_MINUTES * 60 + 1
    else:
        session[sessions.AUTH_AT] -= settings.SESSION_ABSOLUTE_SECONDS + 1
    session.save()

    response = http.get(url)

    assert _classify(response) == "login", f"GET {url} with an expired session"
    assert not Session.objects.filter(session_key=key).exists()
    assert key is not None
    row = UserSession.objects.get(key_hash=key_hash(key))
    assert row.ended_at is not None
    assert row.end_reason == reason
