"""Consent documents: the blank form to sign (``persetujuan_kosong``, about a client)
and the proof of one recorded consent or withdrawal (``bukti_persetujuan``, UU 27/2022
Pasal 24: consent must be provable).

The blank form shows the organisation's current consent text (the version a
recorded consent will point at) and every purpose as a box to tick; it names the
client so the signed paper cannot be filed against the wrong person, which is why it
is confidential like the proof.
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
from kka.cases.models import Client, Consent, ConsentGiver, ConsentKind
from kka.cases.services import DEFAULT_CONSENT_TEXT
from kka.documents import common
from kka.documents.blocks import Block, Doc, Fields, Heading, Paragraph, Signature, Signatures
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

BLANK_CODE = "persetujuan_kosong"
PROOF_CODE = "bukti_persetujuan"
EMPTY = "-"
LINE = "." * 50
NAME_LINE = "(" + "." * 40 + ")"
BOX = "\u2610"  # ☐
TICKED = "\u2611"  # ☑
# Purpose field -> the Indonesian variable name an organisation's template may use.
PURPOSE_FIELD = {
    "purpose_hold_kka": "tujuan_konferensi_kasus",
    "share_school_staff": "tujuan_staf_lembaga",
    "share_family": "tujuan_keluarga",
    "share_employer": "tujuan_pemberi_kerja",
    "share_community": "tujuan_masyarakat",
    "share_professionals": "tujuan_profesional",
    "purpose_documents": "tujuan_dokumen",
}


def _indonesian(function: Callable[..., Any]) -> Callable[..., Any]:
    """Documents are always in Indonesian, whatever the producer's UI language."""

    def wrapper(*args: Any) -> Any:
        with translation.override("id"):
            return function(*args)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _day(organisation: Any, moment: dt.datetime) -> str:
    return dates.long_date(dates.local(moment, organisation.time_zone).date())


def _client_identity(client: Client) -> dict[str, str]:
    birth = client.birth_date_value
    return {
        "nama_konseli": client.full_name,
        "tanggal_lahir_konseli": common.plain_date(birth) if birth else EMPTY,
        "kelas_konseli": client.group or EMPTY,
        "kode_konseli": client.code,
    }


# --- the blank form ---------------------------------------------------------------------------


def _current_text(organisation: Any) -> tuple[str, str]:
    """(version, body) of the text a consent recorded now would point at. With no text
    yet, the standard one that recording the first consent will save as version 1."""
    text = case_selectors.current_consent_text(organisation)
    if text is None:
        return "1", DEFAULT_CONSENT_TEXT
    return str(text.version), text.body


@_indonesian
def blank_fields(subject: Subject) -> dict[str, str]:
    client = subject.client
    if client is None:
        raise ValidationError(_("Formulir persetujuan memerlukan data konseli."))
    version, body = _current_text(subject.organisation)
    minor = case_selectors.client_is_minor(client)
    return {
        **_client_identity(client),
        "konseli_anak": "ya" if minor else "tidak",
        "versi_teks": version,
        "teks_persetujuan": body,
        "daftar_tujuan": "\n".join(f"{BOX} {label}" for _name, label in PURPOSE_CHOICES),
        "nama_lembaga": subject.organisation.name,
        "nama_konselor": subject.viewer.full_name,
        "nip_konselor": subject.viewer.staff_number or EMPTY,
        "dibuat_untuk": subject.viewer.full_name,
    }


@_indonesian
def blank_build(subject: Subject, values: dict[str, str]) -> Doc:
    organisation = subject.organisation
    minor = values["konseli_anak"] == "ya"
    givers = ("Konseli", str(ConsentGiver.PARENT.label), str(ConsentGiver.GUARDIAN.label))
    doc = Doc(
        kind=BLANK_CODE,
        title="Formulir persetujuan",
        confidential=True,
        produced_for=values["dibuat_untuk"],
        date_text=common.date_text(organisation),
    )
    doc.add(
        Heading("FORMULIR PERSETUJUAN KONFERENSI KASUS", level=1, centred=True),
        Heading("A. Konseli", level=3),
        Fields(
            rows=(
                ("", "Nama lengkap", values["nama_konseli"]),
                ("", "Tanggal lahir", values["tanggal_lahir_konseli"]),
                ("", "Kelas / bagian", values["kelas_konseli"]),
                ("", "Nomor konseli", values["kode_konseli"]),
            )
        ),
        Heading("B. Pemberi persetujuan", level=3),
        Fields(
            rows=(
                ("", "Nama", LINE),
                (
                    "",
                    "Sebagai",
                    "  ".join(f"{BOX} {label}" for label in givers) + "; hubungan: " + LINE[:20],
                ),
            )
        ),
    )
    if minor:
        doc.add(
            Paragraph(
                "Konseli berusia di bawah 18 tahun: persetujuan diberikan oleh orang tua atau "
                "wali (UU Nomor 27 Tahun 2022 Pasal 25).",
                small=True,
            )
        )
    doc.add(
        Heading(f"C. Teks persetujuan (versi {values['versi_teks']})", level=3),
        Paragraph(values["teks_persetujuan"]),
        Heading("D. Saya menyetujui (beri tanda pada yang disetujui)", level=3),
        Paragraph(values["daftar_tujuan"], align="left"),
        Paragraph(
            "Hanya tujuan yang diberi tanda yang disetujui. Persetujuan dapat ditarik kapan saja.",
            small=True,
        ),
    )
    place = f"{organisation.city}, " if organisation.city else ""
    # The counsellor on the left, the giver under the date line on the right.
    signers = (
        common.counsellor_signature(organisation, subject.viewer),
        Signature(lines_above=("Pemberi persetujuan,",), name=NAME_LINE),
    )
    doc.add(Signatures(place_date=place + "." * 30, blocks=signers))
    return doc


# --- the proof of a recorded consent -----------------------------------------------------------


def _status(consent: Consent) -> str:
    """What became of a grant: withdrawn, replaced, still in force, or no longer valid."""
    if consent.kind != ConsentKind.GRANT:
        return "Pernyataan penarikan persetujuan"
    organisation = consent.client.organisation
    later = (
        Consent.objects.filter(
            client=consent.client, giver=consent.giver, recorded_at__gte=consent.recorded_at
        )
        .exclude(pk=consent.pk)
        .order_by("recorded_at", "id")
        .first()
    )
    if later is not None and later.kind == ConsentKind.WITHDRAWAL:
        return f"Ditarik pada {_day(organisation, later.given_at)} (bukti {later.code})"
    if later is not None:
        return (
            f"Digantikan oleh persetujuan yang lebih baru pada "
            f"{_day(organisation, later.given_at)} (bukti {later.code})"
        )
    if case_selectors.current_consent(consent.client) == consent:
        return "Berlaku"
    return "Tidak berlaku lagi (pemberi persetujuan tidak lagi sah untuk konseli ini)"


def _proof_consent(subject: Subject) -> Consent:
    consent = subject.consent
    if consent is None:
        raise ValidationError(_("Bukti persetujuan memerlukan persetujuan yang tercatat."))
    return consent


@_indonesian
def proof_fields(subject: Subject) -> dict[str, str]:
    consent = _proof_consent(subject)
    organisation = subject.organisation
    client = consent.client
    giver = str(consent.get_giver_display())
    if consent.giver_relationship:
        giver = f"{giver} ({consent.giver_relationship})"
    chosen = [str(label) for name, label in PURPOSE_CHOICES if getattr(consent, name)]
    refused = [str(label) for name, label in PURPOSE_CHOICES if not getattr(consent, name)]
    values = {
        **_client_identity(client),
        "nomor_bukti": consent.code,
        "jenis": str(consent.get_kind_display()),
        "pemberi_nama": consent.giver_name,
        "pemberi_sebagai": giver,
        "waktu_persetujuan": dates.long_datetime(consent.given_at, organisation.time_zone),
        "cara": str(consent.get_channel_display()),
        "dicatat_oleh": consent.recorded_by.full_name,
        "dicatat_pada": dates.long_datetime(consent.recorded_at, organisation.time_zone),
        "versi_teks": str(consent.consent_text.version),
        "teks_persetujuan": consent.consent_text.body,
        "tujuan_disetujui": "\n".join(chosen) if consent.kind == ConsentKind.GRANT else EMPTY,
        "tujuan_tidak_disetujui": "\n".join(refused) if consent.kind == ConsentKind.GRANT else "",
        "status": _status(consent),
        "catatan": consent.note,
        "pindaian": "Tersimpan di KKA" if consent.scan_id else "Tidak ada",
        "nama_lembaga": organisation.name,
        "dibuat_untuk": subject.viewer.full_name,
    }
    for name, variable in PURPOSE_FIELD.items():
        values[variable] = "ya" if getattr(consent, name) else "tidak"
    return values


@_indonesian
def proof_build(subject: Subject, values: dict[str, str]) -> Doc:
    consent = _proof_consent(subject)
    organisation = subject.organisation
    grant = consent.kind == ConsentKind.GRANT
    title = "BUKTI PERSETUJUAN" if grant else "BUKTI PERSETUJUAN — PENARIKAN"
    doc = Doc(
        kind=PROOF_CODE,
        title="Bukti persetujuan",
        confidential=True,
        produced_for=values["dibuat_untuk"],
        number=values["nomor_bukti"],
        date_text=common.date_text(organisation),
    )
    blocks: list[Block] = [
        Heading(title, level=1, centred=True),
        Fields(
            rows=(
                ("", "Nomor bukti", values["nomor_bukti"]),
                ("", "Konseli", values["nama_konseli"]),
                ("", "Tanggal lahir", values["tanggal_lahir_konseli"]),
                ("", "Jenis", values["jenis"]),
                ("", "Diberikan oleh", f"{values['pemberi_nama']}, {values['pemberi_sebagai']}"),
                ("", "Waktu", values["waktu_persetujuan"]),
                ("", "Cara", values["cara"]),
                ("", "Pindaian formulir", values["pindaian"]),
                ("", "Dicatat oleh", f"{values['dicatat_oleh']}, {values['dicatat_pada']}"),
                ("", "Versi teks persetujuan", values["versi_teks"]),
                ("", "Status", values["status"]),
            )
        ),
    ]
    if grant:
        blocks.append(Heading("Tujuan yang disetujui", level=3))
        blocks += [
            Paragraph(f"{TICKED if getattr(consent, name) else BOX} {label}", align="left")
            for name, label in PURPOSE_CHOICES
        ]
    blocks += [
        Heading("Teks persetujuan yang ditunjukkan", level=3),
        Paragraph(values["teks_persetujuan"]),
    ]
    if values["catatan"].strip():
        blocks += [Heading("Catatan", level=3), Paragraph(values["catatan"])]
    blocks.append(
        Paragraph(
            f"Dibuat dari catatan KKA pada {common.date_text(organisation)} untuk "
            f"{values['dibuat_untuk']}. Dokumen ini rahasia dan hanya untuk keperluan "
            "pembuktian persetujuan (UU Nomor 27 Tahun 2022 Pasal 24).",
            small=True,
        )
    )
    doc.add(*blocks)
    return doc


# --- registration ------------------------------------------------------------------------------

_CLIENT_HELP: dict[str, Any] = {
    "nama_konseli": gettext_lazy("Nama lengkap konseli"),
    "tanggal_lahir_konseli": gettext_lazy("Tanggal lahir konseli"),
    "kelas_konseli": gettext_lazy("Kelas / bagian konseli"),
    "kode_konseli": gettext_lazy("Nomor konseli di KKA"),
    "nama_lembaga": gettext_lazy("Nama lembaga"),
    "dibuat_untuk": gettext_lazy("Untuk siapa salinan ini dibuat (dicetak sebagai tanda RAHASIA)"),
    "versi_teks": gettext_lazy("Versi teks persetujuan"),
    "teks_persetujuan": gettext_lazy("Teks persetujuan lembaga"),
}
BLANK_FIELD_HELP: dict[str, Any] = {
    **_CLIENT_HELP,
    "konseli_anak": gettext_lazy(
        '"ya" bila konseli berusia di bawah 18 tahun (orang tua/wali menandatangani)'
    ),
    "daftar_tujuan": gettext_lazy("Tujuan persetujuan dengan kotak centang, satu per baris"),
    "nama_konselor": gettext_lazy("Nama konselor"),
    "nip_konselor": gettext_lazy("NIP / nomor pegawai konselor"),
}
PROOF_FIELD_HELP: dict[str, Any] = {
    **_CLIENT_HELP,
    "nomor_bukti": gettext_lazy("Nomor bukti persetujuan"),
    "jenis": gettext_lazy("Pemberian atau penarikan persetujuan"),
    "pemberi_nama": gettext_lazy("Nama pemberi persetujuan"),
    "pemberi_sebagai": gettext_lazy(
        "Kedudukan pemberi persetujuan (konseli, orang tua, wali) dan hubungannya"
    ),
    "waktu_persetujuan": gettext_lazy("Waktu persetujuan diberikan"),
    "cara": gettext_lazy("Cara persetujuan diberikan"),
    "dicatat_oleh": gettext_lazy("Konselor yang mencatat"),
    "dicatat_pada": gettext_lazy("Waktu pencatatan"),
    "tujuan_disetujui": gettext_lazy("Tujuan yang disetujui, satu per baris"),
    "tujuan_tidak_disetujui": gettext_lazy("Tujuan yang tidak disetujui, satu per baris"),
    "status": gettext_lazy("Berlaku, ditarik, digantikan, atau tidak berlaku lagi"),
    "catatan": gettext_lazy("Catatan pada persetujuan"),
    "pindaian": gettext_lazy("Apakah pindaian formulir bertanda tangan tersimpan"),
    "tujuan_konferensi_kasus": gettext_lazy('"ya"/"tidak": menyelenggarakan konferensi kasus'),
    "tujuan_staf_lembaga": gettext_lazy('"ya"/"tidak": berbagi dengan staf sekolah / lembaga'),
    "tujuan_keluarga": gettext_lazy('"ya"/"tidak": berbagi dengan keluarga'),
    "tujuan_pemberi_kerja": gettext_lazy('"ya"/"tidak": berbagi dengan atasan / pemberi kerja'),
    "tujuan_masyarakat": gettext_lazy(
        '"ya"/"tidak": berbagi dengan aparat desa / tokoh masyarakat'
    ),
    "tujuan_profesional": gettext_lazy('"ya"/"tidak": berbagi dengan profesional luar'),
    "tujuan_dokumen": gettext_lazy('"ya"/"tidak": membuat dokumen'),
}

BLANK_KIND = register(
    Kind(
        code=BLANK_CODE,
        title=gettext_lazy("Formulir persetujuan kosong"),
        scope="client",
        fields=blank_fields,
        build=blank_build,
        field_help=BLANK_FIELD_HELP,
        confidential=True,
    )
)
PROOF_KIND = register(
    Kind(
        code=PROOF_CODE,
        title=gettext_lazy("Bukti persetujuan"),
        scope="consent",
        fields=proof_fields,
        build=proof_build,
        field_help=PROOF_FIELD_HELP,
        confidential=True,
    )
)


def proof_pdf(*, viewer: Any, consent: Consent) -> bytes:
    """The proof rendered for reading (``cases:consent_proof``), in the same layout as
    the registered document; the caller has checked access and audits the export."""
    from kka.documents import render

    subject = Subject(
        organisation=consent.client.organisation,
        viewer=viewer,
        consent=consent,
        client=consent.client,
    )
    doc = PROOF_KIND.build(subject, PROOF_KIND.fields(subject))
    return render.render_pdf(doc, subject.organisation)
