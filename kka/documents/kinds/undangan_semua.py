"""All of a KKA's invitation letters in one file, for printing: one letter per invited
participant (not removed), each starting on a new page, each with its own number."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kka.conferences.models import Conference, Participant
from kka.documents import common
from kka.documents.blocks import Block, Doc, PageBreak, Paragraph
from kka.documents.kinds import satkung, undangan
from kka.documents.registry import Kind, Subject, register


def invited(conference: Conference) -> list[Participant]:
    return list(conference.participants.filter(removed_at__isnull=True, invited_at__isnull=False))


def letter_subject(subject: Subject, participant: Participant) -> Subject:
    """The subject of one participant's letter: their own number, never a new one."""
    return dataclasses.replace(
        subject, participant=participant, number=participant.letter_number, edition=""
    )


def fields(subject: Subject) -> dict[str, str]:
    conference: Conference = subject.conference
    people = invited(conference)
    with translation.override("id"):
        return {
            **satkung.signer_fields(subject),
            "jumlah_surat": str(len(people)),
            "nomor_surat": ", ".join(p.letter_number for p in people if p.letter_number),
            "tanggal_dokumen": common.date_text(subject.organisation),
        }


def build(subject: Subject, values: dict[str, str]) -> Doc:
    doc = Doc(kind="undangan_semua", title="Surat undangan", date_text=values["tanggal_dokumen"])
    blocks: list[Block] = []
    for participant in invited(subject.conference):
        one = letter_subject(subject, participant)
        if blocks:
            blocks.append(PageBreak(letterhead=True))
        blocks.extend(undangan.letter_blocks(one, undangan.fields(one)))
    if not blocks:
        blocks.append(Paragraph("Belum ada undangan yang dikirim untuk KKA ini."))
    doc.add(*blocks)
    return doc


FIELD_HELP: dict[str, Any] = {
    **satkung.COMMON_HELP,
    "jumlah_surat": _("Jumlah surat undangan dalam berkas"),
    "nomor_surat": _("Nomor semua surat undangan, dipisah koma"),
    "tanggal_dokumen": _("Tanggal pembuatan dokumen"),
}

register(
    Kind(
        code="undangan_semua",
        title=_("Semua surat undangan"),
        scope="conference",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
    )
)
