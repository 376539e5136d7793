"""Break-glass: a coordinator's emergency read access to a case they are not on.

A coordinator (Koordinator BK) gives a written reason and a fresh second factor; they
may then read the case for 60 minutes. Every read in that time is audited under the
grant (see ``kka.lib.breakglass_scope``), the case owner and the organisation's DPOs
are told (neutral mail: no client, no title, no reason), and the DPO reviews each use.

Never written: the case or anything of it. The grant is read-only (``WRITER_ROLES``
excludes it) and the counsellor's private notes stay with the case team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Membership, Organisation, Role, User
from kka.audit.models import AuditEvent
from kka.audit.services import audit_log
from kka.cases.models import Case
from kka.lib import breakglass_scope, dates
from kka.privacy.models import BreakGlass

ROLE = breakglass_scope.ROLE  # what case_role answers and audit rows carry
DURATION = dt.timedelta(minutes=60)
MIN_REASON = 20
MAX_REASON = 2000

# One message for "no such case" and "a case of another organisation": no enumeration.
NOT_FOUND = _("Kode kasus tidak ditemukan di lembaga Anda.")
REASON_TOO_SHORT = _("Tuliskan alasan minimal %(n)s karakter.")


class Refused(ValidationError):
    """Break-glass refused (the refusal is already in the audit log)."""


def _is_coordinator(user: Any, organisation_id: int) -> bool:
    return Membership.objects.filter(
        user_id=user.pk,
        organisation_id=organisation_id,
        role=Role.KOORDINATOR,
        is_active=True,
        user__is_active=True,
    ).exists()


def active_grant(user: Any, case: Case) -> BreakGlass | None:
    """The user's unexpired, un-ended grant on the case (no role check)."""
    return (
        BreakGlass.objects.filter(
            user_id=user.pk,
            case=case,
            organisation_id=case.organisation_id,
            ended_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-started_at")
        .first()
    )


def reading_grant(user: Any, case: Case) -> BreakGlass | None:
    """For ``case_role``: the grant under which an active coordinator of the case's
    organisation reads it now, or None. Enters the audit scope of the request."""
    if not _is_coordinator(user, case.organisation_id):
        return None
    grant = active_grant(user, case)
    if grant is None:
        return None
    breakglass_scope.enter(
        user_id=user.pk, organisation_id=case.organisation_id, grant_code=grant.code
    )
    return grant


def is_break_glass(user: Any, case: Case) -> bool:
    """Whether the user reads the case only through break-glass (not on the case)."""
    from kka.cases import access

    return access.case_role(user, case) == access.BREAK_GLASS


# --- services ----------------------------------------------------------------------------


def refuse(*, actor: User, organisation: Organisation, why: str) -> None:
    audit_log(
        action="breakglass.refused",
        actor=actor,
        actor_role=_role(actor, organisation),
        organisation=organisation.pk,
        object_type="breakglass",
        refs={"why": why},
    )


def _role(actor: User, organisation: Organisation) -> str:
    from kka.accounts.policy import role_in

    return role_in(actor, organisation.pk)


def normalise_code(value: str) -> str:
    return "".join(value.split()).upper()


def breakglass_open(
    *, actor: User, organisation: Organisation, case_code: str, reason: str
) -> BreakGlass | Case:
    """Open a grant, or refuse (audited, ``Refused`` raised).

    Answers the case itself when the actor already works on it (nothing to open) and
    the running grant when one is still valid (no second mail)."""
    from kka.cases import access

    reason = reason.strip()
    if not _is_coordinator(actor, organisation.pk):
        refuse(actor=actor, organisation=organisation, why="not_coordinator")
        raise Refused(NOT_FOUND, code="case_code")
    if len(reason) < MIN_REASON:
        refuse(actor=actor, organisation=organisation, why="reason_short")
        raise Refused(REASON_TOO_SHORT, code="reason", params={"n": MIN_REASON})
    case = (
        Case.objects.select_related("owner", "organisation")
        .filter(organisation=organisation, code=normalise_code(case_code))
        .first()
    )
    if case is None:
        refuse(actor=actor, organisation=organisation, why="not_found")
        raise Refused(NOT_FOUND, code="case_code")
    role = access.case_role(actor, case)
    if role is not None and role != access.BREAK_GLASS:
        return case
    running = active_grant(actor, case)
    if running is not None:
        return running
    return _open(actor=actor, case=case, reason=reason[:MAX_REASON])


@transaction.atomic
def _open(*, actor: User, case: Case, reason: str) -> BreakGlass:
    now = timezone.now()
    grant = BreakGlass(
        organisation=case.organisation,
        case=case,
        user=actor,
        reason=reason,
        started_at=now,
        expires_at=now + DURATION,
    )
    grant.full_clean()
    grant.save()
    audit_log(
        action="breakglass.opened",
        actor=actor,
        actor_role=_role(actor, case.organisation),
        organisation=case.organisation_id,
        object_type="breakglass",
        object_ref=grant.code,
        refs={"case": case.code},
    )
    transaction.on_commit(lambda: send_opened_mails(grant_id=grant.pk))
    return grant


@transaction.atomic
def breakglass_end(*, actor: User, grant: BreakGlass) -> bool:
    """End the holder's grant before its 60 minutes; False when it had already ended."""
    locked = BreakGlass.objects.select_for_update().get(pk=grant.pk)
    if locked.ended_at is not None or locked.expires_at <= timezone.now():
        return False
    locked.ended_at = timezone.now()
    locked.save(update_fields=["ended_at"])
    audit_log(
        action="breakglass.ended",
        actor=actor,
        actor_role=_role(actor, locked.organisation),
        organisation=locked.organisation_id,
        object_type="breakglass",
        object_ref=locked.code,
        refs={"case": locked.case.code},
    )
    grant.ended_at = locked.ended_at
    return True


@transaction.atomic
def breakglass_review(*, actor: User, grant: BreakGlass) -> bool:
    """The DPO marks a use as reviewed; False when it already was."""
    locked = BreakGlass.objects.select_for_update().get(pk=grant.pk)
    if locked.reviewed_at is not None:
        return False
    locked.reviewed_by = actor
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["reviewed_by", "reviewed_at"])
    audit_log(
        action="breakglass.reviewed",
        actor=actor,
        actor_role=_role(actor, locked.organisation),
        organisation=locked.organisation_id,
        object_type="breakglass",
        object_ref=locked.code,
    )
    return True


# --- mail --------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    from django.conf import settings

    return getattr(settings, "KKA_BASE_URL", "").rstrip("/") + path


def send_opened_mails(*, grant_id: int) -> None:
    """Tell the case owner and every active DPO: who, which case code, when. Never the
    client, the case title or the reason (it may name the client): "lihat di KKA"."""
    from kka.lib.mail import send_templated

    grant = BreakGlass.objects.select_related("case__owner", "organisation", "user").get(
        pk=grant_id
    )
    organisation = grant.organisation
    owner = grant.case.owner
    recipients: list[tuple[User, str, str]] = []
    if owner.is_active and owner.pk != grant.user_id:
        path = reverse("cases:case_detail", kwargs={"code": grant.case.code})
        recipients.append((owner, "privacy/emails/breakglass_owner", path))
    dpos = Membership.objects.filter(
        organisation=organisation, role=Role.DPO, is_active=True, user__is_active=True
    ).select_related("user")
    for membership in dpos:
        path = reverse("privacy:breakglass_list")
        recipients.append((membership.user, "privacy/emails/breakglass_dpo", path))
    for user, template, path in recipients:
        language = user.language or "id"
        with translation.override(language):
            when = dates.long_datetime(grant.started_at, organisation.time_zone)
            until = dates.long_datetime(grant.expires_at, organisation.time_zone)
        send_templated(
            to=user.email,
            template=template,
            language=language,
            context={
                "organisation": organisation,
                "coordinator": grant.user.full_name,
                "case_code": grant.case.code,
                "when": when,
                "until": until,
                "link": _absolute(path),
            },
        )


# --- the DPO's register ------------------------------------------------------------------


@dataclass
class Use:
    grant: BreakGlass
    reads: int
    state: str  # "active", "ended", "expired"


def uses(organisation: Organisation) -> list[Use]:
    """Every use in the organisation, newest first, with the reads logged under it."""
    grants = list(
        BreakGlass.objects.filter(organisation=organisation)
        .select_related("user", "case", "reviewed_by")
        .order_by("-started_at", "-id")
    )
    counts = dict(
        AuditEvent.objects.filter(
            organisation_id=organisation.pk,
            refs__break_glass__in=[g.code for g in grants],
        )
        .values_list("refs__break_glass")
        .annotate(n=Count("id"))
        .values_list("refs__break_glass", "n")
    )
    now = timezone.now()
    result = []
    for grant in grants:
        if grant.ended_at is not None:
            state = "ended"
        elif grant.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        result.append(Use(grant=grant, reads=counts.get(grant.code, 0), state=state))
    return result


def register_viewed(*, actor: User, organisation: Organisation, shown: int) -> None:
    """The reasons may name a client: showing them is a read worth a row."""
    audit_log(
        action="breakglass.list_viewed",
        actor=actor,
        actor_role=_role(actor, organisation),
        organisation=organisation.pk,
        object_type="breakglass",
        refs={"shown": shown},
    )


def dpo_section(organisation: Organisation) -> dict[str, Any]:
    grants = BreakGlass.objects.filter(organisation=organisation)
    return {
        "unreviewed": grants.filter(reviewed_at__isnull=True).count(),
        "active": grants.filter(ended_at__isnull=True, expires_at__gt=timezone.now()).count(),
        "url": reverse("privacy:breakglass_list"),
    }
