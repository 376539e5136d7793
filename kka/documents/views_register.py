"""The register of official letter numbers: every number of a year, voided ones too.

Numbers reveal nothing of a case, so every counsellor, the coordinator and the org
admin of the organisation see the whole register. Who a letter was addressed to is
shown only to those who may see its KKA. Only the org admin and the coordinator may
void a number (with a reason); a voided number stays in the register.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kka.accounts.decorators import organisation_capability
from kka.accounts.models import Membership, Organisation, Role
from kka.accounts.stepup import step_up_required
from kka.audit.services import audit_log
from kka.cases import access as case_access
from kka.conferences import services as conference_services
from kka.conferences.models import LetterNumber
from kka.documents import common, registry
from kka.lib import dates
from kka.lib.spreadsheet import neutralise_cell

REGISTER_READERS = frozenset({Role.KONSELOR, Role.KOORDINATOR, Role.ADMIN})
VOIDERS = frozenset({Role.KOORDINATOR, Role.ADMIN})
# Letter kinds issued outside the document registry (the invitation service).
KIND_LABELS = {"undangan": gettext_lazy("Surat undangan")}


def may_read_register(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in REGISTER_READERS


def may_void_numbers(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in VOIDERS


def kind_label(code: str) -> str:
    kind = registry.load_all().get(code)
    if kind is not None:
        return str(kind.title)
    return str(KIND_LABELS.get(code, code))


@dataclass
class Row:
    number: LetterNumber
    kind: str
    issued: str
    voided: str
    conference_visible: bool
    addressee: str


def _years(organisation: Organisation) -> list[int]:
    years = set(
        LetterNumber.objects.filter(organisation=organisation)
        .values_list("year", flat=True)
        .distinct()
    )
    years.add(common.today(organisation).year)
    return sorted(years, reverse=True)


def _year(request: HttpRequest, organisation: Organisation) -> int:
    try:
        return int(request.GET.get("tahun", ""))
    except ValueError:
        return common.today(organisation).year


def _numbers(organisation: Organisation, year: int) -> QuerySet[LetterNumber]:
    return (
        LetterNumber.objects.filter(organisation=organisation, year=year)
        .select_related("issued_by", "conference", "participant")
        .order_by("seq")
    )


def register_rows(viewer: Any, organisation: Organisation, year: int) -> list[Row]:
    """The year's numbers as the viewer may see them (addressee only with the KKA)."""
    visible = set(
        case_access.visible_cases(viewer)
        .filter(organisation=organisation)
        .values_list("pk", flat=True)
    )
    zone = organisation.time_zone
    rows = []
    for number in _numbers(organisation, year):
        conference = number.conference
        may_see = conference is not None and conference.case_id in visible
        participant = number.participant
        rows.append(
            Row(
                number=number,
                kind=kind_label(number.kind),
                issued=dates.long_datetime(number.issued_at, zone),
                voided=dates.long_datetime(number.voided_at, zone) if number.voided_at else "",
                conference_visible=may_see,
                addressee=participant.full_name if may_see and participant is not None else "",
            )
        )
    return rows


class VoidForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=9999)
    seq = forms.IntegerField(min_value=1)
    reason = forms.CharField(label=gettext_lazy("Alasan pembatalan"), max_length=200, strip=True)


@organisation_capability(may_read_register)
@require_GET
def letter_register(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    year = _year(request, organisation)
    return render(
        request,
        "documents/register.html",
        {
            "year": year,
            "years": _years(organisation),
            "rows": register_rows(request.user, organisation, year),
            "may_void": may_void_numbers(getattr(request, "membership", None)),
        },
    )


@organisation_capability(may_read_register)
@step_up_required
@require_GET
def letter_register_csv(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    year = _year(request, organisation)
    rows = register_rows(request.user, organisation, year)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Nomor"),
            _("Urutan"),
            _("Jenis surat"),
            _("Diterbitkan"),
            _("Oleh"),
            _("KKA"),
            _("Kepada"),
            _("Dibatalkan"),
            _("Alasan pembatalan"),
        ]
    )
    for row in rows:
        number = row.number
        writer.writerow(
            [
                neutralise_cell(cell)
                for cell in (
                    number.number,
                    number.seq,
                    row.kind,
                    row.issued,
                    number.issued_by.full_name,
                    number.conference.code if number.conference else "",
                    row.addressee,
                    row.voided,
                    number.void_reason,
                )
            ]
        )
    audit_log(
        action="letter.register_exported",
        actor=request.user,
        organisation=organisation,
        object_type="letterregister",
        object_ref=str(year),
        refs={"rows": len(rows)},
    )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="nomor-surat-{year}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@organisation_capability(may_void_numbers)
@require_POST
def letter_void(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    form = VoidForm(request.POST)
    target = reverse("documents:letter_register")
    if not form.is_valid():
        messages.error(request, _("Tuliskan alasan pembatalan nomor surat."))
        year = request.POST.get("year", "")
        return redirect(f"{target}?tahun={year}" if str(year).isdigit() else target)
    year = form.cleaned_data["year"]
    number = LetterNumber.objects.filter(
        organisation=organisation, year=year, seq=form.cleaned_data["seq"]
    ).first()
    if number is None:
        messages.error(request, _("Nomor surat tidak ditemukan."))
    else:
        try:
            conference_services.letter_number_void(
                actor=request.user,  # type: ignore[arg-type]
                number=number,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Nomor %(number)s dibatalkan.") % {"number": number.number})
    return redirect(f"{target}?tahun={year}")
