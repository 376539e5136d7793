"""Producing, storing and handing out documents.

``produce`` is the one way a document comes to exist: access check through the case
(or the client) → a letter number for numbered kinds → the kind's fields → its
blocks → PDF or DOCX (or the organisation's own DOCX template) → bytes stored
encrypted → a ``Document`` row → an audit row with codes only → a disclosure when it
is for an outside participant. It is one transaction: a failed rendering leaves no
number issued and no row.

Producing is a write (a counsellor of the case: the owner or a co-counsellor); a
supervisor may read and download what was produced. A finalised document is served
from storage as it was produced and never regenerated.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases.models import Case, CaseEvent, Client, Consent
from kka.conferences import services as conference_services
from kka.conferences.models import (
    Conference,
    Evaluation,
    FollowUp,
    LetterNumber,
    Participant,
)
from kka.documents import registry, render
from kka.documents.blocks import Doc
from kka.documents.models import Document, DocumentAccess, DocumentFormat
from kka.documents.registry import Kind, Subject
from kka.lib import private_files
from kka.privacy.restriction import refuse_if_restricted

FORMATS = (DocumentFormat.PDF, DocumentFormat.DOCX)
CONTENT_TYPES = {
    DocumentFormat.PDF: "application/pdf",
    DocumentFormat.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
}
# The kind whose number is the participant's own letter number (issued once, also by
# kka.conferences.services.invitation_send).
INVITATION_KIND = "undangan"
# Participants inside the organisation: a document for them is no disclosure.
INSIDE_CATEGORIES = frozenset({"staf_lembaga"})
# Order of a printed bundle; kinds not listed follow in code order.
BUNDLE_ORDER = (
    "satkung",
    "rpl",
    "undangan_semua",
    "undangan",
    "pernyataan_kerahasiaan",
    "daftar_hadir",
    "notulen",
    "laporan",
    "komitmen",
    "penilaian_kosong",
    "penilaian",
    "alih_tangan",
)


class DocumentUnavailable(ValidationError):
    """The document cannot be produced now (e.g. minutes not finalised yet)."""


# --- access ------------------------------------------------------------------------------


def _check_case(user: Any, case: Case, *, write: bool) -> str:
    role = case_access.case_role(user, case)
    if role is None:
        raise Http404
    if write and role not in case_access.WRITER_ROLES:
        raise PermissionDenied
    if write:
        refuse_if_restricted(client=case.client, actor=user)
    return role


def access_document(user: Any, code: str, *, write: bool = False) -> Document:
    """A produced document, visible exactly when what it is about is: its case for
    everything tied to a case, its client otherwise."""
    document = (
        Document.objects.select_related("case", "client", "conference", "participant")
        .filter(code=code)
        .first()
    )
    if document is None:
        raise Http404
    if document.case_id is not None:
        _check_case(user, document.case, write=write)  # type: ignore[arg-type]
        return document
    if document.client_id is not None:
        case_access.access_client(user, document.client.code, write=write)  # type: ignore[union-attr]
        return document
    raise Http404


def _resolve(
    kind: Kind,
    *,
    conference: Conference | None,
    participant: Participant | None,
    followup: FollowUp | None,
    evaluation: Evaluation | None,
    consent: Consent | None,
    client: Client | None,
) -> dict[str, Any]:
    """Fill in what the scope object implies (a participant's conference, …) and check
    the pieces belong together."""
    scope = kind.scope
    if scope == "participant":
        if participant is None:
            raise ValueError("participant required")
        if conference is not None and participant.conference_id != conference.pk:
            raise Http404
        conference = participant.conference
    if scope == "evaluation":
        if evaluation is None:
            raise ValueError("evaluation required")
        if conference is not None and evaluation.conference_id != conference.pk:
            raise Http404
        conference = evaluation.conference
        participant = evaluation.participant
    if scope == "followup":
        if followup is None:
            raise ValueError("followup required")
        conference = conference or followup.conference
    if scope == "conference" and conference is None:
        raise ValueError("conference required")
    if scope == "consent":
        if consent is None:
            raise ValueError("consent required")
        if client is not None and consent.client_id != client.pk:
            raise Http404
        client = consent.client
    if scope == "client" and client is None:
        raise ValueError("client required")
    case: Case | None = None
    if followup is not None:
        case = followup.case
    elif conference is not None:
        case = conference.case
    if client is None and case is not None:
        client = case.client
    return {
        "case": case,
        "conference": conference,
        "participant": participant,
        "followup": followup,
        "evaluation": evaluation,
        "consent": consent,
        "client": client,
    }


def _authorise(actor: User, objs: dict[str, Any], *, write: bool) -> Any:
    """The access check; returns the organisation the document belongs to."""
    case: Case | None = objs["case"]
    if case is not None:
        _check_case(actor, case, write=write)
        organisation_id = case.organisation_id
    else:
        client: Client = objs["client"]
        case_access.access_client(actor, client.code, write=write)
        if objs["consent"] is not None:
            case_access.access_consent(actor, client, objs["consent"].code, write=write)
        organisation_id = client.organisation_id
    # Read afresh: letterhead and paper must be today's, not a cached copy's.
    return Organisation.objects.get(pk=organisation_id)


def access_scope(user: Any, kind: Kind, code: str, *, write: bool) -> dict[str, Any]:
    """The object a kind is produced about, found by its code through the access
    functions: keyword arguments for :func:`produce`."""
    from kka.conferences import access as conference_access

    if kind.scope == "conference":
        conference, _role = conference_access.access_conference(user, code, write=write)
        return {"conference": conference}
    if kind.scope == "participant":
        found = Participant.objects.select_related("conference").filter(code=code).first()
        if found is None:
            raise Http404
        conference, _role = conference_access.access_conference(
            user, found.conference.code, write=write
        )
        participant = conference_access.access_participant(user, conference, code, write=write)
        return {"participant": participant}
    if kind.scope == "evaluation":
        evaluation = Evaluation.objects.select_related("conference").filter(code=code).first()
        if evaluation is None:
            raise Http404
        conference_access.access_conference(user, evaluation.conference.code, write=write)
        return {"evaluation": evaluation}
    if kind.scope == "followup":
        followup = FollowUp.objects.select_related("case", "conference").filter(code=code).first()
        if followup is None:
            raise Http404
        case_access.access_case(user, followup.case.code, write=write)
        return {"followup": followup}
    if kind.scope == "client":
        return {"client": case_access.access_client(user, code, write=write)}
    if kind.scope == "consent":
        consent = Consent.objects.select_related("client").filter(code=code).first()
        if consent is None:
            raise Http404
        client = case_access.access_client(user, consent.client.code, write=write)
        return {"consent": case_access.access_consent(user, client, code, write=write)}
    raise Http404


# --- finding documents -------------------------------------------------------------------


def _subject_filter(objs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: objs[name]
        for name in ("conference", "participant", "followup", "evaluation", "consent", "client")
    }


def latest(
    *,
    kind: str,
    edition: str | None = None,
    fmt: str | None = None,
    conference: Conference | None = None,
    participant: Participant | None = None,
    followup: FollowUp | None = None,
    evaluation: Evaluation | None = None,
    consent: Consent | None = None,
    client: Client | None = None,
) -> Document | None:
    """The newest document of a kind about exactly this subject (callers have checked
    access to the subject)."""
    kind_obj = registry.get(kind)
    objs = _resolve(
        kind_obj,
        conference=conference,
        participant=participant,
        followup=followup,
        evaluation=evaluation,
        consent=consent,
        client=client,
    )
    return _latest(kind, objs, edition=edition, fmt=fmt)


def _latest(
    kind: str, objs: dict[str, Any], *, edition: str | None, fmt: str | None
) -> Document | None:
    qs = Document.objects.filter(kind=kind, **_subject_filter(objs))
    if edition is not None:
        qs = qs.filter(edition=edition)
    if fmt is not None:
        qs = qs.filter(format=fmt)
    return qs.order_by("-created_at", "-id").first()


def conference_documents(conference: Conference) -> list[Document]:
    """Every document about a KKA, newest first (callers have checked access)."""
    return list(
        Document.objects.filter(conference=conference)
        .select_related("created_by", "participant", "letter_number")
        .order_by("-created_at", "-id")
    )


# --- numbering ---------------------------------------------------------------------------


def _number(actor: User, kind: Kind, organisation: Any, objs: dict[str, Any]) -> LetterNumber:
    """One number per document subject: the participant's invitation number, or the
    number of the latest document of this kind about the same subject; a new one only
    when there is none (or it was voided)."""
    participant: Participant | None = objs["participant"]
    if kind.code == INVITATION_KIND and participant is not None:
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.letter_number:
            existing = (
                LetterNumber.objects.filter(
                    organisation=organisation,
                    number=participant.letter_number,
                    participant=participant,
                    voided_at__isnull=True,
                )
                .order_by("-issued_at")
                .first()
            )
            if existing is not None:
                return existing
        number = conference_services.letter_number_issue(
            actor=actor,
            organisation=organisation,
            kind=INVITATION_KIND,
            conference=objs["conference"],
            participant=participant,
        )
        participant.letter_number = number.number
        participant.save(update_fields=["letter_number"])
        objs["participant"] = participant
        return number
    previous = (
        Document.objects.filter(
            kind=kind.code, letter_number__isnull=False, **_subject_filter(objs)
        )
        .select_related("letter_number")
        .order_by("-created_at", "-id")
        .first()
    )
    if (
        previous is not None
        and previous.letter_number is not None
        and previous.letter_number.voided_at is None
    ):
        return previous.letter_number
    return conference_services.letter_number_issue(
        actor=actor,
        organisation=organisation,
        kind=kind.code,
        conference=objs["conference"],
        participant=participant,
    )


# --- producing ---------------------------------------------------------------------------


def _render_custom(
    kind: Kind, organisation: Any, values: dict[str, str], doc: Doc
) -> tuple[bytes | None, Any, str]:
    """The organisation's own DOCX template, if it has an active one for this kind.
    Returns (bytes or None, template or None, fallback code)."""
    try:
        from kka.documents import custom
    except ImportError:
        return None, None, ""
    finder = getattr(custom, "active_template", None)
    if finder is None:
        return None, None, ""
    template = finder(organisation, kind.code)
    if template is None:
        return None, None, ""
    try:
        with translation.override("id"):
            data = custom.render_custom_docx(template, values, doc=doc)
    except custom.TemplateBroken as broken:
        code = str(getattr(broken, "code", "") or "broken")[:40]
        mark = getattr(custom, "template_mark_failed", None)
        if mark is not None:
            mark(template, code)
        return None, template, code
    return data, template, ""


def _pages(data: bytes, fmt: str) -> int | None:
    if fmt != DocumentFormat.PDF:
        return None
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def _produced_for(doc: Doc, kind: Kind, actor: User, objs: dict[str, Any]) -> str:
    if doc.produced_for:
        return doc.produced_for
    if not (kind.confidential or doc.confidential):
        return ""
    participant: Participant | None = objs["participant"]
    if participant is not None:
        return str(participant.full_name)
    return actor.full_name


@transaction.atomic
def produce(
    *,
    actor: User,
    kind: str,
    fmt: str,
    edition: str = "",
    conference: Conference | None = None,
    participant: Participant | None = None,
    followup: FollowUp | None = None,
    evaluation: Evaluation | None = None,
    consent: Consent | None = None,
    client: Client | None = None,
    finalise: bool = False,
    options: dict[str, Any] | None = None,
) -> Document:
    """Produce (or, when finalised, return the stored) document of ``kind`` about the
    given subject. Raises Http404 / PermissionDenied from the access check, ValueError
    for an unknown kind, format or edition, and ValidationError when the kind cannot
    be produced now (the message says why)."""
    try:
        kind_obj = registry.get(kind)
    except KeyError as missing:
        raise ValueError(f"unknown kind {kind!r}") from missing
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if edition not in kind_obj.editions:
        raise ValueError(f"unknown edition {edition!r}")
    objs = _resolve(
        kind_obj,
        conference=conference,
        participant=participant,
        followup=followup,
        evaluation=evaluation,
        consent=consent,
        client=client,
    )
    organisation = _authorise(actor, objs, write=True)

    stored = _latest(kind_obj.code, objs, edition=edition, fmt=fmt)
    if (
        stored is not None
        and stored.finalised_at is not None
        and not _superseded_by_reschedule(kind_obj, stored, objs)
    ):
        return stored  # finalised: served as produced, never regenerated

    number: LetterNumber | None = None
    if kind_obj.numbered:
        number = _number(actor, kind_obj, organisation, objs)
    subject = Subject(
        organisation=organisation,
        viewer=actor,
        case=objs["case"],
        conference=objs["conference"],
        participant=objs["participant"],
        followup=objs["followup"],
        evaluation=objs["evaluation"],
        consent=objs["consent"],
        client=objs["client"],
        number=number.number if number else "",
        edition=edition,
        options={**(options or {}), "finalise": finalise},
    )
    with translation.override("id"):
        values = kind_obj.fields(subject)
        doc = kind_obj.build(subject, values)
    if finalise and doc.draft:
        raise ValidationError(_("Draf tidak dapat dijadikan dokumen final."))
    doc.confidential = doc.confidential or kind_obj.confidential
    doc.produced_for = _produced_for(doc, kind_obj, actor, objs)
    if number is not None and not doc.number:
        doc.number = number.number

    template = None
    fallback = ""
    data: bytes | None = None
    if fmt == DocumentFormat.DOCX:
        data, template, fallback = _render_custom(kind_obj, organisation, values, doc)
        if data is not None:
            fallback = ""
    if data is None:
        data = (
            render.render_pdf(doc, organisation)
            if fmt == DocumentFormat.PDF
            else render.render_docx(doc, organisation)
        )
        if fallback == "":
            template = None
    saved = private_files.store(data)
    try:
        document = Document.objects.create(
            organisation=organisation,
            kind=kind_obj.code,
            edition=edition,
            format=fmt,
            produced_for=doc.produced_for,
            letter_number=number,
            number=doc.number,
            template=template,
            template_fallback=fallback,
            stored_name=saved.stored_name,
            sha256=saved.sha256,
            content_hash=render.content_hash(doc),
            draft=doc.draft,
            size=saved.size,
            pages=_pages(data, fmt),
            finalised_at=timezone.now() if finalise else None,
            created_by=actor,
            **{name: objs[name] for name in ("case", *_subject_filter(objs))},
        )
        _audit_produced(actor, document, organisation)
        _disclose_if_outside(actor, kind_obj, objs)
    except BaseException:
        # A failed registration must not leave its encrypted file behind.
        private_files.remove(saved.stored_name)
        raise
    return document


# Letters that state the meeting's time and place: after a reschedule a new letter is
# produced (the finalised old one stays in the register, unchanged).
SCHEDULE_LETTERS = {"undangan", "undangan_semua"}


def _superseded_by_reschedule(kind: Kind, stored: Document, objs: dict[str, Any]) -> bool:
    conference = objs.get("conference")
    if kind.code not in SCHEDULE_LETTERS or conference is None:
        return False
    return CaseEvent.objects.filter(
        case_id=conference.case_id,
        kind="conference_rescheduled",
        ref=conference.code,
        at__gt=stored.created_at,
    ).exists()


def _audit_produced(actor: User, document: Document, organisation: Any) -> None:
    audit_log(
        action="document.produced",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation.pk,
        object_type="document",
        object_ref=document.code,
        refs={
            "kind": document.kind,
            "edition": document.edition,
            "format": document.format,
            "conference": document.conference.code if document.conference else "",
            "participant": document.participant.code if document.participant else "",
            "number": document.number,
            "template": document.template.code if document.template else "",
            "template_fallback": document.template_fallback,
            "finalised": "yes" if document.finalised_at else "",
        },
    )


def _disclose_if_outside(actor: User, kind: Kind, objs: dict[str, Any]) -> None:
    participant: Participant | None = objs["participant"]
    if not kind.outside or participant is None:
        return
    if participant.category in INSIDE_CATEGORIES:
        return
    conference_services._disclose(
        actor=actor, participant=participant, kind=f"document_{kind.code}"[:30]
    )


@transaction.atomic
def finalise(*, actor: User, document: Document) -> Document:
    """Freeze a produced document: from now on it is served from storage as it is."""
    document = access_document(actor, document.code, write=True)
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.finalised_at is not None:
        return document
    if document.draft:
        raise ValidationError(_("Draf tidak dapat dijadikan dokumen final."))
    document.finalised_at = timezone.now()
    document.save(update_fields=["finalised_at"])
    audit_log(
        action="document.finalised",
        actor=actor,
        actor_role=role_in(actor, document.organisation_id),
        organisation=document.organisation_id,
        object_type="document",
        object_ref=document.code,
        refs={
            "kind": document.kind,
            "format": document.format,
            "conference": document.conference.code if document.conference else "",
        },
    )
    return document


# --- reading ----------------------------------------------------------------------------


class DocumentCorrupted(RuntimeError):
    """The stored bytes do not match the hash recorded when the document was produced."""


def document_bytes(document: Document) -> bytes:
    """The stored bytes, checked against the recorded hash (callers checked access)."""
    import hashlib

    if document.stored_name.startswith("dihapus-"):
        raise Http404  # erased with its client's data (kka.privacy.erasure): no file
    data = private_files.read(document.stored_name)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DocumentCorrupted(document.code)
    return data


def content_type(document: Document) -> str:
    return CONTENT_TYPES[DocumentFormat(document.format)]


def filename(document: Document) -> str:
    """ "daftar-hadir-KKA2-<conference code>.pdf": kind, edition, codes; never a name."""
    parts = [document.kind.replace("_", "-")]
    if document.edition:
        parts.append(document.edition)
    if document.conference is not None:
        parts.append(f"KKA{document.conference.sequence}-{document.conference.code}")
    elif document.client is not None:
        parts.append(document.client.code)
    if document.participant is not None:
        parts.append(document.participant.code)
    elif document.followup is not None:
        parts.append(document.followup.code)
    elif document.evaluation is not None:
        parts.append(document.evaluation.code)
    return "-".join(parts) + "." + document.format


@transaction.atomic
def record_access(
    *,
    document: Document,
    channel: str,
    user: User | None = None,
    participant: Participant | None = None,
) -> DocumentAccess:
    """A document left storage (download, email attachment, portal, print bundle)."""
    if channel not in DocumentAccess.Channel.values:
        raise ValueError(channel)
    access = DocumentAccess.objects.create(
        document=document, channel=channel, user=user, participant=participant
    )
    audit_log(
        action="document.accessed",
        actor=user,
        actor_role=role_in(user, document.organisation_id) if user else "",
        organisation=document.organisation_id,
        object_type="document",
        object_ref=document.code,
        refs={
            "kind": document.kind,
            "format": document.format,
            "channel": channel,
            "conference": document.conference.code if document.conference else "",
            "participant": participant.code if participant else "",
        },
    )
    return access


# --- bundle -----------------------------------------------------------------------------


def bundle_rank(kind: str) -> tuple[int, str]:
    try:
        return BUNDLE_ORDER.index(kind), kind
    except ValueError:
        return len(BUNDLE_ORDER), kind


PLAN_KINDS = {"satkung", "rpl"}


def bundle_kinds(organisation: Any) -> list[Kind]:
    """Kinds produced for a whole KKA in a bundle (conference scope); of the two plan
    formats only the one the organisation uses."""
    kinds = [
        k
        for k in registry.load_all().values()
        if k.scope == "conference"
        and (k.code not in PLAN_KINDS or k.code == organisation.plan_format)
    ]
    return sorted(kinds, key=lambda k: bundle_rank(k.code))


def bundle_documents(conference: Conference) -> list[Document]:
    """The latest PDF of every kind and subject of a KKA, in print order. Single
    invitations are left out when the file of all invitations is there."""
    seen: dict[tuple[Any, ...], Document] = {}
    for document in Document.objects.filter(
        conference=conference, format=DocumentFormat.PDF
    ).order_by("-created_at", "-id"):
        key = (
            document.kind,
            document.edition,
            document.participant_id,
            document.followup_id,
            document.evaluation_id,
        )
        seen.setdefault(key, document)
    documents = list(seen.values())
    if any(d.kind == "undangan_semua" for d in documents):
        documents = [d for d in documents if d.kind != INVITATION_KIND]
    return sorted(
        documents,
        key=lambda d: (bundle_rank(d.kind), d.edition, d.participant_id or 0, d.created_at),
    )


def bundle_produce_missing(*, actor: User, conference: Conference) -> list[str]:
    """Produce the default edition PDF of every conference-scope kind not yet produced
    for this KKA. Returns the kinds that cannot be produced now (skipped)."""
    skipped: list[str] = []
    for kind in bundle_kinds(conference.case.organisation):
        if _latest(kind.code, {**_empty_objs(), "conference": conference}, edition="", fmt="pdf"):
            continue
        try:
            produce(actor=actor, kind=kind.code, fmt=DocumentFormat.PDF, conference=conference)
        except ValidationError:
            skipped.append(kind.code)
    return skipped


def _empty_objs() -> dict[str, Any]:
    return dict.fromkeys(
        ("conference", "participant", "followup", "evaluation", "consent", "client")
    )


def bundle(*, user: User, conference: Conference, documents: Iterable[Document]) -> bytes:
    """One PDF of the given documents (each recorded as printed in a bundle)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    count = 0
    for document in documents:
        if document.conference_id != conference.pk or document.format != DocumentFormat.PDF:
            continue
        writer.append(io.BytesIO(document_bytes(document)))
        record_access(document=document, channel=DocumentAccess.Channel.BUNDLE, user=user)
        count += 1
    if count == 0:
        raise DocumentUnavailable(_("Belum ada dokumen PDF untuk KKA ini."))
    writer.add_metadata({"/Title": f"KKA {conference.code}", "/Producer": "KKA"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
