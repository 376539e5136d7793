"""Surat pernyataan komitmen: what one participant agreed to do in a KKA (what, by
when, how it is checked), signed by the participant and the counsellor.

Neutral wording: no client name and no problem, only the participant's own
commitments (which they already read through their private link). Commitments that
were dropped are left out. Confidential: the commitments can hint at the client's
situation, so "RAHASIA" and the participant's name are on every page. A participant
without commitments gets no letter (a clear refusal, not an empty page).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from kka.conferences import report as record
from kka.conferences.models import CLIENT_CATEGORY, Commitment, CommitmentStatus, Participant
from kka.documents import common
from kka.documents.blocks import Doc, Fields, Heading, Paragraph, Spacer, Table
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


def participant_commitments(participant: Participant) -> list[Commitment]:
    return list(
        Commitment.objects.filter(participant=participant)
        .exclude(status=CommitmentStatus.DROPPED)
        .order_by("due_on", "id")
    )


def purpose(participant: Participant) -> str:
    if participant.category == CLIENT_CATEGORY:
        return "untuk mendukung perkembangan diri saya"
    if participant.category == "keluarga":
        return "untuk mendukung perkembangan putra/putri atau anggota keluarga saya"
    return "untuk mendukung perkembangan konseli yang kami dampingi bersama"


def rows(participant: Participant) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(
        (f"{n}.", c.what, record.due_text(c), c.check_method or EMPTY)
        for n, c in enumerate(participant_commitments(participant), start=1)
    )


def fields(subject: Subject) -> dict[str, str]:
    participant: Participant = subject.participant
    conference = conference_of(subject)
    organisation = subject.organisation
    items = participant_commitments(participant)
    if not items:
        raise ValidationError(
            gettext_now(
                "%(name)s tidak mempunyai komitmen dari KKA ini, jadi tidak ada surat "
                "pernyataan komitmen untuknya."
            )
            % {"name": participant.full_name}
        )
    with translation.override("id"):
        return {
            **signer_fields(subject),
            "nama_peserta": participant.full_name,
            "peran_peserta": text(participant.role),
            "instansi_peserta": text(participant.institution),
            "kka_ke": str(conference.sequence),
            "hari_tanggal_kka": (
                common.date_text(organisation, meeting_day(subject))
                if conference.starts_at
                else EMPTY
            ),
            "tujuan_komitmen": purpose(participant),
            "jumlah_komitmen": str(len(items)),
            "komitmen": "\n".join(
                f"{n}. {record.one_line(c.what)} (sampai {record.due_text(c)}; cara memeriksa: "
                f"{record.one_line(c.check_method) or EMPTY})"
                for n, c in enumerate(items, start=1)
            ),
        }


def build(subject: Subject, values: dict[str, str]) -> Doc:
    participant: Participant = subject.participant
    doc = Doc(
        kind="komitmen",
        title="Surat Pernyataan Komitmen",
        confidential=True,
        produced_for=values["nama_peserta"],
        date_text=values["tanggal_dokumen"],
    )
    meeting = f" pada {values['hari_tanggal_kka']}" if values["hari_tanggal_kka"] != EMPTY else ""
    doc.add(
        Heading("SURAT PERNYATAAN KOMITMEN", level=1, centred=True),
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
            "sebagai peserta konferensi kasus yang diselenggarakan oleh "
            f"{values['nama_lembaga']}{meeting}, menyatakan bersedia melaksanakan komitmen "
            f"berikut {values['tujuan_komitmen']}:"
        ),
        Table(
            columns=("No", "Komitmen", "Batas waktu", "Cara memeriksa"),
            rows=rows(participant),
            widths=(1, 9, 5, 6),
        ),
        Paragraph(
            "Komitmen ini adalah kesepakatan bersama untuk membantu. Pelaksanaannya akan "
            "dibicarakan bersama konselor dan dinilai kembali pada penilaian berikutnya; bila "
            "ada kesulitan, saya akan menyampaikannya kepada konselor."
        ),
        Paragraph("Demikian pernyataan ini saya buat dengan sadar dan tanpa paksaan."),
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
    "nama_peserta": _("Nama peserta yang berkomitmen"),
    "peran_peserta": _("Peran atau hubungan peserta"),
    "instansi_peserta": _("Instansi atau asal peserta"),
    "kka_ke": _("Urutan KKA dalam kasus ini"),
    "hari_tanggal_kka": _("Hari dan tanggal pertemuan"),
    "tujuan_komitmen": _("Untuk apa komitmen ini, dengan kata-kata netral"),
    "jumlah_komitmen": _("Jumlah komitmen peserta"),
    "komitmen": _("Komitmen peserta: apa, sampai kapan, cara memeriksa"),
}

register(
    Kind(
        code="komitmen",
        title=_("Surat pernyataan komitmen"),
        scope="participant",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
        outside=True,
    )
)
