"""Every registered document kind, every edition, in both formats, for the demo KKA:
qpdf passes, fonts are embedded, the letterhead is there, LibreOffice opens the DOCX,
confidential ones say RAHASIA and for whom on every page, and the documents an outside
participant may receive hold none of the case's secrets."""

from __future__ import annotations

from typing import Any

import pytest

from kka.documents import registry
from kka.documents.management.preview import DemoKka, build_demo_kka, produce_all
from tests.documents.util import (
    docx_text,
    libreoffice_to_pdf,
    pdf_fonts_all_embedded,
    pdf_pages_text,
    qpdf_check,
    squash,
)

pytestmark = pytest.mark.django_db

# Kinds given to participants outside the counselling team: no description, no
# private notes, no client name.
OUTSIDE_SAFE = {"undangan", "undangan_semua", "daftar_hadir", "pernyataan_kerahasiaan"}
DESCRIPTION = "Deskripsi rahasia KANARI-DESK-4J8P"
PRIVATE = "Catatan pribadi KANARI-PRIV-2W6T"


@pytest.fixture
def demo_kka() -> DemoKka:
    from kka.cases.models import Case
    from kka.conferences import meeting

    kka = build_demo_kka()
    Case.objects.filter(pk=kka.conference.case_id).update(description=DESCRIPTION)
    meeting.minutes_addendum_add(
        actor=kka.counsellor, conference=kka.conference, layer="private", text=PRIVATE, reason="uji"
    )
    return kka


def _by_kind(results: list[Any]) -> dict[tuple[str, str], bytes]:
    missing = [(r.kind, r.edition, r.problem) for r in results if r.data is None]
    assert missing == [], missing
    return {(r.kind, r.edition): r.data for r in results}


def test_every_kind_in_both_formats(demo_kka: DemoKka) -> None:
    kinds = registry.load_all()
    assert len(kinds) >= 14
    pdfs = _by_kind(produce_all(demo_kka, fmt="pdf", editions=True))
    docxs = _by_kind(produce_all(demo_kka, fmt="docx", editions=True))
    expected = {(code, edition) for code, kind in kinds.items() for edition in kind.editions}
    assert set(pdfs) == expected and set(docxs) == expected
    organisation = demo_kka.organisation.name.upper()
    client = demo_kka.conference.case.client.full_name
    for (code, edition), pdf in sorted(pdfs.items()):
        label = f"{code}/{edition or '-'}"
        qpdf_check(pdf)
        assert pdf_fonts_all_embedded(pdf), label
        pages = [squash(page) for page in pdf_pages_text(pdf)]
        assert organisation in pages[0].upper(), label
        docx = docx_text(docxs[(code, edition)])
        assert organisation in squash(docx).upper(), label
        if kinds[code].confidential:
            for n, page in enumerate(pages, 1):
                assert "RAHASIA" in page and "Dibuat untuk" in page, (label, n)
            assert "RAHASIA" in docx, label
        if code in OUTSIDE_SAFE:
            for text in (" ".join(pages), docx):
                assert "KANARI" not in text, label
                assert client not in text, label
        if code == "notulen" and edition == "":
            assert "KANARI-PRIV" not in " ".join(pages) and "KANARI-PRIV" not in docx
        if code == "notulen" and edition == "rahasia":
            assert "KANARI-PRIV" in " ".join(pages)


def test_every_docx_opens_in_libreoffice(demo_kka: DemoKka) -> None:
    for result in produce_all(demo_kka, fmt="docx", editions=True):
        assert result.data is not None, (result.kind, result.problem)
        converted = libreoffice_to_pdf(result.data)
        qpdf_check(converted)
        text = squash(" ".join(pdf_pages_text(converted))).upper()
        assert demo_kka.organisation.name.upper() in text, result.kind
