from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.conferences.models import (
    FUNCTIONS,
    PARTICIPANT_CATEGORIES,
    ClientParticipation,
    DisclosureLevel,
)

PLACE_SUGGESTIONS = {
    "sekolah": [_("Ruang BK"), _("Ruang kepala sekolah"), _("Ruang rapat"), _("Rumah keluarga")],
    "madrasah": [_("Ruang BK"), _("Ruang kepala madrasah"), _("Ruang rapat")],
    "perusahaan": [_("Ruang HRD"), _("Ruang rapat"), _("Klinik perusahaan")],
    "keluarga": [_("Rumah keluarga"), _("Rumah kerabat")],
    "masyarakat": [_("Kantor desa"), _("Balai desa"), _("Kantor kelurahan"), _("Rumah keluarga")],
    "lainnya": [_("Ruang konseling"), _("Ruang rapat")],
}

ROLE_SUGGESTIONS = {
    "sekolah": [
        _("Wali kelas"),
        _("Guru mata pelajaran"),
        _("Kepala sekolah"),
        _("Wakil kepala sekolah bidang kesiswaan"),
        _("Orang tua / wali"),
        _("Pembina OSIS"),
        _("Anggota TPPK"),
        _("Psikolog"),
        _("Dokter"),
        _("Pekerja sosial"),
    ],
    "madrasah": [
        _("Wali kelas"),
        _("Guru mata pelajaran"),
        _("Kepala madrasah"),
        _("Orang tua / wali"),
        _("Psikolog"),
    ],
    "perusahaan": [
        _("Atasan langsung"),
        _("HRD"),
        _("Dokter perusahaan / K3"),
        _("Anggota keluarga"),
        _("Psikolog"),
    ],
    "keluarga": [_("Anggota keluarga"), _("Kerabat"), _("Tokoh agama"), _("Tokoh masyarakat")],
    "masyarakat": [
        _("Kepala desa / lurah"),
        _("Ketua RT/RW"),
        _("Tokoh agama"),
        _("Kader PKK"),
        _("Petugas puskesmas"),
        _("Pekerja sosial / TKSK"),
        _("Bhabinkamtibmas"),
        _("UPTD PPA"),
    ],
    "lainnya": [_("Orang tua / wali"), _("Psikolog"), _("Pekerja sosial")],
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PlanForm(forms.Form):
    topic = forms.CharField(label=_("A. Topik permasalahan"), max_length=200)
    bidang = forms.ChoiceField(label=_("B. Bidang bimbingan"))
    functions = forms.MultipleChoiceField(
        label=_("D. Fungsi kegiatan"),
        choices=FUNCTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    aim = forms.CharField(
        label=_("E. Tujuan kegiatan"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    expected_results = forms.CharField(
        label=_("F. Hasil yang ingin dicapai"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    subject = forms.CharField(
        label=_("G. Subjek yang mengalami masalah"),
        required=False,
        max_length=200,
        help_text=_("Disamarkan secara bawaan (inisial)."),
    )
    summary = forms.CharField(
        label=_("H. Gambaran ringkas masalah"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    place = forms.CharField(
        label=_("I. Tempat penyelenggaraan"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "place-suggestions"}),
    )
    starts_at = forms.DateTimeField(
        label=_("J. Mulai"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Boleh dikosongkan dan ditentukan kemudian."),
    )
    ends_at = forms.DateTimeField(
        label=_("J. Selesai"), required=False, widget=DateTimeLocalInput()
    )
    organiser = forms.CharField(
        label=_("K. Penyelenggara kegiatan"), required=False, max_length=200
    )
    records = forms.MultipleChoiceField(
        label=_("M. Catatan yang dibawa ke KKA"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_('Hanya catatan yang ditandai "boleh dibawa ke konferensi kasus".'),
    )
    materials_note = forms.CharField(
        label=_("M. Bahan dan keterangan lain"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    use_of_results = forms.CharField(
        label=_("N. Penggunaan hasil pertemuan"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    evaluation_plan = forms.CharField(
        label=_("O. Rencana penilaian dan tindak lanjut"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    related_activities = forms.CharField(
        label=_("P. Keterkaitan dengan kegiatan lain"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    special_notes = forms.CharField(
        label=_("Q. Catatan khusus"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    client_participation = forms.ChoiceField(
        label=_("Keikutsertaan konseli"), choices=ClientParticipation.choices
    )
    briefing = forms.CharField(
        label=_("Ringkasan untuk peserta"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            'Dibaca peserta dengan akses "ringkasan" setelah menyatakan komitmen '
            "kerahasiaan. Tulis seperlunya, tanpa identitas lengkap konseli."
        ),
    )

    def __init__(
        self,
        *args: Any,
        bidang_choices: list[tuple[str, str]],
        record_choices: list[tuple[str, str]],
        zone: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bidang"].choices = bidang_choices  # type: ignore[attr-defined]
        self.fields["records"].choices = record_choices  # type: ignore[attr-defined]
        self.zone = zoneinfo.ZoneInfo(zone)

    def _aware(self, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=None).replace(tzinfo=self.zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["starts_at"] = self._aware(data.get("starts_at"))
        data["ends_at"] = self._aware(data.get("ends_at"))
        if data.get("ends_at") and not data.get("starts_at"):
            self.add_error("starts_at", _("Isi waktu mulai bila waktu selesai diisi."))
        if data.get("ends_at") and data.get("starts_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("Waktu selesai harus setelah waktu mulai."))
        return data


class ParticipantForm(forms.Form):
    full_name = forms.CharField(label=_("Nama"), max_length=150)
    role = forms.CharField(
        label=_("Peran / hubungan"),
        max_length=100,
        widget=forms.TextInput(attrs={"list": "role-suggestions"}),
    )
    category = forms.ChoiceField(label=_("Kategori"), choices=PARTICIPANT_CATEGORIES)
    institution = forms.CharField(label=_("Instansi / asal"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Telepon / WhatsApp"), max_length=40, required=False)
    disclosure = forms.ChoiceField(label=_("Tingkat akses"), choices=DisclosureLevel.choices)
    language = forms.ChoiceField(
        label=_("Bahasa undangan"), choices=[("id", "Bahasa Indonesia"), ("en", "English")]
    )


class ParticipantEditForm(ParticipantForm):
    invitation_text = forms.CharField(
        label=_("Teks undangan"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Jangan menyebut masalah, catatan kasus, atau nama lengkap konseli."),
    )


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Setujui")), ("send_back", _("Kembalikan"))]
    )
    comment = forms.CharField(
        label=_("Komentar"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RsvpForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Kehadiran"),
        choices=[
            ("hadir", _("Hadir")),
            ("tidak_hadir", _("Tidak hadir")),
            ("diwakilkan", _("Diwakilkan")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Catatan (opsional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PledgeForm(forms.Form):
    typed_name = forms.CharField(label=_("Nama lengkap Anda"), max_length=150)
    agreed = forms.BooleanField(
        label=_("Saya telah membaca dan menyetujui pernyataan kerahasiaan di atas."),
    )
