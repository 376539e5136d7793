"""The renderers: one Doc to PDF (WeasyPrint) and DOCX (python-docx), checked with real
tools (qpdf, pdftotext, pdffonts, LibreOffice)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.utils import translation
from pypdf import PdfReader

from kka.documents import render
from kka.documents.blocks import (
    BulletList,
    Doc,
    Fields,
    Heading,
    LetterHead,
    PageBreak,
    Paragraph,
    Signature,
    Signatures,
    Spacer,
    Table,
)
from kka.documents.registry import Subject, get
from kka.lib import private_files
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka
from tests.documents.util import (
    docx_text,
    libreoffice_to_pdf,
    pdf_fonts_all_embedded,
    pdf_pages_text,
    pdf_text,
    qpdf_check,
    squash,
)

pytestmark = pytest.mark.django_db

COLUMNS = ("No", "Nama", "Jabatan/Peran", "Instansi", "Kerahasiaan", "Tanda tangan")
RECIPIENT = 'Bapak Hendro "Susilo" </style> <b>S.Pd.</b>'
# The word on its own (the demo school is "SMP Uji Kerahasiaan").
MARK = re.compile(r"\bRAHASIA\b")


def attendance_doc(full_kka: FullKka, edition: str = "") -> Doc:
    kind = get("daftar_hadir")
    subject = Subject(
        organisation=full_kka.world.org,
        viewer=full_kka.world.counsellor,
        case=full_kka.case,
        conference=full_kka.conference,
        edition=edition,
    )
    return kind.build(subject, kind.fields(subject))


def names(full_kka: FullKka) -> list[str]:
    return [p.full_name for p in full_kka.participants if p.removed_at is None]


def long_confidential_doc() -> Doc:
    doc = Doc(
        kind="uji",
        title="Dokumen uji rahasia",
        confidential=True,
        produced_for=RECIPIENT,
        number="007/BK/XI/2026",
        date_text="Senin, 30 November 2026",
    )
    doc.add(
        Heading("Notulen uji", level=1, centred=True),
        LetterHead(
            number="007/BK/XI/2026",
            subject="Uji perihal",
            addressee=("Yth. Bapak/Ibu Uji", "di tempat"),
        ),
        Fields(rows=(("A", "Topik", "Uji"), ("B", "Bidang", "Pribadi"))),
        BulletList(items=("satu", "dua"), numbered=True),
        BulletList(items=("butir",)),
        Spacer(2),
    )
    for n in range(1, 70):
        doc.add(Paragraph(f"Paragraf uji nomor {n}. " + "Isi panjang untuk mengisi halaman. " * 6))
        if n == 30:
            doc.add(PageBreak(), Heading("Bagian kedua", level=2), Heading("Sub", level=3))
    doc.add(
        Table(columns=("No", "Isi"), rows=(("1.", "a"),), widths=(1, 5), blank_rows=2),
        Signatures(
            place_date="Bandung, 30 November 2026",
            blocks=(
                Signature(("Mengetahui,", "Kepala Sekolah,"), "Dra. Kepala", "NIP", "123"),
                Signature(("Konselor,",), "Konselor Uji"),
                Signature(("Orang tua,",), "Wali Uji"),
            ),
        ),
    )
    return doc


# --- daftar hadir, the reference kind ----------------------------------------------------


def test_attendance_pdf_has_every_participant_column_letterhead_and_footer(
    full_kka: FullKka,
) -> None:
    doc = attendance_doc(full_kka)
    pdf = render.render_pdf(doc, full_kka.world.org)
    qpdf_check(pdf)
    text = squash(pdf_text(pdf))
    assert names(full_kka)
    for name in names(full_kka):
        assert squash(name) in text
    for column in COLUMNS:
        assert column in text
    assert full_kka.world.org.name.upper() in text  # kop surat
    assert "Jl. Pendidikan No. 7, Sukamaju, Bandung" in text
    assert "Telp. 022-1234567" in text
    assert render.short_hash(doc) in text
    assert len(render.short_hash(doc)) == 12
    assert "Halaman 1 dari 1" in text
    assert doc.date_text in text
    assert "Dra. Sri Wahyuni, M.Pd." in text and "NIP. 196805121993032004" in text
    # pledges as recorded by the demo (online, on device, on paper)
    assert "online" in text and "di perangkat" in text and "kertas" in text
    # blank numbered rows for walk-ins follow the participants
    assert f"{len(names(full_kka)) + 3}." in text
    assert DESCRIPTION_CANARY not in text and PRIVATE_CANARY not in text
    assert full_kka.conference.topic not in text  # only the neutral activity line
    assert not MARK.search(text)
    fonts = pdf_fonts_all_embedded(pdf)
    assert any("Noto-Serif" in font for font in fonts)


def test_attendance_docx_same_content_and_converts_with_libreoffice(full_kka: FullKka) -> None:
    doc = attendance_doc(full_kka)
    docx = render.render_docx(doc, full_kka.world.org)
    text = squash(docx_text(docx))
    for name in names(full_kka):
        assert squash(name) in text
    for column in COLUMNS:
        assert column in text
    assert full_kka.world.org.name.upper() in text
    assert render.short_hash(doc) in text
    assert "Halaman" in text
    assert DESCRIPTION_CANARY not in text and PRIVATE_CANARY not in text
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        xml = archive.read("word/footer1.xml").decode()
    assert "PAGE" in xml and "NUMPAGES" in xml
    converted = libreoffice_to_pdf(docx)
    qpdf_check(converted)
    pages = pdf_pages_text(converted)
    converted_text = squash("\n".join(pages))
    for name in names(full_kka):
        assert squash(name) in converted_text
    assert f"Halaman 1 dari {len(pages)}" in converted_text


def test_blank_edition_has_no_names_and_numbered_empty_rows(full_kka: FullKka) -> None:
    doc = attendance_doc(full_kka, edition="kosong")
    text = squash(pdf_text(render.render_pdf(doc, full_kka.world.org)))
    for name in names(full_kka):
        assert squash(name) not in text
    assert "1." in text and "12." in text
    assert "Tanda tangan" in text


# --- generic renderer properties ---------------------------------------------------------


def test_confidential_pdf_marks_every_page_with_rahasia_and_recipient(full_kka: FullKka) -> None:
    doc = long_confidential_doc()
    pdf = render.render_pdf(doc, full_kka.world.org)
    qpdf_check(pdf)
    pages = pdf_pages_text(pdf)
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        flat = squash(page)
        assert MARK.search(flat), number
        # quotes and markup in the name are printed as text, not interpreted
        assert f"Dibuat untuk: {RECIPIENT}" in flat, number
        assert f"Halaman {number} dari {len(pages)}" in flat
        assert f"007/BK/XI/2026 · Senin, 30 November 2026 · {render.short_hash(doc)}" in flat
    everything = squash("\n".join(pages))
    for text in ("Nomor", "Lampiran", "Perihal", "Uji perihal", "Yth. Bapak/Ibu Uji", "Wali Uji"):
        assert text in everything
    pdf_fonts_all_embedded(pdf)


def test_confidential_docx_header_on_every_page(full_kka: FullKka) -> None:
    doc = long_confidential_doc()
    docx = render.render_docx(doc, full_kka.world.org)
    import docx as python_docx

    document = python_docx.Document(io.BytesIO(docx))
    assert len(document.sections) == 1  # one section: its header is on every page
    header = squash(" ".join(p.text for p in document.sections[0].header.paragraphs))
    assert MARK.search(header) and f"Dibuat untuk: {RECIPIENT}" in header
    assert not document.sections[0].different_first_page_header_footer
    pages = pdf_pages_text(libreoffice_to_pdf(docx))
    assert len(pages) >= 3
    for page in pages:
        assert MARK.search(page) and "Dibuat untuk:" in squash(page)


def test_f4_paper_size_and_a4_default(full_kka: FullKka) -> None:
    org = full_kka.world.org
    doc = Doc(kind="uji", title="Uji", blocks=[Paragraph("Isi")])
    a4 = PdfReader(io.BytesIO(render.render_pdf(doc, org))).pages[0].mediabox
    assert float(a4.width) == pytest.approx(595.3, abs=0.5)
    assert float(a4.height) == pytest.approx(841.9, abs=0.5)
    org.paper_size = "F4"
    f4 = PdfReader(io.BytesIO(render.render_pdf(doc, org))).pages[0].mediabox
    assert float(f4.width) == pytest.approx(609.4, abs=0.5)
    assert float(f4.height) == pytest.approx(935.4, abs=0.5)
    import docx as python_docx

    section = python_docx.Document(io.BytesIO(render.render_docx(doc, org))).sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert round(section.page_width.mm) == 215 and round(section.page_height.mm) == 330


def test_logo_is_embedded_from_private_storage(full_kka: FullKka) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buffer, format="PNG")
    org = full_kka.world.org
    org.logo_stored_name = private_files.store(buffer.getvalue()).stored_name
    org.letterhead_upper = "Pemerintah Kota Bandung\nDinas Pendidikan"
    doc = Doc(kind="uji", title="Uji", blocks=[Paragraph("Isi")])
    html = render.render_html(doc, org)
    assert "data:image/png;base64," in html
    pdf = render.render_pdf(doc, org)
    assert b"/Subtype /Image" in pdf
    text = squash(pdf_text(pdf))
    assert "PEMERINTAH KOTA BANDUNG" in text and "DINAS PENDIDIKAN" in text
    docx = render.render_docx(doc, org)
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        assert any(name.startswith("word/media/") for name in archive.namelist())
    assert "DINAS PENDIDIKAN" in docx_text(docx)


def test_no_letterhead_when_the_doc_says_so(full_kka: FullKka) -> None:
    doc = Doc(kind="uji", title="Uji", blocks=[Paragraph("Isi")], letterhead=False)
    text = pdf_text(render.render_pdf(doc, full_kka.world.org))
    assert full_kka.world.org.name.upper() not in text
    assert full_kka.world.org.name.upper() not in docx_text(
        render.render_docx(doc, full_kka.world.org)
    )


def test_always_indonesian_even_for_an_english_user(full_kka: FullKka) -> None:
    doc = Doc(kind="uji", title="Uji", blocks=[Paragraph("Isi")], confidential=True)
    with translation.override("en"):
        text = pdf_text(render.render_pdf(doc, full_kka.world.org))
        docx = docx_text(render.render_docx(doc, full_kka.world.org))
    assert "Halaman 1 dari 1" in squash(text) and "Dibuat untuk" in text
    assert "Halaman" in docx and "Dibuat untuk" in docx


def test_external_resources_are_refused() -> None:
    fetcher = render._fetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("http://example.com/x.png")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher.fetch("data:text/html;base64,PGI+")
