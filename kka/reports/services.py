"""Who may read which program report, and the entry points every output calls.

- Koordinator BK and pimpinan: their organisation's report, protected.
- A counselling member (konselor, koordinator): their own cases' report, exact.
- Pengawas: the groups their office supervises, whole and per organisation, protected.

Every entry point writes one audit row naming the scope and the period only. A report
never carries a client's name, a case code or any link to case content.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts import policy
from kka.accounts.models import Membership, Organisation, OrganisationGroup, Role
from kka.audit.services import audit_log
from kka.reports import figures, protect
from kka.reports.periods import Period, snap_to_months
from kka.reports.protect import ShownReport

ORGANISATION_ROLES = frozenset({Role.KOORDINATOR, Role.PIMPINAN})


def may_read_organisation_report(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in ORGANISATION_ROLES


def may_read_own_report(membership: Membership | None) -> bool:
    return policy.may_counsel(membership)


def may_read_group_reports(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role == Role.PENGAWAS


def groups_for(membership: Membership | None) -> QuerySet[OrganisationGroup]:
    if not may_read_group_reports(membership):
        return OrganisationGroup.objects.none()
    assert membership is not None
    return OrganisationGroup.objects.filter(supervisor_id=membership.organisation_id)


def group_for(membership: Membership | None, code: str) -> OrganisationGroup:
    """The group, if this membership supervises it; otherwise 404."""
    group = groups_for(membership).filter(code=code).first()
    if group is None:
        raise Http404
    return group


def local_today(organisation: Organisation) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def group_threshold(group: OrganisationGroup, members: Sequence[Organisation] | None = None) -> int:
    """The strictest threshold of the group and of every member organisation."""
    if members is None:
        members = list(group.organisations.all())
    values = [group.report_threshold, *(o.report_threshold for o in members)]
    return max([protect.DEFAULT_THRESHOLD, *values])


def _protected(
    organisations: Sequence[Organisation],
    zone: str,
    period: Period,
    today: dt.date,
    *,
    subject: str,
    threshold: int,
    bidang_source: Organisation | None = None,
) -> ShownReport:
    """One protected report over these organisations (organisation and group views)."""
    raw = figures.compute(
        figures.Scope(tuple(o.pk for o in organisations), zone), period.start, period.end, today
    )
    return protect.present(
        raw,
        title=report_title(period),
        subject=subject,
        period=period,
        threshold=max(protect.DEFAULT_THRESHOLD, threshold),
        exact=False,
        bidang_source=bidang_source,
    )


def _audit(
    *, action: str, actor: Any, organisation: Organisation, period: Period, ref: str
) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=policy.role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="report",
        object_ref=ref,
        refs={"from": period.start.isoformat(), "to": period.end.isoformat()},
    )


def organisation_report(
    *,
    actor: Any,
    organisation: Organisation,
    period: Period,
    today: dt.date | None = None,
    audit: bool = True,
) -> ShownReport:
    period = snap_to_months(period)
    today = today or local_today(organisation)
    report = _protected(
        (organisation,),
        organisation.time_zone,
        period,
        today,
        subject=organisation.name,
        threshold=organisation.report_threshold,
        bidang_source=organisation,
    )
    if audit:
        _audit(
            action="report.organisation_viewed",
            actor=actor,
            organisation=organisation,
            period=period,
            ref=organisation.code,
        )
    return report


def counsellor_report(
    *,
    actor: Any,
    organisation: Organisation,
    period: Period,
    today: dt.date | None = None,
    audit: bool = True,
) -> ShownReport:
    today = today or local_today(organisation)
    scope = figures.Scope((organisation.pk,), organisation.time_zone, owner_id=actor.pk)
    raw = figures.compute(scope, period.start, period.end, today)
    report = protect.present(
        raw,
        title=_("Laporan Kasus Saya — Konferensi Kasus"),
        subject=actor.full_name,
        period=period,
        threshold=protect.DEFAULT_THRESHOLD,
        exact=True,
        bidang_source=organisation,
    )
    if audit:
        _audit(
            action="report.own_viewed",
            actor=actor,
            organisation=organisation,
            period=period,
            ref=organisation.code,
        )
    return report


def group_report(
    *,
    actor: Any,
    supervisor: Organisation,
    group: OrganisationGroup,
    period: Period,
    today: dt.date | None = None,
    audit: bool = True,
) -> tuple[ShownReport, list[tuple[Organisation, ShownReport]]]:
    """The group as a whole and each member organisation, all protected with the
    group's (strictest) threshold."""
    period = snap_to_months(period)
    today = today or local_today(supervisor)
    members = list(group.organisations.order_by("name", "id"))
    threshold = group_threshold(group, members)
    whole = _protected(
        members, supervisor.time_zone, period, today, subject=group.name, threshold=threshold
    )
    parts = [
        (
            member,
            _protected(
                (member,),
                member.time_zone,
                period,
                today,
                subject=member.name,
                threshold=threshold,
                bidang_source=member,
            ),
        )
        for member in members
    ]
    if audit:
        _audit(
            action="report.group_viewed",
            actor=actor,
            organisation=supervisor,
            period=period,
            ref=group.code,
        )
    return whole, parts


def report_title(period: Period) -> str:
    return _("Laporan Program Bimbingan dan Konseling — Konferensi Kasus, %(period)s") % {
        "period": period.label
    }
