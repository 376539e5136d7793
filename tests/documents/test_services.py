"""Producing, storing, numbering, finalising and handing out documents; the pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client as HttpClient
from django.urls import reverse
from pypdf import PdfReader

from kka.audit.models import AuditEvent
from kka.cases import selectors as case_selectors
from kka.cases import services as case_services
from kka.conferences import services as conference_services
from kka.conferences.models import Disclosure, LetterNumber, Participant
from kka.documents import registry, services
from kka.documents.blocks import Doc, Paragraph
from kka.documents.models import Document, DocumentAccess, DocumentTemplate
from kka.documents.registry import Kind, Subject
from kka.lib import private_files
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka
from tests.documents.util import docx_text, pdf_pages_text, pdf_text, squash
from tests.personas import make_user

pytestmark = pytest.mark.django_db


def names(full_kka: FullKka) -> list[str]:
    return [p.full_name for p in full_kka.participants]


def produce_attendance(full_kka: FullKka, **kwargs: Any) -> Document:
    return services.produce(
        actor=full_kka.world.counsellor,
        kind="daftar_hadir",
        fmt=kwargs.pop("fmt", "pdf"),
        conference=full_kka.conference,
        **kwargs,
    )


def supervisor_of(full_kka: FullKka) -> Any:
    supervisor = make_user(organisation=full_kka.world.org, full_name="Supervisor Kasus")
    case_services.case_member_add(
        actor=full_kka.world.counsellor, case=full_kka.case, user=supervisor, role="supervisor"
    )
    return supervisor


def stored_path(document: Document) -> Path:
    return Path(settings.PRIVATE_FILES_ROOT) / document.stored_name


def all_audit_text() -> str:
    return "\n".join(
        f"{e.action} {e.object_type} {e.object_ref} {e.refs}" for e in AuditEvent.objects.all()
    )


# Test-only kinds, registered for one test and removed after it.


def _fields(subject: Subject) -> dict[str, str]:
    who = subject.participant.full_name if subject.participant else ""
    return {"nomor": subject.number, "nama": who}


def _build(subject: Subject, values: dict[str, str]) -> Doc:
    if subject.options.get("explode"):
        raise RuntimeError("build failed")
    if subject.options.get("refuse"):
        raise ValidationError("Belum bisa dibuat.")
    return Doc(
        kind="uji",
        title="Uji",
        blocks=[Paragraph(f"Nomor {values['nomor']} untuk {values['nama']}")],
        number=values["nomor"],
    )


@pytest.fixture
def test_kinds() -> Iterator[dict[str, Kind]]:
    made = {
        "uji_nomor": Kind(
            code="uji_nomor",
            title="Uji bernomor",
            scope="conference",
            fields=_fields,
            build=_build,
            field_help={"nomor": "Nomor", "nama": "Nama"},
            numbered=True,
        ),
        "uji_luar": Kind(
            code="uji_luar",
            title="Uji untuk peserta luar",
            scope="participant",
            fields=_fields,
            build=_build,
            field_help={"nomor": "Nomor", "nama": "Nama"},
            confidential=True,
            outside=True,
        ),
    }
    registry.load_all()
    for kind in made.values():
        registry.register(kind)
    try:
        yield made
    finally:
        for code in made:
            registry.KINDS.pop(code, None)


# --- produce ---------------------------------------------------------------------------


def test_produce_registers_stores_encrypted_and_audits_codes_only(full_kka: FullKka) -> None:
    document = produce_attendance(full_kka)
    assert document.kind == "daftar_hadir" and document.format == "pdf"
    assert document.conference == full_kka.conference and document.case == full_kka.case
    assert document.created_by == full_kka.world.counsellor
    assert document.pages == 1 and document.finalised_at is None
    data = services.document_bytes(document)
    assert data.startswith(b"%PDF-")
    assert document.size == len(data)
    text = squash(pdf_text(data))
    for name in names(full_kka):
        assert squash(name) in text
    # on disk: encrypted, no PDF header, no names
    raw = stored_path(document).read_bytes()
    assert not raw.startswith(b"%PDF") and b"%PDF" not in raw[:64]
    for name in names(full_kka):
        assert name.encode() not in raw
    event = AuditEvent.objects.get(action="document.produced")
    assert event.object_ref == document.code
    assert event.refs["kind"] == "daftar_hadir"
    assert event.refs["format"] == "pdf"
    assert event.refs["conference"] == full_kka.conference.code
    audit = all_audit_text()
    for secret in [*names(full_kka), DESCRIPTION_CANARY, PRIVATE_CANARY]:
        assert secret not in audit
    assert full_kka.conference.place not in str(event.refs)


def test_docx_is_produced_with_the_same_names(full_kka: FullKka) -> None:
    document = produce_attendance(full_kka, fmt="docx")
    assert document.pages is None
    text = squash(docx_text(services.document_bytes(document)))
    for name in names(full_kka):
        assert squash(name) in text


def test_finalised_document_is_served_unchanged_after_the_organisation_changes(
    full_kka: FullKka,
) -> None:
    final = produce_attendance(full_kka, finalise=True)
    before = services.document_bytes(final)
    org = full_kka.world.org
    org.name = "SMP Nama Baru"
    org.save()
    again = produce_attendance(full_kka)
    assert again.pk == final.pk and again.sha256 == final.sha256
    assert services.document_bytes(again) == before
    assert "SMP NAMA BARU" not in pdf_text(before)
    # the other format and the other edition are separate documents, produced anew
    docx = produce_attendance(full_kka, fmt="docx")
    assert docx.pk != final.pk and "SMP NAMA BARU" in docx_text(services.document_bytes(docx))
    blank = produce_attendance(full_kka, edition="kosong")
    assert blank.pk != final.pk


def test_draft_is_regenerated_until_finalised(full_kka: FullKka) -> None:
    first = produce_attendance(full_kka)
    second = produce_attendance(full_kka)
    assert second.pk != first.pk
    final = services.finalise(actor=full_kka.world.counsellor, document=second)
    assert final.finalised_at is not None
    assert produce_attendance(full_kka).pk == second.pk
    assert AuditEvent.objects.filter(action="document.finalised", object_ref=second.code).exists()


def test_numbered_kind_keeps_one_number_per_subject(
    full_kka: FullKka, test_kinds: dict[str, Kind]
) -> None:
    before = LetterNumber.objects.count()
    pdf = services.produce(
        actor=full_kka.world.counsellor, kind="uji_nomor", fmt="pdf", conference=full_kka.conference
    )
    docx = services.produce(
        actor=full_kka.world.counsellor,
        kind="uji_nomor",
        fmt="docx",
        conference=full_kka.conference,
    )
    again = services.produce(
        actor=full_kka.world.counsellor, kind="uji_nomor", fmt="pdf", conference=full_kka.conference
    )
    assert LetterNumber.objects.count() == before + 1
    assert pdf.letter_number is not None
    assert pdf.number == docx.number == again.number == pdf.letter_number.number
    assert pdf.number in pdf_text(services.document_bytes(pdf))  # body and footer
    # a voided number is never reused
    conference_services.letter_number_void(
        actor=full_kka.world.counsellor, number=pdf.letter_number, reason="salah cetak"
    )
    fresh = services.produce(
        actor=full_kka.world.counsellor, kind="uji_nomor", fmt="pdf", conference=full_kka.conference
    )
    assert fresh.number != pdf.number
    assert LetterNumber.objects.count() == before + 2


def test_failed_rendering_issues_no_number_and_leaves_nothing(
    full_kka: FullKka, test_kinds: dict[str, Kind]
) -> None:
    numbers = LetterNumber.objects.count()
    files = set(Path(settings.PRIVATE_FILES_ROOT).iterdir())
    with pytest.raises(RuntimeError):
        services.produce(
            actor=full_kka.world.counsellor,
            kind="uji_nomor",
            fmt="pdf",
            conference=full_kka.conference,
            options={"explode": True},
        )
    with pytest.raises(ValidationError):
        services.produce(
            actor=full_kka.world.counsellor,
            kind="uji_nomor",
            fmt="pdf",
            conference=full_kka.conference,
            options={"refuse": True},
        )
    assert LetterNumber.objects.count() == numbers
    assert not Document.objects.exists()
    assert set(Path(settings.PRIVATE_FILES_ROOT).iterdir()) == files


def test_invitation_reuses_the_participants_letter_number(full_kka: FullKka) -> None:
    if "undangan" not in registry.load_all():
        pytest.skip("the invitation kind is not in this tree")
    participant = full_kka.participants[0]
    participant.refresh_from_db()
    assert participant.letter_number  # issued when the demo sent the invitation
    before = LetterNumber.objects.count()
    document = services.produce(
        actor=full_kka.world.counsellor, kind="undangan", fmt="pdf", participant=participant
    )
    assert document.number == participant.letter_number
    assert document.letter_number is not None
    assert document.letter_number.number == participant.letter_number
    assert LetterNumber.objects.count() == before


def test_outside_participant_document_is_a_disclosure_under_the_consent(
    full_kka: FullKka, test_kinds: dict[str, Kind]
) -> None:
    family = next(p for p in full_kka.participants if p.category == "keluarga")
    staff = next(p for p in full_kka.participants if p.category == "staf_lembaga")
    before = Disclosure.objects.count()
    document = services.produce(
        actor=full_kka.world.counsellor, kind="uji_luar", fmt="pdf", participant=family
    )
    disclosure = Disclosure.objects.latest("id")
    assert Disclosure.objects.count() == before + 1
    assert disclosure.participant == family and disclosure.kind == "document_uji_luar"
    assert disclosure.consent == case_selectors.current_consent(full_kka.case.client)
    assert disclosure.consent is not None
    # confidential: printed for the participant
    assert document.produced_for == family.full_name
    assert f"Dibuat untuk: {family.full_name}" in squash(
        pdf_text(services.document_bytes(document))
    )
    services.produce(actor=full_kka.world.counsellor, kind="uji_luar", fmt="pdf", participant=staff)
    assert Disclosure.objects.count() == before + 1


def test_organisation_template_is_used_and_a_broken_one_falls_back(
    full_kka: FullKka, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = pytest.importorskip("kka.documents.custom")
    own = produce_attendance(full_kka, fmt="docx")  # any valid DOCX as "their" output
    own_bytes = services.document_bytes(own)
    stored = private_files.store(own_bytes)
    template = DocumentTemplate.objects.create(
        organisation=full_kka.world.org,
        kind="daftar_hadir",
        original_name="milik-sekolah.docx",
        stored_name=stored.stored_name,
        sha256=stored.sha256,
        size=stored.size,
        uploaded_by=full_kka.world.counsellor,
    )
    seen: dict[str, Any] = {}

    def fill(tpl: DocumentTemplate, fields: dict[str, str], **kwargs: Any) -> bytes:
        seen["fields"] = fields
        return own_bytes

    monkeypatch.setattr(custom, "render_custom_docx", fill)
    used = produce_attendance(full_kka, fmt="docx")
    assert used.template == template and used.template_fallback == ""
    assert seen["fields"]["kode_kka"] == full_kka.conference.code
    # PDFs never use the organisation's DOCX
    assert produce_attendance(full_kka).template is None

    def broken(tpl: DocumentTemplate, fields: dict[str, str], **kwargs: Any) -> bytes:
        raise custom.TemplateBroken("syntax")

    monkeypatch.setattr(custom, "render_custom_docx", broken)
    fallback = produce_attendance(full_kka, fmt="docx")
    assert fallback.template == template and fallback.template_fallback == "syntax"
    text = squash(docx_text(services.document_bytes(fallback)))
    for name in names(full_kka):
        assert squash(name) in text
    event = AuditEvent.objects.filter(action="document.produced").latest("id")
    assert event.refs["template_fallback"] == "syntax"


def test_access_rules_in_the_service(full_kka: FullKka) -> None:
    world = full_kka.world
    for user in (world.outsider, world.other_counsellor, world.head, world.coordinator):
        with pytest.raises(Http404):
            services.produce(
                actor=user, kind="daftar_hadir", fmt="pdf", conference=full_kka.conference
            )
    with pytest.raises(PermissionDenied):
        services.produce(
            actor=supervisor_of(full_kka),
            kind="daftar_hadir",
            fmt="pdf",
            conference=full_kka.conference,
        )
    assert not Document.objects.exists()
    with pytest.raises(ValueError):
        produce_attendance(full_kka, fmt="odt")
    with pytest.raises(ValueError):
        produce_attendance(full_kka, edition="rahasia")


# --- views ----------------------------------------------------------------------------


def login(user: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def test_produce_view_redirects_to_the_download(full_kka: FullKka) -> None:
    http = login(full_kka.world.counsellor)
    url = reverse(
        "documents:produce", kwargs={"kind": "daftar_hadir", "code": full_kka.conference.code}
    )
    response = http.post(url, {"fmt": "docx", "edition": "kosong", "blank_rows": "5"})
    document = Document.objects.get()
    assert document.format == "docx" and document.edition == "kosong"
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:download", kwargs={"code": document.code})
    assert "5." in docx_text(services.document_bytes(document))
    assert "6." not in docx_text(services.document_bytes(document))
    assert http.post(url, {"fmt": "exe"}).status_code == 400
    unknown = reverse(
        "documents:produce", kwargs={"kind": "tidak_ada", "code": full_kka.conference.code}
    )
    assert http.post(unknown, {"fmt": "pdf"}).status_code == 404
    assert http.get(url).status_code == 405


def test_download_is_an_attachment_without_names_and_is_recorded(full_kka: FullKka) -> None:
    document = produce_attendance(full_kka)
    http = login(full_kka.world.counsellor)
    response = http.get(reverse("documents:download", kwargs={"code": document.code}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    expected = f"daftar-hadir-KKA{full_kka.conference.sequence}-{full_kka.conference.code}.pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert "no-store" in response["Cache-Control"]
    assert response.content == services.document_bytes(document)
    access = DocumentAccess.objects.get()
    assert access.document == document and access.channel == "download"
    assert access.user == full_kka.world.counsellor
    event = AuditEvent.objects.get(action="document.accessed")
    assert event.object_ref == document.code and event.refs["channel"] == "download"


def test_outsiders_get_404_and_the_supervisor_reads_but_cannot_produce(
    full_kka: FullKka,
) -> None:
    document = produce_attendance(full_kka)
    produce_url = reverse(
        "documents:produce", kwargs={"kind": "daftar_hadir", "code": full_kka.conference.code}
    )
    download_url = reverse("documents:download", kwargs={"code": document.code})
    bundle_url = reverse("documents:bundle", kwargs={"code": full_kka.conference.code})
    for user in (full_kka.world.outsider, full_kka.world.other_counsellor, full_kka.world.dpo):
        http = login(user)
        assert http.post(produce_url, {"fmt": "pdf"}).status_code == 404
        assert http.get(download_url).status_code == 404
        assert http.get(bundle_url).status_code == 404
    supervisor = login(supervisor_of(full_kka))
    assert supervisor.post(produce_url, {"fmt": "pdf"}).status_code == 403
    assert supervisor.post(bundle_url).status_code == 403
    assert supervisor.get(download_url).status_code == 200
    assert Document.objects.count() == 1
    assert DocumentAccess.objects.count() == 1


def test_bundle_merges_the_latest_pdfs_and_records_each(full_kka: FullKka) -> None:
    produce_attendance(full_kka)
    latest = produce_attendance(full_kka)
    blank = produce_attendance(full_kka, edition="kosong")
    produce_attendance(full_kka, fmt="docx")  # not in a PDF bundle
    http = login(full_kka.world.counsellor)
    url = reverse("documents:bundle", kwargs={"code": full_kka.conference.code})
    response = http.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == (latest.pages or 0) + (blank.pages or 0)
    accesses = DocumentAccess.objects.filter(channel="bundle")
    assert {a.document_id for a in accesses} == {latest.pk, blank.pk}


def test_bundle_post_produces_what_is_missing(full_kka: FullKka) -> None:
    http = login(full_kka.world.counsellor)
    url = reverse("documents:bundle", kwargs={"code": full_kka.conference.code})
    response = http.post(url)
    assert response.status_code == 200
    produced = set(Document.objects.values_list("kind", flat=True))
    assert "daftar_hadir" in produced
    expected_plan = full_kka.world.org.plan_format
    other_plan = {"satkung", "rpl"} - {expected_plan}
    assert not produced & other_plan
    text = squash(pdf_text(response.content))
    for name in names(full_kka):
        assert squash(name) in text


def test_conference_page_lists_documents_with_produce_buttons_for_writers(
    full_kka: FullKka,
) -> None:
    document = produce_attendance(full_kka)
    page_url = reverse("conferences:detail", kwargs={"code": full_kka.conference.code})
    owner_page = login(full_kka.world.counsellor).get(page_url).content.decode()
    assert 'id="h-dokumen"' in owner_page
    assert reverse("documents:download", kwargs={"code": document.code}) in owner_page
    assert document.short_hash in owner_page
    produce_url = reverse(
        "documents:produce", kwargs={"kind": "daftar_hadir", "code": full_kka.conference.code}
    )
    assert produce_url in owner_page
    supervisor_page = login(supervisor_of(full_kka)).get(page_url).content.decode()
    assert reverse("documents:download", kwargs={"code": document.code}) in supervisor_page
    assert produce_url not in supervisor_page


def test_record_access_from_the_portal_names_the_participant(full_kka: FullKka) -> None:
    document = produce_attendance(full_kka)
    participant: Participant = full_kka.participants[0]
    services.record_access(document=document, channel="portal", participant=participant)
    access = DocumentAccess.objects.get()
    assert access.participant == participant and access.user is None
    event = AuditEvent.objects.get(action="document.accessed")
    assert event.refs["participant"] == participant.code
    assert participant.full_name not in str(event.refs)
    with pytest.raises(ValueError):
        services.record_access(document=document, channel="fax")


def test_footer_hash_is_the_registers_hash(full_kka: FullKka) -> None:
    """The 12 characters printed at the foot of every page identify the register row."""
    document = produce_attendance(full_kka)
    assert len(document.content_hash) == 64 and document.content_hash != document.sha256
    pages = [squash(page) for page in pdf_pages_text(services.document_bytes(document))]
    assert pages and all(document.short_hash in page for page in pages)


def test_a_draft_never_becomes_a_final_document(full_kka: FullKka) -> None:
    """Minutes not finalised print "(DRAF)": such a document cannot be frozen as final,
    neither when produced nor afterwards."""
    from kka.conferences.models import Minutes

    Minutes.objects.filter(conference=full_kka.conference).update(finalised_at=None)
    owner = full_kka.world.counsellor
    with pytest.raises(ValidationError):
        services.produce(
            actor=owner, kind="notulen", fmt="pdf", conference=full_kka.conference, finalise=True
        )
    draft = services.produce(actor=owner, kind="notulen", fmt="pdf", conference=full_kka.conference)
    assert draft.draft and "(DRAF)" in pdf_text(services.document_bytes(draft))
    with pytest.raises(ValidationError):
        services.finalise(actor=owner, document=draft)
    draft.refresh_from_db()
    assert draft.finalised_at is None
