from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation, Role
from kka.accounts.services import ORGANISATION_EDITABLE_FIELDS
from kka.lib.letters import BadPattern, check_pattern

# Program reports never show a figure from fewer clients than this (kka.reports.protect).
REPORT_THRESHOLD_MIN = 5


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Kata sandi"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("Email atau kata sandi salah."),
        "inactive": _("Akun ini tidak aktif."),
    }

    def clean_username(self) -> str:
        # Addresses are stored in lower case (UserManager.create_user, member_add);
        # "Rina@Sekolah.sch.id" typed on a phone must find the same account.
        return str(self.cleaned_data["username"]).lower()

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            # django-axes marks the request when this email/address pair is locked (the
            # sixth failure, and every try until the cool-off ends). The message is the
            # same whether or not the email has an account.
            if getattr(self.request, "axes_locked_out", False):
                raise ValidationError(lockout_message(), code="locked_out") from None
            raise


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return gettext("Terlalu banyak percobaan. Coba lagi dalam %(minutes)s menit.") % {
        "minutes": minutes
    }


class MemberAddForm(forms.Form):
    full_name = forms.CharField(label=_("Nama lengkap"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Peran"), choices=Role.choices)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Peran"), choices=Role.choices)


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = list(ORGANISATION_EDITABLE_FIELDS)
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left out of a submitted form (an older page, a script): keep the stored value.
        threshold = self.fields["report_threshold"]
        threshold.required = False
        # One message for every value below the minimum (the model field's own "at least
        # 0" would say less): clean_report_threshold checks it.
        threshold.validators = [
            v for v in threshold.validators if not isinstance(v, MinValueValidator)
        ]
        threshold.widget.attrs["min"] = REPORT_THRESHOLD_MIN

    def clean_report_threshold(self) -> int:
        value = self.cleaned_data.get("report_threshold")
        if value is None:
            return int(self.instance.report_threshold)
        if value < REPORT_THRESHOLD_MIN:
            raise forms.ValidationError(
                _(
                    "Batas angka kecil paling sedikit %(minimum)s, agar laporan program tidak "
                    "dapat dipakai untuk mengenali seorang konseli."
                ),
                code="min_value",
                params={"minimum": REPORT_THRESHOLD_MIN},
            )
        return int(value)

    def clean_letter_number_pattern(self) -> str:
        pattern = str(self.cleaned_data["letter_number_pattern"]).strip()
        try:
            check_pattern(pattern)
        except BadPattern as exc:
            raise forms.ValidationError(
                _(
                    "Pola nomor surat tidak valid. Wajib memuat {seq}; tersedia {seq:03d}, "
                    "{month}, {roman_month}, {year}."
                )
            ) from exc
        return pattern


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("id", "Bahasa Indonesia"), ("en", "English")])
    next = forms.CharField(required=False)


class OrganisationSwitchForm(forms.Form):
    organisation = forms.CharField(max_length=12)
