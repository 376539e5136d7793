"""Surat alih tangan kasus: the referral letter of one follow-up of kind "referral".

What the receiving professional learns about the client is deliberately limited to
what they need to take the case on: full name, birth date, sex and class/unit (so
they can be sure of the person and of their age), the reason for the referral, what
was done so far (the KKAs held, the handling directions of finalised minutes, other
follow-ups by kind and status — never their notes) and the consent it rests on. No
address, phone, NISN/NIK, case description, records or private notes.

The letter is only produced while the consent in force still allows the referral
(the same check as when the referral was planned); otherwise it is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kka.cases import selectors as case_selectors
from kka.cases.forms import PURPOSE_CHOICES
from kka.conferences.followup import referral_consent_problem
from kka.conferences.models import (
    ConferenceStatus,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Minutes,
)
from kka.documents import common
from kka.documents.blocks import (
    BulletList,
    Doc,
    Fields,
    Heading,
    LetterHead,
    Paragraph,
    Spacer,
)
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

CODE = "alih_tangan"
SUBJECT_LINE = "Alih tangan kasus"
DOTS = "-"


def _indonesian(function: Callable[..., Any]) -> Callable[..., Any]:
    """Documents are always in Indonesian, whatever the producer's UI language."""

    def wrapper(*args: Any) -> Any:
        with translation.override("id"):
            return function(*args)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _referral(subject: Subject) -> FollowUp:
    followup = subject.followup
    if followup is None or followup.kind != FollowUpKind.REFERRAL:
        raise ValidationError(_("Surat alih tangan kasus hanya untuk tindak lanjut alih tangan."))
    if followup.status == FollowUpStatus.CANCELLED:
        raise ValidationError(_("Alih tangan kasus ini sudah dibatalkan."))
    problem = referral_consent_problem(followup.case, followup.referral_to)
    if problem:
        raise ValidationError(problem, code="consent")
    return followup


def _local_day(organisation: Any, moment: dt.datetime) -> dt.date:
    return dates.local(moment, organisation.time_zone).date()


def _kka_lines(followup: FollowUp, organisation: Any) -> list[str]:
    conferences = followup.case.conferences.filter(  # type: ignore[attr-defined]
        status__in=(ConferenceStatus.HELD, ConferenceStatus.CLOSED)
    ).order_by("sequence")
    lines = []
    for conference in conferences:
        when = (
            common.date_text(organisation, _local_day(organisation, conference.starts_at))
            if conference.starts_at
            else "tanggal tidak tercatat"
        )
        lines.append(f"Konferensi kasus (KKA {conference.sequence}) pada {when}")
    return lines


def _directions(followup: FollowUp) -> str:
    """Handling directions of the finalised minutes: the KKA the referral was decided
    in, else the latest held KKA with finalised minutes."""
    minutes = Minutes.objects.filter(
        conference__case=followup.case, finalised_at__isnull=False
    ).select_related("conference")
    if followup.conference_id is not None:
        chosen = minutes.filter(conference_id=followup.conference_id).first()
        if chosen is not None:
            return chosen.directions.strip()
    latest = minutes.order_by("-conference__sequence").first()
    return latest.directions.strip() if latest is not None else ""


def _other_followups(followup: FollowUp) -> list[str]:
    others = (
        FollowUp.objects.filter(
            case=followup.case, status__in=(FollowUpStatus.IN_PROGRESS, FollowUpStatus.DONE)
        )
        .exclude(pk=followup.pk)
        .exclude(kind=FollowUpKind.NEXT_KKA)
        .order_by("created_at", "id")
    )
    return [
        f"{FollowUpKind(other.kind).label} ({FollowUpStatus(other.status).label.lower()})"
        for other in others
    ]


def _consent_scope(consent: Any) -> str:
    return "; ".join(
        str(label).lower() for name, label in PURPOSE_CHOICES if getattr(consent, name)
    )


@_indonesian
def fields(subject: Subject) -> dict[str, str]:
    followup = _referral(subject)
    organisation = subject.organisation
    client = followup.case.client
    counsellor = subject.viewer
    consent = case_selectors.current_consent(client)
    assert consent is not None  # _referral refused the letter otherwise
    birth = client.birth_date_value
    giver = str(consent.get_giver_display())
    if consent.giver_relationship:
        giver = f"{giver}, {consent.giver_relationship}"
    kka = _kka_lines(followup, organisation)
    others = _other_followups(followup)
    return {
        "nomor_surat": subject.number,
        "tanggal_surat": common.place_date(organisation),
        "perihal": SUBJECT_LINE,
        "lampiran": DOTS,
        "tujuan_jabatan": str(followup.get_referral_to_display()),
        "tujuan_nama": followup.referral_to_name,
        "nama_konseli": client.full_name,
        "tanggal_lahir_konseli": common.plain_date(birth) if birth else DOTS,
        "jenis_kelamin_konseli": str(client.get_sex_display()) or DOTS,
        "kelas_konseli": client.group or DOTS,
        "kode_kasus": followup.case.code,
        "alasan": followup.reason,
        "tanggal_rencana": common.plain_date(followup.planned_on) if followup.planned_on else DOTS,
        "kka_terlaksana": "\n".join(kka) or DOTS,
        "arah_penanganan": _directions(followup) or DOTS,
        "upaya_lain": "\n".join(others) or DOTS,
        "persetujuan_nomor": consent.code,
        "persetujuan_tanggal": common.plain_date(_local_day(organisation, consent.given_at)),
        "persetujuan_pemberi": f"{consent.giver_name} ({giver})",
        "persetujuan_cakupan": _consent_scope(consent),
        "nama_konselor": counsellor.full_name,
        "nip_konselor": counsellor.staff_number or DOTS,
        "email_konselor": counsellor.email,
        "telepon_lembaga": organisation.phone or DOTS,
        "nama_lembaga": organisation.name,
        "jabatan_pimpinan": common.head_title(organisation),
        "nama_pimpinan": organisation.head_name or DOTS,
        "nip_pimpinan": organisation.head_staff_number or DOTS,
        "dibuat_untuk": _recipient(followup),
    }


def _recipient(followup: FollowUp) -> str:
    label = str(followup.get_referral_to_display())
    name = followup.referral_to_name
    return f"{label}, {name}" if name else label


@_indonesian
def build(subject: Subject, values: dict[str, str]) -> Doc:
    organisation = subject.organisation
    addressee = [f"Yth. Bapak/Ibu {values['tujuan_jabatan']}"]
    if values["tujuan_nama"]:
        addressee.append(values["tujuan_nama"])
    addressee.append("di tempat")
    doc = Doc(
        kind=CODE,
        title="Surat alih tangan kasus",
        confidential=True,
        produced_for=values["dibuat_untuk"],
        number=values["nomor_surat"],
        date_text=common.date_text(organisation),
    )
    doc.add(
        LetterHead(
            number=values["nomor_surat"],
            subject=values["perihal"],
            attachment=values["lampiran"],
            addressee=tuple(addressee),
        ),
        Paragraph("Dengan hormat,", align="left"),
        Paragraph(
            f"Bersama surat ini kami, konselor {values['nama_lembaga']}, mengalihtangankan "
            "penanganan kasus seorang konseli kepada Bapak/Ibu, karena penanganan lebih "
            "lanjut memerlukan keahlian Bapak/Ibu. Keterangannya sebagai berikut."
        ),
        Heading("A. Identitas konseli", level=3),
        Fields(
            rows=(
                ("", "Nama lengkap", values["nama_konseli"]),
                ("", "Tanggal lahir", values["tanggal_lahir_konseli"]),
                ("", "Jenis kelamin", values["jenis_kelamin_konseli"]),
                ("", "Kelas / bagian", values["kelas_konseli"]),
                ("", "Nomor kasus", values["kode_kasus"]),
            )
        ),
        Heading("B. Alasan alih tangan kasus", level=3),
        Paragraph(values["alasan"]),
        Fields(rows=(("", "Rencana waktu alih tangan", values["tanggal_rencana"]),)),
        Heading("C. Upaya yang telah dilakukan", level=3),
    )
    done = [line for key in ("kka_terlaksana", "upaya_lain") for line in values[key].splitlines()]
    done = [line for line in done if line != DOTS]
    if done:
        doc.add(BulletList(items=tuple(done)))
    else:
        doc.add(Paragraph("Belum ada kegiatan lain yang tercatat."))
    doc.add(
        Paragraph("Arah penanganan yang disepakati dalam konferensi kasus:", bold=True),
        Paragraph(values["arah_penanganan"]),
        Heading("D. Dasar persetujuan", level=3),
        Paragraph(
            "Alih tangan kasus ini dilakukan berdasarkan persetujuan yang tercatat dengan "
            f"nomor bukti {values['persetujuan_nomor']}, diberikan oleh "
            f"{values['persetujuan_pemberi']} pada {values['persetujuan_tanggal']}, yang "
            f"mencakup: {values['persetujuan_cakupan']}."
        ),
        Paragraph(
            "Keterangan dalam surat ini bersifat rahasia, hanya untuk penanganan konseli, "
            "dan tidak boleh diteruskan kepada pihak lain tanpa persetujuan konseli atau "
            "orang tua/walinya (UU Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi).",
            italic=True,
        ),
        Heading("E. Narahubung", level=3),
        Fields(
            rows=(
                ("", "Konselor", values["nama_konselor"]),
                ("", "NIP / nomor pegawai", values["nip_konselor"]),
                ("", "Email", values["email_konselor"]),
                ("", "Telepon lembaga", values["telepon_lembaga"]),
            )
        ),
        Paragraph(
            "Kami mohon Bapak/Ibu berkenan menerima konseli tersebut dan, bila "
            "memungkinkan, menyampaikan perkembangan penanganannya kepada kami. Atas "
            "perhatian dan kerja sama Bapak/Ibu, kami ucapkan terima kasih."
        ),
        Spacer(),
        common.signatures(organisation, subject.viewer),
    )
    return doc


FIELD_HELP: dict[str, Any] = {
    "nomor_surat": gettext_lazy("Nomor surat dari pola nomor surat lembaga"),
    "tanggal_surat": gettext_lazy('Tempat dan tanggal surat, misalnya "Bandung, 30 November 2026"'),
    "perihal": gettext_lazy('Perihal surat ("Alih tangan kasus")'),
    "lampiran": gettext_lazy("Lampiran surat"),
    "tujuan_jabatan": gettext_lazy("Pihak penerima alih tangan (psikolog, dokter, TPPK, ...)"),
    "tujuan_nama": gettext_lazy("Nama orang atau lembaga penerima alih tangan"),
    "nama_konseli": gettext_lazy("Nama lengkap konseli"),
    "tanggal_lahir_konseli": gettext_lazy("Tanggal lahir konseli"),
    "jenis_kelamin_konseli": gettext_lazy("Jenis kelamin konseli"),
    "kelas_konseli": gettext_lazy("Kelas / bagian konseli"),
    "kode_kasus": gettext_lazy("Nomor kasus di KKA"),
    "alasan": gettext_lazy("Alasan alih tangan kasus"),
    "tanggal_rencana": gettext_lazy("Tanggal rencana alih tangan"),
    "kka_terlaksana": gettext_lazy("Konferensi kasus yang sudah terlaksana, satu per baris"),
    "arah_penanganan": gettext_lazy("Arah penanganan dari notulen yang sudah final"),
    "upaya_lain": gettext_lazy("Tindak lanjut lain yang berjalan atau selesai, satu per baris"),
    "persetujuan_nomor": gettext_lazy("Nomor bukti persetujuan yang mendasari alih tangan"),
    "persetujuan_tanggal": gettext_lazy("Tanggal persetujuan diberikan"),
    "persetujuan_pemberi": gettext_lazy("Nama dan kedudukan pemberi persetujuan"),
    "persetujuan_cakupan": gettext_lazy("Tujuan yang disetujui"),
    "nama_konselor": gettext_lazy("Nama konselor yang membuat surat"),
    "nip_konselor": gettext_lazy("NIP / nomor pegawai konselor"),
    "email_konselor": gettext_lazy("Email konselor"),
    "telepon_lembaga": gettext_lazy("Telepon lembaga"),
    "nama_lembaga": gettext_lazy("Nama lembaga"),
    "jabatan_pimpinan": gettext_lazy("Jabatan pimpinan lembaga (yang mengetahui)"),
    "nama_pimpinan": gettext_lazy("Nama pimpinan lembaga"),
    "nip_pimpinan": gettext_lazy("NIP pimpinan lembaga"),
    "dibuat_untuk": gettext_lazy("Penerima salinan ini (dicetak sebagai tanda RAHASIA)"),
}

KIND = register(
    Kind(
        code=CODE,
        title=gettext_lazy("Surat alih tangan kasus"),
        scope="followup",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
        numbered=True,
        outside=True,
    )
)
