from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.cases.models import (
    AspectKind,
    CaseOutcome,
    CaseRole,
    CaseStatus,
    ConsentChannel,
    ConsentGiver,
    IntakeSource,
    ParticipantCategory,
    RecordSource,
    Relationship,
    Sex,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ClientForm(forms.Form):
    full_name = forms.CharField(label=_("Nama lengkap"), max_length=150)
    sex = forms.ChoiceField(
        label=_("Jenis kelamin"), choices=[("", "—"), *Sex.choices], required=False
    )
    birth_date = forms.DateField(
        label=_("Tanggal lahir"),
        required=False,
        widget=DateInput(),
        help_text=_("Menentukan apakah konseli masih anak (di bawah 18 tahun)."),
    )
    nisn = forms.RegexField(
        label=_("NISN"),
        regex=r"^\d{10}$",
        required=False,
        error_messages={"invalid": _("NISN terdiri dari 10 digit angka.")},
    )
    employee_number = forms.CharField(label=_("Nomor pegawai"), max_length=40, required=False)
    nik = forms.RegexField(
        label=_("NIK (opsional)"),
        regex=r"^\d{16}$",
        required=False,
        error_messages={"invalid": _("NIK terdiri dari 16 digit angka.")},
    )
    group = forms.CharField(label=_("Kelas / bagian"), max_length=100, required=False)
    address = forms.CharField(
        label=_("Alamat"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    phone = forms.CharField(label=_("Telepon / WhatsApp"), max_length=40, required=False)

    def clean_birth_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("birth_date")
        if value and value > dt.date.today():
            raise forms.ValidationError(_("Tanggal lahir tidak boleh di masa depan."))
        return value


class GuardianForm(forms.Form):
    full_name = forms.CharField(label=_("Nama orang tua / wali"), max_length=150)
    relationship = forms.ChoiceField(label=_("Hubungan"), choices=Relationship.choices)
    phone = forms.CharField(label=_("Telepon / WhatsApp"), max_length=40, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(
        label=_("Alamat"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ClientCreateForm(ClientForm):
    """A client with, optionally, one parent or guardian entered on the same page."""

    guardian_name = forms.CharField(
        label=_("Nama orang tua / wali"), max_length=150, required=False
    )
    guardian_relationship = forms.ChoiceField(
        label=_("Hubungan"), choices=Relationship.choices, required=False
    )
    guardian_phone = forms.CharField(
        label=_("Telepon / WhatsApp orang tua / wali"), max_length=40, required=False
    )

    def guardians(self) -> list[dict[str, str]]:
        if not self.cleaned_data.get("guardian_name"):
            return []
        return [
            {
                "full_name": self.cleaned_data["guardian_name"],
                "relationship": self.cleaned_data.get("guardian_relationship") or "wali",
                "phone": self.cleaned_data.get("guardian_phone", ""),
            }
        ]


class CaseForm(forms.Form):
    bidang = forms.ChoiceField(label=_("Bidang"))
    title = forms.CharField(
        label=_("Judul kasus (tanpa identitas)"),
        max_length=120,
        help_text=_('Contoh: "Penurunan prestasi belajar". Jangan menulis nama konseli.'),
    )
    intake_source = forms.ChoiceField(label=_("Sumber kasus"), choices=IntakeSource.choices)
    description = forms.CharField(
        label=_("Gambaran masalah"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Disimpan terenkripsi. Hanya konselor pada kasus ini yang dapat membacanya."),
    )

    def __init__(self, *args: Any, bidang_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bidang"].choices = bidang_choices  # type: ignore[attr-defined]


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status baru"), choices=CaseStatus.choices)
    outcome = forms.ChoiceField(
        label=_("Hasil penanganan (saat menutup)"),
        choices=[("", "—"), *CaseOutcome.choices],
        required=False,
    )
    outcome_note = forms.CharField(
        label=_("Catatan hasil"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CaseMemberForm(forms.Form):
    user = forms.ChoiceField(label=_("Konselor"))
    role = forms.ChoiceField(label=_("Peran pada kasus"), choices=CaseRole.choices)

    def __init__(self, *args: Any, candidates: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = candidates  # type: ignore[attr-defined]


class RecordForm(forms.Form):
    occurred_on = forms.DateField(label=_("Tanggal"), widget=DateInput())
    source = forms.ChoiceField(label=_("Sumber data"), choices=RecordSource.choices)
    content = forms.CharField(label=_("Isi catatan"), widget=forms.Textarea(attrs={"rows": 6}))
    may_bring_to_kka = forms.BooleanField(
        label=_("Boleh dibawa ke konferensi kasus"),
        required=False,
        help_text=_("Hanya catatan yang ditandai ini yang dapat dipilih sebagai bahan KKA."),
    )
    attachments = MultipleFileField(
        label=_("Lampiran (PDF, JPEG, PNG, DOCX)"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx"}),
    )


class AttachmentForm(forms.Form):
    attachments = MultipleFileField(
        label=_("Lampiran (PDF, JPEG, PNG, DOCX)"),
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx"}),
    )


class CoreProblemForm(forms.Form):
    core_problem = forms.CharField(
        label=_("Masalah inti"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Rumusan singkat masalah yang dihadapi konseli."),
    )


class AspectForm(forms.Form):
    kind = forms.ChoiceField(label=_("Jenis aspek"), choices=AspectKind.choices)
    text = forms.CharField(label=_("Uraian"), widget=forms.Textarea(attrs={"rows": 2}))
    records = forms.MultipleChoiceField(
        label=_("Didukung oleh catatan"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, record_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["records"].choices = record_choices  # type: ignore[attr-defined]


class ResourceForm(forms.Form):
    name = forms.CharField(label=_("Nama orang / lembaga"), max_length=150)
    role = forms.CharField(
        label=_("Peran / hubungan"),
        max_length=100,
        help_text=_("Misalnya wali kelas, ibu, atasan langsung, psikolog puskesmas."),
    )
    category = forms.ChoiceField(label=_("Kategori"), choices=ParticipantCategory.choices)
    contribution = forms.CharField(
        label=_("Yang dapat disumbangkan"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    aspects = forms.MultipleChoiceField(
        label=_("Membantu aspek"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, aspect_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["aspects"].choices = aspect_choices  # type: ignore[attr-defined]


PURPOSE_CHOICES = [
    ("purpose_hold_kka", _("Menyelenggarakan konferensi kasus tentang konseli")),
    ("share_school_staff", _("Berbagi keterangan dengan staf sekolah / lembaga")),
    ("share_family", _("Berbagi keterangan dengan keluarga")),
    ("share_employer", _("Berbagi keterangan dengan atasan / pemberi kerja")),
    ("share_community", _("Berbagi keterangan dengan aparat desa / tokoh masyarakat")),
    ("share_professionals", _("Berbagi keterangan dengan profesional luar")),
    ("purpose_documents", _("Membuat dokumen (rencana, undangan, notulen, laporan)")),
]


class ConsentForm(forms.Form):
    giver = forms.ChoiceField(label=_("Pemberi persetujuan"), choices=ConsentGiver.choices)
    giver_name = forms.CharField(label=_("Nama pemberi persetujuan"), max_length=150)
    giver_relationship = forms.CharField(
        label=_("Hubungan dengan konseli"), max_length=60, required=False
    )
    purposes = forms.MultipleChoiceField(
        label=_("Tujuan yang disetujui"),
        choices=PURPOSE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    channel = forms.ChoiceField(label=_("Cara persetujuan"), choices=ConsentChannel.choices)
    given_on = forms.DateField(label=_("Tanggal persetujuan"), widget=DateInput())
    scan = forms.FileField(
        label=_("Pindaian formulir bertanda tangan (PDF, JPEG, PNG)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    note = forms.CharField(
        label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("channel") == ConsentChannel.PAPER and not data.get("scan"):
            self.add_error("scan", _("Lampirkan pindaian formulir yang ditandatangani."))
        return data


class ConsentWithdrawForm(forms.Form):
    note = forms.CharField(
        label=_("Alasan / catatan penarikan"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConsentTextForm(forms.Form):
    body = forms.CharField(label=_("Teks persetujuan"), widget=forms.Textarea(attrs={"rows": 10}))


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Cari"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Semua status")), *CaseStatus.choices], required=False
    )
    bidang = forms.ChoiceField(label=_("Bidang"), required=False)

    def __init__(self, *args: Any, bidang_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bidang"].choices = [("", _("Semua bidang")), *bidang_choices]  # type: ignore[attr-defined]
