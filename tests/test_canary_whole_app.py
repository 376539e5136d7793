"""The whole-application canary (issue #7): one client's secrets reach nobody else.

Client A of the owner carries a unique canary in every text field that can hold personal
data: identity, guardians, case, records, attachment name and content, problem map,
consents, both KKAs' plans, participants, minutes in both layers, addenda, commitments,
progress, evaluations, a portal comment, laiseg answers, the report, a referral; every
document kind is produced and finalised in PDF and DOCX; invitations, reminders and
digests are mailed. Client B (another counsellor, same organisation) and a client of
another organisation (C) carry canaries of their own.

Then every URL pattern (with A's codes) and every link found on the pages is requested
with GET as each persona who may not see A, downloads decoded (PDF via pdftotext,
DOCX/ZIP member by member). No canary of a client may appear where its viewer may not
see it: in no response body or header, mail (participants get neutral mails; a mail may
name only its own addressee), log record, audit row, import payload column, stored
file, the raw SQLite file or a pg_dump. Positive controls prove each search can find the
canary: the owner's crawl, the finalised PDF and the decrypted model all hold it.

The scene is built once per module and committed for real (pg_dump must see it); each
crawl runs in a rolled-back transaction; the module's teardown flushes the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import re
import subprocess
import uuid
import zipfile
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from kka.accounts.models import Role
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import Case, CaseRole, ImportBatch
from kka.conferences import followup
from kka.conferences import services as conference_services
from kka.conferences.models import Participant
from kka.documents import registry
from kka.documents import services as document_services
from kka.documents.management.preview import DemoKka, subjects
from tests.documents.util import docx_text, pdf_text, squash
from tests.personas import World, make_user, make_world
from tests.test_permission_matrix import MATRIX, PNG, _all_url_names

# Personas who may not see client A. The two participant personas browse with a portal
# session: one invited to B's KKA, one whose link to A's KKA was revoked.
PERSONAS = [
    "anonymous",
    "outsider",
    "other_counsellor",
    "coordinator",
    "head",
    "admin",
    "dpo",
    "participant_b",
    "revoked_participant_a",
]
# Who may legitimately see B's and C's canaries (everyone else may not).
MAY_SEE = {"B": {"other_counsellor", "participant_b"}, "C": {"outsider"}}
MAX_REQUESTS = 700  # per crawl: the URL table plus the links found on its pages
ALL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_professionals",
    "purpose_documents",
]
HREF = re.compile(r"""(?:href|action|src)\s*=\s*["']([^"']+)["']""")


def canary(letter: str) -> str:
    return f"KANARI{letter}{uuid.uuid4().hex[:12].upper()}"


def found_in(blob: bytes | str, marker: str) -> bool:
    """The marker in the text in any spelling or encoding a leak might use."""
    if isinstance(blob, str):
        return marker in blob or marker.lower() in blob
    return any(
        needle in blob
        for needle in (
            marker.encode(),
            marker.lower().encode(),
            marker.encode("utf-16-le"),
            marker.encode("utf-16-be"),
        )
    )


# --- decoding what a response or mail carries ---------------------------------------------


def readable(data: bytes, depth: int = 0) -> list[bytes | str]:
    """The raw bytes plus every text a person could read out of them: PDF text (stream
    compression hides it from the raw bytes), each member of a DOCX or ZIP, DOCX text."""
    parts: list[bytes | str] = [data]
    if data.startswith(b"%PDF"):
        parts.append(squash(pdf_text(data)))
    elif data.startswith(b"PK") and depth < 3:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                parts.append(name)
                parts += readable(archive.read(name), depth + 1)
        if b"word/document.xml" in data:
            parts.append(docx_text(data))
    elif data.startswith(b"BEGIN:VCALENDAR"):
        parts.append(data.replace(b"\r\n ", b"").replace(b"\\,", b",").decode("utf-8", "replace"))
    return parts


@dataclass
class Page:
    url: str
    status: int
    parts: list[bytes | str]


def fetch(http: HttpClient, url: str) -> Page:
    response: Any = http.get(url)
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
        response.close()
    else:
        body = response.content
    parts = readable(body)
    parts.append(str(response.headers))
    parts += [f"{cookie.key}={cookie.value}" for cookie in response.cookies.values()]
    return Page(url, response.status_code, parts)


def links(page: Page) -> list[str]:
    if page.status != 200 or not page.parts or not isinstance(page.parts[0], bytes):
        return []
    text = page.parts[0].decode("utf-8", "replace")
    found = []
    for raw in HREF.findall(text):
        target = html.unescape(raw).split("#", 1)[0]
        if not target.startswith("/") or target.startswith("//"):
            continue
        if target.startswith(settings.STATIC_URL):
            continue
        found.append(target)
    return found


def crawl(http: HttpClient, start: list[str]) -> list[Page]:
    """GET every start URL, then every same-site link found on the pages, once each."""
    queue = list(dict.fromkeys(start))
    seen = set(queue)
    pages: list[Page] = []
    while queue and len(pages) < MAX_REQUESTS:
        page = fetch(http, queue.pop(0))
        pages.append(page)
        for target in links(page):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return pages


def leaks(pages: list[Page], marker: str) -> list[str]:
    return [
        f"{page.url} ({page.status})"
        for page in pages
        if any(found_in(p, marker) for p in page.parts)
    ]


# --- logging over the whole module ---------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: dict[int, logging.LogRecord] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records[id(record)] = record

    def texts(self) -> list[str]:
        out = []
        for record in self.records.values():
            text = f"{record.name} {record.getMessage()}"
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
            if record.stack_info:
                text += record.stack_info
            out.append(text)
        return out

    def attach(self) -> list[tuple[logging.Logger, int]]:
        """Listen on the root, "django" and "kka" loggers at DEBUG, and on every logger
        that does not propagate; returns what to restore."""
        names = {"", "django", "kka"}
        for name, candidate in logging.root.manager.loggerDict.items():
            if isinstance(candidate, logging.Logger) and not candidate.propagate:
                names.add(name)
        previous = []
        for name in sorted(names):
            logger = logging.getLogger(name)
            previous.append((logger, logger.level))
            logger.addHandler(self)
            if name in {"", "django", "kka"}:
                logger.setLevel(logging.DEBUG)
        return previous

    def detach(self, previous: list[tuple[logging.Logger, int]]) -> None:
        for logger, level in previous:
            logger.removeHandler(self)
            logger.setLevel(level)


# --- the scene -----------------------------------------------------------------------------


@dataclass
class Scene:
    world: World
    owner: Any
    markers: dict[str, str]  # "A", "A-plain", "B", "C"
    objects: dict[str, str]  # A's codes under the permission matrix's object names
    documents: list[str]  # A's produced (and finalised) documents
    unproduced: list[str]  # kinds/editions/formats that could not be produced, and why
    case_pk: int
    mails: list[Any] = field(default_factory=list)
    command_output: str = ""
    portal: dict[str, HttpClient] = field(default_factory=dict)
    extra_urls: dict[str, list[str]] = field(default_factory=dict)
    logs: Collect = field(default_factory=Collect)


def _local_today(world: World) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(world.org.time_zone)).date()


def _moment(world: World, days: int) -> dt.datetime:
    day = _local_today(world) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=zoneinfo.ZoneInfo(world.org.time_zone))


def _path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _open_portal(link: str) -> HttpClient:
    """A browser that exchanged the private link for a portal session."""
    http = HttpClient(raise_request_exception=False)
    response = http.get(_path_of(link))
    assert response.status_code in (200, 302), response.status_code
    return http


def build_client_a(world: World, markers: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Client A of the owner with the canary in every text field; returns A's codes
    for the matrix and the objects the rest of the scene needs. The two fields stored
    in plain text by design (the case title, asked for without names, and a
    participant's institution) get the "A-plain" canary instead."""
    from tests.cases.test_canary import _after_the_meeting

    marker, plain = markers["A"], markers["A-plain"]
    owner = world.counsellor
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=f"Nama {marker}",
        sex="P",
        birth_date="2012-02-03",
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
                "email": f"wali.{marker.lower()}@wali.test",
                "address": f"Rumah {marker}",
            }
        ],
    )
    case = services.case_open(
        actor=owner,
        client=client,
        bidang="pribadi",
        title=f"Judul {plain}",
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
        giver_relationship="ibu",
        channel="kertas",
        purposes=ALL_PURPOSES,
        note=f"Catatan {marker}",
        scan=(f"pindai-{marker}.png", PNG + marker.encode()),
    )
    # The KKA being planned: every plan text holds the canary except the place, which
    # the invitation tells by design (logistics, not personal data).
    conference = conference_services.conference_create(actor=owner, case=case)
    conference_services.conference_update_plan(
        actor=owner,
        conference=conference,
        records=[record],
        topic=f"Topik {marker}",
        aim=f"Tujuan {marker}",
        expected_results=f"Hasil {marker}",
        subject=f"Subjek {marker}",
        summary=f"Ringkas {marker}",
        use_of_results=f"Penggunaan {marker}",
        evaluation_plan=f"Penilaian {marker}",
        related_activities=f"Kegiatan {marker}",
        briefing=f"Briefing {marker}",
        special_notes=f"Khusus {marker}",
        materials_note=f"Bahan {marker}",
        starts_at=_moment(world, 7),
        ends_at=_moment(world, 7) + dt.timedelta(hours=1),
        place="Ruang BK",
    )
    parent = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name=f"Ibu {marker}",
        role="ibu",
        category="keluarga",
        institution=f"Lembaga {plain}",
        email=f"ibu.{marker.lower()}@peserta.test",
        phone=f"0815{marker}",
        disclosure="briefing",
    )
    uncle = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name=f"Paman {marker}",
        role="paman",
        category="keluarga",
        email=f"paman.{marker.lower()}@peserta.test",
        phone=f"0816{marker}",
        disclosure="briefing",
    )
    conference_services.conference_set_status(actor=owner, conference=conference, status="planned")
    conference_services.invitation_send(actor=owner, participant=parent, channel="email")
    revoked_link = conference_services.invitation_send(
        actor=owner, participant=uncle, channel="letter"
    )["link"]
    revoked_browser = _open_portal(revoked_link)
    conference_services.portal_links_revoke(actor=owner, participant=uncle)
    commitment = followup.commitment_add(
        actor=owner,
        conference=conference,
        participant=parent,
        what=f"Janji {marker}",
        due_on=_local_today(world) + dt.timedelta(days=1),
        check_method=f"Periksa {marker}",
    )
    closed, _closed_commitment, laijapen, home_visit, secret_minutes = _after_the_meeting(
        owner, case, marker
    )
    followup.followup_add(
        actor=owner,
        case=case,
        conference=closed,
        kind="referral",
        referral_to="psikolog",
        referral_to_name=f"Psikolog {marker}",
        reason=f"Alasan {marker}",
        note=f"Rujukan {marker}",
    )
    batch = ImportBatch.objects.create(
        organisation=world.org,
        created_by=owner,
        filename="siswa.csv",
        payload=base64.b64encode(f"nama\n{marker}\n".encode()).decode(),
    )
    codes = {
        "case": case.code,
        "client": client.code,
        "record": record.code,
        "attachment": record.attachments.get().code,
        "aspect": aspect.code,
        "resource": case.problem_map.resources.get().code,
        "guardian": client.guardians.get().code,
        "consent": consent.code,
        "scan": consent.scan.code if consent.scan else "X",
        "case_member": case.members.get(user=supervisor).code,
        "membership": world.org.memberships.get(user=world.dpo).code,
        "batch": batch.code,
        "conference": conference.code,
        "participant": parent.code,
        "commitment": commitment.code,
        "closed_conference": closed.code,
        "evaluation": laijapen.code,
        "followup": home_visit.code,
        "document": secret_minutes.code,
    }
    return codes, {
        "case": case,
        "closed": closed,
        "revoked_link": revoked_link,
        "revoked_browser": revoked_browser,
    }


def produce_every_document(owner: Any, closed: Any) -> tuple[list[str], list[str]]:
    """Every registered kind and edition of A's closed KKA, PDF and DOCX, finalised."""
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import Http404

    kka = DemoKka(closed.case.organisation, owner, closed)
    produced: list[str] = []
    problems: list[str] = []
    for code, kind in sorted(registry.load_all().items()):
        for edition in kind.editions:
            for fmt in ("pdf", "docx"):
                problem = "no subject"
                for subject in subjects(kka, kind.scope):
                    try:
                        document = document_services.produce(
                            actor=owner, kind=code, fmt=fmt, edition=edition, **subject
                        )
                        if not document.draft:
                            document = document_services.finalise(actor=owner, document=document)
                    except (ValidationError, PermissionDenied, Http404, ValueError) as exc:
                        problem = type(exc).__name__
                        continue
                    produced.append(document.code)
                    problem = ""
                    break
                if problem:
                    problems.append(f"{code}/{edition or '-'}/{fmt}: {problem}")
    return produced, problems


def build_client_b(world: World, marker: str) -> HttpClient:
    """Client B of the other counsellor, with a KKA whose participant took the pledge
    and browses through the portal; returns that participant's browser."""
    owner = world.other_counsellor
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=f"Nama {marker}",
        birth_date="2012-04-05",
        guardians=[{"full_name": f"Wali {marker}", "relationship": "ayah"}],
    )
    case = services.case_open(
        actor=owner,
        client=client,
        bidang="belajar",
        title="Judul netral",  # the title is plain text by design (see client A)
        intake_source="guru",
        description=f"Uraian {marker}",
    )
    services.consent_record(
        actor=owner,
        client=client,
        giver="orang_tua",
        giver_name=f"Pemberi {marker}",
        giver_relationship="ayah",
        channel="lisan",
        purposes=ALL_PURPOSES,
    )
    conference = conference_services.conference_create(actor=owner, case=case)
    conference_services.conference_update_plan(
        actor=owner,
        conference=conference,
        briefing=f"Briefing {marker}",
        starts_at=_moment(world, 5),
        ends_at=_moment(world, 5) + dt.timedelta(hours=1),
        place="Ruang BK",
    )
    teacher = conference_services.participant_add(
        actor=owner,
        conference=conference,
        full_name=f"Guru {marker}",
        role="wali kelas",
        category="staf_lembaga",
        email=f"guru.{marker.lower()}@peserta.test",
        disclosure="briefing",
    )
    conference_services.conference_set_status(actor=owner, conference=conference, status="planned")
    link = conference_services.invitation_send(actor=owner, participant=teacher, channel="letter")[
        "link"
    ]
    conference_services.pledge_take(
        participant=teacher,
        typed_name=teacher.full_name,
        agreed=True,
        ip="",
        channel="device",
        actor=owner,
    )
    return _open_portal(link)


def build_client_c(world: World, marker: str) -> None:
    """A client of the other organisation (the outsider counsels there)."""
    owner = world.outsider
    client = services.client_create(
        actor=owner,
        organisation=world.other_org,
        full_name=f"Nama {marker}",
        birth_date="1990-01-02",
    )
    case = services.case_open(
        actor=owner,
        client=client,
        bidang="karir",
        title="Judul netral",  # the title is plain text by design (see client A)
        intake_source="sendiri",
        description=f"Uraian {marker}",
    )
    services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="wawancara",
        content=f"Isi {marker}",
    )


def build_scene(logs: Collect) -> Scene:
    markers = {"A": canary("A"), "A-plain": canary("P"), "B": canary("B"), "C": canary("C")}
    world = make_world()
    codes, a = build_client_a(world, markers)
    documents, unproduced = produce_every_document(world.counsellor, a["closed"])
    participant_b = build_client_b(world, markers["B"])
    build_client_c(world, markers["C"])
    output = io.StringIO()
    call_command("remind", stdout=output)
    scene = Scene(
        world=world,
        owner=world.counsellor,
        markers=markers,
        objects=codes,
        documents=[codes["document"], *documents],
        unproduced=unproduced,
        case_pk=a["case"].pk,
        mails=list(mail.outbox),
        command_output=output.getvalue(),
        portal={"participant_b": participant_b, "revoked_participant_a": a["revoked_browser"]},
        extra_urls={"revoked_participant_a": [_path_of(a["revoked_link"])]},
        logs=logs,
    )
    mail.outbox.clear()
    return scene


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    """Built once and committed (pg_dump and the raw file must see it); the module's
    teardown empties the database again for the modules that follow."""
    logs = Collect()
    previous = logs.attach()
    try:
        with django_db_blocker.unblock():
            try:
                yield build_scene(logs)
            finally:
                call_command("flush", interactive=False, verbosity=0)
    finally:
        logs.detach(previous)


# --- crawling ------------------------------------------------------------------------------


def start_urls(scene: Scene) -> list[str]:
    """Every URL pattern reversed with A's codes (the permission matrix names the
    kwargs; a pattern it does not know yet is tried without kwargs), plus every
    document of A."""
    urls = []
    for name in sorted(_all_url_names()):
        spec = MATRIX.get(name, ({}, None))[0]
        kwargs = {key: scene.objects.get(value, value) for key, value in spec.items()}
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            continue
    urls += [reverse("documents:download", kwargs={"code": code}) for code in scene.documents]
    return urls


def browser_for(persona: str, scene: Scene) -> HttpClient:
    if persona in scene.portal:
        return scene.portal[persona]
    http = HttpClient(raise_request_exception=False)
    user = {
        "anonymous": None,
        "outsider": scene.world.outsider,
        "other_counsellor": scene.world.other_counsellor,
        "coordinator": scene.world.coordinator,
        "head": scene.world.head,
        "admin": scene.world.admin,
        "dpo": scene.world.dpo,
        "owner": scene.owner,
    }[persona]
    if user is not None:
        http.force_login(user)
    return http


def forbidden_markers(persona: str, scene: Scene) -> dict[str, str]:
    return {
        letter: marker
        for letter, marker in scene.markers.items()
        if persona not in MAY_SEE.get(letter, set())
    }


def encrypted_markers(scene: Scene) -> dict[str, str]:
    """The canaries of encrypted fields (the stored bytes must not hold them)."""
    return {key: marker for key, marker in scene.markers.items() if not key.endswith("-plain")}


def assert_no_canary_in_logs_audit_or_payloads(scene: Scene) -> None:
    """Logs, audit rows and the import payload column hold no client's canary."""
    texts = scene.logs.texts()
    assert texts, "nothing was logged: the log capture is not listening"
    rows = repr(list(AuditEvent.objects.values()))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload FROM {ImportBatch._meta.db_table}")
        payloads = [str(row[0]) for row in cursor.fetchall()]
    assert payloads
    for letter, marker in scene.markers.items():
        logged = [text[:200] for text in texts if found_in(text, marker)]
        assert logged == [], f"canary {letter} in log records: {logged}"
        assert not found_in(rows, marker), f"canary {letter} in an audit row"
        encoded = base64.b64encode(f"nama\n{marker}\n".encode()).decode()
        for payload in payloads:
            assert not found_in(payload, marker) and encoded not in payload


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_canary_reaches_a_persona_who_may_not_see_it(scene: Scene, persona: str) -> None:
    urls = start_urls(scene) + scene.extra_urls.get(persona, [])
    pages = crawl(browser_for(persona, scene), urls)

    assert len(pages) >= len(urls) - 5  # every pattern was asked (a few repeat)
    status = {page.url: page.status for page in pages}
    # The persona is what it claims to be: staff are logged in, participant B's portal
    # session works, and the revoked link (and its old session) no longer opens.
    if persona in {"outsider", "other_counsellor", "coordinator", "head", "admin", "dpo"}:
        assert status[reverse("web:home")] == 200
    if persona == "participant_b":
        assert status[reverse("portal:home")] == 200
    if persona == "revoked_participant_a":
        assert status[reverse("portal:home")] == 404
        assert [status[url] for url in scene.extra_urls[persona]] == [404]
    found = {
        letter: leaks(pages, marker) for letter, marker in forbidden_markers(persona, scene).items()
    }
    assert found == {letter: [] for letter in found}, f"canary leaked to {persona}: {found}"
    assert_no_canary_in_logs_audit_or_payloads(scene)
    errors = [page.url for page in pages if page.status >= 500]
    assert errors == [], f"server errors while crawling as {persona}: {errors}"


@pytest.mark.django_db
def test_the_crawl_finds_the_canary_when_the_owner_looks(scene: Scene) -> None:
    """Positive control: the same crawl as the owner finds A's canary on the case page
    and inside a finalised PDF (only pdftotext can read it there)."""
    marker = scene.markers["A"]
    pages = crawl(browser_for("owner", scene), start_urls(scene))
    seen = leaks(pages, marker)
    case_page = reverse("cases:case_detail", kwargs={"code": scene.objects["case"]})
    assert any(url.startswith(case_page + " ") for url in seen), seen
    in_pdf_text_only = [
        page.url
        for page in pages
        if isinstance(page.parts[0], bytes)
        and page.parts[0].startswith(b"%PDF")
        and not found_in(page.parts[0], marker)
        and found_in(page.parts[1], marker)
    ]
    assert in_pdf_text_only, "no finalised PDF of A showed the canary to its owner"
    case = Case.objects.get(pk=scene.case_pk)
    assert marker in case.description and marker in case.client.full_name
    assert_no_canary_in_logs_audit_or_payloads(scene)


@pytest.mark.django_db
def test_every_document_kind_was_produced_and_finalised(scene: Scene) -> None:
    from kka.documents.models import Document

    kinds = registry.load_all()
    produced = Document.objects.filter(code__in=scene.documents)
    assert {d.kind for d in produced} == set(kinds), scene.unproduced
    assert {d.format for d in produced} == {"pdf", "docx"}
    assert produced.filter(finalised_at__isnull=False).count() >= len(kinds)


def _mail_parts(message: Any) -> list[bytes | str]:
    parts: list[bytes | str] = [message.subject, message.body, str(message.extra_headers)]
    parts += [str(content) for content, _type in getattr(message, "alternatives", [])]
    for attachment in message.attachments:
        name, content, _mimetype = attachment
        data = content if isinstance(content, bytes) else str(content).encode()
        parts += [name, *readable(data)]
    return parts


def _without_addressee(part: bytes | str, names: list[str]) -> bytes | str:
    """A mail may name its own addressee (salutation, To:, the letter's "Kepada"):
    remove their own name and address before looking for canaries."""
    text = part.decode("utf-8", "replace") if isinstance(part, bytes) else part
    text = squash(text)
    for name in names:
        text = re.sub(re.escape(name), "", text, flags=re.IGNORECASE)
    return text


@pytest.mark.django_db
def test_no_mail_carries_a_canary_beyond_its_own_addressee(scene: Scene) -> None:
    """Participants get neutral mails (the invitation reveals nothing of the case), the
    counsellors' digests name codes only: no canary anywhere, except the addressee's own
    name and address."""
    recipients = [address for message in scene.mails for address in message.to]
    own = {
        p.email.lower(): [p.full_name, p.email, p.institution]
        for p in Participant.objects.all()
        if p.email
    }
    a_parent = next(
        p for p in Participant.objects.filter(conference__case__pk=scene.case_pk) if p.email
    )
    assert a_parent.email.lower() in {r.lower() for r in recipients}  # the invitation
    assert scene.owner.email in recipients  # the digest
    assert len(scene.mails) >= 3  # invitation, reminder, digest
    seen_before_removal = False
    problems = []
    for message in scene.mails:
        names = [n for address in message.to for n in own.get(address.lower(), [])]
        parts = [*_mail_parts(message), " ".join(message.to)]
        for marker in scene.markers.values():
            seen_before_removal |= any(found_in(p, marker) for p in parts)
            for part in parts:
                if found_in(_without_addressee(part, names), marker):
                    problems.append(f"{message.subject!r} to {len(message.to)} recipient(s)")
    # The search works: the participants' own names were in their mails before removal.
    assert seen_before_removal
    assert problems == [], problems
    for marker in scene.markers.values():
        assert not found_in(scene.command_output, marker)


def _data_dir_files() -> list[Path]:
    root = Path(settings.DATA_DIR)
    return [
        path
        for path in root.rglob("*")
        if path.is_file()
        and not path.name.startswith("test.sqlite3")
        and Path(settings.STATIC_ROOT) not in path.parents
    ]


@pytest.mark.django_db
def test_no_canary_in_the_files_of_the_data_directory(scene: Scene) -> None:
    from kka.cases.models import Attachment

    files = _data_dir_files()
    stored = {path.name for path in files}
    attachment = Attachment.objects.get(code=scene.objects["attachment"])
    assert Path(attachment.stored_name).name in stored
    # Positive control: the stored file does hold the canary, once decrypted.
    from kka.lib import private_files

    assert scene.markers["A"].encode() in private_files.read(attachment.stored_name)
    for path in files:
        data = path.read_bytes()
        for letter, marker in encrypted_markers(scene).items():
            assert not found_in(data, marker), f"canary {letter} in {path.name}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="by design: the raw database file exists on SQLite only"
)
def test_raw_sqlite_file_holds_no_canary__sqlite_only(scene: Scene) -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_path = Path(connection.settings_dict["NAME"])
    blobs = [db_path.read_bytes()]
    for suffix in ("-wal", "-journal", "-shm"):
        extra = db_path.with_name(db_path.name + suffix)
        if extra.exists():
            blobs.append(extra.read_bytes())
    # Positive control: plain columns are in the file, so it is the right file.
    assert any(scene.world.org.name.encode() in blob for blob in blobs)
    for blob in blobs:
        for letter, marker in encrypted_markers(scene).items():
            assert not found_in(blob, marker), f"canary {letter} in the raw SQLite file"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="by design: pg_dump runs on PostgreSQL only"
)
def test_pg_dump_holds_no_canary__postgresql_only(scene: Scene) -> None:
    db = connection.settings_dict
    command = ["pg_dump", "-h", db["HOST"] or "127.0.0.1", "-U", db["USER"] or "postgres"]
    if db.get("PORT"):
        command += ["-p", str(db["PORT"])]
    dump = subprocess.run(
        [*command, db["NAME"]], capture_output=True, check=True, timeout=120
    ).stdout
    assert scene.world.org.name.encode() in dump  # the dump holds the scene
    for letter, marker in encrypted_markers(scene).items():
        assert not found_in(dump, marker), f"canary {letter} in the pg_dump"
