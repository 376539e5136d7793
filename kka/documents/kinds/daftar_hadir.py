"""Daftar hadir — the attendance list of one KKA, to be signed in the room.

Columns: No, Nama, Jabatan/Peran, Instansi, Kerahasiaan (how the participant gave the
confidentiality pledge: online, on the counsellor's device, on paper, or "—" not yet),
Tanda tangan; then empty numbered rows for walk-ins (``options["blank_rows"]``,
3 by default). The meeting is identified by day, time, place and a neutral activity
line: never the problem, the case description or the client's record.

Editions: "" lists the participants (before or after the meeting); "kosong" is the
same sheet with only empty rows, printable before the meeting for whoever comes.

Not marked RAHASIA: it shows only the names and roles of the people in the room,
who sign it in front of each other. It stays a case document (access-checked,
registered, never handed to participants).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from kka.conferences.models import Participant
from kka.documents import common
from kka.documents.blocks import Doc, Fields, Heading, Paragraph, Signatures, Table
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

EMPTY = "-"
DEFAULT_BLANK_ROWS = 3
BLANK_EDITION_ROWS = 12
MAX_BLANK_ROWS = 40
PLEDGE_CHANNEL = {"online": "online", "device": "di perangkat", "paper": "kertas"}
COLUMNS = ("No", "Nama", "Jabatan/Peran", "Instansi", "Kerahasiaan", "Tanda tangan")
WIDTHS = (6, 24, 19, 16, 16, 19)
WHO_BY_SETTING = {"sekolah": "peserta didik", "madrasah": "peserta didik"}

FIELD_HELP: dict[str, Any] = {
    "nama_lembaga": _("Nama lembaga"),
    "kode_kka": _("Kode KKA (bukan identitas konseli)"),
    "hari_tanggal": _('Hari dan tanggal pertemuan, misalnya "Senin, 30 November 2026"'),
    "waktu": _('Jam mulai dan selesai pertemuan, misalnya "09.00 - 10.30 WIB"'),
    "tempat": _("Tempat pertemuan"),
    "kegiatan": _("Nama kegiatan yang netral (tanpa masalah konseli)"),
    "penyelenggara": _("Penyelenggara kegiatan"),
    "jumlah_peserta": _("Jumlah peserta yang diundang"),
    "daftar_peserta": _("Satu baris per peserta: nomor, nama, peran, instansi"),
    "tanggal_surat": _('Baris tempat dan tanggal, misalnya "Bandung, 30 November 2026"'),
    "nama_konselor": _("Nama konselor penanggung jawab kasus"),
    "nip_konselor": _("NIP atau nomor pegawai konselor"),
}


def participants(subject: Subject) -> list[Participant]:
    if subject.edition == "kosong":
        return []
    return list(
        subject.conference.participants.filter(removed_at__isnull=True).order_by("position", "id")
    )


def pledge_text(participant: Participant) -> str:
    if participant.pledged_at is None:
        return "—"
    return PLEDGE_CHANNEL.get(participant.pledge_channel, "—")


def time_range(organisation: Any, conference: Any) -> str:
    if conference.starts_at is None:
        return EMPTY
    start = dates.local(conference.starts_at, organisation.time_zone)
    zone = dates.zone_abbreviation(organisation.time_zone)
    if conference.ends_at is None:
        return f"{start:%H.%M} {zone} \N{EN DASH} selesai"
    end = dates.local(conference.ends_at, organisation.time_zone)
    return f"{start:%H.%M} \N{EN DASH} {end:%H.%M} {zone}"


def blank_rows(subject: Subject) -> int:
    default = BLANK_EDITION_ROWS if subject.edition == "kosong" else DEFAULT_BLANK_ROWS
    try:
        wanted = int(subject.options.get("blank_rows", default))
    except (TypeError, ValueError):
        wanted = default
    return max(0, min(wanted, MAX_BLANK_ROWS))


def fields(subject: Subject) -> dict[str, str]:
    organisation = subject.organisation
    conference = subject.conference
    counsellor = conference.case.owner
    people = participants(subject)
    who = WHO_BY_SETTING.get(organisation.setting, "anggota")
    starts = conference.starts_at
    return {
        "nama_lembaga": organisation.name,
        "kode_kka": conference.code,
        "hari_tanggal": dates.long_date(starts, organisation.time_zone) if starts else EMPTY,
        "waktu": time_range(organisation, conference),
        "tempat": (conference.place or "").strip() or EMPTY,
        "kegiatan": f"Konferensi kasus — koordinasi pendampingan {who} (pertemuan terbatas)",
        "penyelenggara": (conference.organiser or "").strip() or organisation.name,
        "jumlah_peserta": str(len(people)),
        "daftar_peserta": "\n".join(
            f"{index}. {p.full_name} — {p.role} — {p.institution or EMPTY}"
            for index, p in enumerate(people, start=1)
        ),
        "tanggal_surat": common.place_date(
            organisation, dates.local(starts, organisation.time_zone).date() if starts else None
        ),
        "nama_konselor": counsellor.full_name,
        "nip_konselor": counsellor.staff_number,
    }


def build(subject: Subject, values: dict[str, str]) -> Doc:
    organisation = subject.organisation
    conference = subject.conference
    rows = tuple(
        (
            f"{index}.",
            p.full_name,
            p.role,
            p.institution or EMPTY,
            pledge_text(p),
            "",
        )
        for index, p in enumerate(participants(subject), start=1)
    )
    day = (
        dates.local(conference.starts_at, organisation.time_zone).date()
        if conference.starts_at
        else None
    )
    closing = common.signatures(organisation, conference.case.owner, day=day)
    doc = Doc(
        kind="daftar_hadir",
        title="Daftar hadir konferensi kasus",
        date_text=values["hari_tanggal"]
        if conference.starts_at
        else common.date_text(organisation),
    )
    doc.add(
        Heading("Daftar hadir", level=1, centred=True),
        Heading("Konferensi kasus", level=2, centred=True),
        Fields(
            rows=(
                ("", "Hari/tanggal", values["hari_tanggal"]),
                ("", "Waktu", values["waktu"]),
                ("", "Tempat", values["tempat"]),
                ("", "Kegiatan", values["kegiatan"]),
                ("", "Penyelenggara", values["penyelenggara"]),
                ("", "Kode KKA", values["kode_kka"]),
            )
        ),
        Table(
            columns=COLUMNS,
            rows=rows,
            widths=WIDTHS,
            blank_rows=blank_rows(subject),
            tall_rows=True,
        ),
        Paragraph(
            "Kolom Kerahasiaan: cara peserta menyatakan komitmen menjaga kerahasiaan "
            "(online melalui tautan pribadi, di perangkat konselor, atau di kertas). "
            "Peserta yang belum menyatakannya diminta mengisi pernyataan kerahasiaan "
            "sebelum pertemuan dimulai.",
            small=True,
            align="left",
        ),
        Signatures(place_date=closing.place_date, blocks=closing.blocks),
    )
    return doc


KIND = register(
    Kind(
        code="daftar_hadir",
        title=_("Daftar hadir"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=False,
        numbered=False,
        editions=("", "kosong"),
        outside=False,
    )
)
