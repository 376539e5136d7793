"""Notulen Konferensi Kasus: the minutes of one KKA, in two editions.

- ``""`` (the shared edition): the identity of the meeting, attendance, the case
  summary with the client named by initials only, the shared minutes text, data
  wanted and obtained, conclusions, directions, each party's commitments, the
  follow-up decision, the next meeting and the shared addenda. It holds NO private
  text: not the counsellor's private notes, not private addenda, not follow-up notes,
  not the case's own description.
- ``"rahasia"`` (counsellor-only): everything in the shared edition plus the private
  notes, the private addenda and the follow-up notes.

Both are confidential (they are about a client): "RAHASIA" and the person the copy
was produced for are on every page. Minutes not yet finalised print "DRAF" in the
title and cannot be produced as a final document.

The helpers at the bottom (signer fields, date lines) are shared with the laporan,
komitmen and pernyataan kerahasiaan kinds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.conferences import report as record
from kka.conferences.followup import conference_local_date
from kka.conferences.models import (
    Attendance,
    Conference,
    DataNeeds,
    FollowUpKind,
    Minutes,
    MinutesAddendum,
)
from kka.documents import common
from kka.documents.blocks import (
    Block,
    Doc,
    Fields,
    Heading,
    Paragraph,
    Signature,
    Signatures,
    Spacer,
    Table,
)
from kka.documents.registry import Kind, Subject, register

EMPTY = "-"
RAHASIA = "rahasia"


# --- helpers shared by this app's kinds -------------------------------------------------------


def text(value: str | None) -> str:
    value = (value or "").strip()
    return value or EMPTY


def conference_of(subject: Subject) -> Conference:
    if subject.conference is not None:
        return subject.conference  # type: ignore[no-any-return]
    return subject.participant.conference  # type: ignore[no-any-return]


def counsellor_of(subject: Subject) -> Any:
    """Who signs as counsellor: the case's counsellor."""
    return conference_of(subject).case.owner


def meeting_day(subject: Subject) -> dt.date:
    """The KKA's day in the organisation's zone (today there when not set)."""
    return conference_local_date(conference_of(subject))


def signer_fields(subject: Subject, *, day: dt.date | None = None) -> dict[str, str]:
    organisation = subject.organisation
    counsellor = counsellor_of(subject)
    return {
        "nama_lembaga": organisation.name,
        "kota": organisation.city,
        "tanggal_surat": common.place_date(organisation, day),
        "tanggal_dokumen": common.date_text(organisation),
        "nama_konselor": counsellor.full_name,
        "nip_konselor": counsellor.staff_number,
        "jabatan_konselor": common.COUNSELLOR_TITLE.get(organisation.setting, "Konselor"),
        "jabatan_pimpinan": common.head_title(organisation),
        "nama_pimpinan": organisation.head_name,
        "nip_pimpinan": organisation.head_staff_number,
    }


SIGNER_HELP: dict[str, Any] = {
    "nama_lembaga": _("Nama lembaga"),
    "kota": _("Kota atau kabupaten lembaga"),
    "tanggal_surat": _('Baris tempat dan tanggal, misalnya "Bandung, 30 November 2026"'),
    "tanggal_dokumen": _("Tanggal pembuatan dokumen"),
    "nama_konselor": _("Nama konselor penanggung jawab kasus"),
    "nip_konselor": _("NIP atau nomor pegawai konselor"),
    "jabatan_konselor": _("Sebutan konselor, misalnya Guru Bimbingan dan Konseling"),
    "jabatan_pimpinan": _("Jabatan pimpinan yang menandatangani “Mengetahui”"),
    "nama_pimpinan": _("Nama pimpinan lembaga"),
    "nip_pimpinan": _("NIP pimpinan lembaga"),
}


def signer_and_witness(
    subject: Subject, place_date: str, *, signer_name: str, signer_title: str
) -> Signatures:
    """The counsellor on the left ("Mengetahui,") and the person who signs the
    statement on the right, under the date line."""
    counsellor = common.counsellor_signature(subject.organisation, counsellor_of(subject))
    witness = Signature(
        lines_above=("Mengetahui,", *counsellor.lines_above),
        name=counsellor.name,
        id_label=counsellor.id_label,
        id_value=counsellor.id_value,
    )
    signer = Signature(lines_above=(signer_title,), name=signer_name)
    return Signatures(place_date=place_date, blocks=(witness, signer))


def refuse_final_draft(subject: Subject, final: bool, message: Any) -> None:
    """A draft cannot be produced as a final (stored, never regenerated) document."""
    if subject.options.get("finalise") and not final:
        raise ValidationError(message)


# --- the notulen -------------------------------------------------------------------------------


def _minutes(conference: Conference) -> Minutes | None:
    return Minutes.objects.filter(conference=conference).first()


def _addenda(minutes: Minutes | None, layer: str) -> list[MinutesAddendum]:
    if minutes is None or minutes.pk is None:
        return []
    return list(minutes.addenda.filter(layer=layer).select_related("author").order_by("at", "id"))


def _addendum_lines(organisation: Any, items: list[MinutesAddendum]) -> str:
    lines = []
    for n, item in enumerate(items, start=1):
        when = common.moment_text(organisation, item.at)
        lines.append(
            f"{n}. {when}, oleh {item.author.full_name}. Alasan: {record.one_line(item.reason)}\n"
            f"{item.text}"
        )
    return "\n".join(lines) or EMPTY


def _attendance_rows(conference: Conference) -> tuple[tuple[str, ...], ...]:
    client = conference.case.client
    labels = dict(Attendance.choices)
    rows = []
    for n, p in enumerate(record.participants(conference), start=1):
        name = record.party_name(p, client)
        rows.append(
            (f"{n}.", name, p.role, p.institution or EMPTY, str(labels.get(p.attendance, "")))
        )
    return tuple(rows)


def _group_text(conference: Conference, attendance: str) -> str:
    client = conference.case.client
    people = record.attendance_groups(conference).get(attendance, [])
    return "; ".join(record.party_label(p, client) for p in people) or EMPTY


def _commitment_rows(conference: Conference) -> tuple[tuple[str, ...], ...]:
    client = conference.case.client
    return tuple(
        (
            f"{n}.",
            record.commitment_party(c, client),
            c.what,
            record.due_text(c),
            c.check_method or EMPTY,
        )
        for n, c in enumerate(record.commitments(conference), start=1)
    )


def _next_meeting(conference: Conference) -> str:
    lines = []
    for f in record.followups(conference):
        if f.kind != FollowUpKind.NEXT_KKA or f.next_conference is None:
            continue
        nxt = f.next_conference
        when = (
            f"{record.meeting_day_text(nxt)}, pukul {record.time_range(nxt)}"
            if nxt.starts_at
            else "waktu belum ditentukan"
        )
        lines.append(f"KKA {nxt.sequence}: {when}" + (f", di {nxt.place}" if nxt.place else ""))
    return "\n".join(lines) or "Belum direncanakan"


def fields(subject: Subject) -> dict[str, str]:
    conference: Conference = subject.conference
    organisation = subject.organisation
    client = conference.case.client
    confidential_edition = subject.edition == RAHASIA
    minutes = _minutes(conference)
    final = minutes is not None and minutes.finalised_at is not None
    refuse_final_draft(
        subject, final, _("Notulen belum difinalkan: hanya dapat dibuat sebagai draf.")
    )
    with translation.override("id"):
        followup_lines = [
            record.followup_line(f, with_note=confidential_edition)
            for f in record.followups(conference)
            if f.kind != FollowUpKind.NEXT_KKA
        ]
        values = {
            **signer_fields(subject, day=meeting_day(subject)),
            "judul": "Notulen Konferensi Kasus" + ("" if final else " (DRAF)"),
            "edisi": "Edisi rahasia (khusus konselor)" if confidential_edition else "Edisi bersama",
            "status_notulen": (
                f"Final, {common.moment_text(organisation, minutes.finalised_at)}"
                if final and minutes is not None
                else "Draf (belum difinalkan)"
            ),
            "kode_kka": conference.code,
            "kka_ke": str(conference.sequence),
            "hari_tanggal": record.meeting_day_text(conference),
            "waktu_mulai": common.time_text(organisation, conference.starts_at),
            "waktu_selesai": common.time_text(organisation, conference.ends_at),
            "tempat": text(conference.place),
            "pemimpin": counsellor_of(subject).full_name,
            "peserta_hadir": _group_text(conference, Attendance.PRESENT),
            "peserta_tidak_hadir": _group_text(conference, Attendance.ABSENT),
            "peserta_diwakilkan": _group_text(conference, Attendance.REPRESENTED),
            "peserta_pulang_awal": _group_text(conference, Attendance.LEFT_EARLY),
            "subjek": record.pseudonym(client),
            "ringkasan_kasus": text(record.pseudonymise(conference.summary, client)),
            "notulen_bersama": text(minutes.shared_text if minutes else ""),
            "data_diinginkan": text(minutes.data_wanted if minutes else ""),
            "data_diperoleh": text(minutes.data_obtained if minutes else ""),
            "kebutuhan_data": (
                str(DataNeeds(minutes.data_needs).label)
                if minutes is not None and minutes.data_needs
                else "Belum dinilai"
            ),
            "kesimpulan": text(minutes.conclusions if minutes else ""),
            "arah_penanganan": text(minutes.directions if minutes else ""),
            "komitmen": "\n".join(
                f"{row[0]} {row[1]}: {record.one_line(row[2])} (sampai {row[3]}; "
                f"cara memeriksa: {record.one_line(row[4])})"
                for row in _commitment_rows(conference)
            )
            or EMPTY,
            "tindak_lanjut": "\n".join(f"- {line}" for line in followup_lines) or EMPTY,
            "pertemuan_berikutnya": _next_meeting(conference),
            "adendum_bersama": _addendum_lines(organisation, _addenda(minutes, "shared")),
        }
        if confidential_edition:
            values["catatan_pribadi"] = text(minutes.private_text if minutes else "")
            values["adendum_pribadi"] = _addendum_lines(organisation, _addenda(minutes, "private"))
    return values


def build(subject: Subject, values: dict[str, str]) -> Doc:
    with translation.override("id"):
        return _build(subject, values)


def _build(subject: Subject, values: dict[str, str]) -> Doc:
    conference: Conference = subject.conference
    confidential_edition = subject.edition == RAHASIA
    doc = Doc(
        kind="notulen",
        title=values["judul"] + (" — Rahasia" if confidential_edition else ""),
        confidential=True,
        produced_for=subject.viewer.full_name,
        date_text=values["tanggal_dokumen"],
        draft=values["judul"].endswith("(DRAF)"),
    )
    blocks: list[Block] = [
        Heading(values["judul"].upper(), level=1, centred=True),
        Paragraph(values["nama_lembaga"], align="centre"),
        Paragraph(values["edisi"], align="centre", italic=True, small=True),
        Heading("A. Identitas pertemuan"),
        Fields(
            (
                ("", "KKA ke-", values["kka_ke"]),
                ("", "Hari, tanggal", values["hari_tanggal"]),
                ("", "Waktu mulai", values["waktu_mulai"]),
                ("", "Waktu selesai", values["waktu_selesai"]),
                ("", "Tempat", values["tempat"]),
                ("", "Pemimpin pertemuan", values["pemimpin"]),
                ("", "Status notulen", values["status_notulen"]),
            )
        ),
        Heading("B. Kehadiran peserta"),
    ]
    attendance = _attendance_rows(conference)
    if attendance:
        blocks.append(
            Table(
                columns=("No", "Nama", "Peran", "Instansi", "Kehadiran"),
                rows=attendance,
                widths=(1, 5, 5, 4, 3),
            )
        )
    blocks.append(
        Fields(
            (
                ("", "Hadir", values["peserta_hadir"]),
                ("", "Tidak hadir", values["peserta_tidak_hadir"]),
                ("", "Diwakilkan", values["peserta_diwakilkan"]),
                ("", "Pulang lebih awal", values["peserta_pulang_awal"]),
            )
        )
    )
    blocks += [
        Heading("C. Ringkasan kasus"),
        Fields((("", "Subjek", values["subjek"]),)),
        Paragraph(values["ringkasan_kasus"]),
        Heading("D. Jalannya pertemuan"),
        Paragraph(values["notulen_bersama"], align="left"),
        Heading("E. Data yang ingin diperoleh dan yang diperoleh"),
        Fields(
            (
                ("", "Data yang ingin diperoleh", values["data_diinginkan"]),
                ("", "Data yang diperoleh", values["data_diperoleh"]),
                ("", "Kebutuhan data", values["kebutuhan_data"]),
            )
        ),
        Heading("F. Kesimpulan"),
        Paragraph(values["kesimpulan"], align="left"),
        Heading("G. Arah penanganan"),
        Paragraph(values["arah_penanganan"], align="left"),
        Heading("H. Kesepakatan peran dan komitmen para pihak"),
    ]
    rows = _commitment_rows(conference)
    if rows:
        blocks.append(
            Table(
                columns=("No", "Pihak", "Komitmen", "Batas waktu", "Cara memeriksa"),
                rows=rows,
                widths=(1, 5, 7, 4, 5),
            )
        )
    else:
        blocks.append(Paragraph("Tidak ada komitmen yang dicatat."))
    blocks += [
        Heading("I. Keputusan tindak lanjut atau alih tangan kasus"),
        Paragraph(values["tindak_lanjut"], align="left"),
        Heading("J. Pertemuan berikutnya"),
        Paragraph(values["pertemuan_berikutnya"], align="left"),
        Heading("K. Adendum"),
        Paragraph(values["adendum_bersama"], align="left"),
    ]
    if confidential_edition:
        blocks += [
            Heading("L. Catatan pribadi konselor (rahasia)"),
            Paragraph(values["catatan_pribadi"], align="left"),
            Heading("M. Adendum catatan pribadi"),
            Paragraph(values["adendum_pribadi"], align="left"),
        ]
    closing = common.signatures(subject.organisation, counsellor_of(subject))
    blocks += [Spacer(), Signatures(place_date=values["tanggal_surat"], blocks=closing.blocks)]
    doc.add(*blocks)
    return doc


FIELD_HELP: dict[str, Any] = {
    **SIGNER_HELP,
    "judul": _("Judul, dengan “(DRAF)” bila notulen belum difinalkan"),
    "edisi": _("Edisi bersama atau edisi rahasia (khusus konselor)"),
    "status_notulen": _("Final (dengan waktunya) atau draf"),
    "kode_kka": _("Kode KKA (bukan identitas konseli)"),
    "kka_ke": _("Urutan KKA dalam kasus ini"),
    "hari_tanggal": _("Hari dan tanggal pertemuan"),
    "waktu_mulai": _("Jam mulai"),
    "waktu_selesai": _("Jam selesai"),
    "tempat": _("Tempat pertemuan"),
    "pemimpin": _("Pemimpin pertemuan (konselor)"),
    "peserta_hadir": _("Peserta yang hadir"),
    "peserta_tidak_hadir": _("Peserta yang tidak hadir"),
    "peserta_diwakilkan": _("Peserta yang diwakilkan"),
    "peserta_pulang_awal": _("Peserta yang pulang lebih awal"),
    "subjek": _("Konseli, hanya dengan inisial"),
    "ringkasan_kasus": _("Gambaran ringkas masalah, nama konseli diganti inisial"),
    "notulen_bersama": _("Teks notulen bersama"),
    "data_diinginkan": _("Data yang ingin diperoleh"),
    "data_diperoleh": _("Data yang diperoleh"),
    "kebutuhan_data": _("Terpenuhi, sebagian terpenuhi, atau belum terpenuhi"),
    "kesimpulan": _("Kesimpulan"),
    "arah_penanganan": _("Arah penanganan"),
    "komitmen": _("Komitmen para pihak: siapa, apa, sampai kapan, cara memeriksa"),
    "tindak_lanjut": _("Keputusan tindak lanjut atau alih tangan kasus"),
    "pertemuan_berikutnya": _("KKA berikutnya, bila ada"),
    "adendum_bersama": _("Adendum notulen bersama: kapan, oleh siapa, alasan, isi"),
    "catatan_pribadi": _("Hanya edisi rahasia: catatan pribadi konselor"),
    "adendum_pribadi": _("Hanya edisi rahasia: adendum catatan pribadi"),
}

register(
    Kind(
        code="notulen",
        title=_("Notulen Konferensi Kasus"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
        editions=("", RAHASIA),
    )
)
