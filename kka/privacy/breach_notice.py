"""The breach-notice draft for one affected person (UU PDP Pasal 46).

A letter on the organisation's letterhead, always in Indonesian, addressed to the
client or, for a minor (``client_is_minor``: under 18 or birth date unknown), to the
recorded parents/guardians together. It states the three required elements: which
data was disclosed (the categories found in the audit log), when and how (the
incident's window and chronology), and what is being done (the measures), with the
contact of the organisation and its data protection officer.

The addressee's name appears only here: the notice is the legally required letter.
The audit row names the incident and client codes, never the addressee.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import translation

from kka.accounts.models import Membership, Role, User
from kka.audit.services import audit_log
from kka.cases.models import Client, Guardian
from kka.cases.selectors import client_is_minor
from kka.documents import common, render
from kka.documents.blocks import (
    BulletList,
    Doc,
    Fields,
    Heading,
    LetterHead,
    Paragraph,
    Signature,
    Signatures,
    Spacer,
)
from kka.privacy.affected import CATEGORIES
from kka.privacy.models import Incident, IncidentSubject

NO_NUMBER = "........................"
SUBJECT_LINE = "Pemberitahuan kegagalan pelindungan data pribadi"
SALUTATION = {"ayah": "Bapak", "ibu": "Ibu"}
FORMATS = {
    "pdf": ("application/pdf", render.render_pdf),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        render.render_docx,
    ),
}


def _guardian_line(guardian: Guardian) -> str:
    title = SALUTATION.get(guardian.relationship, "Bapak/Ibu")
    return f"{title} {guardian.full_name} ({guardian.get_relationship_display()})"


def addressee(client: Client) -> tuple[tuple[str, ...], str, bool]:
    """(the address lines, the name printed as "dibuat untuk", minor?)."""
    minor = client_is_minor(client)
    if minor:
        guardians = list(client.guardians.order_by("pk"))
        if guardians:
            lines = [f"Yth. {_guardian_line(g)}" for g in guardians]
            name = ", ".join(g.full_name for g in guardians)
        else:
            lines = ["Yth. Bapak/Ibu orang tua/wali"]
            name = f"orang tua/wali {client.full_name}"
        lines.append(f"orang tua/wali dari {client.full_name}")
        where = next((g.address for g in guardians if g.address), "") or client.address
    else:
        lines = [f"Yth. Sdr. {client.full_name}"]
        name = client.full_name
        where = client.address
    lines.append(f"di {where.strip()}" if where and where.strip() else "di tempat")
    return tuple(lines), name, minor


def _contacts(incident: Incident) -> str:
    organisation = incident.organisation
    officers = [
        m.user
        for m in Membership.objects.filter(
            organisation=organisation, role=Role.DPO, is_active=True
        ).select_related("user")
    ]
    parts = []
    if officers:
        people = "; ".join(f"{u.full_name} ({u.email})" for u in officers)
        parts.append(f"petugas pelindungan data kami, {people}")
    reach = ", ".join(
        p
        for p in (
            f"telepon {organisation.phone}" if organisation.phone else "",
            f"email {organisation.email}" if organisation.email else "",
        )
        if p
    )
    parts.append(f"{organisation.name}" + (f" ({reach})" if reach else ""))
    return " atau ".join(parts)


def build(*, incident: Incident, subject: IncidentSubject, signer: User) -> Doc:
    organisation = incident.organisation
    client = subject.client
    with translation.override("id"):
        lines, name, minor = addressee(client)
        whose = f"putra/putri Bapak/Ibu, {client.full_name}" if minor else "Saudara"
        you = "Bapak/Ibu" if minor else "Saudara"
        categories = [
            str(CATEGORIES.get(code, CATEGORIES["lainnya"])) for code in subject.categories
        ] or [str(CATEGORIES["lainnya"])]
        occurred_to = incident.occurred_to
        doc = Doc(
            kind="pemberitahuan_insiden",
            title="Pemberitahuan Kegagalan Pelindungan Data Pribadi",
            confidential=True,
            produced_for=name,
            number="",
            date_text=common.date_text(organisation),
        )
        doc.add(
            LetterHead(number=NO_NUMBER, subject=SUBJECT_LINE, addressee=lines),
            Spacer(),
            Paragraph("Dengan hormat,"),
            Paragraph(
                f"Dengan surat ini {organisation.name} memberitahukan bahwa telah terjadi "
                f"kegagalan pelindungan data pribadi yang menyangkut data pribadi {whose}. "
                "Pemberitahuan ini kami sampaikan secara tertulis sesuai Pasal 46 "
                "Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi."
            ),
            Heading("1. Data pribadi yang terungkap", level=3),
            BulletList(tuple(categories)),
            Heading("2. Kapan dan bagaimana data terungkap", level=3),
            Fields(
                (
                    ("", "Terjadi sejak", common.moment_text(organisation, incident.occurred_from)),
                    (
                        "",
                        "Terjadi sampai",
                        common.moment_text(organisation, occurred_to)
                        if occurred_to
                        else "belum diketahui",
                    ),
                    (
                        "",
                        "Diketahui pada",
                        common.moment_text(organisation, incident.discovered_at),
                    ),
                )
            ),
            Paragraph(incident.description.strip() or "Kronologi masih ditelusuri."),
            Heading("3. Upaya penanganan dan pemulihan", level=3),
            Paragraph(incident.measures.strip() or "Upaya penanganan sedang disusun."),
            Paragraph(
                f"Apabila {you} memerlukan keterangan lebih lanjut, termasuk untuk melihat "
                f"atau membetulkan data, {you} dapat menghubungi {_contacts(incident)}."
            ),
            Paragraph("Atas perhatian dan pengertian " + you + ", kami mengucapkan terima kasih."),
            Spacer(),
            Signatures(
                place_date=common.place_date(organisation),
                blocks=(
                    common.head_signature(organisation),
                    Signature(
                        lines_above=("Petugas Pelindungan Data,",),
                        name=signer.full_name,
                        id_label="NIP" if signer.staff_number else "",
                        id_value=signer.staff_number,
                    ),
                ),
            ),
        )
    return doc


@transaction.atomic
def breach_notice_draft(
    *, actor: User, incident: Incident, subject: IncidentSubject, fmt: str = "pdf"
) -> tuple[bytes, str, str]:
    """(file, content type, file name) of the draft; audited with codes only."""
    content_type, renderer = FORMATS[fmt]
    doc = build(incident=incident, subject=subject, signer=actor)
    data: bytes = renderer(doc, incident.organisation)
    audit_log(
        action="privacy.breach_notice_drafted",
        actor=actor,
        actor_role=Role.DPO,
        organisation=incident.organisation_id,
        object_type="incident",
        object_ref=incident.code,
        refs={"client": subject.client.code, "format": fmt},
    )
    filename = f"pemberitahuan-{incident.code}-{subject.client.code}.{fmt}"
    return data, content_type, filename
