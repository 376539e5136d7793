"""RPL — Rencana Pelaksanaan Layanan for a KKA (kegiatan pendukung: konferensi kasus).

The same record as the SATKUNG, in the layout newer schools use: components of the
service, then the activity in three stages (awal / inti / penutup) built from the
structuring the counsellor reads, the meeting's agenda and the evaluation plan, then
process and result evaluation. Confidential like the SATKUNG.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.conferences.asas import DEFAULT_STRUCTURING
from kka.conferences.models import Conference
from kka.documents import common
from kka.documents.blocks import Doc, Fields, Heading, Paragraph, Spacer
from kka.documents.kinds import satkung
from kka.documents.registry import Kind, Subject, register

SERVICE_COMPONENT = "Layanan dukungan sistem / kegiatan pendukung"
METHOD = (
    "Konferensi kasus: diskusi terbatas, curah pendapat dan tanya jawab antarpihak terkait, "
    "penyepakatan peran dan komitmen"
)
SCHEMES = {
    "uca": "UCA (pemahaman baru, perasaan, rencana tindakan)",
    "bmb3": "BMB3 (berpikir, merasa, bersikap, bertindak, bertanggung jawab)",
}
REFERENCES = (
    "Prayitno dan Erman Amti. 2004. Dasar-Dasar Bimbingan dan Konseling. Jakarta: Rineka Cipta.",
    "Kemendikbud. 2016. Panduan Operasional Penyelenggaraan Bimbingan dan Konseling.",
    "Permendikbud Nomor 111 Tahun 2014 tentang Bimbingan dan Konseling.",
)

# (label, field name); the "A. Komponen layanan" rows
COMPONENT_ROWS = (
    ("Komponen layanan", "komponen_layanan"),
    ("Bidang layanan", "bidang_layanan"),
    ("Fungsi layanan", "fungsi_layanan"),
    ("Tujuan", "tujuan"),
    ("Topik / tema", "topik"),
    ("Sasaran layanan", "sasaran"),
    ("Metode dan teknik", "metode_dan_teknik"),
    ("Waktu", "waktu"),
    ("Tempat", "tempat"),
    ("Media / alat", "media_alat"),
    ("Tanggal", "tanggal"),
    ("Penyelenggara", "penyelenggara"),
    ("Sumber", "sumber"),
)
ACTIVITY_ROWS = (
    ("a", "Tahap awal", "tahap_awal"),
    ("", "Teks penstrukturan", "teks_penstrukturan"),
    ("b", "Tahap inti", "tahap_inti"),
    ("c", "Tahap penutup", "tahap_penutup"),
)
EVALUATION_ROWS = (
    ("a", "Evaluasi proses", "evaluasi_proses"),
    ("b", "Evaluasi hasil", "evaluasi_hasil"),
)


def school_year(day: dt.date) -> str:
    """ "2026/2027 (ganjil)": the Indonesian school year starts in July."""
    first = day.year if day.month >= 7 else day.year - 1
    semester = "ganjil" if day.month >= 7 else "genap"
    return f"{first}/{first + 1} (semester {semester})"


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{n}. {line}" for n, line in enumerate(filter(None, lines), start=1))


def duration_text(organisation: Any, conference: Conference) -> str:
    """ "90 menit (09.00 s.d. 10.30 WIB)", or the start only."""
    if conference.starts_at is None:
        return "Belum ditentukan"
    hours = satkung.time_range(organisation, conference)
    if conference.ends_at is None:
        return hours
    minutes = int((conference.ends_at - conference.starts_at).total_seconds() // 60)
    return f"{minutes} menit ({hours})"


def target_text(conference: Conference, subject_name: str) -> str:
    lines = [f"Pihak terkait yang membantu penanganan masalah {subject_name}:"]
    lines += [
        f"{n}. {satkung.participant_line(p)}"
        for n, p in enumerate(satkung.planned_participants(conference), start=1)
    ]
    return "\n".join(lines)


def media_text() -> str:
    items = [
        "Bahan dan keterangan yang dibawa ke dalam KKA (lihat sumber)",
        "Daftar hadir dan pernyataan kerahasiaan peserta",
        "Format notulen",
        "Format penilaian segera (laiseg)",
    ]
    return numbered(items)


def early_stage() -> str:
    return numbered(
        [
            "Konselor membuka pertemuan: salam, doa, dan ucapan terima kasih atas kehadiran "
            "peserta; perkenalan singkat.",
            "Memastikan setiap peserta telah menyatakan komitmen kerahasiaan.",
            "Penstrukturan: konselor menyampaikan tujuan pertemuan dan aturan bersama "
            "(teks penstrukturan).",
        ]
    )


def structuring_text(organisation: Any) -> str:
    """What the counsellor reads at the start: the organisation's own text or the default."""
    return (organisation.structuring_text or str(DEFAULT_STRUCTURING)).strip()


def core_stage(conference: Conference) -> str:
    client = {
        "absent": "Konseli tidak hadir dalam pertemuan.",
        "part": "Konseli hadir pada sebagian pertemuan.",
        "throughout": "Konseli hadir sepanjang pertemuan.",
    }.get(conference.client_participation, "")
    return numbered(
        [
            "Konselor memaparkan kasus secara ringkas tanpa menonjolkan nama dan identitas "
            "konseli.",
            "Setiap peserta menyampaikan informasi, pandangan, dan kemudahan yang dapat diberikan.",
            "Membahas tafsiran masalah dan alternatif penanganan secara terbuka, tanpa "
            "membicarakan konseli secara negatif.",
            "Menyepakati peran dan komitmen setiap pihak (siapa, apa, sampai kapan).",
            client,
        ]
    )


def closing_stage() -> str:
    return numbered(
        [
            "Konselor menyimpulkan hasil pembahasan, arah penanganan, dan komitmen setiap pihak.",
            "Penilaian segera (laiseg) oleh peserta.",
            "Menyampaikan rencana tindak lanjut dan pertemuan berikutnya bila diperlukan.",
            "Menegaskan kembali kerahasiaan, lalu menutup pertemuan dengan ucapan terima kasih "
            "dan doa.",
        ]
    )


def fields(subject: Subject) -> dict[str, str]:
    conference: Conference = subject.conference
    organisation = subject.organisation
    plan = satkung.plan_fields(subject)
    with translation.override("id"):
        scheme = SCHEMES.get(organisation.evaluation_scheme, SCHEMES["uca"])
        return {
            **plan,
            "tahun_ajaran": (
                school_year(
                    satkung.local_day(organisation, conference.starts_at)
                    if conference.starts_at
                    else common.today(organisation)
                )
                if organisation.setting in ("sekolah", "madrasah")
                else ""
            ),
            "komponen_layanan": SERVICE_COMPONENT,
            "bidang_layanan": plan["bidang_bimbingan"],
            "fungsi_layanan": plan["fungsi_kegiatan"],
            "tujuan": (
                f"Tujuan umum: {plan['tujuan_kegiatan']}\n"
                f"Tujuan khusus: {plan['hasil_yang_ingin_dicapai']}"
            ),
            "topik": plan["topik_permasalahan"],
            "sasaran": target_text(conference, plan["subjek"]),
            "metode_dan_teknik": METHOD,
            "waktu": duration_text(organisation, conference),
            "media_alat": media_text(),
            "tanggal": plan["tanggal_pertemuan"],
            "sumber": "Bahan yang dibawa:\n"
            + plan["bahan_dan_keterangan"]
            + "\nRujukan:\n"
            + numbered(list(REFERENCES)),
            "tahap_awal": early_stage(),
            "teks_penstrukturan": structuring_text(organisation),
            "tahap_inti": core_stage(conference),
            "tahap_penutup": closing_stage(),
            "evaluasi_proses": (
                "Diamati konselor selama dan sesudah pertemuan: partisipasi dan keterbukaan "
                "peserta, suasana pertemuan, dan kesesuaian pelaksanaan dengan rencana."
            ),
            "evaluasi_hasil": (
                f"Penilaian segera dengan skema {scheme}.\n{plan['rencana_penilaian']}"
            ),
        }


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(
        kind="rpl",
        title="RPL Konferensi Kasus",
        confidential=True,
        produced_for=subject.viewer.full_name,
        date_text=values["tanggal_dokumen"],
    )
    identity = [
        ("", "Lembaga", values["nama_lembaga"]),
        ("", "Pelaksana", f"{values['nama_konselor']}, {values['jabatan_konselor']}"),
    ]
    if values["tahun_ajaran"]:
        identity.insert(1, ("", "Tahun ajaran", values["tahun_ajaran"]))
    doc.add(
        Heading("RENCANA PELAKSANAAN LAYANAN (RPL)", level=1, centred=True),
        Heading("KEGIATAN PENDUKUNG: KONFERENSI KASUS", level=2, centred=True),
        Spacer(),
        Fields(tuple(identity)),
        Heading("A. Komponen layanan", level=3),
        Fields(tuple(("", label, values[name]) for label, name in COMPONENT_ROWS)),
        Heading("B. Uraian kegiatan", level=3),
        Fields(tuple((code, label, values[name]) for code, label, name in ACTIVITY_ROWS)),
        Heading("C. Evaluasi", level=3),
        Fields(tuple((code, label, values[name]) for code, label, name in EVALUATION_ROWS)),
        Paragraph(
            "Rencana ini bersifat rahasia dan hanya untuk arsip konselor.",
            italic=True,
            small=True,
            align="left",
        ),
        Spacer(),
        satkung.plan_signatures(subject),
    )
    return doc


FIELD_HELP: dict[str, Any] = {
    **satkung.FIELD_HELP,
    "tahun_ajaran": _("Tahun ajaran dan semester (hanya sekolah dan madrasah)"),
    "komponen_layanan": _("Komponen layanan"),
    "bidang_layanan": _("Bidang layanan"),
    "fungsi_layanan": _("Fungsi layanan"),
    "tujuan": _("Tujuan umum dan tujuan khusus"),
    "topik": _("Topik / tema"),
    "sasaran": _("Sasaran layanan: pihak terkait yang diikutsertakan"),
    "metode_dan_teknik": _("Metode dan teknik"),
    "waktu": _("Lama dan jam pertemuan"),
    "media_alat": _("Media / alat"),
    "tanggal": _("Tanggal pelaksanaan"),
    "sumber": _("Sumber: bahan yang dibawa dan rujukan"),
    "tahap_awal": _("Uraian kegiatan: tahap awal (pembukaan dan penstrukturan)"),
    "teks_penstrukturan": _("Teks penstrukturan yang dibacakan konselor"),
    "tahap_inti": _("Uraian kegiatan: tahap inti"),
    "tahap_penutup": _("Uraian kegiatan: tahap penutup"),
    "evaluasi_proses": _("Evaluasi proses"),
    "evaluasi_hasil": _("Evaluasi hasil"),
}

register(
    Kind(
        code="rpl",
        title=_("RPL Konferensi Kasus"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
    )
)
