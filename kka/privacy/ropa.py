"""The record of processing activities (UU PDP Pasal 31), generated from the models.

What each activity is for, on which legal basis, about whom and shared with whom is
written here once (it cannot be read off a model); which data it holds is read from the
models every time: each model of KKA is assigned to an activity and a data category, and
each of its fields is listed, encrypted fields marked. A model or field added later
appears on its own; a model not yet assigned is listed under "belum digolongkan" so
the DPO sees it (and a test fails until it is assigned). Retention comes from the
organisation's rules (``kka.privacy.retention``). Nothing here reads a row of client
data: the output is the same for an empty and a full database.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, TextIO

from django.apps import apps
from django.core.management.base import CommandError
from django.db import models
from django.utils import timezone

from kka.accounts.models import Organisation, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.lib.fields import EncryptedTextField
from kka.privacy import retention
from kka.privacy.models import RecordType

FORMATS = ("text", "json", "md")
UNCLASSIFIED = "unclassified"
# Third-party models that hold personal data of staff (sign-in security).
# Columns that hold no personal data by themselves (codes, hashes, ordering).
TECHNICAL = {
    "code",
    "stored_name",
    "sha256",
    "content_hash",
    "position",
    "version",
    "ics_sequence",
    "token_hash",
    "key_hash",
    "code_hash",
    "prev_hash",
    "row_hash",
    "token",
    "nisn_token",
    "employee_number_token",
    "nik_token",
}
THIRD_PARTY = {"otp_totp.totpdevice", "axes.accessattempt", "axes.accessfailurelog"}


@dataclass(frozen=True)
class Text:
    """A text in Indonesian with its English translation (the ROPA is bilingual)."""

    id: str
    en: str


CATEGORIES: dict[str, Text] = {
    "identity": Text("Identitas (nama, tanggal lahir, nomor induk, NIK)", "Identity"),
    "contact": Text("Kontak dan alamat", "Contact details and address"),
    "counselling": Text(
        "Data pribadi spesifik: isi konseling, kesehatan, data anak",
        "Specific personal data: counselling content, health, children's data",
    ),
    "consent": Text("Persetujuan dan buktinya", "Consent and its proof"),
    "participation": Text(
        "Keikutsertaan, tanggapan dan komitmen peserta KKA",
        "Participation, answers and commitments of KKA participants",
    ),
    "document": Text(
        "Dokumen yang dihasilkan dan nomor surat", "Produced documents and letter numbers"
    ),
    "account": Text("Akun staf, peran dan jejak masuk", "Staff accounts, roles and sign-ins"),
    "audit": Text("Log audit (kode saja, tanpa isi)", "Audit log (codes only, no content)"),
    "protection": Text(
        "Permintaan subjek data, insiden, akses darurat",
        "Data subject requests, incidents, emergency access",
    ),
    "none": Text("Tanpa data pribadi", "No personal data"),
    UNCLASSIFIED: Text("Belum digolongkan", "Not yet classified"),
}

# Model -> (activity, category); some fields belong to another category.
MODELS: dict[str, tuple[str, str]] = {
    "cases.client": ("case_handling", "identity"),
    "cases.clientnametoken": ("case_handling", "identity"),
    "cases.guardian": ("case_handling", "identity"),
    "cases.case": ("case_handling", "counselling"),
    "cases.casemember": ("case_handling", "account"),
    "cases.caserecord": ("case_handling", "counselling"),
    "cases.attachment": ("case_handling", "counselling"),
    "cases.problemmap": ("case_handling", "counselling"),
    "cases.problemaspect": ("case_handling", "counselling"),
    "cases.problemresource": ("case_handling", "counselling"),
    "cases.caseevent": ("case_handling", "audit"),
    "cases.importbatch": ("case_handling", "identity"),
    "cases.consent": ("case_handling", "consent"),
    "cases.consenttext": ("case_handling", "none"),
    "conferences.conference": ("conference", "counselling"),
    "conferences.participant": ("conference", "participation"),
    "conferences.portallink": ("conference", "participation"),
    "conferences.disclosure": ("conference", "participation"),
    "conferences.minutes": ("conference", "counselling"),
    "conferences.minutesdraft": ("conference", "counselling"),
    "conferences.minutesaddendum": ("conference", "counselling"),
    "conferences.minutesresponse": ("conference", "participation"),
    "conferences.commitment": ("conference", "participation"),
    "conferences.commitmentprogress": ("conference", "participation"),
    "conferences.evaluation": ("conference", "counselling"),
    "conferences.followup": ("conference", "counselling"),
    "conferences.report": ("conference", "counselling"),
    "conferences.remindersent": ("conference", "none"),
    "conferences.lettercounter": ("documents", "none"),
    "conferences.letternumber": ("documents", "document"),
    "documents.document": ("documents", "document"),
    "documents.documentaccess": ("documents", "document"),
    "documents.documenttemplate": ("documents", "none"),
    "accounts.user": ("accounts", "account"),
    "accounts.organisation": ("accounts", "account"),
    "accounts.membership": ("accounts", "account"),
    "accounts.organisationgroup": ("accounts", "none"),
    "accounts.usersession": ("accounts", "account"),
    "accounts.backupcode": ("accounts", "account"),
    "audit.auditevent": ("accounts", "audit"),
    "audit.audithead": ("accounts", "none"),
    "otp_totp.totpdevice": ("accounts", "account"),
    "axes.accessattempt": ("accounts", "account"),
    "axes.accessfailurelog": ("accounts", "account"),
    "api.apitoken": ("accounts", "account"),  # a user's personal API token (hash only)
    "jobs.jobrun": ("accounts", "none"),  # background job bookkeeping: ids and codes only
    "privacy.subjectrequest": ("data_protection", "protection"),
    "privacy.correction": ("data_protection", "protection"),
    "privacy.restriction": ("data_protection", "protection"),
    "privacy.erasure": ("data_protection", "protection"),
    "privacy.breakglass": ("data_protection", "protection"),
    "privacy.retentionrule": ("data_protection", "none"),
    "privacy.incident": ("data_protection", "protection"),
    "privacy.incidentsubject": ("data_protection", "protection"),
}

FIELD_CATEGORIES: dict[str, str] = {
    "cases.client.address": "contact",
    "cases.client.phone": "contact",
    "cases.client.group": "identity",
    "cases.guardian.phone": "contact",
    "cases.guardian.email": "contact",
    "cases.guardian.address": "contact",
    "conferences.participant.email": "contact",
    "conferences.participant.phone": "contact",
    "conferences.participant.pledge_name": "consent",
    "conferences.participant.pledged_at": "consent",
    "conferences.participant.pledge_ip": "consent",
}


@dataclass(frozen=True)
class Activity:
    key: str
    purpose: Text
    legal_basis: tuple[Text, ...]
    subjects: tuple[Text, ...]
    recipients: tuple[Text, ...]
    record_types: tuple[str, ...]
    retention_note: Text | None = None


CLIENT = Text("Konseli (sering anak)", "Clients (often children)")
GUARDIAN = Text("Orang tua / wali konseli", "Clients' parents or guardians")
PARTICIPANT = Text("Peserta KKA yang diundang", "Invited KKA participants")
STAFF = Text("Staf lembaga (konselor, koordinator, pimpinan, admin, DPO)", "Organisation staff")

CASE_TEAM = Text(
    "Tim kasus: konselor pemilik, konselor pendamping, supervisor yang ditambahkan",
    "The case team: owning counsellor, co-counsellors and supervisors added to the case",
)

ACTIVITIES: tuple[Activity, ...] = (
    Activity(
        key="case_handling",
        purpose=Text(
            "Penanganan kasus bimbingan dan konseling: himpunan data, peta masalah, persetujuan",
            "Handling counselling cases: case records, problem map, consent",
        ),
        legal_basis=(
            Text(
                "Persetujuan yang sah dan tercatat (Pasal 20 ayat 2 huruf a, Pasal 22-24); "
                "untuk anak, persetujuan orang tua/wali (Pasal 25)",
                "Recorded explicit consent (Art. 20(2)(a), 22-24); for a child, the "
                "parent's or guardian's consent (Art. 25)",
            ),
            Text(
                "Kepentingan vital bila ada bahaya bagi konseli atau orang lain, atau "
                "kekerasan terhadap anak (Pasal 20 ayat 2 huruf d; UU 35/2014)",
                "Vital interests where the client or others are in danger or a child "
                "suffers violence (Art. 20(2)(d); Law 35/2014)",
            ),
        ),
        subjects=(CLIENT, GUARDIAN),
        recipients=(
            CASE_TEAM,
            Text(
                "Koordinator BK hanya lewat akses darurat yang beralasan, terbatas waktu "
                "dan tercatat",
                "The coordinator only through logged, time-limited emergency access",
            ),
        ),
        record_types=(RecordType.CLOSED_CASE, RecordType.INACTIVE_CLIENT),
    ),
    Activity(
        key="conference",
        purpose=Text(
            "Penyelenggaraan konferensi kasus (KKA): rencana, undangan, notulen, "
            "komitmen, penilaian, tindak lanjut dan laporan",
            "Holding case conferences: plan, invitations, minutes, commitments, "
            "evaluations, follow-up and report",
        ),
        legal_basis=(
            Text(
                "Persetujuan untuk menyelenggarakan KKA dan untuk berbagi dengan setiap "
                "kategori peserta (Pasal 20, 22-25)",
                "Consent to hold the KKA and to share with each category of participant "
                "(Art. 20, 22-25)",
            ),
        ),
        subjects=(CLIENT, GUARDIAN, PARTICIPANT),
        recipients=(
            CASE_TEAM,
            Text(
                "Peserta yang diundang, hanya sesuai tingkat aksesnya (undangan, ringkasan, "
                "notulen bersama) dan setelah menyatakan komitmen kerahasiaan",
                "Invited participants, only at their disclosure level and after their "
                "confidentiality pledge",
            ),
        ),
        record_types=(RecordType.CLOSED_CASE, RecordType.PORTAL_LINK),
    ),
    Activity(
        key="documents",
        purpose=Text(
            "Pembuatan dokumen dan surat resmi (undangan, rencana, notulen, laporan) "
            "dengan register nomor surat",
            "Producing documents and official letters with the letter-number register",
        ),
        legal_basis=(
            Text(
                "Persetujuan untuk membuat dokumen (Pasal 20 ayat 2 huruf a)",
                "Consent to produce documents (Art. 20(2)(a))",
            ),
            Text(
                "Kewajiban hukum lembaga atas tata naskah dan arsip (Pasal 20 ayat 2 huruf c)",
                "The organisation's legal obligations on official correspondence and "
                "archives (Art. 20(2)(c))",
            ),
        ),
        subjects=(CLIENT, PARTICIPANT, STAFF),
        recipients=(
            CASE_TEAM,
            Text(
                "Penerima surat yang namanya tercetak pada dokumen",
                "The addressee printed on each document",
            ),
        ),
        record_types=(RecordType.DOCUMENT,),
        retention_note=Text(
            "Register nomor surat disimpan tetap (tanpa isi kasus).",
            "The letter-number register is kept (it holds no case content).",
        ),
    ),
    Activity(
        key="accounts",
        purpose=Text(
            "Akun staf, hak akses dan keamanan: masuk, verifikasi dua langkah, sesi, log audit",
            "Staff accounts, access rights and security: sign-in, two-factor, sessions, audit log",
        ),
        legal_basis=(
            Text(
                "Pelaksanaan perjanjian kerja dengan staf (Pasal 20 ayat 2 huruf b)",
                "Performance of the staff's employment (Art. 20(2)(b))",
            ),
            Text(
                "Kewajiban hukum menjaga keamanan dan merekam pemrosesan (Pasal 31, 35, 39)",
                "Legal obligation to secure and record processing (Art. 31, 35, 39)",
            ),
        ),
        subjects=(STAFF,),
        recipients=(
            Text(
                "Admin lembaga (akun dan peran); DPO (log audit)",
                "Organisation admin (accounts and roles); the DPO (audit log)",
            ),
        ),
        record_types=(RecordType.SESSION,),
        retention_note=Text(
            "Log audit disimpan tetap dan tidak dapat diubah (rantai hash); isinya hanya kode.",
            "The audit log is kept, append-only and hash-chained; it holds codes only.",
        ),
    ),
    Activity(
        key="data_protection",
        purpose=Text(
            "Pelindungan data: permintaan subjek data, pembetulan, pembatasan, "
            "penghapusan, akses darurat, insiden, masa simpan",
            "Data protection: subject requests, corrections, restrictions, erasure, "
            "emergency access, incidents, retention",
        ),
        legal_basis=(
            Text(
                "Kewajiban hukum menurut UU 27/2022 (Pasal 20 ayat 2 huruf c; Pasal 32-46)",
                "Legal obligation under Law 27/2022 (Art. 20(2)(c); Art. 32-46)",
            ),
        ),
        subjects=(CLIENT, GUARDIAN, STAFF),
        recipients=(
            Text(
                "DPO lembaga; subjek data atas datanya sendiri; otoritas dan subjek yang "
                "terdampak bila terjadi insiden (Pasal 46)",
                "The organisation's DPO; data subjects about their own data; the "
                "authority and affected subjects after an incident (Art. 46)",
            ),
        ),
        record_types=(),
        retention_note=Text(
            "Disimpan sebagai bukti kepatuhan; teks bebas terenkripsi.",
            "Kept as proof of compliance; free text encrypted.",
        ),
    ),
)

ACTIVITY_UNCLASSIFIED = Activity(
    key=UNCLASSIFIED,
    purpose=Text("Model yang belum digolongkan", "Models not yet classified"),
    legal_basis=(),
    subjects=(),
    recipients=(),
    record_types=(),
)

SECURITY_MEASURES: tuple[Text, ...] = (
    Text(
        "Enkripsi saat disimpan untuk setiap teks yang dapat memuat data pribadi dan untuk "
        "setiap berkas (ditandai [terenkripsi])",
        "Encryption at rest of every text that may hold personal data and of every file "
        "(marked [encrypted])",
    ),
    Text(
        "Pencarian nama lewat indeks buta berkunci, bukan teks terbuka",
        "Name search through keyed blind indexes, never plaintext",
    ),
    Text(
        "Verifikasi dua langkah dan verifikasi ulang untuk tindakan sensitif",
        "Two-factor authentication and step-up for sensitive actions",
    ),
    Text(
        "Hak akses per kasus; orang lain mendapat 404",
        "Per-case access; anyone else gets 404",
    ),
    Text(
        "Log audit berantai hash, hanya kode, tidak dapat diubah",
        "Append-only, hash-chained audit log with codes only",
    ),
    Text(
        "Tautan pribadi peserta: hanya hash token yang disimpan; berakhir setelah KKA",
        "Participants' private links: only the token's hash is stored; they expire after the KKA",
    ),
    Text(
        "Batas sesi, penguncian setelah gagal masuk berulang, CSP dan header keamanan",
        "Session limits, lockout after repeated failed sign-ins, CSP and security headers",
    ),
)

PROCESSORS: tuple[Text, ...] = ()
TRANSFERS = Text(
    "Tidak ada transfer ke luar wilayah hukum Indonesia oleh KKA sendiri.",
    "KKA itself makes no transfer outside Indonesia's jurisdiction.",
)

RECORD_TYPE_TRIGGERS: dict[str, Text] = {
    RecordType.CLOSED_CASE: Text("sejak kasus ditutup", "after the case is closed"),
    RecordType.INACTIVE_CLIENT: Text(
        "sejak kasus terakhir konseli ditutup", "after the client's last case is closed"
    ),
    RecordType.DOCUMENT: Text("sejak kasusnya ditutup", "after its case is closed"),
    RecordType.PORTAL_LINK: Text("sejak KKA selesai", "after the KKA is closed"),
    RecordType.SESSION: Text("sejak sesi berakhir", "after the session ends"),
}


# --- the inventory, from the models -------------------------------------------------------


def _model_label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _is_ours(model: type[models.Model]) -> bool:
    return model.__module__.startswith("kka.") or _model_label(model) in THIRD_PARTY


def inventory(model_list: list[type[models.Model]] | None = None) -> list[dict[str, Any]]:
    """Every model of KKA with its activity, category and fields (encrypted marked)."""
    if model_list is None:
        model_list = [model for model in apps.get_models() if _is_ours(model)]
    rows = []
    for model in sorted(model_list, key=_model_label):
        label = _model_label(model)
        activity, category = MODELS.get(label, (UNCLASSIFIED, UNCLASSIFIED))
        fields = []
        for field in model._meta.concrete_fields:
            # Keys and technical columns say nothing about a person; encrypted ones always do.
            technical = field.primary_key or field.is_relation or field.name in TECHNICAL
            if technical and not isinstance(field, EncryptedTextField):
                continue
            fields.append(
                {
                    "name": field.name,
                    "encrypted": isinstance(field, EncryptedTextField),
                    "category": FIELD_CATEGORIES.get(f"{label}.{field.name}", category),
                }
            )
        rows.append(
            {
                "model": label,
                "name": str(model._meta.verbose_name),
                "activity": activity,
                "category": category,
                "fields": fields,
            }
        )
    return rows


def _text(value: Text) -> dict[str, str]:
    return {"id": value.id, "en": value.en}


def record(
    organisation: Organisation | None = None,
    *,
    model_list: list[type[models.Model]] | None = None,
) -> dict[str, Any]:
    """The whole record as plain data (the three output formats render this)."""
    months = retention.periods(organisation) if organisation else dict(retention.DEFAULT_MONTHS)
    models_ = inventory(model_list)
    activities = list(ACTIVITIES)
    if any(row["activity"] == UNCLASSIFIED for row in models_):
        activities.append(ACTIVITY_UNCLASSIFIED)
    out = []
    for activity in activities:
        own = [row for row in models_ if row["activity"] == activity.key]
        categories: dict[str, list[dict[str, Any]]] = {}
        for row in own:
            for field in row["fields"]:
                if field["category"] == "none":
                    continue
                categories.setdefault(field["category"], []).append(
                    {
                        "model": row["model"],
                        "field": field["name"],
                        "encrypted": field["encrypted"],
                    }
                )
        out.append(
            {
                "key": activity.key,
                "purpose": _text(activity.purpose),
                "legal_basis": [_text(item) for item in activity.legal_basis],
                "data_subjects": [_text(item) for item in activity.subjects],
                "data_categories": [
                    {"category": key, **_text(CATEGORIES[key]), "fields": fields}
                    for key, fields in categories.items()
                ],
                "recipients": [_text(item) for item in activity.recipients],
                "processors": [_text(item) for item in PROCESSORS],
                "retention": [
                    {
                        "record_type": record_type,
                        "label": str(RecordType(record_type).label),
                        "months": months[record_type],
                        "from": _text(RECORD_TYPE_TRIGGERS[record_type]),
                    }
                    for record_type in activity.record_types
                ],
                "retention_note": _text(activity.retention_note)
                if activity.retention_note
                else None,
                "models": [row["model"] for row in own],
            }
        )
    return {
        "title": _text(
            Text("Catatan kegiatan pemrosesan data pribadi", "Record of processing activities")
        ),
        "controller": organisation.name if organisation else None,
        "organisation": organisation.code if organisation else None,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "activities": out,
        "security_measures": [_text(item) for item in SECURITY_MEASURES],
        "processors": [_text(item) for item in PROCESSORS],
        "transfers": _text(TRANSFERS),
    }


# --- rendering ----------------------------------------------------------------------------


def _field_list(fields: list[dict[str, Any]]) -> list[str]:
    """One line per model: its fields, encrypted ones marked."""
    by_model: dict[str, list[str]] = {}
    for field in fields:
        name = field["field"] + (" [terenkripsi/encrypted]" if field["encrypted"] else "")
        by_model.setdefault(field["model"], []).append(name)
    return [f"{model}: {', '.join(names)}" for model, names in by_model.items()]


def _section(
    lines: list[str], title: str, items: list[dict[str, str]], markdown: bool, bullet: str
) -> None:
    lines.append(f"### {title}" if markdown else f" {title}:")
    if not items:
        lines.append(f"{bullet}-")
    for item in items:
        lines.append(f"{bullet}{item['id']} ({item['en']})")


def render_text(data: dict[str, Any], *, markdown: bool = False) -> str:
    h1, h2, h3, bullet = ("# ", "## ", "### ", "- ") if markdown else ("", "", "", "  - ")
    lines = [f"{h1}{data['title']['id']} ({data['title']['en']})"]
    if data["controller"]:
        lines.append(f"Pengendali / Controller: {data['controller']} ({data['organisation']})")
    lines.append(f"Dibuat / Generated: {data['generated_at']}")
    for number, activity in enumerate(data["activities"], start=1):
        lines += [
            "",
            f"{h2}{number}. {activity['purpose']['id']}",
            f"   ({activity['purpose']['en']})",
        ]
        _section(lines, "Dasar pemrosesan / Legal basis", activity["legal_basis"], markdown, bullet)
        _section(lines, "Subjek data / Data subjects", activity["data_subjects"], markdown, bullet)
        lines.append(
            f"{h3}Kategori data / Data categories"
            if markdown
            else " Kategori data / Data categories:"
        )
        for category in activity["data_categories"]:
            lines.append(f"{bullet}{category['id']} ({category['en']}):")
            indent = "  " if markdown else "      "
            lines += [
                f"{indent}{bullet.strip()} {line}" for line in _field_list(category["fields"])
            ]
        _section(lines, "Penerima / Recipients", activity["recipients"], markdown, bullet)
        lines.append(
            f"{bullet}Pemroses data: tidak ada (Processors: none)"
            if not activity["processors"]
            else f"{bullet}Pemroses data / Processors: see list"
        )
        lines.append(f"{h3}Masa simpan / Retention" if markdown else " Masa simpan / Retention:")
        for item in activity["retention"]:
            lines.append(
                f"{bullet}{item['label']}: {item['months']} bulan/months "
                f"{item['from']['id']} ({item['from']['en']})"
            )
        if activity["retention_note"]:
            note = activity["retention_note"]
            lines.append(f"{bullet}{note['id']} ({note['en']})")
    lines += ["", f"{h2}Langkah keamanan / Security measures"]
    for item in data["security_measures"]:
        lines.append(f"{bullet}{item['id']} ({item['en']})")
    lines += [
        "",
        f"{h2}Transfer / Transfers",
        f"{bullet}{data['transfers']['id']} ({data['transfers']['en']})",
    ]
    return "\n".join(lines) + "\n"


def localised(value: Any, language: str) -> Any:
    """``value`` with every bilingual text also under ``text`` in ``language`` (id or en)."""
    if isinstance(value, dict):
        out = {key: localised(item, language) for key, item in value.items()}
        if isinstance(value.get("id"), str) and isinstance(value.get("en"), str):
            out["text"] = value["en"] if language.startswith("en") else value["id"]
        return out
    if isinstance(value, list):
        return [localised(item, language) for item in value]
    return value


def render(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return render_text(data, markdown=fmt == "md")


def audit_printed(
    *, fmt: str, organisation: Organisation | None, actor: User | None = None
) -> None:
    audit_log(
        action="privacy.ropa_printed",
        actor=actor,
        actor_role=(
            role_in(actor, organisation.pk) if actor and organisation else retention.OPERATOR_ROLE
        ),
        organisation=organisation,
        object_type="ropa",
        object_ref=organisation.code if organisation else "",
        refs={"format": fmt},
    )


# --- ``kka privacy ropa`` -----------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the record of processing activities (purposes, legal bases, data subjects, "
        "data categories from the models with encrypted fields marked, recipients, "
        "retention, security measures)."
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--organisation", default=None, help="use this organisation's retention periods (code)"
    )


def run(options: dict[str, Any], stdout: TextIO) -> None:
    organisation = None
    code = options.get("organisation")
    if code:
        organisation = Organisation.objects.filter(code=code).first()
        if organisation is None:
            raise CommandError(f"no organisation with code {code!r}")
    fmt = options.get("format") or "text"
    data = record(organisation)
    audit_printed(fmt=fmt, organisation=organisation)
    stdout.write(render(data, fmt))
