"""Program report pages: the organisation's (koordinator, pimpinan), the counsellor's
own and the pengawas' group reports.

Every page that shows a report calls its audited service exactly once (one audit row
per view); the period comes from ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (the current
semester without it). A period the report cannot use is shown as a message with the
picker, never as an error page. Nothing here names a client or links to case content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kka.accounts.decorators import organisation_capability
from kka.reports import charts, periods, services
from kka.reports.periods import Period, PeriodError
from kka.reports.protect import ShownReport, ShownTable

EXPORT_FORMATS = (("pdf", "PDF"), ("xlsx", "XLSX"), ("csv", "CSV"))
SEMESTERS_OFFERED = 4  # the current semester and the three before it
YEARS_OFFERED = 2  # the current school year and the one before it


@dataclass
class Section:
    """One table of a report with its chart (a data URI, or None)."""

    anchor: str
    table: ShownTable
    chart: str | None
    alt: str


@dataclass
class PeriodChoice:
    label: str
    query: str
    current: bool


def _sections(report: ShownReport, prefix: str, *, with_charts: bool = True) -> list[Section]:
    out = []
    for table in report.tables:
        chart = charts.chart_data_uri(table) if with_charts else None
        out.append(
            Section(
                anchor=f"{prefix}-{table.slug}",
                table=table,
                chart=chart,
                alt=_("Diagram: %(title)s. Angka-angkanya ada di tabel di samping diagram ini.")
                % {"title": table.title},
            )
        )
    return out


def _period(request: HttpRequest, today: dt.date, *, whole_months: bool) -> tuple[Period, str]:
    """The period asked for, and an error message ("" when the period is usable). On an
    error the current semester stands in (for the picker only; no report is shown)."""
    raw_from = request.GET.get("from")
    raw_to = request.GET.get("to")
    try:
        return periods.parse(raw_from, raw_to, today=today, whole_months=whole_months), ""
    except PeriodError as exc:
        return periods.semester(today), str(exc)


def _adjusted(request: HttpRequest, period: Period) -> bool:
    """The period shown is wider than the dates asked for (protected views widen a
    custom period to whole months)."""
    try:
        start = dt.date.fromisoformat(request.GET.get("from") or "")
        end = dt.date.fromisoformat(request.GET.get("to") or "")
    except ValueError:
        return False  # no dates asked for: the current semester
    return (start, end) != (period.start, period.end)


def _choices(today: dt.date, selected: Period | None) -> dict[str, list[PeriodChoice]]:
    semesters = [periods.semester(today)]
    for _index in range(SEMESTERS_OFFERED - 1):
        semesters.append(periods.previous(semesters[-1]))
    years = [periods.school_year(today)]
    for _index in range(YEARS_OFFERED - 1):
        years.append(periods.previous(years[-1]))

    def choice(period: Period) -> PeriodChoice:
        current = selected is not None and (period.start, period.end) == (
            selected.start,
            selected.end,
        )
        return PeriodChoice(period.label, urlencode(period.as_query()), current)

    return {"semesters": [choice(p) for p in semesters], "years": [choice(p) for p in years]}


def _downloads(name: str, args: tuple[Any, ...], period: Period) -> list[tuple[str, str]]:
    query = urlencode(period.as_query())
    return [(label, f"{reverse(name, args=(*args, fmt))}?{query}") for fmt, label in EXPORT_FORMATS]


def _tabs(request: HttpRequest, current: str) -> list[tuple[str, str, bool]]:
    """Links between the reports the viewer may read (shown when more than one)."""
    membership = getattr(request, "membership", None)
    tabs = []
    if services.may_read_organisation_report(membership):
        tabs.append(
            (_("Laporan lembaga"), reverse("reports:organisation"), current == "organisation")
        )
    if services.may_read_own_report(membership):
        tabs.append((_("Laporan kasus saya"), reverse("reports:own"), current == "own"))
    if services.may_read_group_reports(membership):
        tabs.append((_("Laporan kelompok lembaga"), reverse("reports:groups"), current == "group"))
    return tabs if len(tabs) > 1 else []


def _page(
    request: HttpRequest,
    *,
    kind: str,
    today: dt.date,
    period: Period,
    error: str,
    context: dict[str, Any],
) -> HttpResponse:
    protected = kind != "own"
    context.update(
        {
            "kind": kind,
            "protected": protected,
            "period": period,
            "error": error,
            "adjusted": protected and not error and _adjusted(request, period),
            "choices": _choices(today, None if error else period),
            "form_from": request.GET.get("from") or period.start.isoformat(),
            "form_to": request.GET.get("to") or period.end.isoformat(),
            "tabs": _tabs(request, kind),
        }
    )
    return render(request, "reports/report.html", context, status=400 if error else 200)


@organisation_capability(services.may_read_organisation_report)
@require_GET
def organisation(request: HttpRequest) -> HttpResponse:
    org = request.organisation  # type: ignore[attr-defined]
    today = services.local_today(org)
    period, error = _period(request, today, whole_months=True)
    context: dict[str, Any] = {"heading": _("Laporan program lembaga"), "subject": org.name}
    if not error:
        report = services.organisation_report(
            actor=request.user, organisation=org, period=period, today=today
        )
        context.update(
            report=report,
            sections=_sections(report, "r"),
            durations=report.durations,
            downloads=_downloads("reports:organisation_export", (), report.period),
        )
    return _page(
        request, kind="organisation", today=today, period=period, error=error, context=context
    )


@organisation_capability(services.may_read_own_report)
@require_GET
def own(request: HttpRequest) -> HttpResponse:
    org = request.organisation  # type: ignore[attr-defined]
    today = services.local_today(org)
    period, error = _period(request, today, whole_months=False)
    context: dict[str, Any] = {"heading": _("Laporan kasus saya"), "subject": org.name}
    if not error:
        report = services.counsellor_report(
            actor=request.user, organisation=org, period=period, today=today
        )
        context.update(
            report=report,
            sections=_sections(report, "r"),
            durations=report.durations,
            downloads=_downloads("reports:own_export", (), report.period),
        )
    return _page(request, kind="own", today=today, period=period, error=error, context=context)


@organisation_capability(services.may_read_group_reports)
@require_GET
def groups(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    rows = list(services.groups_for(membership).prefetch_related("organisations"))
    return render(request, "reports/groups.html", {"groups": rows})


@organisation_capability(services.may_read_group_reports)
@require_GET
def group(request: HttpRequest, code: str) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    group = services.group_for(membership, code)
    supervisor = request.organisation  # type: ignore[attr-defined]
    today = services.local_today(supervisor)
    period, error = _period(request, today, whole_months=True)
    context: dict[str, Any] = {
        "heading": _("Laporan program kelompok lembaga"),
        "subject": group.name,
        "group": group,
    }
    if not error:
        whole, parts = services.group_report(
            actor=request.user, supervisor=supervisor, group=group, period=period, today=today
        )
        context.update(
            report=whole,
            sections=_sections(whole, "r"),
            durations=whole.durations,
            members=[
                {
                    "organisation": member,
                    "report": report,
                    "sections": _sections(report, f"m{index}", with_charts=False),
                    "anchor": f"m{index}",
                }
                for index, (member, report) in enumerate(parts, start=1)
            ],
            downloads=_downloads("reports:group_export", (group.code,), whole.period),
        )
    return _page(request, kind="group", today=today, period=period, error=error, context=context)
