"""The laporan pelaksanaan page: the seven components pre-filled from the record, the
counsellor's edits, finalising, and producing the laporan as PDF or DOCX."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kka.accounts.models import User
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.conferences import access, report
from kka.lib.http import no_store


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _rows(text: str) -> int:
    """A textarea tall enough for the text (4 to 18 lines)."""
    lines = sum(1 + len(line) // 90 for line in text.split("\n"))
    return max(4, min(18, lines + 1))


@login_required
@no_store
def report_page(request: HttpRequest, code: str) -> HttpResponse:
    """GET shows the report (supervisors too); POST saves the narrative or finalises
    it (writers only). A finalised report refuses every change."""
    posting = request.method == "POST"
    conference, role = access.access_conference(request.user, code, write=posting)
    if posting:
        values = {
            name: request.POST[name] for name in report.COMPONENT_NAMES if name in request.POST
        }
        # Text left as the page showed it pre-filled stays "not edited", even if the
        # record changed meanwhile (the default then follows the record).
        for name, text in values.items():
            shown = request.POST.get(f"default_{name}")
            if shown is not None and report.same_text(text, shown):
                values[name] = ""
        finalise = request.POST.get("action") == "finalise"
        try:
            if values or not finalise:
                report.report_save(actor=_user(request), conference=conference, values=values)
            if finalise:
                report.report_finalise(actor=_user(request), conference=conference)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Laporan difinalkan. Isinya tidak dapat diubah lagi.")
                if finalise
                else _("Laporan disimpan."),
            )
        return redirect("conferences:report", code=conference.code)
    audit_log(
        action="conference.viewed",
        actor=_user(request),
        organisation=conference.case.organisation_id,
        object_type="conference",
        object_ref=conference.code,
        refs={"page": "report"},
    )
    saved = report.report_for(conference)
    texts = report.report_texts(conference)
    defaults = report.report_defaults(conference)
    edited = report.edited_components(saved)
    finalised = saved is not None and saved.finalised_at is not None
    components = [
        {
            "name": name,
            "letter": "ABCDEFG"[index],
            "label": label,
            "text": texts[name],
            "default": defaults[name],
            "edited": name in edited and not finalised,
            "rows": _rows(texts[name]),
        }
        for index, (name, label) in enumerate(report.COMPONENTS)
    ]
    open_for_report = conference.status in report.REPORT_STATUSES
    return render(
        request,
        "conferences/report_form.html",
        {
            "conference": conference,
            "case": conference.case,
            "report": saved,
            "finalised": finalised,
            "components": components,
            "open_for_report": open_for_report,
            "may_produce": role in case_access.WRITER_ROLES,
            "editable": (role in case_access.WRITER_ROLES and open_for_report and not finalised),
        },
    )
