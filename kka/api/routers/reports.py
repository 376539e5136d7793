"""API routes: program reports — the same aggregates as the report pages, as JSON.

The same access predicates and audited services as ``kka.reports.views`` (one
``report.*_viewed`` audit row per answer): the token's membership decides.

- ``/reports/organisation``: koordinator and pimpinan of the token's organisation,
  protected (small-number rule, cell-key adjustment, whole months).
- ``/reports/own``: a counselling member's own cases, exact.
- ``/reports/groups`` and ``/reports/groups/{code}``: a pengawas, for the groups their
  office supervises: the group as a whole and each member organisation, protected.

Anyone else gets 404, as for an object they may not see. ``from``/``to`` are ISO dates
(both or neither: neither means the current semester); a date that does not parse, an end
before the start or more than three years answer 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from kka.api.access import code_or_404
from kka.api.errors import ApiError, ErrorBody
from kka.api.schemas_reports import (
    GroupList,
    GroupOut,
    GroupReportOut,
    OrganisationOut,
    ReportOut,
)
from kka.reports import periods, services
from kka.reports.periods import Period, PeriodError
from kka.reports.protect import Shown, ShownReport, ShownRow

router = Router(tags=["reports"])


class PeriodParams(Schema):
    from_: dt.date | None = Field(None, alias="from", description="First day (YYYY-MM-DD)")
    to: dt.date | None = Field(None, description="Last day (YYYY-MM-DD)")


def _membership(request: HttpRequest) -> Any:
    return getattr(request, "membership", None)


def _period(request: HttpRequest, params: PeriodParams, *, whole_months: bool) -> Period:
    organisation = request.organisation  # type: ignore[attr-defined]
    try:
        return periods.parse(
            params.from_.isoformat() if params.from_ else None,
            params.to.isoformat() if params.to else None,
            today=services.local_today(organisation),
            whole_months=whole_months,
        )
    except PeriodError as error:
        detail = [{"loc": ["query", "from" if params.from_ is None else "to"], "type": "period"}]
        raise ApiError(422, "invalid", str(error), detail) from None


def _figure(cell: Shown) -> dict[str, Any]:
    return {"value": cell.number, "text": cell.text}


def _row(row: ShownRow) -> dict[str, Any]:
    return {"slug": row.slug, "label": row.label, "cells": [_figure(c) for c in row.cells]}


def report_out(report: ShownReport) -> dict[str, Any]:
    period = report.period
    return {
        "title": report.title,
        "subject": report.subject,
        "period": {
            "from": period.start,
            "to": period.end,
            "kind": period.kind,
            "label": period.label,
        },
        "exact": report.exact,
        "threshold": None if report.exact else report.threshold,
        "tables": [
            {
                "slug": table.slug,
                "title": table.title,
                "row_heading": table.row_heading,
                "columns": [{"slug": slug, "label": label} for slug, label in table.columns],
                "rows": [_row(row) for row in table.rows],
                "total": _row(table.total) if table.total is not None else None,
            }
            for table in report.tables
        ],
        "durations": [
            {
                "slug": d.slug,
                "label": d.label,
                "cases": _figure(d.cases),
                "q1": _figure(d.q1),
                "median": _figure(d.median),
                "q3": _figure(d.q3),
            }
            for d in report.durations
        ],
    }


@router.get(
    "/organisation",
    response={200: ReportOut, codes_4xx: ErrorBody},
    url_name="report_organisation",
    summary="Laporan program lembaga (angka terlindungi)",
    by_alias=True,
)
def report_organisation(request: HttpRequest, params: Query[PeriodParams]) -> dict[str, Any]:
    """The organisation's program report for the period (default: the current
    semester), for its koordinator BK and pimpinan. Figures from fewer clients than the
    threshold are withheld (``value`` null, ``text`` "< 5"); others may be moved by up to
    2; the period is widened to whole months."""
    if not services.may_read_organisation_report(_membership(request)):
        raise Http404
    organisation = request.organisation  # type: ignore[attr-defined]
    period = _period(request, params, whole_months=True)
    report = services.organisation_report(
        actor=request.user, organisation=organisation, period=period
    )
    return report_out(report)


@router.get(
    "/own",
    response={200: ReportOut, codes_4xx: ErrorBody},
    url_name="report_own",
    summary="Laporan kasus saya (angka persis)",
    by_alias=True,
)
def report_own(request: HttpRequest, params: Query[PeriodParams]) -> dict[str, Any]:
    """The caller's own cases (as owner) in the token's organisation, exact, with the
    workload per month."""
    if not services.may_read_own_report(_membership(request)):
        raise Http404
    organisation = request.organisation  # type: ignore[attr-defined]
    period = _period(request, params, whole_months=False)
    report = services.counsellor_report(
        actor=request.user, organisation=organisation, period=period
    )
    return report_out(report)


def _group_out(group: Any) -> GroupOut:
    return GroupOut(
        code=group.code,
        name=group.name,
        organisations=[
            OrganisationOut(code=o.code, name=o.name)
            for o in group.organisations.order_by("name", "id")
        ],
    )


@router.get(
    "/groups",
    response={200: GroupList, codes_4xx: ErrorBody},
    url_name="report_groups",
    summary="Kelompok lembaga yang diawasi",
)
def report_groups(request: HttpRequest) -> dict[str, Any]:
    """The groups of organisations the caller's office supervises (pengawas only)."""
    membership = _membership(request)
    if not services.may_read_group_reports(membership):
        raise Http404
    groups = services.groups_for(membership).order_by("name", "id")
    return {"items": [_group_out(group) for group in groups]}


@router.get(
    "/groups/{code}",
    response={200: GroupReportOut, codes_4xx: ErrorBody},
    url_name="report_group",
    summary="Laporan program sebuah kelompok lembaga",
    by_alias=True,
)
def report_group(request: HttpRequest, code: str, params: Query[PeriodParams]) -> dict[str, Any]:
    """The group as a whole and each member organisation, protected with the group's
    (strictest) threshold."""
    membership = _membership(request)
    if not services.may_read_group_reports(membership):
        raise Http404
    group = services.group_for(membership, code_or_404(code))
    period = _period(request, params, whole_months=True)
    whole, parts = services.group_report(
        actor=request.user, supervisor=group.supervisor, group=group, period=period
    )
    return {
        "group": _group_out(group),
        "whole": report_out(whole),
        "organisations": [
            {
                "organisation": {"code": member.code, "name": member.name},
                "report": report_out(report),
            }
            for member, report in parts
        ],
    }
