"""An organisation's own DOCX templates: the sandbox, upload checks, the pages, and
the fall-back to the built-in layout when a template breaks."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import User
from kka.audit.models import AuditEvent
from kka.documents import custom, registry, services
from kka.documents.custom import TemplateBroken
from kka.documents.models import DocumentTemplate
from kka.lib import private_files
from tests.documents.util import docx_text
from tests.personas import World, make_user

pytestmark = pytest.mark.django_db

TEMPLATES = reverse("documents:templates")
DEACTIVATE = reverse("documents:template_deactivate")
DOCX_TYPE = custom.DOCX_TYPE


def make_docx(*paragraphs: str, header: str = "", title: str = "") -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if header:
        document.sections[0].header.paragraphs[0].text = header
    if title:
        document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def all_text(data: bytes) -> str:
    """Every XML part of the DOCX, tags removed: what any reader could find in it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return re.sub(r"<[^>]+>", "", "\n".join(parts))


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def kind(code: str = "daftar_hadir") -> registry.Kind:
    return registry.get(code)


# --- the sandbox -------------------------------------------------------------------------

FIELDS = {"nama_lembaga": "SMP Uji", "tempat": "Ruang BK"}
ROWS = [{"nama": "Budi", "no": "1."}]
# Markers of anything from outside the fields: settings, Python objects, files.
LEAKS = (
    settings.SECRET_KEY,
    "root:x:0:",
    "<class",
    "<function",
    "<module",
    "<built-in",
    "TemplateReference",
    "object at 0x",
    "Environment",
    "DATABASES",
    "kka.settings",
)
# Each payload either refuses to render (TemplateBroken) or renders nothing of it.
ESCAPES = [
    "{{ settings.SECRET_KEY }}",
    "{{ settings }}",
    "{{ config.SECRET_KEY }}",
    "{{ request.META }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ nama_lembaga.__class__ }}",
    "{{ nama_lembaga.__init__.__globals__ }}",
    "{{ fields.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ self }}",
    "{{ self._TemplateReference__context }}",
    "{{ nama_lembaga.upper }}",
    "{{ nama_lembaga.format }}",
    "{{ baris[0].items }}",
    "{{ baris.__class__ }}",
    "{{ baris[0]['__class__'] }}",
    "{{ nama_lembaga|attr('__class__') }}",
    "{{ nama_lembaga|format('%s') }}",
    "{{ nama_lembaga|pprint }}",
    "{% include '/etc/passwd' %}",
    "{% include 'kka/settings.py' %}",
    "{% import 'os' as os %}",
    "{% from 'x' import y %}",
    "{% extends '/etc/passwd' %}",
    "{% set x = 'a' %}{{ x }}",
    "{% macro m() %}{{ caller }}{% endmacro %}",
    "{% autoescape false %}<w:p>{{ nama_lembaga }}{% endautoescape %}",
    "{{ 'x' * 999999999 }}",
    "{{ 9 ** 999999 }}",
    "{% for a in baris %}{% for b in baris %}{% for c in baris %}x{% endfor %}"
    "{% endfor %}{% endfor %}",
    "{{ loop.__class__ }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_template_cannot_reach_settings_internals_or_files(payload: str) -> None:
    template = make_docx("AWAL", payload, "AKHIR {{ nama_lembaga }}")
    try:
        out = custom.render_bytes(template, FIELDS, baris=ROWS)
    except TemplateBroken as exc:
        assert exc.code in ("security", "syntax", "render")
        assert settings.SECRET_KEY not in exc.message
        return
    text = all_text(out)
    assert "AWAL" in text and "AKHIR SMP Uji" in text
    for leak in LEAKS:
        assert leak not in text, payload
    assert "__" not in docx_text(out)


def test_both_ways_of_refusing_are_real() -> None:
    """Reaching internals is refused outright; an unknown name renders empty."""
    with pytest.raises(TemplateBroken) as refused:
        custom.render_bytes(make_docx("{{ ''.__class__.__mro__ }}"), FIELDS)
    assert refused.value.code == "security"
    with pytest.raises(TemplateBroken) as included:
        custom.render_bytes(make_docx("{% include '/etc/passwd' %}"), FIELDS)
    assert included.value.code == "security"
    out = custom.render_bytes(make_docx("[{{ settings.SECRET_KEY }}]", "[{{ self2 }}]"), FIELDS)
    assert "[]\n[]" in docx_text(out)


def test_headers_and_document_properties_are_sandboxed_too() -> None:
    template = make_docx(
        "isi", header="Kop {{ nama_lembaga }} {{ settings.SECRET_KEY }}", title="{{ tempat }}"
    )
    out = custom.render_bytes(template, FIELDS)
    assert "Kop SMP Uji" in docx_text(out)
    assert docx.Document(io.BytesIO(out)).core_properties.title == "Ruang BK"
    with pytest.raises(TemplateBroken):
        custom.render_bytes(make_docx("isi", title="{{ ''.__class__ }}"), FIELDS)


def test_external_entities_are_never_read() -> None:
    """An XML entity pointing at /etc/passwd stays unresolved."""
    source = make_docx("XXE {{ nama_lembaga }} PENANDA")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                xml = data.decode("utf-8")
                xml = re.sub(
                    r"^<\?xml[^>]*\?>",
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                    xml,
                )
                data = xml.replace("PENANDA", "&xxe;").encode("utf-8")
            zout.writestr(info, data)
    try:
        rendered = custom.render_bytes(out.getvalue(), FIELDS)
    except TemplateBroken:
        return
    assert Path("/etc/passwd").read_text()[:20] not in all_text(rendered)
    assert "root:" not in all_text(rendered)


def test_values_are_escaped_as_xml_and_lines_kept() -> None:
    fields = {"nama_lembaga": 'A & B <w:t>"x"</w:t>', "tempat": "Baris 1\nBaris 2"}
    out = custom.render_bytes(make_docx("{{ nama_lembaga }}", "{{ tempat }}"), fields)
    text = docx_text(out)
    assert 'A & B <w:t>"x"</w:t>' in text
    assert "Baris 1" in text and "Baris 2" in text


def test_rows_of_the_built_in_tables_fill_a_word_table() -> None:
    document = docx.Document()
    document.add_paragraph("Daftar {{ nama_lembaga }}")
    table = document.add_table(rows=3, cols=3)
    table.rows[0].cells[0].text = "{%tr for b in baris %}"
    table.rows[1].cells[0].text = "{{ loop.index }}"
    table.rows[1].cells[1].text = "{{ b.nama }}"
    table.rows[1].cells[2].text = "{{ b.jabatan_peran|upper }}"
    table.rows[2].cells[0].text = "{%tr endfor %}"
    data = io.BytesIO()
    document.save(data)
    from kka.documents.blocks import Doc, Table

    built = Doc(kind="x", title="x").add(
        Table(columns=("No", "Nama", "Jabatan/Peran"), rows=(("1.", "Budi", "ayah"),))
    )
    rows = custom.rows_from_doc(built)
    assert rows["baris"] == [
        {
            "no": "1.",
            "kolom_1": "1.",
            "nama": "Budi",
            "kolom_2": "Budi",
            "jabatan_peran": "ayah",
            "kolom_3": "ayah",
        }
    ]
    out = custom.render_bytes(data.getvalue(), FIELDS, **rows)
    rendered = docx.Document(io.BytesIO(out)).tables[0]
    assert [cell.text for cell in rendered.rows[0].cells] == ["1", "Budi", "AYAH"]
    assert len(rendered.rows) == 1


# --- checks on upload --------------------------------------------------------------------


def upload(world: World, data: bytes, code: str = "daftar_hadir") -> DocumentTemplate:
    return custom.template_upload(
        actor=world.admin,
        organisation=world.org,
        kind=kind(code),
        original_name="templat saya.docx",
        data=data,
    )


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"%PDF-1.7 bukan word", "not_docx", "bukan dokumen Word"),
        (b"PK\x03\x04 rusak", "not_docx", "bukan dokumen Word"),
        (b"", "not_docx", "bukan dokumen Word"),
        (make_docx("{{ nama_lembaga "), "syntax", "tidak dapat dibaca"),
        (make_docx("{% if tempat %}tanpa akhir"), "syntax", "tidak dapat dibaca"),
        (make_docx("{{ ''.__class__ }}"), "security", "tidak diizinkan"),
        (make_docx("{% include 'a' %}"), "security", "tidak diizinkan"),
        (make_docx("{{ nama_lembga }} {{ tmpat }}"), "unknown_field", "nama_lembga, tmpat"),
    ],
)
def test_upload_refuses_a_broken_template_with_a_clear_message(
    world: World, data: bytes, code: str, words: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        upload(world, data)
    assert exc.value.code == code
    assert words in " ".join(exc.value.messages)
    assert not DocumentTemplate.objects.exists()
    assert not AuditEvent.objects.filter(action="document.template_uploaded").exists()


def test_upload_refuses_a_file_too_large(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(custom, "TEMPLATE_MAX_BYTES", 1000)
    with pytest.raises(ValidationError) as exc:
        upload(world, make_docx("{{ nama_lembaga }}"))
    assert exc.value.code == "too_large"
    assert not DocumentTemplate.objects.exists()


def test_upload_refuses_a_zip_bomb(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(custom, "TEMPLATE_MAX_UNPACKED", 20_000)
    padded = make_docx("{{ nama_lembaga }}", "x" * 30_000)
    with pytest.raises(ValidationError) as exc:
        upload(world, padded)
    assert exc.value.code == "too_large"


def test_upload_stores_encrypted_and_replaces_the_active_one(world: World) -> None:
    first = upload(world, make_docx("Versi satu {{ nama_lembaga }}"))
    assert first.active and first.kind == "daftar_hadir"
    raw = (Path(settings.PRIVATE_FILES_ROOT) / first.stored_name).read_bytes()
    assert b"word/document.xml" not in raw  # encrypted at rest
    assert private_files.read(first.stored_name).startswith(b"PK")
    second = upload(world, make_docx("Versi dua {{ tempat }}"))
    first.refresh_from_db()
    assert not first.active and second.active
    assert custom.active_template(world.org, "daftar_hadir") == second
    events = AuditEvent.objects.filter(action="document.template_uploaded").order_by("id")
    assert [e.refs["kind"] for e in events] == ["daftar_hadir", "daftar_hadir"]
    assert events[1].refs["replaced"] == first.code
    # Codes only: never the file name the uploader chose.
    assert "templat saya" not in str([e.refs for e in events])


def test_every_kind_lists_its_fields_and_its_sample_template_passes(world: World) -> None:
    kinds = registry.load_all()
    assert kinds, "no document kinds registered"
    http = logged_in(world.admin)
    page = http.get(TEMPLATES).content.decode()
    for code, found in kinds.items():
        assert found.field_help, f"{code} has no fields described"
        assert reverse("documents:template_fields", kwargs={"kind": code}) in page
        text = http.get(reverse("documents:template_fields", kwargs={"kind": code})).content
        for name, description in found.field_help.items():
            assert f"{{{{ {name} }}}}".encode() in text
            assert str(description).replace('"', "&quot;").encode() in text
        sample = http.get(reverse("documents:template_sample", kwargs={"kind": code}))
        assert sample["Content-Type"] == DOCX_TYPE
        custom.check_template(found, sample.content)  # uses only known names, renders
        sample_text = docx_text(sample.content)
        for name in found.field_help:
            assert f"{{{{ {name} }}}}" in sample_text
        filled = docx_text(custom.render_bytes(sample.content, custom.sample_fields(found)))
        assert f"[{next(iter(found.field_help))}]" in filled


def test_an_unknown_kind_is_404(world: World) -> None:
    http = logged_in(world.admin)
    assert (
        http.get(reverse("documents:template_fields", kwargs={"kind": "nope"})).status_code == 404
    )
    response = http.post(
        TEMPLATES,
        {"kind": "nope", "file": SimpleUploadedFile("a.docx", make_docx("x"), DOCX_TYPE)},
    )
    assert response.status_code == 200  # the form refuses the choice
    assert not DocumentTemplate.objects.exists()


# --- pages and permissions ------------------------------------------------------------


def post_upload(http: HttpClient, data: bytes, code: str = "daftar_hadir") -> Any:
    return http.post(
        TEMPLATES,
        {"kind": code, "file": SimpleUploadedFile("kop-sekolah.docx", data, DOCX_TYPE)},
    )


def test_admin_and_coordinator_upload_through_the_page(world: World) -> None:
    for user in (world.admin, world.coordinator):
        http = logged_in(user)
        response = post_upload(http, make_docx(f"Templat {user.pk} {{{{ nama_lembaga }}}}"))
        assert response.status_code == 302
        template = DocumentTemplate.objects.get(active=True, kind="daftar_hadir")
        assert template.uploaded_by == user
        page = http.get(TEMPLATES).content.decode()
        assert "kop-sekolah.docx" in page
        download = http.get(reverse("documents:template_download", kwargs={"kind": "daftar_hadir"}))
        assert f"Templat {user.pk}" in docx_text(download.content)


def test_a_broken_upload_shows_the_error_on_the_page(world: World) -> None:
    response = post_upload(logged_in(world.admin), make_docx("{{ tanggal_salah }}"))
    assert response.status_code == 200
    assert "tidak dikenal: tanggal_salah" in response.content.decode()
    assert not DocumentTemplate.objects.exists()


@pytest.mark.parametrize("persona", ["counsellor", "other_counsellor", "head", "dpo", "outsider"])
def test_others_cannot_see_or_change_templates(world: World, persona: str) -> None:
    template = upload(world, make_docx("{{ nama_lembaga }}"))
    http = logged_in(world.personas()[persona])
    assert http.get(TEMPLATES).status_code == 404
    assert post_upload(http, make_docx("{{ nama_lembaga }}")).status_code == 404
    download = reverse("documents:template_download", kwargs={"kind": "daftar_hadir"})
    assert http.get(download).status_code == 404
    assert http.post(DEACTIVATE, {"kind": "daftar_hadir"}).status_code == 404
    template.refresh_from_db()
    assert template.active
    assert DocumentTemplate.objects.count() == 1


def test_another_organisations_admin_never_touches_our_template(world: World) -> None:
    template = upload(world, make_docx("{{ nama_lembaga }}"))
    other_admin = make_user(organisation=world.other_org, role="admin")
    http = logged_in(other_admin)
    page = http.get(TEMPLATES).content.decode()
    assert "templat saya.docx" not in page
    download = reverse("documents:template_download", kwargs={"kind": "daftar_hadir"})
    assert http.get(download).status_code == 404
    http.post(DEACTIVATE, {"kind": "daftar_hadir"})
    template.refresh_from_db()
    assert template.active


def test_deactivating_goes_back_to_the_built_in_layout(world: World) -> None:
    template = upload(world, make_docx("{{ nama_lembaga }}"))
    response = logged_in(world.coordinator).post(DEACTIVATE, {"kind": "daftar_hadir"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert not template.active
    assert custom.active_template(world.org, "daftar_hadir") is None
    event = AuditEvent.objects.get(action="document.template_deactivated")
    assert event.object_ref == template.code and event.refs == {"kind": "daftar_hadir"}


# --- through the document service -----------------------------------------------------


def test_a_broken_template_falls_back_to_the_built_in_layout(full_kka: Any) -> None:
    world = full_kka.world
    template = upload(world, make_docx("Kop {{ nama_lembaga }} {{ tempat }}"))
    good = services.produce(
        actor=world.counsellor, kind="daftar_hadir", fmt="docx", conference=full_kka.conference
    )
    assert good.template_id == template.pk and good.template_fallback == ""
    assert world.org.name in docx_text(services.document_bytes(good))
    # The stored file breaks later (edited by hand on the server, or a sandbox rule
    # tightened): the built-in layout is used and the reason kept as a code.
    broken = private_files.store(make_docx("{{ ''.__class__.__mro__ }}"))
    DocumentTemplate.objects.filter(pk=template.pk).update(stored_name=broken.stored_name)
    fallback = services.produce(
        actor=world.counsellor, kind="daftar_hadir", fmt="docx", conference=full_kka.conference
    )
    assert fallback.template_fallback == "security"
    text = docx_text(services.document_bytes(fallback))
    assert "Daftar hadir" in text or "DAFTAR HADIR" in text
    assert "__class__" not in text
    produced = AuditEvent.objects.filter(action="document.produced").last()
    assert produced is not None and "__class__" not in str(produced.refs)


def test_own_layout_still_carries_rahasia_recipient_and_footer_on_every_page(
    full_kka: Any,
) -> None:
    world = full_kka.world
    notulen = kind("notulen")
    assert notulen.confidential
    first_field = next(iter(notulen.field_help))
    document = docx.Document()
    document.add_paragraph("Notulen milik lembaga {{ " + first_field + " }}")
    document.add_section()  # a second section: stamped too
    document.add_paragraph("Halaman kedua")
    out = io.BytesIO()
    document.save(out)
    upload(world, out.getvalue(), code="notulen")
    produced = services.produce(
        actor=world.counsellor, kind="notulen", fmt="docx", conference=full_kka.conference
    )
    assert produced.template is not None and produced.template_fallback == ""
    result = docx.Document(io.BytesIO(services.document_bytes(produced)))
    assert "Notulen milik lembaga" in result.paragraphs[0].text
    for section in result.sections:
        header = "\n".join(p.text for p in section.header.paragraphs)
        footer = "\n".join(p.text for p in section.footer.paragraphs)
        assert "RAHASIA" in header
        assert world.counsellor.full_name in header
        assert re.search(r"[0-9a-f]{12}", footer), footer


def test_a_failure_is_shown_on_the_list_until_the_template_works_again(world: World) -> None:
    template = upload(world, make_docx("{{ nama_lembaga }}"))
    custom.template_mark_failed(template, "security")
    page = logged_in(world.admin).get(TEMPLATES).content.decode()
    assert "Terakhir gagal diisi" in page
    custom.render_custom_docx(template, FIELDS)
    template.refresh_from_db()
    assert template.last_error == ""
    assert "Terakhir gagal diisi" not in logged_in(world.admin).get(TEMPLATES).content.decode()
