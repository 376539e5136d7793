from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.cases.forms import DateInput
from kka.conferences.followup import ANSWER_MAX
from kka.conferences.models import (
    FUNCTIONS,
    PARTICIPANT_CATEGORIES,
    ClientParticipation,
    Commitment,
    CommitmentResult,
    DataNeeds,
    DisclosureLevel,
    EvaluationScheme,
    FollowUpKind,
    ReferralTo,
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


# --- after the meeting: evaluations, closing, follow-up -----------------------------------

# key -> (short name, the question the counsellor asks each participant). The keys are
# ``followup.ANSWER_KEYS`` per scheme; the wording matches the participant's portal form.
LAISEG_QUESTIONS: dict[str, tuple[tuple[str, Any, Any], ...]] = {
    EvaluationScheme.UCA: (
        (
            "understanding",
            _("Pemahaman baru"),
            _("Hal baru apa yang Anda pahami dari pertemuan ini?"),
        ),
        ("comfort", _("Perasaan"), _("Bagaimana perasaan Anda setelah mengikuti pertemuan ini?")),
        ("action", _("Rencana tindakan"), _("Apa yang akan Anda lakukan setelah pertemuan ini?")),
    ),
    EvaluationScheme.BMB3: (
        ("berpikir", _("Berpikir"), _("Apa yang Anda pikirkan sekarang tentang hal yang dibahas?")),
        ("merasa", _("Merasa"), _("Bagaimana perasaan Anda setelah mengikuti pertemuan ini?")),
        ("bersikap", _("Bersikap"), _("Sikap apa yang akan Anda ambil mulai sekarang?")),
        ("bertindak", _("Bertindak"), _("Apa yang akan Anda lakukan setelah pertemuan ini?")),
        (
            "bertanggung_jawab",
            _("Bertanggung jawab"),
            _("Bagian mana yang menjadi tanggung jawab Anda, dan bagaimana Anda menjalankannya?"),
        ),
    ),
}
PROCESS_QUESTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("participation", _("Partisipasi"), _("Seberapa aktif para peserta menyampaikan informasi?")),
    ("atmosphere", _("Suasana"), _("Apakah suasananya terbuka, hangat dan tidak menghakimi?")),
    (
        "adherence",
        _("Kesesuaian dengan rencana"),
        _("Apakah tujuan, peserta dan waktu sesuai dengan rencana?"),
    ),
)
SHORT_DAYS_DEFAULT = 14
LONG_DAYS_DEFAULT = 60


class CloseForm(forms.Form):
    """When laijapen and laijapang fall due, in days after the KKA; blank = default."""

    short_days = forms.IntegerField(
        label=_("Penilaian jangka pendek (laijapen): hari setelah KKA"),
        min_value=1,
        max_value=365,
        required=False,
        initial=SHORT_DAYS_DEFAULT,
        help_text=_("Bawaan 14 hari (2 minggu)."),
    )
    long_days = forms.IntegerField(
        label=_("Penilaian jangka panjang (laijapang): hari setelah KKA"),
        min_value=2,
        max_value=730,
        required=False,
        initial=LONG_DAYS_DEFAULT,
        help_text=_("Bawaan 60 hari (2 bulan)."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("short_days") is None and "short_days" not in self.errors:
            data["short_days"] = SHORT_DAYS_DEFAULT
        if data.get("long_days") is None and "long_days" not in self.errors:
            data["long_days"] = LONG_DAYS_DEFAULT
        return data


class LaterEvaluationForm(forms.Form):
    """laijapen / laijapang: the client's situation, each commitment's result, the
    analysis of aims against results and whether the data needs were met."""

    client_situation = forms.CharField(
        label=_("Keadaan konseli saat ini"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Perubahan yang terlihat sejak KKA, menurut data yang Anda himpun."),
    )
    analysis = forms.CharField(
        label=_("Analisis: tujuan dibandingkan hasil"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Bandingkan tujuan dan hasil yang ingin dicapai KKA dengan hasil sekarang."),
    )
    data_needs_met = forms.ChoiceField(
        label=_("Kebutuhan data"), choices=DataNeeds.choices, required=False
    )

    def __init__(self, *args: Any, commitments: list[Commitment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commitments = commitments
        for commitment in commitments:
            self.fields[f"result_{commitment.code}"] = forms.ChoiceField(
                label=_("Hasil"),
                choices=CommitmentResult.choices,
                widget=forms.RadioSelect,
                error_messages={"required": _("Pilih hasil komitmen ini.")},
            )
            self.fields[f"note_{commitment.code}"] = forms.CharField(
                label=_("Catatan hasil (opsional)"),
                required=False,
                max_length=ANSWER_MAX,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def commitment_rows(self) -> list[tuple[Commitment, forms.BoundField, forms.BoundField]]:
        return [(c, self[f"result_{c.code}"], self[f"note_{c.code}"]) for c in self.commitments]

    def commitment_results(self) -> dict[str, dict[str, str]]:
        return {
            c.code: {
                "result": self.cleaned_data[f"result_{c.code}"],
                "note": self.cleaned_data[f"note_{c.code}"],
            }
            for c in self.commitments
        }


FOLLOWUP_FORM_KINDS = [
    (value, label) for value, label in FollowUpKind.choices if value != FollowUpKind.NEXT_KKA
]
REFERRAL_FIELDS = ("referral_to", "referral_to_name", "reason")


class FollowUpForm(forms.Form):
    """A follow-up other than the next KKA (which has its own button on the KKA page)."""

    kind = forms.ChoiceField(
        label=_("Jenis tindak lanjut"), choices=FOLLOWUP_FORM_KINDS, widget=forms.RadioSelect
    )
    planned_on = forms.DateField(label=_("Tanggal rencana"), required=False, widget=DateInput())
    note = forms.CharField(
        label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    referral_to = forms.ChoiceField(
        label=_("Dialihtangankan kepada"),
        choices=[("", "—"), *ReferralTo.choices],
        required=False,
    )
    referral_to_name = forms.CharField(
        label=_("Nama penerima atau lembaganya (opsional)"), required=False, max_length=200
    )
    reason = forms.CharField(
        label=_("Alasan alih tangan kasus"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Mengapa konseli perlu ditangani pihak lain. Tulis seperlunya."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == FollowUpKind.REFERRAL:
            if not data.get("referral_to"):
                self.add_error("referral_to", _("Pilih pihak penerima alih tangan kasus."))
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Tuliskan alasan alih tangan kasus."))
        elif data.get("kind"):
            for name in REFERRAL_FIELDS:
                if (data.get(name) or "").strip():
                    self.add_error(
                        name,
                        _("Hanya untuk alih tangan kasus: kosongkan, atau pilih jenis itu."),
                    )
        return data
