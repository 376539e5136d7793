"""Subject access export (UU 27/2022 Pasal 32): every piece of personal data KKA holds
about one client and its processing trail, as JSON and as PDF.

Redaction (Pasal 33: access must not reveal another person's data):

- other clients are never included;
- participants of a KKA appear by their role and category only: no name, contact or
  institution; what they said themselves (comments on the minutes, their laiseg
  answers, their progress notes) is left out and only counted;
- a commitment a participant made about the client is about the client: its text
  stays, the participant is named by role only;
- a helper in the problem map (a person or institution) appears by role only;
- staff acting in their job (counsellors, the recorder of a consent, who acted in the
  audit trail) are named in full: the subject is entitled to know who processed
  their data, and it is not the staff member's private data;
- the counsellor's private notes (private layer of the minutes, private addenda, the
  data wanted/obtained working notes) are left out, with the reason stated in the
  export: they are the counsellor's professional working notes and may hold what
  others told the counsellor in confidence. The shared minutes are included.

Attachments are listed (name, type, size, hash), not embedded. The JSON keys are
stable English snake_case; dates are ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Q
from django.utils import timezone, translation

from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.audit.actions import ACTIONS
from kka.audit.models import AuditEvent
from kka.audit.services import audit_log
from kka.cases.forms import PURPOSE_CHOICES
from kka.cases.models import Attachment, CaseRecord, Client, Consent, ProblemMap
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    Disclosure,
    Evaluation,
    EvaluationKind,
    FollowUp,
    Minutes,
    MinutesResponse,
    Participant,
)
from kka.documents import common, render
from kka.documents.blocks import BulletList, Doc, Fields, Heading, Paragraph, Table
from kka.documents.models import Document, DocumentAccess
from kka.privacy.models import Correction, Restriction, SubjectRequest

FORMAT_VERSION = 1
PRIVATE_NOTES_REASON = (
    "Catatan pribadi konselor (lapisan pribadi notulen, tambahan pribadi, dan catatan kerja "
    "data yang ingin/telah diperoleh) tidak disertakan: catatan tersebut adalah catatan kerja "
    "profesional konselor dan dapat memuat keterangan orang lain yang disampaikan secara "
    "rahasia (UU 27/2022 Pasal 33). Notulen bersama disertakan."
)
REDACTION_NOTE = (
    "Data orang lain tidak disertakan (UU 27/2022 Pasal 33): peserta konferensi kasus dan "
    "pihak pendukung disebut dengan peran saja; komentar, jawaban penilaian, dan catatan "
    "kemajuan yang ditulis peserta sendiri hanya dihitung jumlahnya. Petugas yang bertindak "
    "dalam jabatannya disebut dengan nama."
)


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _staff(user: User | None) -> str | None:
    return user.full_name if user is not None else None


def _participant_ref(participant: Participant | None) -> dict[str, str] | None:
    if participant is None:
        return None
    return {"role": participant.role, "category": participant.get_category_display()}


# --- collecting ------------------------------------------------------------------------------


def _identity(client: Client) -> dict[str, Any]:
    return {
        "code": client.code,
        "full_name": client.full_name,
        "sex": client.get_sex_display() if client.sex else "",
        "birth_date": client.birth_date,
        "nisn": client.nisn,
        "employee_number": client.employee_number,
        "nik": client.nik,
        "group": client.group,
        "address": client.address,
        "phone": client.phone,
        "organisation": client.organisation.name,
        "created_at": _iso(client.created_at),
        "created_by": _staff(client.created_by),
    }


def _consent(consent: Consent) -> dict[str, Any]:
    purposes = [str(label) for name, label in PURPOSE_CHOICES if getattr(consent, name)]
    return {
        "code": consent.code,
        "kind": consent.get_kind_display(),
        "giver": consent.get_giver_display(),
        "giver_name": consent.giver_name,
        "giver_relationship": consent.giver_relationship,
        "purposes": purposes,
        "consent_text_version": consent.consent_text.version,
        "channel": consent.get_channel_display(),
        "note": consent.note,
        "scan": consent.scan.code if consent.scan_id else None,  # type: ignore[union-attr]
        "given_at": _iso(consent.given_at),
        "recorded_by": _staff(consent.recorded_by),
        "recorded_at": _iso(consent.recorded_at),
    }


def _attachment(attachment: Attachment) -> dict[str, Any]:
    return {
        "code": attachment.code,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_at": _iso(attachment.uploaded_at),
        "uploaded_by": _staff(attachment.uploaded_by),
    }


def _record(record: CaseRecord) -> dict[str, Any]:
    return {
        "code": record.code,
        "occurred_on": _iso(record.occurred_on),
        "source": record.get_source_display(),
        "content": record.content,
        "may_bring_to_kka": record.may_bring_to_kka,
        "created_by": _staff(record.created_by),
        "created_at": _iso(record.created_at),
        "attachments": [_attachment(a) for a in record.attachments.all()],
    }


def _problem_map(problem_map: ProblemMap | None) -> dict[str, Any] | None:
    if problem_map is None:
        return None
    return {
        "core_problem": problem_map.core_problem,
        "updated_at": _iso(problem_map.updated_at),
        "aspects": [
            {
                "code": a.code,
                "kind": a.get_kind_display(),
                "text": a.text,
                "records": [r.code for r in a.records.all()],
            }
            for a in problem_map.aspects.all()
        ],
        # A helper is another person: role and category only, no name.
        "resources": [
            {
                "code": r.code,
                "role": r.role,
                "category": r.get_category_display(),
                "contribution": r.contribution,
            }
            for r in problem_map.resources.all()
        ],
    }


def _minutes(conference: Conference) -> dict[str, Any] | None:
    minutes = Minutes.objects.filter(conference=conference).first()
    if minutes is None:
        return None
    responses = MinutesResponse.objects.filter(minutes=minutes)
    return {
        "shared_text": minutes.shared_text,
        "conclusions": minutes.conclusions,
        "directions": minutes.directions,
        "data_needs": minutes.get_data_needs_display() if minutes.data_needs else "",
        "finalised_at": _iso(minutes.finalised_at),
        "shared_addenda": [
            {
                "code": a.code,
                "text": a.text,
                "reason": a.reason,
                "author": _staff(a.author),
                "at": _iso(a.at),
            }
            for a in minutes.addenda.filter(layer="shared").order_by("at", "id")
        ],
        "private_notes_included": False,
        "agreements_by_participants": responses.filter(kind="agree").count(),
        "comments_by_participants_withheld": responses.filter(kind="comment").count(),
    }


def _commitment(commitment: Commitment) -> dict[str, Any]:
    progress = CommitmentProgress.objects.filter(commitment=commitment).select_related("by_user")
    return {
        "code": commitment.code,
        "participant": _participant_ref(commitment.participant),
        "counsellor": _staff(commitment.counsellor),
        "what": commitment.what,
        "due_on": _iso(commitment.due_on),
        "check_method": commitment.check_method,
        "status": commitment.get_status_display(),
        "progress_by_counsellors": [
            {"note": p.note, "at": _iso(p.at), "by": _staff(p.by_user)}
            for p in progress
            if p.by_user_id is not None
        ],
        "progress_notes_by_participant_withheld": sum(
            1 for p in progress if p.by_participant_id is not None
        ),
    }


def _evaluation(evaluation: Evaluation) -> dict[str, Any]:
    own_statement = evaluation.kind == EvaluationKind.LAISEG and evaluation.participant_id
    row: dict[str, Any] = {
        "code": evaluation.code,
        "kind": evaluation.get_kind_display(),
        "participant": _participant_ref(evaluation.participant),
        "due_on": _iso(evaluation.due_on),
        "done_at": _iso(evaluation.done_at),
        "recorded_by": _staff(evaluation.recorded_by),
    }
    if own_statement:
        # A participant's own immediate evaluation is their statement, not the client's data.
        row["answers_withheld"] = True
        return row
    row.update(
        {
            "scheme": evaluation.get_scheme_display() if evaluation.scheme else "",
            "answers": evaluation.answers_dict,
            "client_situation": evaluation.client_situation,
            "commitment_results": evaluation.commitment_results_dict,
            "analysis": evaluation.analysis,
            "data_needs_met": evaluation.get_data_needs_met_display()
            if evaluation.data_needs_met
            else "",
        }
    )
    return row


def _followup(followup: FollowUp) -> dict[str, Any]:
    return {
        "code": followup.code,
        "kind": followup.get_kind_display(),
        "conference": followup.conference.code if followup.conference_id else None,  # type: ignore[union-attr]
        "referral_to": followup.get_referral_to_display() if followup.referral_to else "",
        # The receiving professional acts in their job, like staff: named.
        "referral_to_name": followup.referral_to_name,
        "reason": followup.reason,
        "consent": followup.consent.code if followup.consent_id else None,  # type: ignore[union-attr]
        "status": followup.get_status_display(),
        "planned_on": _iso(followup.planned_on),
        "note": followup.note,
        "created_by": _staff(followup.created_by),
        "created_at": _iso(followup.created_at),
    }


def _conference(conference: Conference) -> dict[str, Any]:
    participants = list(conference.participants.filter(removed_at__isnull=True))
    return {
        "code": conference.code,
        "sequence": conference.sequence,
        "status": conference.get_status_display(),
        "plan": {
            "topic": conference.topic,
            "bidang": conference.bidang,
            "functions": list(conference.functions or []),
            "aim": conference.aim,
            "expected_results": conference.expected_results,
            "subject": conference.subject,
            "summary": conference.summary,
            "place": conference.place,
            "starts_at": _iso(conference.starts_at),
            "ends_at": _iso(conference.ends_at),
            "organiser": conference.organiser,
            "materials_note": conference.materials_note,
            "records": [r.code for r in conference.records.all()],
            "use_of_results": conference.use_of_results,
            "evaluation_plan": conference.evaluation_plan,
            "related_activities": conference.related_activities,
            "special_notes": conference.special_notes,
            "client_participation": conference.get_client_participation_display(),
            "briefing": conference.briefing,
        },
        "participants": [
            {
                "code": p.code,
                "role": p.role,
                "category": p.get_category_display(),
                "disclosure": p.get_disclosure_display(),
            }
            for p in participants
        ],
        "minutes": _minutes(conference),
        "commitments": [
            _commitment(c)
            for c in conference.commitments.select_related("participant", "counsellor")  # type: ignore[attr-defined]
        ],
        "evaluations": [
            _evaluation(e)
            for e in conference.evaluations.select_related("participant", "recorded_by")  # type: ignore[attr-defined]
        ],
        "created_by": _staff(conference.created_by),
        "created_at": _iso(conference.created_at),
    }


def _document(document: Document) -> dict[str, Any]:
    return {
        "code": document.code,
        "kind": document.kind,
        "edition": document.edition,
        "format": document.format,
        "number": document.number,
        "case": document.case.code if document.case_id else None,  # type: ignore[union-attr]
        "conference": document.conference.code if document.conference_id else None,  # type: ignore[union-attr]
        "participant": _participant_ref(document.participant),
        "created_by": _staff(document.created_by),
        "created_at": _iso(document.created_at),
        "sha256": document.sha256,
    }


def _trail(client: Client, codes: set[str], documents: list[Document]) -> dict[str, Any]:
    """Every audit row about the client or its objects, the disclosures to participants
    and every time one of its documents left KKA's storage."""
    case_codes = [c for c in codes if c]
    events = (
        AuditEvent.objects.filter(organisation_id=client.organisation_id)
        .filter(
            Q(object_ref__in=case_codes)
            | Q(refs__client=client.code)
            | Q(refs__case__in=case_codes)
            | Q(refs__conference__in=case_codes)
        )
        .order_by("id")
    )
    actors = {
        u.pk: u.full_name
        for u in User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id})
    }
    disclosures = (
        Disclosure.objects.filter(participant__conference__case__client=client)
        .select_related("participant__conference", "consent", "actor")
        .order_by("at", "id")
    )
    accesses = (
        DocumentAccess.objects.filter(document__in=documents)
        .select_related("document", "user", "participant")
        .order_by("at", "id")
    )
    return {
        "audit_events": [
            {
                "id": e.id,
                "at": _iso(e.at),
                "action": e.action,
                "description": ACTIONS.get(e.action, ""),
                "actor": actors.get(e.actor_id) if e.actor_id else None,
                "actor_role": e.actor_role,
                "object_type": e.object_type,
                "object_ref": e.object_ref,
                "outcome": e.outcome,
            }
            for e in events
        ],
        "disclosures": [
            {
                "at": _iso(d.at),
                "kind": d.kind,
                "conference": d.participant.conference.code,
                "participant": _participant_ref(d.participant),
                "consent": d.consent.code if d.consent_id else None,  # type: ignore[union-attr]
                "by": _staff(d.actor),
            }
            for d in disclosures
        ],
        "document_accesses": [
            {
                "at": _iso(a.at),
                "document": a.document.code,
                "channel": a.get_channel_display(),
                "user": _staff(a.user),
                "participant": _participant_ref(a.participant),
            }
            for a in accesses
        ],
    }


def collect(client: Client) -> dict[str, Any]:
    """Everything about the client (the caller checked access with access_subject)."""
    with translation.override("id"):
        return _collect(client)


def _collect(client: Client) -> dict[str, Any]:
    codes: set[str] = {client.code}
    guardians = list(client.guardians.all())
    codes.update(g.code for g in guardians)
    consents = list(
        Consent.objects.filter(client=client)
        .select_related("consent_text", "recorded_by", "scan")
        .order_by("recorded_at", "id")
    )
    codes.update(c.code for c in consents)
    cases_out = []
    conferences_out = []
    for case in client.cases.select_related("owner").order_by("opened_at", "id"):  # type: ignore[attr-defined]
        codes.add(case.code)
        records = list(
            case.records.select_related("created_by")
            .prefetch_related("attachments__uploaded_by")
            .order_by("occurred_on", "id")
        )
        codes.update(r.code for r in records)
        codes.update(a.code for r in records for a in r.attachments.all())
        problem_map = ProblemMap.objects.filter(case=case).first()
        if problem_map is not None:
            codes.update(a.code for a in problem_map.aspects.all())
            codes.update(r.code for r in problem_map.resources.all())
        followups = list(
            FollowUp.objects.filter(case=case)
            .select_related("conference", "consent", "created_by")
            .order_by("created_at", "id")
        )
        codes.update(f.code for f in followups)
        cases_out.append(
            {
                "code": case.code,
                "bidang": case.bidang,
                "title": case.title,
                "description": case.description,
                "intake_source": case.get_intake_source_display(),
                "status": case.get_status_display(),
                "outcome": case.get_outcome_display() if case.outcome else "",
                "outcome_note": case.outcome_note,
                "opened_at": _iso(case.opened_at),
                "closed_at": _iso(case.closed_at),
                "owner": _staff(case.owner),
                "counsellors": [
                    {"name": m.user.full_name, "role": m.get_role_display()}
                    for m in case.members.select_related("user").order_by("id")
                ],
                "records": [_record(r) for r in records],
                "problem_map": _problem_map(problem_map),
                "followups": [_followup(f) for f in followups],
            }
        )
        for conference in case.conferences.select_related("created_by").order_by("sequence"):
            codes.add(conference.code)
            codes.update(p.code for p in conference.participants.all())
            codes.update(c.code for c in conference.commitments.all())
            codes.update(e.code for e in conference.evaluations.all())
            minutes = Minutes.objects.filter(conference=conference).first()
            if minutes is not None:
                codes.update(a.code for a in minutes.addenda.all())
                codes.update(r.code for r in minutes.responses.all())
            item = _conference(conference)
            item["case"] = case.code
            conferences_out.append(item)
    documents = list(
        Document.objects.filter(Q(case__client=client) | Q(client=client))
        .select_related("case", "conference", "participant", "created_by")
        .order_by("created_at", "id")
    )
    codes.update(d.code for d in documents)
    requests = list(SubjectRequest.objects.filter(client=client).order_by("received_at", "id"))
    corrections = list(
        Correction.objects.filter(client=client)
        .select_related("changed_by")
        .order_by("changed_at", "id")
    )
    restrictions = list(
        Restriction.objects.filter(client=client)
        .select_related("started_by", "lifted_by")
        .order_by("started_at", "id")
    )
    codes.update(r.code for r in requests)
    codes.update(c.code for c in corrections)
    codes.update(r.code for r in restrictions)
    return {
        "format": "kka.subject_access_export",
        "format_version": FORMAT_VERSION,
        "produced_at": _iso(timezone.now()),
        "controller": client.organisation.name,
        "redaction": REDACTION_NOTE,
        "private_notes": PRIVATE_NOTES_REASON,
        "client": _identity(client),
        "guardians": [
            {
                "code": g.code,
                "full_name": g.full_name,
                "relationship": g.get_relationship_display(),
                "phone": g.phone,
                "email": g.email,
                "address": g.address,
            }
            for g in guardians
        ],
        "consents": [_consent(c) for c in consents],
        "cases": cases_out,
        "conferences": conferences_out,
        "documents": [_document(d) for d in documents],
        "subject_requests": [
            {
                "code": r.code,
                "kind": r.get_kind_display(),
                "status": r.get_status_display(),
                "received_at": _iso(r.received_at),
                "due_at": _iso(r.due_at),
                "completed_at": _iso(r.completed_at),
            }
            for r in requests
        ],
        "corrections": [
            {
                "code": c.code,
                "field": c.field,
                "object_code": c.object_code,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "reason": c.reason,
                "changed_by": _staff(c.changed_by),
                "changed_at": _iso(c.changed_at),
            }
            for c in corrections
        ],
        "restrictions": [
            {
                "code": r.code,
                "started_at": _iso(r.started_at),
                "started_by": _staff(r.started_by),
                "lifted_at": _iso(r.lifted_at),
                "lifted_by": _staff(r.lifted_by),
            }
            for r in restrictions
        ],
        "processing_trail": _trail(client, codes, documents),
    }


# --- formats ---------------------------------------------------------------------------------


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def _moment(organisation: Any, value: str | None) -> str:
    if not value:
        return "-"
    parsed = dt.datetime.fromisoformat(value)
    return common.moment_text(organisation, parsed)


def _day(value: str | None) -> str:
    if not value:
        return "-"
    return common.plain_date(dt.date.fromisoformat(value[:10]))


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _who(participant: dict[str, str] | None) -> str:
    if not participant:
        return "-"
    return f"{participant['role']} ({participant['category']})"


def build_doc(data: dict[str, Any], organisation: Any, produced_for: str) -> Doc:
    """The PDF's blocks, from the same data as the JSON (Indonesian headings)."""
    with translation.override("id"):
        return _build_doc(data, organisation, produced_for)


def _build_doc(data: dict[str, Any], organisation: Any, produced_for: str) -> Doc:
    client = data["client"]
    doc = Doc(
        kind="akses_subjek_data",
        title="Salinan data pribadi konseli",
        confidential=True,
        produced_for=produced_for,
        date_text=common.date_text(organisation),
    )
    doc.add(
        Heading("SALINAN DATA PRIBADI DAN JEJAK PEMROSESAN", level=1, centred=True),
        Paragraph(
            "Salinan ini dibuat atas permintaan akses subjek data (UU 27/2022 Pasal 32) "
            f"pada {_moment(organisation, data['produced_at'])}.",
        ),
        Paragraph(data["redaction"], small=True),
        Paragraph(data["private_notes"], small=True),
        Heading("Identitas konseli"),
        Fields(
            rows=(
                ("", "Kode konseli", client["code"]),
                ("", "Nama lengkap", _text(client["full_name"])),
                ("", "Jenis kelamin", _text(client["sex"])),
                ("", "Tanggal lahir", _day(client["birth_date"])),
                ("", "NISN", _text(client["nisn"])),
                ("", "Nomor pegawai", _text(client["employee_number"])),
                ("", "NIK", _text(client["nik"])),
                ("", "Kelas / bagian", _text(client["group"])),
                ("", "Alamat", _text(client["address"])),
                ("", "Telepon", _text(client["phone"])),
                ("", "Lembaga", _text(client["organisation"])),
                ("", "Dicatat", _moment(organisation, client["created_at"])),
            )
        ),
        Heading("Orang tua / wali"),
    )
    if data["guardians"]:
        doc.add(
            Table(
                columns=("Nama", "Hubungan", "Telepon", "Email", "Alamat"),
                rows=tuple(
                    (
                        _text(g["full_name"]),
                        _text(g["relationship"]),
                        _text(g["phone"]),
                        _text(g["email"]),
                        _text(g["address"]),
                    )
                    for g in data["guardians"]
                ),
            )
        )
    else:
        doc.add(Paragraph("Tidak ada."))
    doc.add(Heading("Persetujuan"))
    if data["consents"]:
        doc.add(
            Table(
                columns=("Waktu", "Jenis", "Pemberi", "Tujuan", "Cara"),
                rows=tuple(
                    (
                        _moment(organisation, c["given_at"]),
                        c["kind"],
                        f"{c['giver_name']} ({c['giver']})",
                        _text(c["purposes"]),
                        c["channel"],
                    )
                    for c in data["consents"]
                ),
                widths=(3, 2, 3, 5, 2),
            )
        )
    else:
        doc.add(Paragraph("Tidak ada."))
    for case in data["cases"]:
        _case_blocks(doc, case, organisation)
    for conference in data["conferences"]:
        _conference_blocks(doc, conference, organisation)
    doc.add(Heading("Dokumen yang dihasilkan"))
    if data["documents"]:
        doc.add(
            Table(
                columns=("Waktu", "Jenis", "Nomor", "Format", "Dibuat oleh"),
                rows=tuple(
                    (
                        _moment(organisation, d["created_at"]),
                        d["kind"] + (f" ({d['edition']})" if d["edition"] else ""),
                        _text(d["number"]),
                        d["format"].upper(),
                        _text(d["created_by"]),
                    )
                    for d in data["documents"]
                ),
            )
        )
    else:
        doc.add(Paragraph("Tidak ada."))
    doc.add(Heading("Permintaan subjek data"))
    doc.add(
        Table(
            columns=("Diterima", "Jenis", "Status", "Selesai"),
            rows=tuple(
                (
                    _moment(organisation, r["received_at"]),
                    r["kind"],
                    r["status"],
                    _moment(organisation, r["completed_at"]),
                )
                for r in data["subject_requests"]
            ),
        )
        if data["subject_requests"]
        else Paragraph("Tidak ada.")
    )
    doc.add(Heading("Riwayat pembetulan"))
    doc.add(
        Table(
            columns=("Waktu", "Data", "Semula", "Menjadi", "Alasan", "Oleh"),
            rows=tuple(
                (
                    _moment(organisation, c["changed_at"]),
                    c["field"],
                    _text(c["old_value"]),
                    _text(c["new_value"]),
                    _text(c["reason"]),
                    _text(c["changed_by"]),
                )
                for c in data["corrections"]
            ),
        )
        if data["corrections"]
        else Paragraph("Tidak ada.")
    )
    doc.add(Heading("Pembatasan pemrosesan"))
    doc.add(
        Table(
            columns=("Mulai", "Oleh", "Dicabut", "Oleh"),
            rows=tuple(
                (
                    _moment(organisation, r["started_at"]),
                    _text(r["started_by"]),
                    _moment(organisation, r["lifted_at"]),
                    _text(r["lifted_by"]),
                )
                for r in data["restrictions"]
            ),
        )
        if data["restrictions"]
        else Paragraph("Tidak ada.")
    )
    _trail_blocks(doc, data["processing_trail"], organisation)
    return doc


def _case_blocks(doc: Doc, case: dict[str, Any], organisation: Any) -> None:
    doc.add(
        Heading(f"Kasus {case['code']}"),
        Fields(
            rows=(
                ("", "Judul", _text(case["title"])),
                ("", "Bidang", _text(case["bidang"])),
                ("", "Gambaran masalah", _text(case["description"])),
                ("", "Sumber kasus", _text(case["intake_source"])),
                ("", "Status", _text(case["status"])),
                ("", "Hasil", _text(case["outcome"])),
                ("", "Catatan hasil", _text(case["outcome_note"])),
                ("", "Dibuka", _moment(organisation, case["opened_at"])),
                ("", "Ditutup", _moment(organisation, case["closed_at"])),
                ("", "Konselor", _text(case["owner"])),
                (
                    "",
                    "Konselor lain",
                    _text([f"{m['name']} ({m['role']})" for m in case["counsellors"]]),
                ),
            )
        ),
        Heading("Catatan kasus (himpunan data)", level=3),
    )
    if case["records"]:
        doc.add(
            Table(
                columns=("Tanggal", "Sumber", "Isi", "Lampiran"),
                rows=tuple(
                    (
                        _day(r["occurred_on"]),
                        r["source"],
                        _text(r["content"]),
                        _text([f"{a['name']} ({a['size']} bita)" for a in r["attachments"]]),
                    )
                    for r in case["records"]
                ),
                widths=(2, 2, 6, 3),
            )
        )
    else:
        doc.add(Paragraph("Tidak ada."))
    problem_map = case["problem_map"]
    if problem_map:
        doc.add(
            Heading("Peta masalah", level=3),
            Paragraph(f"Masalah inti: {_text(problem_map['core_problem'])}"),
        )
        if problem_map["aspects"]:
            doc.add(
                BulletList(items=tuple(f"{a['kind']}: {a['text']}" for a in problem_map["aspects"]))
            )
        if problem_map["resources"]:
            doc.add(
                BulletList(
                    items=tuple(
                        f"Pihak pendukung ({r['role']}, {r['category']}): "
                        + _text(r["contribution"])
                        for r in problem_map["resources"]
                    )
                )
            )
    if case["followups"]:
        doc.add(
            Heading("Tindak lanjut", level=3),
            Table(
                columns=("Jenis", "Kepada", "Alasan / catatan", "Status", "Rencana"),
                rows=tuple(
                    (
                        f["kind"],
                        _text(" ".join(x for x in (f["referral_to"], f["referral_to_name"]) if x)),
                        _text(" ".join(x for x in (f["reason"], f["note"]) if x)),
                        f["status"],
                        _day(f["planned_on"]),
                    )
                    for f in case["followups"]
                ),
            ),
        )


PLAN_LABELS = (
    ("topic", "A. Topik permasalahan"),
    ("bidang", "B. Bidang bimbingan"),
    ("functions", "D. Fungsi kegiatan"),
    ("aim", "E. Tujuan kegiatan"),
    ("expected_results", "F. Hasil yang ingin dicapai"),
    ("subject", "G. Subjek yang mengalami masalah"),
    ("summary", "H. Gambaran ringkas masalah"),
    ("place", "I. Tempat penyelenggaraan"),
    ("organiser", "K. Penyelenggara kegiatan"),
    ("materials_note", "M. Bahan dan keterangan yang dibawa"),
    ("use_of_results", "N. Penggunaan hasil pertemuan"),
    ("evaluation_plan", "O. Rencana penilaian dan tindak lanjut"),
    ("related_activities", "P. Keterkaitan dengan kegiatan lain"),
    ("special_notes", "Q. Catatan khusus"),
    ("client_participation", "Keikutsertaan konseli"),
    ("briefing", "Ringkasan untuk peserta"),
)


def _conference_blocks(doc: Doc, conference: dict[str, Any], organisation: Any) -> None:
    plan = conference["plan"]
    rows = [("", label, _text(plan[key])) for key, label in PLAN_LABELS]
    rows.insert(8, ("", "J. Waktu", _moment(organisation, plan["starts_at"])))
    doc.add(
        Heading(f"Konferensi kasus ke-{conference['sequence']} ({conference['code']})"),
        Paragraph(f"Kasus {conference['case']} · status: {conference['status']}"),
        Fields(rows=tuple(rows)),
        Heading("Peserta (peran saja)", level=3),
        BulletList(
            items=tuple(f"{p['role']} ({p['category']})" for p in conference["participants"])
            or ("-",)
        ),
    )
    minutes = conference["minutes"]
    if minutes:
        doc.add(
            Heading("Notulen bersama", level=3),
            Paragraph(_text(minutes["shared_text"])),
            Paragraph(f"Kesimpulan: {_text(minutes['conclusions'])}"),
            Paragraph(f"Arah penanganan: {_text(minutes['directions'])}"),
        )
        for addendum in minutes["shared_addenda"]:
            doc.add(
                Paragraph(f"Tambahan ({_moment(organisation, addendum['at'])}): {addendum['text']}")
            )
        if minutes["comments_by_participants_withheld"]:
            doc.add(
                Paragraph(
                    f"{minutes['comments_by_participants_withheld']} komentar peserta atas notulen "
                    "tidak disertakan (pernyataan orang lain).",
                    italic=True,
                )
            )
    if conference["commitments"]:
        doc.add(
            Heading("Komitmen", level=3),
            Table(
                columns=("Pihak", "Komitmen", "Batas waktu", "Status"),
                rows=tuple(
                    (
                        _who(c["participant"]) if c["participant"] else _text(c["counsellor"]),
                        _text(c["what"]),
                        _day(c["due_on"]),
                        c["status"],
                    )
                    for c in conference["commitments"]
                ),
                widths=(3, 6, 2, 2),
            ),
        )
    if conference["evaluations"]:
        doc.add(
            Heading("Penilaian", level=3),
            BulletList(
                items=tuple(
                    f"{e['kind']} · {_who(e['participant']) if e['participant'] else '-'} · "
                    + (
                        "jawaban peserta tidak disertakan"
                        if e.get("answers_withheld")
                        else f"keadaan konseli: {_text(e.get('client_situation'))}; "
                        f"analisis: {_text(e.get('analysis'))}"
                    )
                    for e in conference["evaluations"]
                )
            ),
        )


def _trail_blocks(doc: Doc, trail: dict[str, Any], organisation: Any) -> None:
    doc.add(
        Heading("Jejak pemrosesan"),
        Paragraph(
            "Setiap pencatatan, pembacaan, perubahan, pengungkapan, dan pengunduhan data "
            "konseli yang tercatat di log audit KKA."
        ),
        Heading("Log audit", level=3),
    )
    doc.add(
        Table(
            columns=("Waktu", "Tindakan", "Pelaku", "Objek", "Hasil"),
            rows=tuple(
                (
                    _moment(organisation, e["at"]),
                    e["action"],
                    _text(e["actor"]) + (f" ({e['actor_role']})" if e["actor_role"] else ""),
                    f"{e['object_type']} {e['object_ref']}".strip() or "-",
                    e["outcome"],
                )
                for e in trail["audit_events"]
            ),
            widths=(4, 4, 4, 3, 2),
        )
        if trail["audit_events"]
        else Paragraph("Tidak ada.")
    )
    doc.add(Heading("Pengungkapan kepada peserta", level=3))
    doc.add(
        Table(
            columns=("Waktu", "Jenis", "Penerima (peran)", "KKA", "Persetujuan"),
            rows=tuple(
                (
                    _moment(organisation, d["at"]),
                    d["kind"],
                    _who(d["participant"]),
                    d["conference"],
                    _text(d["consent"]),
                )
                for d in trail["disclosures"]
            ),
        )
        if trail["disclosures"]
        else Paragraph("Tidak ada.")
    )
    doc.add(Heading("Dokumen yang keluar dari KKA", level=3))
    doc.add(
        Table(
            columns=("Waktu", "Dokumen", "Cara", "Oleh / kepada"),
            rows=tuple(
                (
                    _moment(organisation, a["at"]),
                    a["document"],
                    a["channel"],
                    _text(a["user"]) if a["user"] else _who(a["participant"]),
                )
                for a in trail["document_accesses"]
            ),
        )
        if trail["document_accesses"]
        else Paragraph("Tidak ada.")
    )


def as_pdf(data: dict[str, Any], organisation: Any, produced_for: str) -> bytes:
    return render.render_pdf(build_doc(data, organisation, produced_for), organisation)


# --- the service -------------------------------------------------------------------------------

FORMATS = {"json": ("application/json", "json"), "pdf": ("application/pdf", "pdf")}


def filename(client: Client, fmt: str) -> str:
    """The client's code only, never the name."""
    return f"salinan-data-{client.code}.{FORMATS[fmt][1]}"


def access_export(
    *, actor: User, client: Client, fmt: str, request: SubjectRequest | None = None
) -> bytes:
    """Produce the export (caller checked access) and write its audit row."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    data = collect(client)
    body = as_json(data) if fmt == "json" else as_pdf(data, client.organisation, actor.full_name)
    audit_log(
        action="privacy.access_exported",
        actor=actor,
        actor_role=role_in(actor, client.organisation_id),
        organisation=client.organisation_id,
        object_type="client",
        object_ref=client.code,
        refs={"format": fmt, **({"request": request.code} if request else {})},
    )
    return body
