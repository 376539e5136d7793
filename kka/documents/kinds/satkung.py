"""SATKUNG — Satuan Kegiatan Pendukung: Konferensi Kasus (the plan, fields A to Q).

An internal, confidential document for the counsellor's file: it may name the
participants (L), but the client is named as the plan names them (``Conference.subject``,
initials by default). The helpers here are shared with the RPL variant (``rpl.py``),
which is built from the same record.

Document text is always Indonesian (documents are never translated), so the labels
are plain strings; only the kind's title and field help are shown in the UI.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.cases import selectors as case_selectors
from kka.conferences import services as conference_services
from kka.conferences.models import CLIENT_CATEGORY, FUNCTIONS, Conference, Participant
from kka.documents import common
from kka.documents.blocks import Doc, Fields, Heading, Spacer
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

# (code, label, field name) in the order of the form.
SATKUNG_ROWS = (
    ("A", "Topik permasalahan", "topik_permasalahan"),
    ("B", "Bidang bimbingan", "bidang_bimbingan"),
    ("C", "Jenis kegiatan pendukung", "jenis_kegiatan"),
    ("D", "Fungsi kegiatan", "fungsi_kegiatan"),
    ("E", "Tujuan kegiatan", "tujuan_kegiatan"),
    ("F", "Hasil yang ingin dicapai", "hasil_yang_ingin_dicapai"),
    ("G", "Subjek yang mengalami masalah", "subjek"),
    ("H", "Gambaran ringkas masalah", "gambaran_masalah"),
    ("I", "Tempat penyelenggaraan", "tempat"),
    ("J", "Waktu dan tanggal", "waktu_dan_tanggal"),
    ("K", "Penyelenggara kegiatan", "penyelenggara"),
    ("L", "Pihak yang diikutsertakan dan perannya", "pihak_diikutsertakan"),
    ("M", "Bahan dan keterangan yang dibawa ke dalam KKA", "bahan_dan_keterangan"),
    ("N", "Penggunaan hasil pertemuan", "penggunaan_hasil"),
    ("O", "Rencana penilaian dan tindak lanjut", "rencana_penilaian"),
    ("P", "Keterkaitan dengan layanan/kegiatan lain", "keterkaitan_layanan"),
    ("Q", "Catatan khusus", "catatan_khusus"),
)
EMPTY = "-"
KIND_OF_ACTIVITY = "Konferensi kasus"

# Shared by every plan-based kind (SATKUNG, RPL): what an own template may use.
COMMON_HELP: dict[str, Any] = {
    "nama_lembaga": _("Nama lembaga"),
    "kota": _("Kota atau kabupaten lembaga"),
    "tanggal_surat": _('Baris tempat dan tanggal, misalnya "Bandung, 30 November 2026"'),
    "tanggal_dokumen": _("Tanggal pembuatan dokumen"),
    "kode_kka": _("Kode KKA (bukan identitas konseli)"),
    "nama_konselor": _("Nama konselor penanggung jawab kasus"),
    "nip_konselor": _("NIP atau nomor pegawai konselor"),
    "jabatan_konselor": _("Sebutan konselor, misalnya Guru Bimbingan dan Konseling"),
    "jabatan_pimpinan": _("Jabatan pimpinan yang menandatangani “Mengetahui”"),
    "nama_pimpinan": _("Nama pimpinan lembaga"),
    "nip_pimpinan": _("NIP pimpinan lembaga"),
}


def text(value: str | None) -> str:
    """A plan text, or "-" when empty (a form never leaves a field blank)."""
    value = (value or "").strip()
    return value or EMPTY


def function_labels(conference: Conference) -> str:
    labels = [str(label) for key, label in FUNCTIONS if key in (conference.functions or [])]
    return ", ".join(labels) or EMPTY


def time_range(organisation: Any, conference: Conference) -> str:
    """ "09.00 s.d. 10.30 WIB", "09.00 WIB s.d. selesai", or "-"."""
    if conference.starts_at is None:
        return EMPTY
    start = common.time_text(organisation, conference.starts_at)
    if conference.ends_at is None:
        return f"{start} s.d. selesai"
    end = common.time_text(organisation, conference.ends_at)
    return f"{start.rsplit(' ', 1)[0]} s.d. {end}"


def when_text(organisation: Any, conference: Conference) -> str:
    """ "Senin, 30 November 2026, pukul 09.00 s.d. 10.30 WIB" (or what is known)."""
    if conference.starts_at is None:
        return "Belum ditentukan"
    day = day_text(organisation, conference.starts_at)
    return f"{day}, pukul {time_range(organisation, conference)}"


def local_day(organisation: Any, moment: dt.datetime) -> dt.date:
    return dates.local(moment, organisation.time_zone).date()


def day_text(organisation: Any, moment: dt.datetime) -> str:
    """ "Senin, 30 November 2026" for a moment, in the organisation's zone."""
    return common.date_text(organisation, local_day(organisation, moment))


def planned_participants(conference: Conference) -> list[Participant]:
    """The parties the plan invites: not removed, not walk-ins added at the meeting."""
    return list(conference.participants.filter(removed_at__isnull=True, walk_in=False))


def client_name(conference: Conference) -> str:
    """How the plan names the client: its subject (G), initials by default."""
    with translation.override("id"):
        return conference.subject.strip() or conference_services.pseudonym(conference.case)


def participant_line(participant: Participant) -> str:
    """ "Hendro Susilo, S.Pd. — Wali kelas VIII A (SMP Negeri 7)"; the client taking
    part is named as the plan names them, never by full name."""
    role = participant.role
    if participant.institution:
        role = f"{role} ({participant.institution})"
    if participant.category == CLIENT_CATEGORY:
        return f"{client_name(participant.conference)} — {role}"
    return f"{participant.full_name} — {role}"


def participants_text(conference: Conference) -> str:
    lines = [
        f"{n}. {participant_line(p)}"
        for n, p in enumerate(planned_participants(conference), start=1)
    ]
    lines.append(
        "Keikutsertaan konseli: " + str(conference.get_client_participation_display()).lower()
    )
    return "\n".join(lines)


def materials_text(conference: Conference) -> str:
    """The records chosen for the KKA (date and source, never their content) and the
    counsellor's note on other material."""
    lines = [
        f"- {common.plain_date(r.occurred_on)}: {r.get_source_display()}"
        for r in conference.records.order_by("occurred_on", "id")
    ]
    if conference.materials_note.strip():
        lines.append(conference.materials_note.strip())
    return "\n".join(lines) or EMPTY


def counsellor_of(subject: Subject) -> Any:
    """Who signs as counsellor: the case's counsellor (the viewer if none is known)."""
    conference = subject.conference or getattr(subject.participant, "conference", None)
    case = subject.case or (conference.case if conference is not None else None)
    return case.owner if case is not None else subject.viewer


def signer_fields(subject: Subject) -> dict[str, str]:
    organisation = subject.organisation
    counsellor = counsellor_of(subject)
    conference = subject.conference or getattr(subject.participant, "conference", None)
    return {
        "kode_kka": conference.code if conference is not None else "",
        "nama_lembaga": organisation.name,
        "kota": organisation.city,
        "tanggal_surat": common.place_date(organisation),
        "tanggal_dokumen": common.date_text(organisation),
        "nama_konselor": counsellor.full_name,
        "nip_konselor": counsellor.staff_number,
        "jabatan_konselor": common.COUNSELLOR_TITLE.get(organisation.setting, "Konselor"),
        "jabatan_pimpinan": common.head_title(organisation),
        "nama_pimpinan": organisation.head_name,
        "nip_pimpinan": organisation.head_staff_number,
    }


def plan_fields(subject: Subject) -> dict[str, str]:
    """The fields of the plan, in Indonesian whatever the viewer's language."""
    conference: Conference = subject.conference
    organisation = subject.organisation
    with translation.override("id"):
        return {
            **signer_fields(subject),
            "topik_permasalahan": text(conference.topic),
            "bidang_bimbingan": case_selectors.bidang_label(organisation, conference.bidang),
            "jenis_kegiatan": KIND_OF_ACTIVITY,
            "fungsi_kegiatan": function_labels(conference),
            "tujuan_kegiatan": text(conference.aim),
            "hasil_yang_ingin_dicapai": text(conference.expected_results),
            "subjek": client_name(conference),
            "gambaran_masalah": text(conference.summary),
            "tempat": text(conference.place),
            "waktu_dan_tanggal": when_text(organisation, conference),
            "tanggal_pertemuan": (
                day_text(organisation, conference.starts_at) if conference.starts_at else EMPTY
            ),
            "jam_pertemuan": time_range(organisation, conference),
            "penyelenggara": text(conference.organiser),
            "pihak_diikutsertakan": participants_text(conference),
            "keikutsertaan_konseli": str(conference.get_client_participation_display()),
            "bahan_dan_keterangan": materials_text(conference),
            "penggunaan_hasil": text(conference.use_of_results),
            "rencana_penilaian": text(conference.evaluation_plan),
            "keterkaitan_layanan": text(conference.related_activities),
            "catatan_khusus": text(conference.special_notes),
        }


def plan_signatures(subject: Subject) -> Any:
    return common.signatures(subject.organisation, counsellor_of(subject))


def fields(subject: Subject) -> dict[str, str]:
    return plan_fields(subject)


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(
        kind="satkung",
        title="SATKUNG Konferensi Kasus",
        confidential=True,
        produced_for=subject.viewer.full_name,
        date_text=values["tanggal_dokumen"],
    )
    doc.add(
        Heading("SATUAN KEGIATAN PENDUKUNG (SATKUNG)", level=1, centred=True),
        Heading("KONFERENSI KASUS", level=2, centred=True),
        Spacer(),
        Fields(tuple((code, label, values[name]) for code, label, name in SATKUNG_ROWS)),
        Spacer(),
        plan_signatures(subject),
    )
    return doc


FIELD_HELP: dict[str, Any] = {
    **COMMON_HELP,
    # Existing labels of the plan form where they fit.
    "topik_permasalahan": _("A. Topik permasalahan"),
    "bidang_bimbingan": _("B. Bidang bimbingan"),
    "jenis_kegiatan": _("C. Jenis kegiatan"),
    "fungsi_kegiatan": _("D. Fungsi kegiatan"),
    "tujuan_kegiatan": _("E. Tujuan kegiatan"),
    "hasil_yang_ingin_dicapai": _("F. Hasil yang ingin dicapai"),
    "subjek": _("G. Subjek yang mengalami masalah"),
    "gambaran_masalah": _("H. Gambaran ringkas masalah"),
    "tempat": _("I. Tempat penyelenggaraan"),
    "waktu_dan_tanggal": _("J. Hari, tanggal dan jam pertemuan"),
    "tanggal_pertemuan": _("Hari dan tanggal pertemuan"),
    "jam_pertemuan": _("Jam pertemuan, misalnya 09.00 s.d. 10.30 WIB"),
    "penyelenggara": _("K. Penyelenggara kegiatan"),
    "pihak_diikutsertakan": _("L. Pihak yang diikutsertakan"),
    "keikutsertaan_konseli": _("Keikutsertaan konseli"),
    "bahan_dan_keterangan": _("M. Bahan dan keterangan yang dibawa"),
    "penggunaan_hasil": _("N. Penggunaan hasil pertemuan"),
    "rencana_penilaian": _("O. Rencana penilaian dan tindak lanjut"),
    "keterkaitan_layanan": _("P. Keterkaitan dengan kegiatan lain"),
    "catatan_khusus": _("Q. Catatan khusus"),
}

register(
    Kind(
        code="satkung",
        title=_("SATKUNG Konferensi Kasus"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
    )
)
