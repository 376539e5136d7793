"""Break-glass: a coordinator's 60-minute, read-only, audited emergency access to a case."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from kka.accounts import two_factor
from kka.accounts.models import Membership, Role, User
from kka.audit.models import AuditEvent
from kka.cases import access, services
from kka.cases.models import Case, CaseRole
from kka.conferences import services as conference_services
from kka.conferences.models import Conference
from kka.documents import services as document_services
from kka.documents.models import Document
from kka.privacy import breakglass
from kka.privacy.models import BreakGlass
from tests.documents.conftest import PRIVATE_CANARY, FullKka, full_kka  # noqa: F401
from tests.personas import World, make_user

pytestmark = pytest.mark.django_db

REQUEST = "/akses-darurat/"
REGISTER = "/privasi/akses-darurat/"
VERIFY = "/akun/verifikasi/"
CLIENT_NAME = "Ani Lestari"
TITLE = "Relasi teman"
REASON = "Konselor sakit, siswa mengancam menyakiti diri hari ini, perlu tindakan segera."
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Scene:
    world: World
    case: Case
    record: str
    attachment: str
    conference: Conference
    document: Document


@pytest.fixture
def scene(world: World) -> Scene:
    owner = world.counsellor
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=CLIENT_NAME,
        birth_date="2012-05-01",
        guardians=[{"full_name": "Budi", "relationship": "ayah"}],
    )
    case = services.case_open(
        actor=owner, client=client, bidang="sosial", title=TITLE, intake_source="guru"
    )
    record = services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="observasi",
        content="Catatan",
        files=[("foto.png", PNG)],
    )
    conference = conference_services.conference_create(actor=owner, case=case)
    document = document_services.produce(
        actor=owner, kind="daftar_hadir", fmt="pdf", conference=conference
    )
    return Scene(
        world=world,
        case=case,
        record=record.code,
        attachment=record.attachments.get().code,
        conference=conference,
        document=document,
    )


def logged_in(user: User, *, fresh: bool = True) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    if fresh:  # a second factor verified just now (step-up)
        session = http.session
        session[two_factor.SESSION_VERIFIED_AT] = time.time()
        session.save()
    return http


def case_url(case: Case) -> str:
    return reverse("cases:case_detail", kwargs={"code": case.code})


def open_glass(http: HttpClient, case_code: str, reason: str = REASON) -> Any:
    return http.post(REQUEST, {"case_code": case_code, "reason": reason})


def rows(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def opened(scene: Scene, capture: Callable[..., Any]) -> tuple[HttpClient, BreakGlass]:
    http = logged_in(scene.world.coordinator)
    with capture(execute=True):
        response = open_glass(http, scene.case.code)
    assert response.status_code == 302 and response["Location"] == case_url(scene.case)
    return http, BreakGlass.objects.get(user=scene.world.coordinator, case=scene.case)


# --- before ------------------------------------------------------------------------------


def test_coordinator_gets_404_on_the_case_before_break_glass(scene: Scene) -> None:
    http = logged_in(scene.world.coordinator)
    assert http.get(case_url(scene.case)).status_code == 404
    assert http.get(reverse("conferences:detail", args=[scene.conference.code])).status_code == 404


def test_request_page_asks_for_a_fresh_second_factor(scene: Scene) -> None:
    http = logged_in(scene.world.coordinator, fresh=False)
    page = http.get(REQUEST)
    assert page.status_code == 302 and page["Location"].startswith(VERIFY)
    assert "step_up=1" in page["Location"]
    posted = open_glass(http, scene.case.code)
    assert posted.status_code == 302 and posted["Location"].startswith(VERIFY)
    assert not BreakGlass.objects.exists()
    assert [r.refs for r in rows("breakglass.refused")] == [{"why": "step_up"}]  # the POST
    assert http.get(case_url(scene.case)).status_code == 404


@pytest.mark.parametrize("persona", ["counsellor", "head", "admin", "dpo", "outsider"])
def test_only_a_coordinator_may_use_the_request_page(scene: Scene, persona: str) -> None:
    http = logged_in(getattr(scene.world, persona))
    assert http.get(REQUEST).status_code == 404
    assert open_glass(http, scene.case.code).status_code == 404
    assert not BreakGlass.objects.exists()


def test_home_page_links_the_request_page_for_coordinators_only(scene: Scene) -> None:
    assert REQUEST in logged_in(scene.world.coordinator).get("/").content.decode()
    assert REQUEST not in logged_in(scene.world.counsellor).get("/").content.decode()


# --- refusals ----------------------------------------------------------------------------


def test_short_reason_is_refused_and_audited(scene: Scene) -> None:
    http = logged_in(scene.world.coordinator)
    response = open_glass(http, scene.case.code, reason="   darurat sekali   ")  # 15 chars
    assert response.status_code == 200
    assert "Tuliskan alasan minimal 20 karakter." in response.content.decode()
    assert not BreakGlass.objects.exists()
    [refused] = rows("breakglass.refused")
    assert refused.actor_id == scene.world.coordinator.pk
    assert refused.refs == {"why": "reason_short"}
    assert http.get(case_url(scene.case)).status_code == 404


def test_another_organisations_case_answers_like_an_unknown_code(scene: Scene) -> None:
    stranger = make_user(organisation=scene.world.other_org, role=Role.KOORDINATOR)
    http = logged_in(stranger)
    foreign = open_glass(http, scene.case.code)
    unknown = open_glass(http, "ZZZZZZZZZZ")
    assert foreign.status_code == unknown.status_code == 200
    error = "Kode kasus tidak ditemukan di lembaga Anda."
    assert error in foreign.content.decode() and error in unknown.content.decode()
    assert foreign.context["form"].errors == unknown.context["form"].errors
    assert not BreakGlass.objects.exists()
    assert [r.refs for r in rows("breakglass.refused")] == [{"why": "not_found"}] * 2
    assert logged_in(stranger).get(case_url(scene.case)).status_code == 404


def test_coordinator_already_on_the_case_opens_nothing(scene: Scene) -> None:
    services.case_member_add(
        actor=scene.world.counsellor,
        case=scene.case,
        user=scene.world.coordinator,
        role=CaseRole.SUPERVISOR,
    )
    response = open_glass(logged_in(scene.world.coordinator), scene.case.code)
    assert response.status_code == 302 and response["Location"] == case_url(scene.case)
    assert not BreakGlass.objects.exists()
    assert not rows("breakglass.opened")


# --- success -----------------------------------------------------------------------------


def test_break_glass_gives_read_only_access_for_sixty_minutes(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    before = timezone.now()
    http, grant = opened(scene, django_capture_on_commit_callbacks)
    assert before + dt.timedelta(minutes=59) < grant.expires_at - grant.started_at + before
    assert grant.expires_at - grant.started_at == dt.timedelta(minutes=60)
    assert grant.reason == REASON
    [audit] = rows("breakglass.opened")
    assert audit.object_ref == grant.code
    assert audit.refs == {"case": scene.case.code}
    assert audit.actor_role == Role.KOORDINATOR

    page = http.get(case_url(scene.case))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Akses darurat sampai" in body
    assert reverse("privacy:breakglass_end", args=[grant.code]) in body
    assert reverse("cases:case_edit", args=[scene.case.code]) not in body  # no edit button
    assert "Akses darurat: hanya membaca" in body
    assert reverse("cases:client_detail", args=[scene.case.client.code]) not in body
    # Writes are refused (403: the case is visible, not changeable).
    assert http.post(reverse("cases:case_edit", args=[scene.case.code]), {}).status_code == 403
    assert http.post(reverse("cases:record_add", args=[scene.case.code]), {}).status_code == 403
    plan = reverse("conferences:plan", args=[scene.conference.code])
    assert http.post(plan, {}).status_code == 403
    assert access.case_role(scene.world.coordinator, scene.case) == access.BREAK_GLASS
    # Lists stay as they were: only direct access by code.
    assert not access.visible_cases(scene.world.coordinator).filter(pk=scene.case.pk).exists()
    assert scene.case.code not in http.get(reverse("cases:case_list")).content.decode()
    # A conference page shows the banner too, without the participant form.
    conference_page = http.get(reverse("conferences:detail", args=[scene.conference.code]))
    assert conference_page.status_code == 200
    assert "Akses darurat sampai" in conference_page.content.decode()
    # The case team sees no banner.
    owner_page = logged_in(scene.world.counsellor).get(case_url(scene.case))
    assert "Akses darurat sampai" not in owner_page.content.decode()


def test_every_read_during_break_glass_is_logged_under_the_grant(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    http, grant = opened(scene, django_capture_on_commit_callbacks)
    code = scene.case.code
    reads = [
        (case_url(scene.case), "case.viewed"),
        (reverse("cases:record_edit", args=[code, scene.record]), "record.viewed"),
        (
            reverse("cases:attachment_download", args=[code, scene.attachment]),
            "attachment.downloaded",
        ),
        (reverse("conferences:detail", args=[scene.conference.code]), "conference.viewed"),
        (reverse("conferences:meeting", args=[scene.conference.code]), "conference.viewed"),
        (reverse("documents:download", args=[scene.document.code]), "document.accessed"),
    ]
    for url, action in reads:
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        assert http.get(url).status_code == 200, url
        [row] = AuditEvent.objects.filter(id__gt=last, action=action)
        assert row.actor_id == scene.world.coordinator.pk
        assert row.actor_role == "break_glass", url
        assert row.refs["break_glass"] == grant.code, url
    tagged = AuditEvent.objects.filter(refs__break_glass=grant.code)
    assert tagged.count() == len(reads)
    # The owner's reads are never tagged.
    logged_in(scene.world.counsellor).get(case_url(scene.case))
    owner_row = AuditEvent.objects.filter(action="case.viewed").order_by("-id").first()
    assert owner_row is not None and owner_row.actor_role == Role.KONSELOR
    assert "break_glass" not in owner_row.refs
    # The DPO's register counts them.
    [use] = breakglass.uses(scene.world.org)
    assert use.reads == len(reads) and use.state == "active"


def test_owner_and_dpo_are_told_without_client_title_or_reason(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    second_dpo = make_user(organisation=scene.world.org, role=Role.DPO)
    retired_dpo = make_user(organisation=scene.world.org, role=Role.DPO)
    Membership.objects.filter(user=retired_dpo).update(is_active=False)
    _http, grant = opened(scene, django_capture_on_commit_callbacks)
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {
        scene.world.counsellor.email,
        scene.world.dpo.email,
        second_dpo.email,
    }
    coordinator = scene.world.coordinator.full_name
    for message in mail.outbox:
        texts = [str(message.subject), str(message.body)]
        texts += [str(content) for content, _type in getattr(message, "alternatives", [])]
        whole = "\n".join(texts)
        assert scene.case.code in whole and coordinator in whole
        for secret in (CLIENT_NAME, "Lestari", TITLE, REASON, "mengancam"):
            assert secret not in whole, (message.to, secret)
    owner_mail = by_recipient[scene.world.counsellor.email]
    assert case_url(scene.case) in owner_mail.body
    assert REGISTER in by_recipient[scene.world.dpo.email].body
    assert grant.code  # the grant exists; its reason is only on the DPO's page


# --- the end -----------------------------------------------------------------------------


def test_access_ends_after_sixty_minutes(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    http, grant = opened(scene, django_capture_on_commit_callbacks)
    assert http.get(case_url(scene.case)).status_code == 200
    past = timezone.now() - dt.timedelta(minutes=61)
    BreakGlass.objects.filter(pk=grant.pk).update(
        started_at=past, expires_at=past + breakglass.DURATION
    )
    assert http.get(case_url(scene.case)).status_code == 404
    assert http.get(reverse("conferences:detail", args=[scene.conference.code])).status_code == 404
    assert http.get(reverse("documents:download", args=[scene.document.code])).status_code == 404
    [use] = breakglass.uses(scene.world.org)
    assert use.state == "expired"


def test_holder_may_end_early_and_nobody_else(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    http, grant = opened(scene, django_capture_on_commit_callbacks)
    end = reverse("privacy:breakglass_end", args=[grant.code])
    for persona in ("counsellor", "dpo", "head"):
        assert logged_in(getattr(scene.world, persona)).post(end).status_code == 404
    grant.refresh_from_db()
    assert grant.ended_at is None
    assert http.post(end).status_code == 302
    grant.refresh_from_db()
    assert grant.ended_at is not None
    [ended] = rows("breakglass.ended")
    assert ended.object_ref == grant.code and ended.refs == {"case": scene.case.code}
    assert http.get(case_url(scene.case)).status_code == 404
    assert http.post(end).status_code == 302  # again: nothing more happens
    assert len(rows("breakglass.ended")) == 1


def test_a_deactivated_coordinator_loses_the_grant_on_the_next_request(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    http, _grant = opened(scene, django_capture_on_commit_callbacks)
    Membership.objects.filter(user=scene.world.coordinator).update(role=Role.KONSELOR)
    assert http.get(case_url(scene.case)).status_code == 404


def test_private_notes_stay_with_the_case_team(
    full_kka: FullKka,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    world = full_kka.world
    http = logged_in(world.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        open_glass(http, full_kka.case.code)
    meeting_url = reverse("conferences:meeting", args=[full_kka.conference.code])
    page = http.get(meeting_url)
    assert page.status_code == 200
    assert PRIVATE_CANARY not in page.content.decode()
    assert "Catatan pribadi konselor" not in page.content.decode()
    owner = logged_in(world.counsellor)
    assert PRIVATE_CANARY in owner.get(meeting_url).content.decode()
    rahasia = document_services.produce(
        actor=world.counsellor,
        kind="notulen",
        fmt="pdf",
        edition="rahasia",
        conference=full_kka.conference,
    )
    shared = document_services.produce(
        actor=world.counsellor, kind="notulen", fmt="pdf", conference=full_kka.conference
    )
    download = reverse("documents:download", args=[rahasia.code])
    conference_page = http.get(reverse("conferences:detail", args=[full_kka.conference.code]))
    assert download not in conference_page.content.decode()
    assert reverse("documents:download", args=[shared.code]) in conference_page.content.decode()
    assert http.get(download).status_code == 404
    assert owner.get(download).status_code == 200
    bundle = reverse("documents:bundle", args=[full_kka.conference.code])
    response = http.get(bundle)
    assert response.status_code == 200  # what is left: the shared documents only
    bundled = AuditEvent.objects.filter(
        action="document.accessed", actor_id=world.coordinator.pk, refs__channel="bundle"
    )
    assert set(bundled.values_list("object_ref", flat=True)) == {shared.code}


# --- the DPO -----------------------------------------------------------------------------


def test_dpo_register_shows_each_use_with_its_reason(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    http, _grant = opened(scene, django_capture_on_commit_callbacks)
    http.get(case_url(scene.case))
    dpo = logged_in(scene.world.dpo, fresh=False)
    page = dpo.get(REGISTER)
    assert page.status_code == 200
    body = page.content.decode()
    assert REASON in body
    assert scene.case.code in body and scene.world.coordinator.full_name in body
    assert CLIENT_NAME not in body and TITLE not in body
    assert page.context["uses"][0].reads == 1
    [viewed] = rows("breakglass.list_viewed")
    assert viewed.actor_id == scene.world.dpo.pk and viewed.refs == {"shown": 1}
    for persona in ("coordinator", "counsellor", "head", "admin", "outsider"):
        assert logged_in(getattr(scene.world, persona)).get(REGISTER).status_code == 404
    assert breakglass.dpo_section(scene.world.org)["unreviewed"] == 1
    # The DPO page's section (rendered alone: other registers are not this module's).
    section = render_to_string(
        "privacy/_dpo_breakglass.html", {"data": breakglass.dpo_section(scene.world.org)}
    )
    assert REGISTER in section and "1 penggunaan belum ditinjau." in section


def test_dpo_marks_a_use_reviewed(
    scene: Scene, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    _http, grant = opened(scene, django_capture_on_commit_callbacks)
    review = reverse("privacy:breakglass_review", args=[grant.code])
    assert logged_in(scene.world.coordinator).post(review).status_code == 404
    dpo = logged_in(scene.world.dpo, fresh=False)
    assert dpo.post(review).status_code == 302
    grant.refresh_from_db()
    assert grant.reviewed_by == scene.world.dpo and grant.reviewed_at is not None
    [reviewed] = rows("breakglass.reviewed")
    assert reviewed.object_ref == grant.code and reviewed.actor_id == scene.world.dpo.pk
    dpo.post(review)
    assert len(rows("breakglass.reviewed")) == 1
    assert breakglass.dpo_section(scene.world.org)["unreviewed"] == 0
    assert "sudah ditinjau" in dpo.get(REGISTER).content.decode()
    # Another organisation's DPO cannot reach it.
    stranger = make_user(organisation=scene.world.other_org, role=Role.DPO)
    assert logged_in(stranger).post(review).status_code == 404


# --- across every case URL ---------------------------------------------------------------


def test_break_glass_reads_every_case_page_and_changes_nothing(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """The permission matrix's case rows, as a coordinator under break-glass: every read
    answers, every write is 403 (client pages stay closed: lists and clients are not
    part of break-glass)."""
    from tests import test_permission_matrix as matrix

    world_scene = matrix.build_scene()
    coordinator = world_scene.world.coordinator
    case_code = world_scene.objects["case"]
    http = logged_in(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        assert open_glass(http, case_code).status_code == 302
    readers = {matrix.case_read, matrix.case_read_write}
    writers = {
        matrix.case_read_write,
        matrix.case_write,
        matrix.case_write_post,
        matrix.case_owner_post,
    }
    client_scoped = {"client", "scan", "consent", "guardian", "subject_request"}
    checked = 0
    for name, (kwargs_spec, expectation) in matrix.MATRIX.items():
        if expectation not in readers | writers or set(kwargs_spec.values()) & client_scoped:
            continue
        kwargs = {k: world_scene.objects.get(v, v) for k, v in kwargs_spec.items()}
        url = reverse(name, kwargs=kwargs)
        if expectation in readers:
            got = http.get(url)
            assert got.status_code in (200, 302), (name, got.status_code)
            assert "/akun/masuk/" not in got.get("Location", ""), name
        if expectation in writers:
            assert http.post(url, {}).status_code == 403, name
        if expectation is matrix.case_write:
            assert http.get(url).status_code == 403, name
        checked += 1
    assert checked > 30
    # A client page is not part of break-glass.
    client_url = reverse("cases:client_detail", args=[world_scene.objects["client"]])
    assert http.get(client_url).status_code == 404
