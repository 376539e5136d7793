"""Surat pernyataan kerahasiaan: one participant's confidentiality statement.

The undertaking is the same four points, the same "holds after the meeting" and the
same limits as the pledge a participant takes through their private link
(``templates/portal/home.html``); a test keeps the two texts together. When the
pledge has already been taken, the document says how and when ("Telah dinyatakan
secara daring pada ..."), so the paper copy and the record agree.

Not marked confidential: the statement names only the signer, their role and the
organisation, the day and place of the meeting — never the client, the problem or
anything said in the meeting. It is handed to the participant to sign and filed.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.conferences.models import Participant
from kka.documents import common
from kka.documents.blocks import BulletList, Doc, Fields, Heading, Paragraph, Spacer
from kka.documents.kinds.notulen import (
    EMPTY,
    SIGNER_HELP,
    conference_of,
    meeting_day,
    signer_and_witness,
    signer_fields,
    text,
)
from kka.documents.registry import Kind, Subject, register

# The points of the portal pledge (kka/templates/portal/home.html), word for word.
UNDERTAKING = (
    "menjaga kerahasiaan semua yang saya ketahui tentang konseli dan pembicaraan dalam "
    "pertemuan ini;",
    "menggunakan keterangan tersebut hanya untuk kepentingan dan perkembangan konseli;",
    "tidak merekam, memotret, menyalin, atau meneruskan bahan pertemuan kepada siapa pun, "
    "dan mengembalikan bahan yang dibagikan;",
    "tidak membicarakan konseli secara negatif dan tidak menonjolkan identitasnya.",
)
AFTER_THE_MEETING = "Kewajiban ini tetap berlaku setelah pertemuan selesai."
LIMITS = (
    "Kerahasiaan dapat dibuka hanya bila ada bahaya bagi konseli atau orang lain, atau bila "
    "undang-undang mewajibkan (misalnya kekerasan terhadap anak); konselor yang memutuskan "
    "dan mencatatnya."
)
CHANNELS = {"online": "secara daring", "device": "di perangkat", "paper": "di kertas"}


def pledge_line(subject: Subject, participant: Participant) -> str:
    """ "Telah dinyatakan secara daring pada Senin, ... pukul 19.40 WIB", or ""."""
    if participant.pledged_at is None:
        return ""
    how = CHANNELS.get(participant.pledge_channel, "")
    when = common.moment_text(subject.organisation, participant.pledged_at)
    return " ".join(part for part in ("Telah dinyatakan", how, "pada", when) if part) + "."


def fields(subject: Subject) -> dict[str, str]:
    participant: Participant = subject.participant
    conference = conference_of(subject)
    organisation = subject.organisation
    with translation.override("id"):
        values = {
            **signer_fields(subject, day=meeting_day(subject)),
            "nama_peserta": participant.full_name,
            "peran_peserta": text(participant.role),
            "instansi_peserta": text(participant.institution),
            "kka_ke": str(conference.sequence),
            "hari_tanggal_kka": (
                common.date_text(organisation, meeting_day(subject))
                if conference.starts_at
                else "akan diberitahukan"
            ),
            "tempat_kka": text(conference.place),
            "berlaku_setelah_pertemuan": AFTER_THE_MEETING,
            "batas_kerahasiaan": LIMITS,
            "pernyataan_tercatat": pledge_line(subject, participant),
        }
        for n, point in enumerate(UNDERTAKING, start=1):
            values[f"janji_{n}"] = point
    return values


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(
        kind="pernyataan_kerahasiaan",
        title="Surat Pernyataan Kerahasiaan",
        confidential=False,
        produced_for=values["nama_peserta"],
        date_text=values["tanggal_dokumen"],
    )
    meeting = f"pada {values['hari_tanggal_kka']}"
    if values["tempat_kka"] != EMPTY:
        meeting += f" di {values['tempat_kka']}"
    doc.add(
        Heading("SURAT PERNYATAAN KERAHASIAAN", level=1, centred=True),
        Spacer(),
        Paragraph("Saya yang bertanda tangan di bawah ini:"),
        Fields(
            (
                ("", "Nama", values["nama_peserta"]),
                ("", "Peran / hubungan", values["peran_peserta"]),
                ("", "Instansi / asal", values["instansi_peserta"]),
            )
        ),
        Paragraph(
            f"sebagai peserta konferensi kasus yang diselenggarakan oleh {values['nama_lembaga']} "
            f"{meeting}, menyatakan bahwa saya akan:"
        ),
        BulletList(tuple(values[f"janji_{n}"] for n in range(1, 5)), numbered=True),
        Paragraph(f"{values['berlaku_setelah_pertemuan']} {values['batas_kerahasiaan']}"),
        Paragraph(
            "Demikian pernyataan ini saya buat dengan sadar dan tanpa paksaan, untuk "
            "kepentingan konseli."
        ),
    )
    if values["pernyataan_tercatat"]:
        doc.add(Paragraph(values["pernyataan_tercatat"], italic=True, small=True))
    doc.add(
        Spacer(),
        signer_and_witness(
            subject,
            values["tanggal_surat"],
            signer_name=values["nama_peserta"],
            signer_title="Yang menyatakan,",
        ),
    )
    return doc


FIELD_HELP: dict[str, Any] = {
    **SIGNER_HELP,
    "nama_peserta": _("Nama peserta yang menyatakan"),
    "peran_peserta": _("Peran atau hubungan peserta"),
    "instansi_peserta": _("Instansi atau asal peserta"),
    "kka_ke": _("Urutan KKA dalam kasus ini"),
    "hari_tanggal_kka": _("Hari dan tanggal pertemuan"),
    "tempat_kka": _("Tempat pertemuan"),
    "janji_1": _("Butir 1: menjaga kerahasiaan"),
    "janji_2": _("Butir 2: hanya untuk kepentingan konseli"),
    "janji_3": _("Butir 3: tidak merekam, memotret, menyalin atau meneruskan"),
    "janji_4": _("Butir 4: tidak membicarakan konseli secara negatif"),
    "berlaku_setelah_pertemuan": _("Kewajiban tetap berlaku setelah pertemuan"),
    "batas_kerahasiaan": _("Batas kerahasiaan (bahaya, kewajiban hukum)"),
    "pernyataan_tercatat": _(
        "Bila sudah dinyatakan: cara (daring, di perangkat, di kertas) dan waktunya"
    ),
}

register(
    Kind(
        code="pernyataan_kerahasiaan",
        title=_("Surat pernyataan kerahasiaan"),
        scope="participant",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=False,
        outside=True,
    )
)
