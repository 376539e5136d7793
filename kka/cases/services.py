"""Writes on clients, cases, records, problem maps and consent.

Every function is its own transaction, validates before saving, and writes its
audit row (codes only) and, for case-level changes, a timeline event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Membership, Organisation, User
from kka.accounts.policy import COUNSELLING_ROLES, role_in
from kka.audit.services import audit_log, audit_log_many
from kka.cases import selectors
from kka.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseMember,
    CaseOutcome,
    CaseRecord,
    CaseRole,
    CaseStatus,
    Client,
    ClientNameToken,
    Consent,
    ConsentKind,
    ConsentText,
    Guardian,
    ProblemAspect,
    ProblemMap,
    ProblemResource,
)
from kka.lib import private_files
from kka.lib.blind_index import identifier_token, name_tokens

CLIENT_FIELDS = (
    "full_name",
    "sex",
    "birth_date",
    "nisn",
    "employee_number",
    "nik",
    "group",
    "address",
    "phone",
)
GUARDIAN_FIELDS = ("full_name", "relationship", "phone", "email", "address")

# Allowed status moves; anything else is refused and changes nothing.
STATUS_MOVES: dict[str, set[str]] = {
    CaseStatus.OPEN: {CaseStatus.IN_HANDLING, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.IN_HANDLING: {CaseStatus.OPEN, CaseStatus.REFERRED, CaseStatus.CLOSED},
    CaseStatus.REFERRED: {CaseStatus.IN_HANDLING, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.OPEN},  # reopen
}

DEFAULT_CONSENT_TEXT = (
    "Saya memahami bahwa konselor akan membahas keadaan konseli bersama pihak-pihak yang "
    "dipilih dalam sebuah konferensi kasus, semata-mata untuk kepentingan dan perkembangan "
    "konseli. Semua yang dibicarakan bersifat rahasia. Hanya keterangan yang diperlukan yang "
    "dibagikan kepada pihak yang saya setujui. Saya boleh menarik persetujuan ini kapan saja; "
    "penarikan berlaku untuk kegiatan berikutnya. Data konseli dilindungi sesuai Undang-Undang "
    "Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi."
)


def _event(case: Case, *, actor: User | None, kind: str, ref: str = "", detail: str = "") -> None:
    now = timezone.now()
    CaseEvent.objects.create(case=case, actor=actor, kind=kind, ref=ref, detail=detail, at=now)
    Case.objects.filter(pk=case.pk).update(last_activity_at=now)


def _audit(action: str, *, actor: User, organisation_id: int, obj: Any, **refs: Any) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, organisation_id),
        organisation=organisation_id,
        object_type=type(obj).__name__.lower(),
        object_ref=getattr(obj, "code", str(obj.pk)),
        refs=refs,
    )


# --- clients ---------------------------------------------------------------------


def _normalise_client_values(values: dict[str, Any]) -> dict[str, Any]:
    clean = {name: values.get(name, "") or "" for name in CLIENT_FIELDS}
    birth = values.get("birth_date")
    if isinstance(birth, dt.date):
        clean["birth_date"] = birth.isoformat()
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in clean.items()}


def _apply_identity(client: Client) -> None:
    client.nisn_token = identifier_token("nisn", client.nisn) if client.nisn else ""
    client.employee_number_token = (
        identifier_token("employee", client.employee_number) if client.employee_number else ""
    )
    client.nik_token = identifier_token("nik", client.nik) if client.nik else ""


def _reindex_name(client: Client) -> None:
    ClientNameToken.objects.filter(client=client).delete()
    ClientNameToken.objects.bulk_create(
        [
            ClientNameToken(client=client, organisation_id=client.organisation_id, token=t)
            for t in sorted(name_tokens(client.full_name))
        ]
    )


def reindex_client(client: Client) -> None:
    """Recompute a client's blind-index tokens with the current index key."""
    _apply_identity(client)
    client.save(update_fields=["nisn_token", "employee_number_token", "nik_token"])
    _reindex_name(client)


def _check_unique_identifiers(client: Client) -> None:
    others = Client.objects.filter(organisation_id=client.organisation_id).exclude(pk=client.pk)
    if client.nisn_token and others.filter(nisn_token=client.nisn_token).exists():
        raise ValidationError({"nisn": _("NISN ini sudah terdaftar untuk konseli lain.")})
    if (
        client.employee_number_token
        and others.filter(employee_number_token=client.employee_number_token).exists()
    ):
        raise ValidationError(
            {"employee_number": _("Nomor pegawai ini sudah terdaftar untuk konseli lain.")}
        )


@transaction.atomic
def client_create(
    *,
    actor: User,
    organisation: Organisation,
    guardians: Iterable[dict[str, Any]] = (),
    **values: Any,
) -> Client:
    client = Client(organisation=organisation, created_by=actor, **_normalise_client_values(values))
    _apply_identity(client)
    client.full_clean()
    _check_unique_identifiers(client)
    client.save()
    _reindex_name(client)
    for guardian in guardians:
        _guardian_save(client=client, guardian=Guardian(client=client), values=guardian)
    _audit("client.created", actor=actor, organisation_id=organisation.pk, obj=client)
    return client


@transaction.atomic
def clients_import_bulk(
    *,
    actor: User,
    organisation: Organisation,
    people: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> list[Client]:
    """Create many clients (with guardians) in few queries; one audit row each.

    The caller (the spreadsheet import) has already matched the rows against the
    organisation's clients; identifiers are still checked here as a last guard.
    """
    clients = []
    for values, _guardians in people:
        client = Client(
            organisation=organisation, created_by=actor, **_normalise_client_values(values)
        )
        _apply_identity(client)
        client.full_clean(validate_unique=False, validate_constraints=False)
        clients.append(client)
    for kind in ("nisn_token", "employee_number_token"):
        tokens = [getattr(c, kind) for c in clients if getattr(c, kind)]
        if (
            len(tokens) != len(set(tokens))
            or Client.objects.filter(organisation=organisation, **{f"{kind}__in": tokens}).exists()
        ):
            raise ValidationError(_("Beberapa identitas sudah terdaftar untuk konseli lain."))
    Client.objects.bulk_create(clients, batch_size=500)
    if any(c.pk is None for c in clients):  # backends that do not return keys
        codes = [c.code for c in clients]
        by_code = dict(Client.objects.filter(code__in=codes).values_list("code", "pk"))
        for c in clients:
            c.pk = by_code[c.code]
    ClientNameToken.objects.bulk_create(
        [
            ClientNameToken(client=c, organisation_id=c.organisation_id, token=t)
            for c in clients
            for t in sorted(name_tokens(c.full_name))
        ],
        batch_size=1000,
    )
    guardians = []
    for client, (_values, guardian_values) in zip(clients, people, strict=True):
        for values in guardian_values:
            guardian = Guardian(client=client)
            for name in GUARDIAN_FIELDS:
                setattr(guardian, name, (values.get(name) or "").strip())
            guardian.full_clean(exclude=["client"])
            guardians.append(guardian)
    Guardian.objects.bulk_create(guardians, batch_size=500)
    role = role_in(actor, organisation.pk)
    audit_log_many(
        [
            {
                "action": "client.created",
                "actor": actor,
                "actor_role": role,
                "organisation": organisation.pk,
                "object_type": "client",
                "object_ref": c.code,
                "refs": {"via": "import"},
            }
            for c in clients
        ]
    )
    return clients


@transaction.atomic
def client_update(*, actor: User, client: Client, **values: Any) -> Client:
    clean = _normalise_client_values(values)
    changed = [name for name, value in clean.items() if getattr(client, name) != value]
    for name in changed:
        setattr(client, name, clean[name])
    _apply_identity(client)
    client.full_clean()
    _check_unique_identifiers(client)
    if changed:
        client.save()
        if "full_name" in changed:
            _reindex_name(client)
        _audit(
            "client.updated",
            actor=actor,
            organisation_id=client.organisation_id,
            obj=client,
            fields=",".join(sorted(changed)),
        )
    return client


def _guardian_save(*, client: Client, guardian: Guardian, values: dict[str, Any]) -> Guardian:
    for name in GUARDIAN_FIELDS:
        setattr(guardian, name, (values.get(name) or "").strip())
    guardian.client = client
    guardian.full_clean()
    guardian.save()
    return guardian


@transaction.atomic
def guardian_add(*, actor: User, client: Client, **values: Any) -> Guardian:
    guardian = _guardian_save(client=client, guardian=Guardian(), values=values)
    _audit(
        "guardian.added",
        actor=actor,
        organisation_id=client.organisation_id,
        obj=guardian,
        client=client.code,
    )
    return guardian


@transaction.atomic
def guardian_remove(*, actor: User, guardian: Guardian) -> None:
    client = guardian.client
    _audit(
        "guardian.removed",
        actor=actor,
        organisation_id=client.organisation_id,
        obj=guardian,
        client=client.code,
    )
    guardian.delete()


# --- cases -----------------------------------------------------------------------


def _validate_bidang(organisation: Organisation, bidang: str) -> None:
    if bidang not in dict(selectors.bidang_choices(organisation)):
        raise ValidationError({"bidang": _("Bidang tidak dikenal.")})


@transaction.atomic
def case_open(
    *,
    actor: User,
    client: Client,
    bidang: str,
    title: str,
    intake_source: str,
    description: str = "",
) -> Case:
    organisation = client.organisation
    _validate_bidang(organisation, bidang)
    case = Case(
        organisation=organisation,
        client=client,
        owner=actor,
        bidang=bidang,
        title=title.strip(),
        intake_source=intake_source,
        description=description.strip(),
    )
    case.full_clean()
    case.save()
    _event(case, actor=actor, kind="case_opened")
    _audit(
        "case.opened", actor=actor, organisation_id=organisation.pk, obj=case, client=client.code
    )
    return case


CASE_EDITABLE = ("bidang", "title", "intake_source", "description")


@transaction.atomic
def case_update(*, actor: User, case: Case, **values: Any) -> Case:
    if case.status == CaseStatus.CLOSED:
        raise ValidationError(_("Kasus yang sudah ditutup harus dibuka kembali sebelum diubah."))
    if "bidang" in values:
        _validate_bidang(case.organisation, values["bidang"])
    changed = [n for n in CASE_EDITABLE if n in values and getattr(case, n) != values[n]]
    for name in changed:
        setattr(case, name, values[name])
    case.full_clean()
    if changed:
        case.save(update_fields=changed)
        _event(case, actor=actor, kind="case_updated", detail=",".join(changed))
        _audit(
            "case.updated",
            actor=actor,
            organisation_id=case.organisation_id,
            obj=case,
            fields=",".join(sorted(changed)),
        )
    return case


@transaction.atomic
def case_change_status(
    *, actor: User, case: Case, status: str, outcome: str = "", outcome_note: str = ""
) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if status not in STATUS_MOVES.get(case.status, set()):
        raise ValidationError(
            _('Status kasus tidak dapat diubah dari "%(old)s" menjadi "%(new)s".')
            % {
                "old": CaseStatus(case.status).label,
                "new": CaseStatus(status).label if status in CaseStatus.values else status,
            }
        )
    old = case.status
    if status == CaseStatus.CLOSED:
        if outcome not in CaseOutcome.values:
            raise ValidationError({"outcome": _("Pilih hasil penanganan saat menutup kasus.")})
        case.outcome = outcome
        case.outcome_note = outcome_note.strip()
        case.closed_at = timezone.now()
    elif old == CaseStatus.CLOSED:
        case.outcome = ""
        case.outcome_note = ""
        case.closed_at = None
    case.status = status
    case.full_clean()
    case.save(update_fields=["status", "outcome", "outcome_note", "closed_at"])
    kind = "case_reopened" if old == CaseStatus.CLOSED else "status_changed"
    _event(case, actor=actor, kind=kind, detail=f"{old}>{status}")
    _audit(
        "case.status_changed",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=case,
        old=old,
        new=status,
        outcome=case.outcome,
    )
    return case


@transaction.atomic
def case_member_add(*, actor: User, case: Case, user: User, role: str) -> CaseMember:
    if role not in CaseRole.values:
        raise ValidationError(_("Peran pada kasus tidak dikenal."))
    if user.pk == case.owner_id:
        raise ValidationError(_("Pemilik kasus sudah memiliki akses penuh."))
    eligible = Membership.objects.filter(
        user=user, organisation_id=case.organisation_id, is_active=True, role__in=COUNSELLING_ROLES
    ).exists()
    if not eligible:
        raise ValidationError(
            _("Hanya konselor atau koordinator aktif di lembaga ini yang dapat ditambahkan.")
        )
    if CaseMember.objects.filter(case=case, user=user).exists():
        raise ValidationError(_("Orang ini sudah tercatat pada kasus."))
    member = CaseMember.objects.create(case=case, user=user, role=role)
    _event(case, actor=actor, kind="member_added", ref=member.code, detail=role)
    _audit(
        "case.member_added",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=case,
        affected_user=user.pk,
        role=role,
    )
    return member


@transaction.atomic
def case_member_remove(*, actor: User, member: CaseMember) -> None:
    case = member.case
    _event(case, actor=actor, kind="member_removed", ref=member.code, detail=member.role)
    _audit(
        "case.member_removed",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=case,
        affected_user=member.user_id,
        role=member.role,
    )
    member.delete()


# --- records and attachments -------------------------------------------------------------


@transaction.atomic
def record_add(
    *,
    actor: User,
    case: Case,
    occurred_on: dt.date,
    source: str,
    content: str,
    may_bring_to_kka: bool = False,
    files: Iterable[tuple[str, bytes]] = (),
) -> CaseRecord:
    record = CaseRecord(
        case=case,
        occurred_on=occurred_on,
        source=source,
        content=content.strip(),
        may_bring_to_kka=may_bring_to_kka,
        created_by=actor,
    )
    record.full_clean()
    record.save()
    _event(case, actor=actor, kind="record_added", ref=record.code, detail=source)
    _audit(
        "record.added",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=record,
        case=case.code,
    )
    # The transaction rolls the rows back; the files already written must go too (the
    # last one included, when a write after storing it fails).
    with private_files.removed_if_rolled_back():
        for name, data in files:
            attachment_add(actor=actor, record=record, filename=name, data=data)
    return record


@transaction.atomic
def record_update(
    *,
    actor: User,
    record: CaseRecord,
    occurred_on: dt.date,
    source: str,
    content: str,
    may_bring_to_kka: bool,
) -> CaseRecord:
    record.occurred_on = occurred_on
    record.source = source
    record.content = content.strip()
    record.may_bring_to_kka = may_bring_to_kka
    record.full_clean()
    record.save()
    _event(record.case, actor=actor, kind="record_updated", ref=record.code)
    _audit(
        "record.updated",
        actor=actor,
        organisation_id=record.case.organisation_id,
        obj=record,
        case=record.case.code,
    )
    return record


def _store_attachment(
    *, actor: User, filename: str, data: bytes, record: CaseRecord | None
) -> Attachment:
    try:
        stored = private_files.store(data)
    except private_files.RejectedFile as exc:
        messages = {
            "empty": _("Berkas kosong."),
            "too_large": _("Berkas terlalu besar."),
            "type": _("Jenis berkas tidak diizinkan. Gunakan PDF, JPEG, PNG atau DOCX."),
        }
        raise ValidationError(messages[str(exc)]) from exc
    attachment = Attachment(
        record=record,
        original_name=(filename or "berkas")[-200:],
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        stored_name=stored.stored_name,
        uploaded_by=actor,
    )
    try:
        attachment.full_clean()
        attachment.save()
    except Exception:
        private_files.remove(stored.stored_name)
        raise
    return attachment


def attachment_add(*, actor: User, record: CaseRecord, filename: str, data: bytes) -> Attachment:
    # One transaction; a rollback (a failed write after the file was stored, or the
    # commit itself) removes the stored file too.
    with private_files.removed_if_rolled_back(), transaction.atomic():
        attachment = _store_attachment(actor=actor, filename=filename, data=data, record=record)
        case = record.case
        _event(case, actor=actor, kind="attachment_added", ref=attachment.code)
        _audit(
            "attachment.added",
            actor=actor,
            organisation_id=case.organisation_id,
            obj=attachment,
            record=record.code,
            case=case.code,
        )
    return attachment


def attachment_downloaded(*, actor: User, attachment: Attachment, organisation_id: int) -> None:
    _audit("attachment.downloaded", actor=actor, organisation_id=organisation_id, obj=attachment)


# --- problem map ---------------------------------------------------------------------


def _problem_map(case: Case) -> ProblemMap:
    problem_map = ProblemMap.objects.filter(case=case).first()
    if problem_map is None:
        raise ValidationError(_("Tuliskan masalah inti terlebih dahulu."))
    return problem_map


@transaction.atomic
def problem_map_set_core(*, actor: User, case: Case, core_problem: str) -> ProblemMap:
    core_problem = core_problem.strip()
    if not core_problem:
        raise ValidationError({"core_problem": _("Masalah inti wajib diisi.")})
    problem_map, _created = ProblemMap.objects.get_or_create(
        case=case, defaults={"core_problem": core_problem}
    )
    problem_map.core_problem = core_problem
    problem_map.updated_at = timezone.now()
    problem_map.save()
    _event(case, actor=actor, kind="map_updated")
    _audit("map.updated", actor=actor, organisation_id=case.organisation_id, obj=case)
    return problem_map


@transaction.atomic
def aspect_add(
    *, actor: User, case: Case, kind: str, text: str, records: Iterable[CaseRecord] = ()
) -> ProblemAspect:
    problem_map = _problem_map(case)
    aspect = ProblemAspect(
        problem_map=problem_map,
        kind=kind,
        text=text.strip(),
        position=problem_map.aspects.count(),
    )
    aspect.full_clean()
    aspect.save()
    chosen = [r for r in records if r.case_id == case.pk]
    aspect.records.set(chosen)
    _event(case, actor=actor, kind="aspect_added", ref=aspect.code, detail=kind)
    _audit(
        "map.aspect_added",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=aspect,
        case=case.code,
    )
    return aspect


@transaction.atomic
def aspect_remove(*, actor: User, aspect: ProblemAspect) -> None:
    case = aspect.problem_map.case
    _event(case, actor=actor, kind="aspect_removed", ref=aspect.code)
    _audit(
        "map.aspect_removed",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=aspect,
        case=case.code,
    )
    aspect.delete()


@transaction.atomic
def resource_add(
    *,
    actor: User,
    case: Case,
    name: str,
    role: str,
    category: str,
    contribution: str = "",
    aspects: Iterable[ProblemAspect] = (),
) -> ProblemResource:
    problem_map = _problem_map(case)
    resource = ProblemResource(
        problem_map=problem_map,
        name=name.strip(),
        role=role.strip(),
        category=category,
        contribution=contribution.strip(),
        position=problem_map.resources.count(),
    )
    resource.full_clean()
    resource.save()
    resource.aspects.set([a for a in aspects if a.problem_map_id == problem_map.pk])
    _event(case, actor=actor, kind="resource_added", ref=resource.code, detail=category)
    _audit(
        "map.resource_added",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=resource,
        case=case.code,
    )
    return resource


@transaction.atomic
def resource_remove(*, actor: User, resource: ProblemResource) -> None:
    case = resource.problem_map.case
    _event(case, actor=actor, kind="resource_removed", ref=resource.code)
    _audit(
        "map.resource_removed",
        actor=actor,
        organisation_id=case.organisation_id,
        obj=resource,
        case=case.code,
    )
    resource.delete()


# --- consent -------------------------------------------------------------------------


@transaction.atomic
def consent_text_ensure(*, organisation: Organisation) -> ConsentText:
    text = selectors.current_consent_text(organisation)
    if text is None:
        text = ConsentText.objects.create(
            organisation=organisation, version=1, body=DEFAULT_CONSENT_TEXT
        )
    return text


@transaction.atomic
def consent_text_update(*, actor: User, organisation: Organisation, body: str) -> ConsentText:
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Teks persetujuan wajib diisi.")})
    current = selectors.current_consent_text(organisation)
    if current is not None and current.body == body:
        return current
    text = ConsentText.objects.create(
        organisation=organisation,
        version=(current.version + 1) if current else 1,
        body=body,
        created_by=actor,
    )
    audit_log(
        action="consent_text.updated",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="consenttext",
        object_ref=str(text.version),
    )
    return text


def _client_cases(client: Client) -> Iterable[Case]:
    return Case.objects.filter(client=client)


@transaction.atomic
def consent_record(
    *,
    actor: User,
    client: Client,
    giver: str,
    giver_name: str,
    giver_relationship: str = "",
    channel: str,
    given_at: dt.datetime | None = None,
    purposes: Iterable[str] = (),
    note: str = "",
    scan: tuple[str, bytes] | None = None,
) -> Consent:
    """Record a consent statement. For a minor only a parent's or guardian's counts."""
    purposes = set(purposes)
    allowed = {
        "purpose_hold_kka",
        "share_school_staff",
        "share_family",
        "share_employer",
        "share_community",
        "share_professionals",
        "purpose_documents",
    }
    unknown = purposes - allowed
    if unknown:
        raise ValueError(f"unknown purposes: {sorted(unknown)}")
    if not purposes:
        raise ValidationError(_("Pilih setidaknya satu tujuan yang disetujui."))
    consent = Consent(
        client=client,
        kind=ConsentKind.GRANT,
        giver=giver,
        giver_name=giver_name.strip(),
        giver_relationship=giver_relationship.strip(),
        consent_text=consent_text_ensure(organisation=client.organisation),
        channel=channel,
        note=note.strip(),
        given_at=given_at or timezone.now(),
        recorded_by=actor,
        **{name: name in purposes for name in allowed},
    )
    consent.full_clean()  # before the scan is stored, so a refusal leaves no file behind
    if scan is not None:
        consent.scan = _store_attachment(actor=actor, filename=scan[0], data=scan[1], record=None)
    consent.save()
    for case in _client_cases(client):
        _event(case, actor=actor, kind="consent_recorded", ref=consent.code, detail=giver)
    _audit(
        "consent.recorded",
        actor=actor,
        organisation_id=client.organisation_id,
        obj=consent,
        client=client.code,
        giver=giver,
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: User, consent: Consent, note: str = "") -> Consent:
    """Append a withdrawal by the same giver; the grant itself is never edited."""
    if consent.kind != ConsentKind.GRANT:
        raise ValidationError(_("Hanya persetujuan yang dapat ditarik."))
    withdrawal = Consent(
        client=consent.client,
        kind=ConsentKind.WITHDRAWAL,
        giver=consent.giver,
        giver_name=consent.giver_name,
        giver_relationship=consent.giver_relationship,
        consent_text=consent.consent_text,
        channel=consent.channel,
        note=note.strip(),
        given_at=timezone.now(),
        recorded_by=actor,
    )
    withdrawal.full_clean()
    withdrawal.save()
    for case in _client_cases(consent.client):
        _event(case, actor=actor, kind="consent_withdrawn", ref=withdrawal.code)
    _audit(
        "consent.withdrawn",
        actor=actor,
        organisation_id=consent.client.organisation_id,
        obj=withdrawal,
        client=consent.client.code,
        withdraws=consent.code,
    )
    return withdrawal


def audit_read(*, actor: User, action: str, obj: Any, organisation_id: int, **refs: Any) -> None:
    """Record that case content was shown to someone (codes only)."""
    _audit(action, actor=actor, organisation_id=organisation_id, obj=obj, **refs)
