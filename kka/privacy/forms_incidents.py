from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation, User
from kka.conferences.forms import DateTimeLocalInput
from kka.privacy.incidents import suspect_choices
from kka.privacy.models import IncidentStatus


class _MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name} ({obj.email})"


class IncidentForm(forms.Form):
    title = forms.CharField(
        label=_("Judul singkat"),
        max_length=200,
        help_text=_("Tanpa nama konseli: misalnya “akun konselor dipakai orang lain”."),
    )
    description = forms.CharField(
        label=_("Kronologi (kapan dan bagaimana)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Dimuat dalam surat pemberitahuan kepada yang terdampak."),
    )
    measures = forms.CharField(
        label=_("Upaya penanganan dan pemulihan"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Dimuat dalam surat pemberitahuan kepada yang terdampak."),
    )
    discovered_at = forms.DateTimeField(
        label=_("Waktu diketahui"),
        widget=DateTimeLocalInput(),
        help_text=_("Batas pemberitahuan 3 x 24 jam dihitung dari waktu ini."),
    )
    occurred_from = forms.DateTimeField(
        label=_("Terjadi sejak"), required=False, widget=DateTimeLocalInput()
    )
    occurred_to = forms.DateTimeField(
        label=_("Terjadi sampai"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Kosongkan bila belum diketahui: pencarian berhenti pada waktu diketahui."),
    )
    suspect_user = _MemberChoice(
        label=_("Akun yang diduga terlibat"), queryset=User.objects.none(), required=False
    )
    suspect_ip = forms.GenericIPAddressField(
        label=_("Alamat IP yang diduga terlibat"),
        required=False,
        help_text=_("Juga menemukan pembukaan tautan pribadi peserta dari alamat ini."),
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["suspect_user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = suspect_choices(organisation)


class IncidentEditForm(IncidentForm):
    status = forms.ChoiceField(label=_("Status"), choices=IncidentStatus.choices)
