"""Forms of the data-subject-rights pages (requests, correction, restriction)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.cases.forms import ClientForm, GuardianForm
from kka.cases.models import Client, Guardian
from kka.conferences.forms import DateTimeLocalInput
from kka.privacy.subject import RECORDABLE_KINDS


class RequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Jenis permintaan"),
        choices=[(k.value, k.label) for k in RECORDABLE_KINDS],
    )
    requested_by_note = forms.CharField(
        label=_("Diajukan oleh / keterangan"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Siapa yang meminta (konseli, orang tua, wali) dan melalui apa."),
    )
    received_at = forms.DateTimeField(
        label=_("Waktu diterima"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Kosongkan bila diterima sekarang. Batas waktu: 3 x 24 jam sejak diterima."),
    )


class CloseForm(forms.Form):
    outcome_note = forms.CharField(
        label=_("Catatan penyelesaian"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CorrectionForm(ClientForm):
    """The client's identity fields, each guardian's fields (prefixed by its code) and
    the reason for the correction."""

    reason = forms.CharField(
        label=_("Alasan pembetulan"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, client: Client, guardians: list[Guardian], **kwargs: Any):
        initial = {name: getattr(client, name) for name in ClientForm.base_fields}
        initial["birth_date"] = client.birth_date_value
        self.guardian_codes = [g.code for g in guardians]
        for guardian in guardians:
            for name in GuardianForm.base_fields:
                initial[f"g_{guardian.code}_{name}"] = getattr(guardian, name)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        reason = self.fields.pop("reason")
        for guardian in guardians:
            for name, field in GuardianForm.base_fields.items():
                copy = deepcopy(field)
                copy.label = f"{field.label} ({guardian.get_relationship_display()})"
                self.fields[f"g_{guardian.code}_{name}"] = copy
        self.fields["reason"] = reason

    def client_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in ClientForm.base_fields}

    def guardian_values(self) -> dict[str, dict[str, Any]]:
        return {
            code: {
                name: self.cleaned_data.get(f"g_{code}_{name}") or ""
                for name in GuardianForm.base_fields
            }
            for code in self.guardian_codes
        }
