"""The erasure request form: who asked, and a deliberate confirmation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class ErasureRequestForm(forms.Form):
    requested_by_note = forms.CharField(
        label=_("Diajukan oleh"),
        help_text=_("Siapa yang meminta penghapusan dan bagaimana (misalnya: orang tua, surat)."),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_(
            "Saya mengerti bahwa data pribadi konseli akan dihapus permanen setelah "
            "disetujui orang kedua dan tidak dapat dikembalikan."
        ),
    )
    typed_code = forms.CharField(
        label=_("Ketik kode konseli untuk konfirmasi"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, client_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_code = client_code

    def clean_typed_code(self) -> str:
        typed = self.cleaned_data["typed_code"].strip()
        if typed != self.client_code:
            raise forms.ValidationError(_("Kode yang diketik tidak sama dengan kode konseli."))
        return typed
