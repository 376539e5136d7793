"""Case records, their attachments (checked by content, encrypted) and the problem map."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Role, User
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseRecord,
    CaseRole,
    ProblemAspect,
    ProblemMap,
    ProblemResource,
)
from kka.lib import private_files
from tests.personas import World, make_user
from tests.test_permission_matrix import PNG

pytestmark = pytest.mark.django_db

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DAY = dt.date(2025, 3, 3)


# --- helpers -------------------------------------------------------------------------


def zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def minimal_docx() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Override PartName="/word/document.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                "</Types>"
            ),
            "word/document.xml": (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                '2006/main"><w:body><w:p><w:r><w:t>Laporan wali kelas</w:t></w:r></w:p>'
                "</w:body></w:document>"
            ),
        }
    )


def open_case(world: World, owner: User | None = None, name: str = "Rina Marlina") -> Case:
    owner = owner or world.counsellor
    client = services.client_create(
        actor=owner, organisation=world.org, full_name=name, birth_date="2011-04-04"
    )
    return services.case_open(
        actor=owner, client=client, bidang="pribadi", title="Sering murung", intake_source="guru"
    )


def add_record(
    world: World, case: Case, *, files: Sequence[tuple[str, bytes]] = (), content: str = "Catatan"
) -> CaseRecord:
    return services.record_add(
        actor=case.owner,
        case=case,
        occurred_on=DAY,
        source="observasi",
        content=content,
        files=files,
    )


def audit_rows(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def assert_audit_holds_no_content(*secrets: str) -> None:
    dump = json.dumps(list(AuditEvent.objects.values()), default=str).casefold()
    for secret in secrets:
        assert secret.casefold() not in dump, secret


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def files_in(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()} if root.exists() else set()


@pytest.fixture
def private_root(settings: Any, tmp_path: Path) -> Path:
    """An empty private-files directory of this test's own, so leftovers can be counted."""
    root = tmp_path / "private"
    settings.PRIVATE_FILES_ROOT = root
    return root


def download_url(case: Case, attachment: Attachment) -> str:
    return reverse(
        "cases:attachment_download", kwargs={"code": case.code, "attachment": attachment.code}
    )


# --- allow-list by content -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("foto.pdf", PNG, "image/png"),  # a PNG renamed .pdf is still a PNG
        ("scan.png", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
        ("gambar.docx", b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
        ("laporan.docx", minimal_docx(), DOCX_TYPE),
    ],
)
def test_attachment_type_is_decided_by_content_not_by_name(
    world: World, name: str, data: bytes, content_type: str
) -> None:
    case = open_case(world)

    record = add_record(world, case, files=[(name, data)])

    attachment = record.attachments.get()
    assert attachment.content_type == content_type
    assert attachment.original_name == name
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.stored_name.endswith(private_files.ALLOWED_TYPES[content_type] + ".enc")
    (row,) = audit_rows("attachment.added")
    assert row.object_ref == attachment.code
    assert row.refs == {"record": record.code, "case": case.code}
    assert CaseEvent.objects.filter(case=case, kind="attachment_added").count() == 1
    assert_audit_holds_no_content(name)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.pdf", b"Ini hanya teks biasa, bukan PDF.", "Jenis berkas tidak diizinkan"),
        ("x.docx", zip_bytes({"catatan.txt": "bukan dokumen Word"}), "Jenis berkas"),
        ("x.docx", zip_bytes({"[Content_Types].xml": "<Types/>"}), "Jenis berkas"),
        ("x.docx", b"PK\x03\x04 rusak", "Jenis berkas tidak diizinkan"),
        ("x.html", b"<html><script>alert(1)</script></html>", "Jenis berkas"),
        ("x.png", b"", "Berkas kosong"),
    ],
)
def test_a_refused_file_leaves_no_record_no_attachment_and_no_file(
    world: World, private_root: Path, name: str, data: bytes, message: str
) -> None:
    case = open_case(world)
    audit_count, event_count = AuditEvent.objects.count(), CaseEvent.objects.count()

    with pytest.raises(ValidationError, match=message):
        add_record(world, case, files=[(name, data)], content="Isi yang tidak jadi disimpan")

    assert not CaseRecord.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(private_root) == set()
    assert AuditEvent.objects.count() == audit_count
    assert CaseEvent.objects.count() == event_count


def test_one_refused_file_undoes_the_whole_record_including_files_already_stored(
    world: World, private_root: Path
) -> None:
    case = open_case(world)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="Jenis berkas tidak diizinkan"):
        add_record(world, case, files=[("ok.png", PNG), ("bukan.pdf", b"teks biasa")])

    assert not CaseRecord.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(private_root) == set()
    assert AuditEvent.objects.count() == audit_count


def test_upload_size_limit_is_enforced(world: World, settings: Any, private_root: Path) -> None:
    settings.UPLOAD_MAX_BYTES = len(PNG)
    case = open_case(world)

    with pytest.raises(ValidationError, match="Berkas terlalu besar"):
        add_record(world, case, files=[("besar.png", PNG + b"\x00")])
    assert not CaseRecord.objects.exists()
    assert files_in(private_root) == set()

    record = add_record(world, case, files=[("pas.png", PNG)])  # exactly the limit
    assert record.attachments.get().size == len(PNG)


def test_record_add_view_shows_the_refusal_and_stores_nothing(
    world: World, private_root: Path
) -> None:
    case = open_case(world)
    upload = SimpleUploadedFile("laporan.pdf", b"bukan pdf", content_type="application/pdf")

    response = logged_in(world.counsellor).post(
        reverse("cases:record_add", kwargs={"code": case.code}),
        {"occurred_on": "2025-03-03", "source": "dokumen", "content": "Isi", "attachments": upload},
    )

    assert response.status_code == 200
    assert "Jenis berkas tidak diizinkan" in response.content.decode()
    assert not CaseRecord.objects.exists()
    assert files_in(private_root) == set()


# --- storage -------------------------------------------------------------------------


def test_private_files_root_is_outside_the_public_roots() -> None:
    private = Path(settings.PRIVATE_FILES_ROOT).resolve()
    for public in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        public_path = Path(public).resolve()
        assert not private.is_relative_to(public_path)
        assert not public_path.is_relative_to(private)


def test_stored_file_has_a_server_made_name_and_encrypted_bytes(world: World) -> None:
    case = open_case(world)
    marker = b"rahasia-lampiran-konseli"
    data = PNG + marker

    record = add_record(world, case, files=[("foto-rina.png", data), ("foto-rina.png", PNG)])

    first, second = record.attachments.order_by("id")
    assert re.fullmatch(r"[0-9a-f]{40}\.png\.enc", first.stored_name)
    assert first.stored_name != second.stored_name
    assert "rina" not in first.stored_name
    path = Path(settings.PRIVATE_FILES_ROOT) / first.stored_name
    assert path.is_file()
    on_disk = path.read_bytes()
    assert marker not in on_disk
    assert PNG[:8] not in on_disk
    assert private_files.read(first.stored_name) == data


# --- downloads -----------------------------------------------------------------------


@pytest.fixture
def attached(world: World) -> dict[str, Any]:
    case = open_case(world)
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    services.case_member_add(
        actor=world.counsellor, case=case, user=supervisor, role=CaseRole.SUPERVISOR
    )
    data = PNG + b"isi-foto"
    record = add_record(world, case, files=[("foto-rahasia-rina.png", data)])
    return {
        "case": case,
        "supervisor": supervisor,
        "attachment": record.attachments.get(),
        "data": data,
    }


@pytest.mark.parametrize("who", ["owner", "supervisor"])
def test_case_team_downloads_the_original_bytes_with_safe_headers(
    world: World, attached: dict[str, Any], who: str
) -> None:
    user = world.counsellor if who == "owner" else attached["supervisor"]
    attachment = attached["attachment"]

    response = logged_in(user).get(download_url(attached["case"], attachment))

    assert response.status_code == 200
    assert response.content == attached["data"]
    assert response["Content-Type"] == "image/png"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"lampiran-{attachment.code}.png" in disposition
    assert "rahasia" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    (row,) = audit_rows("attachment.downloaded")
    assert (row.object_type, row.object_ref) == ("attachment", attachment.code)
    assert row.actor_id == user.pk
    assert_audit_holds_no_content("foto-rahasia-rina", "isi-foto")


@pytest.mark.parametrize("persona", ["other_counsellor", "coordinator", "head", "dpo", "outsider"])
def test_anyone_else_gets_404_for_an_attachment(
    world: World, attached: dict[str, Any], persona: str
) -> None:
    response = logged_in(world.personas()[persona]).get(
        download_url(attached["case"], attached["attachment"])
    )

    assert response.status_code == 404
    assert attached["data"] not in response.content
    assert not audit_rows("attachment.downloaded")


def test_an_attachment_of_another_case_is_404_under_this_cases_url(
    world: World, attached: dict[str, Any]
) -> None:
    other_case = open_case(world, name="Tono Sugiarto")
    foreign = add_record(world, other_case, files=[("lain.png", PNG)]).attachments.get()

    response = logged_in(world.counsellor).get(download_url(attached["case"], foreign))

    assert response.status_code == 404
    assert not audit_rows("attachment.downloaded")
    # The same attachment under its own case is fine for the owner of both.
    assert logged_in(world.counsellor).get(download_url(other_case, foreign)).status_code == 200


# --- problem map ---------------------------------------------------------------------


def test_problem_map_core_is_set_updated_and_required(world: World) -> None:
    case = open_case(world)
    with pytest.raises(ValidationError, match="Tuliskan masalah inti"):
        services.aspect_add(actor=world.counsellor, case=case, kind="gejala", text="Murung")
    with pytest.raises(ValidationError):
        services.problem_map_set_core(actor=world.counsellor, case=case, core_problem="   ")
    assert not ProblemMap.objects.exists()

    services.problem_map_set_core(
        actor=world.counsellor, case=case, core_problem="Merasa tidak diterima"
    )
    services.problem_map_set_core(
        actor=world.counsellor, case=case, core_problem="Merasa dikucilkan teman"
    )

    assert ProblemMap.objects.get(case=case).core_problem == "Merasa dikucilkan teman"
    assert [r.object_ref for r in audit_rows("map.updated")] == [case.code, case.code]
    assert CaseEvent.objects.filter(case=case, kind="map_updated").count() == 2
    assert_audit_holds_no_content("tidak diterima", "dikucilkan")


def test_aspect_links_only_records_of_the_same_case(world: World) -> None:
    case = open_case(world)
    other_case = open_case(world, name="Tono Sugiarto")
    own = add_record(world, case)
    foreign = add_record(world, other_case)
    services.problem_map_set_core(actor=world.counsellor, case=case, core_problem="Inti")

    aspect = services.aspect_add(
        actor=world.counsellor,
        case=case,
        kind="penyebab",
        text="Pindah sekolah",
        records=[own, foreign],
    )

    assert list(aspect.records.all()) == [own]
    assert not foreign.aspects.exists()
    (row,) = audit_rows("map.aspect_added")
    assert (row.object_ref, row.refs) == (aspect.code, {"case": case.code})
    assert_audit_holds_no_content("Pindah sekolah")


def test_resource_links_only_aspects_of_the_same_map(world: World) -> None:
    case = open_case(world)
    other_case = open_case(world, name="Tono Sugiarto")
    for c in (case, other_case):
        services.problem_map_set_core(actor=world.counsellor, case=c, core_problem="Inti")
    own = services.aspect_add(actor=world.counsellor, case=case, kind="gejala", text="Murung")
    foreign = services.aspect_add(
        actor=world.counsellor, case=other_case, kind="gejala", text="Lain"
    )

    resource = services.resource_add(
        actor=world.counsellor,
        case=case,
        name="Ibu Wati",
        role="wali kelas",
        category="staf_lembaga",
        contribution="Memantau di kelas",
        aspects=[own, foreign],
    )

    assert list(resource.aspects.all()) == [own]
    (row,) = audit_rows("map.resource_added")
    assert (row.object_ref, row.refs) == (resource.code, {"case": case.code})
    assert_audit_holds_no_content("Ibu Wati", "Memantau di kelas")


def test_removing_aspects_and_resources(world: World) -> None:
    case = open_case(world)
    services.problem_map_set_core(actor=world.counsellor, case=case, core_problem="Inti")
    aspect = services.aspect_add(actor=world.counsellor, case=case, kind="gejala", text="Murung")
    resource = services.resource_add(
        actor=world.counsellor,
        case=case,
        name="Ibu Wati",
        role="wali kelas",
        category="staf_lembaga",
        aspects=[aspect],
    )

    services.aspect_remove(actor=world.counsellor, aspect=aspect)
    assert not ProblemAspect.objects.exists()
    resource.refresh_from_db()
    assert not resource.aspects.exists()

    services.resource_remove(actor=world.counsellor, resource=resource)
    assert not ProblemResource.objects.exists()
    assert [r.object_ref for r in audit_rows("map.aspect_removed")] == [aspect.code]
    assert [r.object_ref for r in audit_rows("map.resource_removed")] == [resource.code]
    kinds = set(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert {"aspect_removed", "resource_removed"} <= kinds


def test_case_page_shows_the_problem_map_in_the_peta_section(world: World) -> None:
    case = open_case(world)
    record = add_record(world, case)
    services.problem_map_set_core(
        actor=world.counsellor, case=case, core_problem="Merasa dikucilkan teman"
    )
    aspect = services.aspect_add(
        actor=world.counsellor, case=case, kind="penyebab", text="Pindah sekolah", records=[record]
    )
    removed = services.aspect_add(
        actor=world.counsellor, case=case, kind="faktor", text="Aspek yang dihapus"
    )
    services.resource_add(
        actor=world.counsellor,
        case=case,
        name="Ibu Wati",
        role="wali kelas",
        category="staf_lembaga",
        aspects=[aspect],
    )
    services.aspect_remove(actor=world.counsellor, aspect=removed)

    response = logged_in(world.counsellor).get(
        reverse("cases:case_detail", kwargs={"code": case.code})
    )

    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="peta"')
    section = html[start : html.index("</section>", start)]
    assert "Merasa dikucilkan teman" in section
    assert "Pindah sekolah" in section
    assert "Ibu Wati" in section
    assert reverse("cases:record_edit", kwargs={"code": case.code, "record": record.code}) in (
        section
    )
    assert "Aspek yang dihapus" not in html
