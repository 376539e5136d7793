"""Laporan Pelaksanaan Konferensi Kasus: the seven components of DOMAIN §2.6.

Each component is the counsellor's narrative where they edited it on the report page
(``conferences:report``), otherwise the text KKA writes from the record
(``kka.conferences.report.report_defaults``). Submitted to the head of the
institution, so it closes with "Mengetahui, <head>" and the counsellor. Confidential
(about a client; the client is named by initials only), and never holds the
counsellor's private notes. A report not yet finalised prints "DRAF" in its title
and cannot be produced as a final document.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.cases import selectors as case_selectors
from kka.conferences import report as record
from kka.conferences.models import Conference
from kka.documents import common
from kka.documents.blocks import Block, Doc, Fields, Heading, Paragraph, Signatures, Spacer
from kka.documents.kinds.notulen import (
    SIGNER_HELP,
    counsellor_of,
    refuse_final_draft,
    signer_fields,
)
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

# component (Report field) -> (letter, heading, field name for templates)
SECTIONS = (
    ("jenis_kegiatan", "A", "Jenis kegiatan", "jenis_kegiatan"),
    ("waktu", "B", "Waktu", "waktu"),
    ("sasaran", "C", "Sasaran", "sasaran"),
    ("hasil", "D", "Hasil yang dicapai", "hasil_yang_dicapai"),
    ("analisis", "E", "Analisis hasil penilaian proses dan hasil", "analisis_hasil"),
    ("tindak_lanjut", "F", "Rencana tindak lanjut", "rencana_tindak_lanjut"),
    ("faktor", "G", "Faktor pendukung dan penghambat", "faktor_pendukung_penghambat"),
)


def fields(subject: Subject) -> dict[str, str]:
    conference: Conference = subject.conference
    organisation = subject.organisation
    saved = record.report_for(conference)
    final = saved is not None and saved.finalised_at is not None
    refuse_final_draft(
        subject, final, _("Laporan belum difinalkan: hanya dapat dibuat sebagai draf.")
    )
    texts = record.report_texts(conference)
    day = None
    if final and saved is not None and saved.finalised_at is not None:
        day = dates.local(saved.finalised_at, organisation.time_zone).date()
    with translation.override("id"):
        values = {
            **signer_fields(subject, day=day),
            "judul": "Laporan Pelaksanaan Konferensi Kasus" + ("" if final else " (DRAF)"),
            "status_laporan": (
                f"Final, {common.moment_text(organisation, saved.finalised_at)}"
                if final and saved is not None
                else "Draf (belum difinalkan)"
            ),
            "kode_kka": conference.code,
            "kka_ke": str(conference.sequence),
            "bidang_bimbingan": case_selectors.bidang_label(organisation, conference.bidang),
            "subjek": record.pseudonym(conference.case.client),
        }
        for component, _letter, _heading, name in SECTIONS:
            values[name] = texts[component].strip() or "-"
    return values


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(
        kind="laporan",
        title=values["judul"],
        confidential=True,
        produced_for=subject.viewer.full_name,
        date_text=values["tanggal_dokumen"],
        draft=values["judul"].endswith("(DRAF)"),
    )
    blocks: list[Block] = [
        Heading(values["judul"].upper(), level=1, centred=True),
        Paragraph(values["nama_lembaga"], align="centre"),
        Spacer(),
        Fields(
            (
                ("", "KKA ke-", values["kka_ke"]),
                ("", "Bidang bimbingan", values["bidang_bimbingan"]),
                ("", "Subjek", values["subjek"]),
                ("", "Status laporan", values["status_laporan"]),
            )
        ),
    ]
    for _component, letter, heading, name in SECTIONS:
        blocks += [Heading(f"{letter}. {heading}"), Paragraph(values[name], align="left")]
    closing = common.signatures(subject.organisation, counsellor_of(subject))
    blocks += [Spacer(), Signatures(place_date=values["tanggal_surat"], blocks=closing.blocks)]
    doc.add(*blocks)
    return doc


FIELD_HELP: dict[str, Any] = {
    **SIGNER_HELP,
    "judul": _("Judul, dengan “(DRAF)” bila laporan belum difinalkan"),
    "status_laporan": _("Final (dengan waktunya) atau draf"),
    "kode_kka": _("Kode KKA (bukan identitas konseli)"),
    "kka_ke": _("Urutan KKA dalam kasus ini"),
    "bidang_bimbingan": _("Bidang bimbingan"),
    "subjek": _("Konseli, hanya dengan inisial"),
    "jenis_kegiatan": _("A. Jenis kegiatan"),
    "waktu": _("B. Waktu"),
    "sasaran": _("C. Sasaran"),
    "hasil_yang_dicapai": _("D. Hasil yang dicapai"),
    "analisis_hasil": _("E. Analisis hasil penilaian proses dan hasil"),
    "rencana_tindak_lanjut": _("F. Rencana tindak lanjut"),
    "faktor_pendukung_penghambat": _("G. Faktor pendukung dan penghambat"),
}

register(
    Kind(
        code="laporan",
        title=_("Laporan pelaksanaan konferensi kasus"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
    )
)
