"""Which clients, and which of their data, an account or an address reached.

Read from the audit log only: every row names the object it touched by type and code
(``object_type``/``object_ref``) and often its parents in ``refs`` (``case``,
``conference``, ``client``...). Each reference is resolved to the client it belongs to,
and the action code says which category of that client's data was shown or changed.
The answer holds client ids and codes, categories and times: never names. The DPO
looks a name up through the client page (or reads it in the breach-notice draft, which
is the legally required letter).

Used by ``kka privacy affected`` and by the incident register ("Cari yang terdampak").
Only successful rows count: a refused request reached nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation
from kka.audit.models import AuditEvent, Outcome
from kka.audit.services import audit_log
from kka.cases.models import (
    Attachment,
    Case,
    CaseRecord,
    Client,
    Consent,
    Guardian,
    ProblemAspect,
    ProblemResource,
)
from kka.conferences.models import (
    Commitment,
    Conference,
    Evaluation,
    FollowUp,
    MinutesAddendum,
    Participant,
)
from kka.documents.models import Document
from kka.privacy.models import (
    BreakGlass,
    Correction,
    Erasure,
    Restriction,
    SubjectRequest,
)

# Data categories, in the order a notice lists them. Codes are stored in
# IncidentSubject.categories; labels are what the DPO and the notice show.
CATEGORIES: dict[str, Any] = {
    "identitas": _("Identitas (nama, tanggal lahir, nomor induk, kelas/bagian)"),
    "kontak": _("Alamat dan nomor telepon"),
    "wali": _("Data orang tua / wali"),
    "persetujuan": _("Pernyataan persetujuan"),
    "kasus": _("Data kasus (bidang, judul, uraian masalah)"),
    "catatan_konseling": _("Catatan konseling"),
    "peta_masalah": _("Peta masalah"),
    "lampiran": _("Lampiran berkas"),
    "rencana_kka": _("Rencana konferensi kasus"),
    "peserta_kka": _("Peserta konferensi kasus"),
    "ringkasan_kka": _("Undangan dan ringkasan bahan konferensi kasus untuk peserta"),
    "notulen_kka": _("Notulen konferensi kasus"),
    "komitmen": _("Komitmen dan perkembangannya"),
    "evaluasi": _("Evaluasi"),
    "tindak_lanjut": _("Tindak lanjut dan alih tangan kasus"),
    "laporan": _("Laporan konferensi kasus"),
    "dokumen": _("Dokumen yang dihasilkan (surat, notulen, laporan)"),
    "lainnya": _("Data lain tentang konseli"),
}

_CASE_PAGE = ("identitas", "kasus", "catatan_konseling", "peta_masalah")
_EVERYTHING = tuple(code for code in CATEGORIES if code != "lainnya")

# Action code → categories of the client's data the action showed or changed. An
# action that resolves to a client but is missing here counts as "lainnya".
ACTION_CATEGORIES: dict[str, tuple[str, ...]] = {
    "client.created": ("identitas", "kontak"),
    "client.updated": ("identitas", "kontak"),
    "client.viewed": ("identitas", "kontak", "wali", "persetujuan"),
    "client.list_viewed": ("identitas",),
    "guardian.added": ("wali",),
    "guardian.removed": ("wali",),
    "case.opened": ("kasus",),
    "case.updated": ("kasus",),
    "case.status_changed": ("kasus",),
    "case.member_added": ("kasus",),
    "case.member_removed": ("kasus",),
    "case.viewed": _CASE_PAGE,
    "case.list_viewed": ("identitas", "kasus"),
    "record.added": ("catatan_konseling",),
    "record.updated": ("catatan_konseling",),
    "record.viewed": ("catatan_konseling",),
    "attachment.added": ("lampiran",),
    "attachment.downloaded": ("lampiran",),
    "map.updated": ("peta_masalah",),
    "map.aspect_added": ("peta_masalah",),
    "map.aspect_removed": ("peta_masalah",),
    "map.resource_added": ("peta_masalah",),
    "map.resource_removed": ("peta_masalah",),
    "consent.recorded": ("persetujuan",),
    "consent.withdrawn": ("persetujuan",),
    "consent.proof_exported": ("persetujuan", "identitas"),
    "conference.created": ("rencana_kka",),
    "conference.viewed": ("rencana_kka", "peserta_kka"),
    "conference.plan_updated": ("rencana_kka",),
    "conference.status_changed": ("rencana_kka",),
    "conference.approval_requested": ("rencana_kka",),
    "conference.approval_viewed": ("rencana_kka", "peserta_kka"),
    "conference.approved": ("rencana_kka",),
    "conference.sent_back": ("rencana_kka",),
    "conference.approval_reset": ("rencana_kka",),
    "participant.added": ("peserta_kka",),
    "participant.updated": ("peserta_kka",),
    "participant.removed": ("peserta_kka",),
    "participant.link_revoked": ("peserta_kka",),
    "letter.number_issued": ("peserta_kka",),
    "invitation.sent": ("peserta_kka", "ringkasan_kka"),
    "attendance.recorded": ("peserta_kka",),
    "pledge.taken": ("peserta_kka",),
    "portal.opened": ("ringkasan_kka",),
    "portal.rsvp": ("ringkasan_kka",),
    "portal.briefing_viewed": ("ringkasan_kka",),
    "portal.minutes_viewed": ("notulen_kka",),
    "portal.minutes_agreed": ("notulen_kka",),
    "portal.minutes_commented": ("notulen_kka",),
    "minutes.finalised": ("notulen_kka",),
    "minutes.addendum_added": ("notulen_kka",),
    "commitment.added": ("komitmen",),
    "commitment.status_changed": ("komitmen",),
    "commitment.progress_added": ("komitmen",),
    "evaluation.recorded": ("evaluasi",),
    "evaluation.scheduled": ("evaluasi",),
    "followup.added": ("tindak_lanjut",),
    "followup.status_changed": ("tindak_lanjut",),
    "report.saved": ("laporan",),
    "report.finalised": ("laporan",),
    "document.produced": ("dokumen",),
    "document.finalised": ("dokumen",),
    "document.accessed": ("dokumen",),
    "document.list_viewed": ("dokumen",),
    "conference.list_viewed": ("rencana_kka",),
    "breakglass.opened": ("kasus",),
    "privacy.access_exported": _EVERYTHING,
    "privacy.corrected": ("identitas", "kontak"),
    "privacy.breach_notice_drafted": ("identitas", "kontak", "wali"),
    "privacy.request_received": ("identitas",),
    "privacy.request_completed": ("identitas",),
    "privacy.request_rejected": ("identitas",),
    "privacy.erasure_requested": ("identitas",),
    "privacy.erasure_approved": ("identitas",),
    "privacy.erased": ("identitas",),
    "privacy.restricted": ("identitas",),
    "privacy.restriction_lifted": ("identitas",),
}

# Actions that show or change no client's data (accounts, settings, counts, refusals),
# even when their row names a case or a conference. Every registered action code is
# in exactly one of ACTION_CATEGORIES and NO_REACH (a test keeps it so): a new action
# needs a decision.
NO_REACH = frozenset(
    {
        "auth.login",
        "auth.login_failed",
        "auth.locked_out",
        "auth.logout",
        "auth.password_changed",
        "auth.password_reset_requested",
        "auth.password_reset_done",
        "auth.organisation_switched",
        "auth.otp_enrolled",
        "auth.otp_verified",
        "auth.otp_failed",
        "auth.otp_reset",
        "auth.backup_codes_regenerated",
        "auth.step_up",
        "auth.session_ended",
        "org.updated",
        "org.logo_changed",
        "org.member_added",
        "org.member_role_changed",
        "org.member_deactivated",
        "org.member_reactivated",
        "org.created",
        "org.group_created",
        "org.group_changed",
        "system.demo_created",
        # The import writes one client.created row per client it creates.
        "client.import_previewed",
        "client.imported",
        "consent_text.updated",
        "portal.denied",
        "document.template_uploaded",
        "document.template_deactivated",
        "letter.number_voided",
        "letter.register_exported",
        "reminder.run",
        "breakglass.refused",
        "breakglass.ended",
        "breakglass.reviewed",
        "breakglass.list_viewed",  # counts only; the reasons name no client by code
        "privacy.change_refused",
        "privacy.retention_rule_changed",
        "privacy.retention_listed",
        "privacy.destroyed",
        "privacy.incident_recorded",
        "privacy.incident_updated",
        "privacy.affected_listed",
        "privacy.ropa_printed",
        "keys.rotated",
        # background jobs: the task's own domain rows record what was reached
        "job.gave_up",
        # API tokens: the route's own rows (case.viewed, ...) record what was reached.
        "api.token_created",
        "api.token_revoked",
        "api.request",
        "api.rate_limited",
        # Program reports: counts only (kka.reports), never a client's data.
        "report.organisation_viewed",
        "report.own_viewed",
        "report.group_viewed",
    }
)

# A conference page other than the plan shows another part of the KKA.
_CONFERENCE_PAGES = {
    "meeting": ("notulen_kka", "peserta_kka"),
    "report": ("laporan",),
    "evaluation": ("evaluasi",),
}

# List pages name the rows they showed in refs["shown"] (comma-separated codes).
_LIST_ACTIONS = {
    "client.list_viewed": "client",
    "case.list_viewed": "case",
    "conference.list_viewed": "conference",
}

# refs keys that carry the code of a parent object, and that object's type.
_REF_KEYS = {
    "client": "client",
    "case": "case",
    "conference": "conference",
    "record": "caserecord",
    "participant": "participant",
    "withdraws": "consent",
    "evaluation": "evaluation",
    "addendum": "minutesaddendum",
}


def _pairs(qs: QuerySet[Any], client_path: Any) -> QuerySet[Any]:
    return qs.annotate(_client=client_path).values_list("code", "_client")


# object type (audit row's object_type, the lower-case model name) → codes → client ids.
_RESOLVERS: dict[str, Callable[[set[str]], Iterable[tuple[str, int | None]]]] = {
    "client": lambda codes: Client.objects.filter(code__in=codes).values_list("code", "id"),
    "guardian": lambda codes: Guardian.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
    "case": lambda codes: Case.objects.filter(code__in=codes).values_list("code", "client_id"),
    "caserecord": lambda codes: _pairs(
        CaseRecord.objects.filter(code__in=codes), F("case__client_id")
    ),
    # A consent scan has no record: it belongs to the consent's client.
    "attachment": lambda codes: _pairs(
        Attachment.objects.filter(code__in=codes),
        Coalesce(
            F("record__case__client_id"),
            Subquery(Consent.objects.filter(scan_id=OuterRef("pk")).values("client_id")[:1]),
        ),
    ),
    "consent": lambda codes: Consent.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
    "problemaspect": lambda codes: _pairs(
        ProblemAspect.objects.filter(code__in=codes), F("problem_map__case__client_id")
    ),
    "problemresource": lambda codes: _pairs(
        ProblemResource.objects.filter(code__in=codes), F("problem_map__case__client_id")
    ),
    "conference": lambda codes: _pairs(
        Conference.objects.filter(code__in=codes), F("case__client_id")
    ),
    "participant": lambda codes: _pairs(
        Participant.objects.filter(code__in=codes), F("conference__case__client_id")
    ),
    "minutesaddendum": lambda codes: _pairs(
        MinutesAddendum.objects.filter(code__in=codes), F("minutes__conference__case__client_id")
    ),
    "commitment": lambda codes: _pairs(
        Commitment.objects.filter(code__in=codes), F("conference__case__client_id")
    ),
    "evaluation": lambda codes: _pairs(
        Evaluation.objects.filter(code__in=codes), F("conference__case__client_id")
    ),
    "followup": lambda codes: _pairs(FollowUp.objects.filter(code__in=codes), F("case__client_id")),
    "document": lambda codes: _pairs(
        Document.objects.filter(code__in=codes),
        Coalesce(
            F("client_id"),
            F("case__client_id"),
            F("conference__case__client_id"),
            F("consent__client_id"),
        ),
    ),
    "breakglass": lambda codes: _pairs(
        BreakGlass.objects.filter(code__in=codes), F("case__client_id")
    ),
    "subjectrequest": lambda codes: SubjectRequest.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
    "correction": lambda codes: Correction.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
    "restriction": lambda codes: Restriction.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
    "erasure": lambda codes: Erasure.objects.filter(code__in=codes).values_list(
        "code", "client_id"
    ),
}


@dataclass
class AffectedClient:
    client_id: int
    code: str
    organisation_code: str
    categories: set[str] = field(default_factory=set)
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    events: int = 0

    def sorted_categories(self) -> list[str]:
        order = list(CATEGORIES)
        return sorted(self.categories, key=order.index)

    def add(self, at: dt.datetime, categories: Iterable[str]) -> None:
        self.categories.update(categories)
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)
        self.events += 1


@dataclass
class Affected:
    clients: list[AffectedClient]
    events: int  # audit rows in the window by the user/address (NO_REACH left out)
    reaching: int  # of those, rows that reached at least one client


def _references(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if event["object_type"] and event["object_ref"]:
        found.append((event["object_type"], event["object_ref"]))
    refs = event["refs"] if isinstance(event["refs"], dict) else {}
    for key, kind in _REF_KEYS.items():
        value = refs.get(key)
        if isinstance(value, str) and value:
            found.append((kind, value))
    list_kind = _LIST_ACTIONS.get(event["action"])
    shown = refs.get("shown")
    if list_kind and isinstance(shown, str):
        found.extend((list_kind, code) for code in shown.split(",") if code)
    return found


def categories_of(action: str, refs: dict[str, Any] | None = None) -> tuple[str, ...]:
    if action == "conference.viewed" and refs:
        page = refs.get("page")
        if isinstance(page, str) and page in _CONFERENCE_PAGES:
            return _CONFERENCE_PAGES[page]
    return ACTION_CATEGORIES.get(action, ("lainnya",))


def affected(
    *,
    start: dt.datetime,
    end: dt.datetime,
    user: Any = None,
    ip: str | None = None,
    organisation: Organisation | None = None,
) -> Affected:
    """Clients whose data the user's account or the address reached in [start, end].

    With both ``user`` and ``ip`` given, a row by either counts (the union): a stolen
    account and the address it was used from may each have reached someone.
    """
    if user is None and not ip:
        raise ValueError("affected() needs a user or an IP address")
    events = AuditEvent.objects.filter(at__gte=start, at__lte=end, outcome=Outcome.SUCCESS).exclude(
        action__in=NO_REACH
    )
    if organisation is not None:
        events = events.filter(organisation_id=organisation.pk)
    user_id = getattr(user, "pk", user)
    if user_id is not None and ip:
        events = events.filter(actor_id=user_id) | events.filter(ip=ip)
    elif user_id is not None:
        events = events.filter(actor_id=user_id)
    else:
        events = events.filter(ip=ip)
    rows = list(events.order_by("id").values("at", "action", "object_type", "object_ref", "refs"))

    wanted: dict[str, set[str]] = {}
    per_event: list[list[tuple[str, str]]] = []
    for row in rows:
        references = [(kind, code) for kind, code in _references(row) if kind in _RESOLVERS]
        per_event.append(references)
        for kind, code in references:
            wanted.setdefault(kind, set()).add(code)
    resolved: dict[tuple[str, str], int] = {}
    for kind, codes in wanted.items():
        for code, client_id in _RESOLVERS[kind](codes):
            if client_id is not None:
                resolved[(kind, code)] = client_id

    client_rows = Client.objects.filter(pk__in=set(resolved.values()))
    if organisation is not None:
        client_rows = client_rows.filter(organisation=organisation)
    found = {
        pk: AffectedClient(client_id=pk, code=code, organisation_code=org_code)
        for pk, code, org_code in client_rows.values_list("pk", "code", "organisation__code")
    }

    reaching = 0
    for row, references in zip(rows, per_event, strict=True):
        client_ids = {resolved[ref] for ref in references if ref in resolved}
        targets = [found[pk] for pk in client_ids if pk in found]
        if not targets:
            continue
        reaching += 1
        categories = categories_of(row["action"], row["refs"])
        for target in targets:
            target.add(row["at"], categories)
    clients = sorted(found.values(), key=lambda c: (c.first_at or end, c.code))
    return Affected(clients=[c for c in clients if c.events], events=len(rows), reaching=reaching)


def audit_listed(
    *,
    actor: Any,
    organisation: Organisation | None,
    result: Affected,
    via: str,
    by_user: bool,
    by_ip: bool,
    incident_code: str = "",
) -> None:
    """Record that the affected list was produced: counts and how it was asked, only."""
    audit_log(
        action="privacy.affected_listed",
        actor=actor,
        actor_role="dpo" if actor is not None else "",
        organisation=organisation,
        object_type="incident" if incident_code else "",
        object_ref=incident_code,
        refs={
            "via": via,
            "by": "+".join(part for part, on in (("user", by_user), ("ip", by_ip)) if on),
            "clients": len(result.clients),
            "events": result.events,
        },
    )
