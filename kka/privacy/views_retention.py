"""The DPO's retention page (the period per record type, and how much is due now) and
the record of processing activities.

Destruction itself is not done here: it is the operator's ``kka privacy retention``
command, which needs the confirmation token of a listing (see ``kka.privacy.retention``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kka.accounts.decorators import organisation_capability
from kka.accounts.stepup import step_up_required
from kka.privacy import policy, retention, ropa
from kka.privacy.models import RecordType


class RetentionForm(forms.Form):
    """One field per record type: months kept after the record's trigger."""

    def __init__(self, *args: Any, rows: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in rows:
            self.fields[row["record_type"]] = forms.IntegerField(
                label=row["label"],
                min_value=retention.MIN_MONTHS,
                max_value=retention.MAX_MONTHS,
                initial=row["months"],
                help_text=gettext_lazy("Bulan. Bawaan: %(months)s bulan.")
                % {"months": row["default"]},
            )


@organisation_capability(policy.may_act_as_dpo)
@step_up_required
def retention_settings(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    rows = retention.rules_overview(organisation)
    form = RetentionForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        changed = 0
        try:
            with transaction.atomic():
                for record_type in RecordType.values:
                    rule = retention.retention_rule_set(
                        actor=request.user,  # type: ignore[arg-type]
                        organisation=organisation,
                        record_type=record_type,
                        months=form.cleaned_data[record_type],
                    )
                    changed += rule is not None
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if changed:
                messages.success(request, _("Masa simpan disimpan."))
            else:
                messages.info(request, _("Tidak ada masa simpan yang berubah."))
            return redirect("privacy:retention_settings")
    section = retention.dpo_section(organisation)
    return render(
        request,
        "privacy/retention_settings.html",
        {"form": form, "rows": section["rows"], "total_due": section["total_due"]},
    )


@organisation_capability(policy.may_act_as_dpo)
def ropa_page(request: HttpRequest) -> HttpResponse:
    """The record of processing activities, with this organisation's retention periods."""
    organisation = request.organisation  # type: ignore[attr-defined]
    data = ropa.localised(ropa.record(organisation), translation.get_language() or "id")
    with transaction.atomic():
        ropa.audit_printed(fmt="html", organisation=organisation, actor=request.user)  # type: ignore[arg-type]
    return render(request, "privacy/retention_ropa.html", {"ropa": data})
