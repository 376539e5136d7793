"""Data subject rights (UU 27/2022 Pasal 32-34): the request register, correction with
history, and restriction of processing. The access export lives in
:mod:`kka.privacy.export`; erasure in ``kka.privacy.erasure``.

The counsellor who may write the client (``access_client(write=True)``) acts, with a
fresh step-up. The DPO sees the register's deadlines with client codes only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.cases import services as case_services
from kka.cases.models import Client, Guardian
from kka.privacy.models import (
    Correction,
    RequestKind,
    RequestStatus,
    Restriction,
    SubjectRequest,
)
from kka.privacy.restriction import active_restriction

OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.AWAITING_APPROVAL)
# Erasure requests are recorded and decided in kka.privacy.erasure (two people).
RECORDABLE_KINDS = (RequestKind.ACCESS, RequestKind.CORRECTION, RequestKind.RESTRICTION)
# The client's own fields a correction may change (kka.cases.services.CLIENT_FIELDS).
CLIENT_FIELDS = case_services.CLIENT_FIELDS
GUARDIAN_FIELDS = ("full_name", "relationship", "phone", "email", "address")


def access_subject(user: Any, code: str) -> Client:
    """The client whose rights the user may act on: who may write the client. A
    restricted client stays reachable here (to correct it or lift the restriction)."""
    return case_access.access_client(user, code, write=True, despite_restriction=True)


def _audit(action: str, *, actor: User, client: Client, obj: Any, refs: dict[str, Any]) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, client.organisation_id),
        organisation=client.organisation_id,
        object_type=type(obj).__name__.lower(),
        object_ref=obj.code,
        refs={**refs, "client": client.code},
    )


# --- the register ------------------------------------------------------------------------


def requests_of(client: Client) -> QuerySet[SubjectRequest]:
    return SubjectRequest.objects.filter(client=client).order_by("-received_at", "-id")


def access_request(client: Client, code: str) -> SubjectRequest:
    """A request of a client the caller already obtained through :func:`access_subject`."""
    from django.http import Http404

    found = SubjectRequest.objects.filter(client=client, code=code).first()
    if found is None:
        raise Http404
    return found


@transaction.atomic
def request_record(
    *,
    actor: User,
    client: Client,
    kind: str,
    requested_by_note: str = "",
    received_at: dt.datetime | None = None,
) -> SubjectRequest:
    if kind not in RECORDABLE_KINDS:
        raise ValidationError({"kind": _("Jenis permintaan tidak dikenal.")})
    received = received_at or timezone.now()
    if received > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("Waktu diterima tidak boleh di masa depan.")})
    request = SubjectRequest(
        organisation_id=client.organisation_id,
        client=client,
        kind=kind,
        requested_by_note=requested_by_note.strip(),
        received_at=received,
        created_by=actor,
    )
    request.save()  # due_at = received + 72 hours
    _audit("privacy.request_received", actor=actor, client=client, obj=request, refs={"kind": kind})
    return request


def _close(
    *, actor: User, request: SubjectRequest, status: str, outcome_note: str, action: str
) -> SubjectRequest:
    if request.status not in OPEN_STATUSES:
        raise ValidationError(_("Permintaan ini sudah ditutup."))
    if request.kind == RequestKind.ERASURE:
        raise ValidationError(_("Permintaan penghapusan diputuskan di halaman penghapusan."))
    request.status = status
    request.completed_at = timezone.now()
    request.completed_by = actor
    request.outcome_note = outcome_note.strip()
    request.save(update_fields=["status", "completed_at", "completed_by", "outcome_note"])
    _audit(action, actor=actor, client=request.client, obj=request, refs={"kind": request.kind})
    return request


@transaction.atomic
def request_complete(
    *, actor: User, request: SubjectRequest, outcome_note: str = ""
) -> SubjectRequest:
    return _close(
        actor=actor,
        request=request,
        status=RequestStatus.DONE,
        outcome_note=outcome_note,
        action="privacy.request_completed",
    )


@transaction.atomic
def request_reject(*, actor: User, request: SubjectRequest, outcome_note: str) -> SubjectRequest:
    """Refusing needs a reason the subject can be told (Pasal 33: e.g. another
    person's data, or danger to someone)."""
    if not outcome_note.strip():
        raise ValidationError({"outcome_note": _("Tuliskan alasan penolakan.")})
    return _close(
        actor=actor,
        request=request,
        status=RequestStatus.REJECTED,
        outcome_note=outcome_note,
        action="privacy.request_rejected",
    )


def _open_request(client: Client, code: str | None, kind: str) -> SubjectRequest | None:
    if not code:
        return None
    return SubjectRequest.objects.filter(
        client=client, code=code, kind=kind, status__in=OPEN_STATUSES
    ).first()


# --- the deadline, for the DPO -------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    hours: int
    overdue: bool

    @property
    def text(self) -> str:
        if self.overdue:
            return _("lewat %(hours)s jam") % {"hours": self.hours}
        return _("sisa %(hours)s jam") % {"hours": self.hours}


def countdown(due_at: dt.datetime, now: dt.datetime | None = None) -> Countdown:
    seconds = (due_at - (now or timezone.now())).total_seconds()
    # Whole hours, rounded down both ways: "sisa 0 jam" / "lewat 0 jam" is under an hour.
    if seconds < 0:
        return Countdown(hours=math.floor(-seconds / 3600), overdue=True)
    return Countdown(hours=math.floor(seconds / 3600), overdue=False)


def organisation_requests(organisation: Organisation) -> QuerySet[SubjectRequest]:
    return SubjectRequest.objects.filter(organisation=organisation).select_related("client")


def _row(request: SubjectRequest, now: dt.datetime) -> dict[str, Any]:
    # Codes, kinds and times only: the DPO does not see client content.
    return {
        "code": request.code,
        "client_code": request.client.code,
        "kind": request.get_kind_display(),
        "status": request.get_status_display(),
        "is_open": request.status in OPEN_STATUSES,
        "received_at": request.received_at,
        "due_at": request.due_at,
        "completed_at": request.completed_at,
        "countdown": countdown(request.due_at, now) if request.status in OPEN_STATUSES else None,
    }


def dpo_section(organisation: Organisation) -> dict[str, Any]:
    now = timezone.now()
    open_requests = (
        organisation_requests(organisation).filter(status__in=OPEN_STATUSES).order_by("due_at")
    )
    rows = [_row(r, now) for r in open_requests]
    return {"rows": rows, "overdue": sum(1 for r in rows if r["countdown"].overdue)}


def request_register(organisation: Organisation) -> dict[str, Any]:
    """The full register: open ones first by deadline, then closed ones, newest first."""
    now = timezone.now()
    qs = organisation_requests(organisation)
    open_rows = [_row(r, now) for r in qs.filter(status__in=OPEN_STATUSES).order_by("due_at")]
    closed_rows = [
        _row(r, now)
        for r in qs.exclude(status__in=OPEN_STATUSES).order_by("-completed_at", "-id")[:500]
    ]
    return {"open_rows": open_rows, "closed_rows": closed_rows}


# --- correction ------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def corrections_of(client: Client) -> QuerySet[Correction]:
    return (
        Correction.objects.filter(client=client)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
    )


@transaction.atomic
def correction_apply(
    *,
    actor: User,
    client: Client,
    client_values: dict[str, Any],
    guardian_values: dict[str, dict[str, Any]] | None = None,
    reason: str,
    request_code: str | None = None,
) -> list[Correction]:
    """Correct the client's identity and guardians' fields; one Correction row per
    changed field (old and new value encrypted). The client's name and identifier
    tokens are refreshed by the client update service itself."""
    if not reason.strip():
        raise ValidationError({"reason": _("Tuliskan alasan pembetulan.")})
    request = _open_request(client, request_code, RequestKind.CORRECTION)
    rows: list[Correction] = []
    before = {name: _as_text(getattr(client, name)) for name in CLIENT_FIELDS}
    merged = {name: client_values.get(name, getattr(client, name)) for name in CLIENT_FIELDS}
    case_services.client_update(actor=actor, client=client, **merged)
    client.refresh_from_db()
    for name in CLIENT_FIELDS:
        after = _as_text(getattr(client, name))
        if after != before[name]:
            rows.append(
                Correction(
                    client=client,
                    request=request,
                    field=f"client.{name}",
                    object_code=client.code,
                    old_value=before[name],
                    new_value=after,
                    reason=reason.strip(),
                    changed_by=actor,
                )
            )
    for code, values in (guardian_values or {}).items():
        guardian = Guardian.objects.filter(client=client, code=code).first()
        if guardian is None:
            raise ValidationError(_("Orang tua / wali tidak ditemukan."))
        changed = []
        for name in GUARDIAN_FIELDS:
            if name not in values:
                continue
            old, new = _as_text(getattr(guardian, name)), _as_text(values[name])
            if old != new:
                setattr(guardian, name, new)
                changed.append(name)
                rows.append(
                    Correction(
                        client=client,
                        request=request,
                        field=f"guardian.{name}",
                        object_code=guardian.code,
                        old_value=old,
                        new_value=new,
                        reason=reason.strip(),
                        changed_by=actor,
                    )
                )
        if changed:
            guardian.full_clean()
            guardian.save(update_fields=changed)
    if not rows:
        raise ValidationError(_("Tidak ada data yang berubah."))
    for row in rows:
        row.full_clean()
        row.save()
    fields = ",".join(sorted({row.field.removeprefix("client.") for row in rows}))
    audit_log(
        action="privacy.corrected",
        actor=actor,
        actor_role=role_in(actor, client.organisation_id),
        organisation=client.organisation_id,
        object_type="client",
        object_ref=client.code,
        refs={"fields": fields, **({"request": request.code} if request else {})},
    )
    if request is not None:
        _close(
            actor=actor,
            request=request,
            status=RequestStatus.DONE,
            outcome_note="",
            action="privacy.request_completed",
        )
    return rows


# --- restriction -------------------------------------------------------------------------------


def restrictions_of(client: Client) -> QuerySet[Restriction]:
    return (
        Restriction.objects.filter(client=client)
        .select_related("started_by", "lifted_by")
        .order_by("-started_at", "-id")
    )


@transaction.atomic
def restriction_start(
    *, actor: User, client: Client, request_code: str | None = None
) -> Restriction:
    """Freeze the client's data: every change to the client, their cases and KKAs is
    refused until the restriction is lifted. An open restriction request it answers
    is completed."""
    if active_restriction(client.pk) is not None:
        raise ValidationError(_("Pemrosesan data konseli ini sudah dibatasi."))
    request = _open_request(client, request_code, RequestKind.RESTRICTION)
    restriction = Restriction.objects.create(client=client, request=request, started_by=actor)
    _audit(
        "privacy.restricted",
        actor=actor,
        client=client,
        obj=restriction,
        refs={"request": request.code} if request else {},
    )
    if request is not None:
        _close(
            actor=actor,
            request=request,
            status=RequestStatus.DONE,
            outcome_note="",
            action="privacy.request_completed",
        )
    return restriction


@transaction.atomic
def restriction_lift(*, actor: User, client: Client) -> Restriction:
    restriction = active_restriction(client.pk)
    if restriction is None:
        raise ValidationError(_("Pemrosesan data konseli ini tidak sedang dibatasi."))
    restriction.lifted_at = timezone.now()
    restriction.lifted_by = actor
    restriction.save(update_fields=["lifted_at", "lifted_by"])
    _audit("privacy.restriction_lifted", actor=actor, client=client, obj=restriction, refs={})
    return restriction
