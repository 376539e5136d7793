"""Surat undangan — the official invitation letter to one participant.

Neutral by design, like the invitation mail: it names the invitee, the time, the
place and a neutral purpose, and never the problem, the case, the records or the
client's full name. Its number is the participant's letter number (issued once, when
the invitation is first sent), so producing the letter again never takes a new one.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.conferences import services as conference_services
from kka.conferences.models import CLIENT_CATEGORY, Conference, Participant
from kka.documents import common
from kka.documents.blocks import Doc, Fields, LetterHead, Paragraph, Spacer
from kka.documents.kinds import satkung
from kka.documents.registry import Kind, Subject, register

SUBJECT_LINE = "Undangan pertemuan"
NO_NUMBER = "........................"
# Their "role" is their tie to the client (ayah, ibu, konseli): not printed on the letter.
FAMILY_OR_CLIENT = ("keluarga", CLIENT_CATEGORY)


def letter_day(organisation: Any, participant: Participant) -> dt.date:
    """The letter is dated when the invitation was first sent (today until then), so
    printing it again gives the same letter."""
    if participant.invited_at is not None:
        return satkung.local_day(organisation, participant.invited_at)
    return common.today(organisation)


def salutation(participant: Participant) -> str:
    """ "Bapak/Ibu Hendro Susilo, S.Pd." — the same rule as the invitation mail."""
    return conference_services._salutation(participant)


def purpose(participant: Participant, organisation: Any) -> str:
    """The neutral purpose, worded as in the default invitation text (in Indonesian)."""
    with translation.override("id"):
        return conference_services.invitation_purpose(participant)


def body_text(participant: Participant) -> str:
    """The participant's invitation text when the counsellor changed it; otherwise the
    default wording, in Indonesian whatever language the mail went out in."""
    stored = participant.invitation_text.strip()
    if stored and stored != conference_services.invitation_default_text(participant).strip():
        return stored
    indonesian = copy.copy(participant)
    indonesian.language = "id"
    return conference_services.invitation_default_text(indonesian)


def addressee(participant: Participant) -> tuple[str, ...]:
    lines = [f"Yth. {salutation(participant)}"]
    if participant.category not in FAMILY_OR_CLIENT:
        where = ", ".join(part for part in (participant.role, participant.institution) if part)
        if where:
            lines.append(where)
    lines.append("di tempat")
    return tuple(lines)


def fields(subject: Subject) -> dict[str, str]:
    participant: Participant = subject.participant
    conference: Conference = participant.conference
    organisation = subject.organisation
    day = letter_day(organisation, participant)
    you = "Ananda" if participant.category == CLIENT_CATEGORY else "Bapak/Ibu"
    with translation.override("id"):
        return {
            **satkung.signer_fields(subject),
            "tanggal_surat": common.place_date(organisation, day),
            "tanggal_dokumen": common.date_text(organisation, day),
            "nomor_surat": subject.number or participant.letter_number or NO_NUMBER,
            "lampiran": "-",
            "perihal": SUBJECT_LINE,
            "nama_peserta": participant.full_name,
            "sapaan": salutation(participant),
            "kepada": "\n".join(addressee(participant)),
            "peran_peserta": (
                participant.role if participant.category not in FAMILY_OR_CLIENT else ""
            ),
            "instansi_peserta": participant.institution,
            "isi_undangan": body_text(participant),
            "hari_tanggal": (
                satkung.day_text(organisation, conference.starts_at)
                if conference.starts_at
                else "Akan diberitahukan kemudian"
            ),
            "waktu": (
                satkung.time_range(organisation, conference)
                if conference.starts_at
                else "Akan diberitahukan kemudian"
            ),
            "tempat": conference.place.strip() or "Akan diberitahukan kemudian",
            "keperluan": "Pertemuan terbatas guna " + purpose(participant, organisation),
            "penutup": (
                f"Mengingat pentingnya pertemuan ini, kami sangat mengharapkan kehadiran {you}. "
                f"Atas perhatian dan kerja sama {you}, kami mengucapkan terima kasih."
            ),
        }


def letter_blocks(subject: Subject, values: dict[str, str]) -> list[Any]:
    """The blocks of one letter (also used for all of a KKA's letters in one file)."""
    participant: Participant = subject.participant
    organisation = subject.organisation
    return [
        LetterHead(
            number=values["nomor_surat"],
            subject=values["perihal"],
            attachment=values["lampiran"],
            addressee=tuple(values["kepada"].split("\n")),
        ),
        Spacer(),
        Paragraph(values["isi_undangan"]),
        Paragraph("Pertemuan tersebut akan diselenggarakan pada:"),
        Fields(
            (
                ("", "Hari/tanggal", values["hari_tanggal"]),
                ("", "Waktu", values["waktu"]),
                ("", "Tempat", values["tempat"]),
                ("", "Keperluan", values["keperluan"]),
            )
        ),
        Paragraph(values["penutup"]),
        Spacer(),
        common.signatures(
            organisation,
            satkung.counsellor_of(subject),
            day=letter_day(organisation, participant),
        ),
    ]


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(
        kind="undangan",
        title="Surat undangan",
        number=values["nomor_surat"] if values["nomor_surat"] != NO_NUMBER else "",
        date_text=values["tanggal_dokumen"],
    )
    doc.add(*letter_blocks(subject, values))
    return doc


FIELD_HELP: dict[str, Any] = {
    **satkung.COMMON_HELP,
    "tanggal_surat": _("Tempat dan tanggal surat (tanggal undangan pertama kali dikirim)"),
    "tanggal_dokumen": _("Tanggal surat"),
    "nomor_surat": _("Nomor surat undangan peserta"),
    "lampiran": _("Lampiran (biasanya “-”)"),
    "perihal": _("Perihal surat"),
    "nama_peserta": _("Nama lengkap peserta yang diundang"),
    "sapaan": _("Sapaan dan nama peserta, misalnya “Bapak/Ibu Hendro Susilo”"),
    "kepada": _("Alamat tujuan surat (Yth. ..., peran dan instansi, di tempat), satu per baris"),
    "peran_peserta": _("Peran peserta"),
    "instansi_peserta": _("Instansi peserta"),
    "isi_undangan": _("Isi undangan yang netral (tanpa masalah dan tanpa nama lengkap konseli)"),
    "hari_tanggal": _("Hari dan tanggal pertemuan"),
    "waktu": _("Jam pertemuan, misalnya 09.00 s.d. 10.30 WIB"),
    "tempat": _("Tempat pertemuan"),
    "keperluan": _("Keperluan pertemuan, dengan kata-kata netral"),
    "penutup": _("Kalimat penutup surat"),
}

register(
    Kind(
        code="undangan",
        title=_("Surat undangan"),
        scope="participant",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        numbered=True,
        outside=True,
    )
)
