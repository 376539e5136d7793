"""Downloads of the program reports: PDF, XLSX and CSV.

The same access rules and period query string (``?from=YYYY-MM-DD&to=YYYY-MM-DD``) as
the pages in ``kka.reports.views``: log in first, then 404 for anyone who may not read
the report, and for an unknown format. Each download calls the audited service once
(one ``report.*_viewed`` row). File names carry the period only. A period that does not
parse sends the person back to the page, which says what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from kka.accounts.decorators import organisation_capability
from kka.lib.http import file_response, no_store
from kka.reports import exports, periods, services
from kka.reports.periods import Period, PeriodError


def _fmt_or_404(fmt: str) -> str:
    if fmt not in exports.FORMATS:
        raise Http404
    return fmt


def _period(request: HttpRequest, *, whole_months: bool) -> Period:
    organisation = request.organisation  # type: ignore[attr-defined]
    return periods.parse(
        request.GET.get("from"),
        request.GET.get("to"),
        today=services.local_today(organisation),
        whole_months=whole_months,
    )


def _back_to_page(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponse:
    query = {k: request.GET[k][:20] for k in ("from", "to") if k in request.GET}
    target = reverse(name, kwargs=kwargs or None)
    return redirect(f"{target}?{urlencode(query)}" if query else target)


def _download(
    fmt: str, build: Callable[[], exports.ReportFile], *, kind: str, group_code: str = ""
) -> HttpResponse:
    """Build the report (in Indonesian for the PDF, like every document) and answer it."""
    if fmt == "pdf":
        with translation.override("id"):
            export = build()
            data = exports.pdf(export)
    else:
        export = build()
        data = exports.render_file(export, fmt)
    name = exports.filename(kind, export.report, fmt, group_code=group_code)
    return file_response(data, name, exports.CONTENT_TYPES[fmt])


@organisation_capability(services.may_read_organisation_report)
@no_store
@require_GET
def organisation_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _fmt_or_404(fmt)
    organisation = request.organisation  # type: ignore[attr-defined]
    try:
        period = _period(request, whole_months=True)
    except PeriodError:
        return _back_to_page(request, "reports:organisation")

    def build() -> exports.ReportFile:
        report = services.organisation_report(
            actor=request.user, organisation=organisation, period=period
        )
        return exports.ReportFile("organisation", report, organisation)

    return _download(fmt, build, kind="organisation")


@organisation_capability(services.may_read_own_report)
@no_store
@require_GET
def own_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _fmt_or_404(fmt)
    organisation = request.organisation  # type: ignore[attr-defined]
    try:
        period = _period(request, whole_months=False)
    except PeriodError:
        return _back_to_page(request, "reports:own")

    def build() -> exports.ReportFile:
        report = services.counsellor_report(
            actor=request.user, organisation=organisation, period=period
        )
        return exports.ReportFile("own", report, organisation)

    return _download(fmt, build, kind="own")


@organisation_capability(services.may_read_group_reports)
@no_store
@require_GET
def group_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    _fmt_or_404(fmt)
    group = services.group_for(getattr(request, "membership", None), code)
    try:
        period = _period(request, whole_months=True)
    except PeriodError:
        return _back_to_page(request, "reports:group", code=group.code)

    def build() -> exports.ReportFile:
        whole, parts = services.group_report(
            actor=request.user, supervisor=group.supervisor, group=group, period=period
        )
        return exports.ReportFile(
            "group",
            whole,
            group.supervisor,
            parts=[(member.name, report) for member, report in parts],
            group_code=group.code,
        )

    return _download(fmt, build, kind="group", group_code=group.code)
