"""The conference (KKA), its participants, their private links, letter numbers and
what was disclosed to whom.

Plan texts, participant identities and contacts are encrypted at rest. Reads go
through ``kka.conferences.access``; writes through ``kka.conferences.services``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kka.accounts.models import Organisation
from kka.cases.models import Case, CaseRecord, Consent, ParticipantCategory, ProblemResource
from kka.lib.codes import new_code
from kka.lib.fields import EncryptedTextField


def _code() -> str:
    return new_code(10)


class ConferenceStatus(models.TextChoices):
    DRAFT = "draft", _("Draf")
    PLANNED = "planned", _("Direncanakan")
    INVITED = "invited", _("Undangan terkirim")
    HELD = "held", _("Terlaksana")
    CLOSED = "closed", _("Selesai")
    CANCELLED = "cancelled", _("Dibatalkan")


class ClientParticipation(models.TextChoices):
    ABSENT = "absent", _("Tidak hadir")
    PART = "part", _("Hadir sebagian")
    THROUGHOUT = "throughout", _("Hadir sepanjang pertemuan")


class ApprovalState(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Tidak diperlukan")
    PENDING = "pending", _("Menunggu persetujuan")
    APPROVED = "approved", _("Disetujui")
    SENT_BACK = "sent_back", _("Dikembalikan")


FUNCTIONS = (
    ("pemahaman", _("Pemahaman")),
    ("pencegahan", _("Pencegahan")),
    ("pengentasan", _("Pengentasan")),
    ("pemeliharaan", _("Pemeliharaan dan pengembangan")),
    ("advokasi", _("Advokasi")),
)


class Conference(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="conferences")
    sequence = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=ConferenceStatus.choices, default=ConferenceStatus.DRAFT
    )
    # SATKUNG fields A to Q
    topic = EncryptedTextField(_("A. Topik permasalahan"))
    bidang = models.CharField(_("B. Bidang bimbingan"), max_length=60)
    functions = models.JSONField(_("D. Fungsi kegiatan"), default=list, blank=True)
    aim = EncryptedTextField(_("E. Tujuan kegiatan"), blank=True)
    expected_results = EncryptedTextField(_("F. Hasil yang ingin dicapai"), blank=True)
    subject = EncryptedTextField(_("G. Subjek yang mengalami masalah"), blank=True)
    summary = EncryptedTextField(_("H. Gambaran ringkas masalah"), blank=True)
    place = EncryptedTextField(_("I. Tempat penyelenggaraan"), blank=True)
    starts_at = models.DateTimeField(_("J. Mulai"), null=True, blank=True)
    ends_at = models.DateTimeField(_("J. Selesai"), null=True, blank=True)
    organiser = models.CharField(_("K. Penyelenggara kegiatan"), max_length=200, blank=True)
    materials_note = EncryptedTextField(_("M. Bahan dan keterangan yang dibawa"), blank=True)
    records = models.ManyToManyField(CaseRecord, blank=True, related_name="conferences")
    use_of_results = EncryptedTextField(_("N. Penggunaan hasil pertemuan"), blank=True)
    evaluation_plan = EncryptedTextField(_("O. Rencana penilaian dan tindak lanjut"), blank=True)
    related_activities = EncryptedTextField(_("P. Keterkaitan dengan kegiatan lain"), blank=True)
    special_notes = EncryptedTextField(_("Q. Catatan khusus"), blank=True)
    client_participation = models.CharField(
        _("Keikutsertaan konseli"),
        max_length=12,
        choices=ClientParticipation.choices,
        default=ClientParticipation.ABSENT,
    )
    briefing = EncryptedTextField(
        _("Ringkasan untuk peserta"),
        blank=True,
        help_text=_(
            'Dibaca peserta dengan tingkat akses "ringkasan" setelah menyatakan '
            "komitmen kerahasiaan. Tulis seperlunya, tanpa identitas lengkap."
        ),
    )
    approval = models.CharField(
        max_length=12, choices=ApprovalState.choices, default=ApprovalState.NOT_REQUIRED
    )
    approval_comment = EncryptedTextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Calendar: one UID per conference, SEQUENCE grows with every sent change.
    ics_sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "sequence"], name="conference_sequence_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=ConferenceStatus.values),
                name="conference_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(starts_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="conference_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "sequence"]),
            # starts_at ranges (calendar, reminders, program reports); the INCLUDE columns
            # let the reports read held KKAs from the index alone on PostgreSQL.
            models.Index(
                fields=["starts_at"],
                include=["id", "status", "case", "bidang"],
                name="conf_starts_cover_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DisclosureLevel(models.TextChoices):
    INVITATION = "invitation", _("Undangan saja")
    BRIEFING = "briefing", _("Ringkasan")
    SHARED_MINUTES = "shared_minutes", _("Ringkasan dan notulen bersama")


DISCLOSURE_RANK = {
    DisclosureLevel.INVITATION: 0,
    DisclosureLevel.BRIEFING: 1,
    DisclosureLevel.SHARED_MINUTES: 2,
}


CLIENT_CATEGORY = "konseli"
# The consent's sharing categories, plus the client taking part in their own KKA.
PARTICIPANT_CATEGORIES = [
    *ParticipantCategory.choices,
    (CLIENT_CATEGORY, _("Konseli sendiri")),
]


class Rsvp(models.TextChoices):
    PENDING = "pending", _("Belum menjawab")
    YES = "hadir", _("Hadir")
    NO = "tidak_hadir", _("Tidak hadir")
    DELEGATE = "diwakilkan", _("Diwakilkan")


class Participant(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    conference = models.ForeignKey(
        Conference, on_delete=models.CASCADE, related_name="participants"
    )
    full_name = EncryptedTextField(_("Nama"))
    role = models.CharField(_("Peran / hubungan"), max_length=100)
    category = models.CharField(_("Kategori"), max_length=20, choices=PARTICIPANT_CATEGORIES)
    institution = models.CharField(_("Instansi / asal"), max_length=150, blank=True)
    email = EncryptedTextField(_("Email"), blank=True)
    phone = EncryptedTextField(_("Telepon / WhatsApp"), blank=True)
    language = models.CharField(
        _("Bahasa"),
        max_length=2,
        choices=[("id", "Bahasa Indonesia"), ("en", "English")],
        default="id",
    )
    disclosure = models.CharField(
        _("Tingkat akses"),
        max_length=20,
        choices=DisclosureLevel.choices,
        default=DisclosureLevel.INVITATION,
    )
    resource = models.ForeignKey(
        ProblemResource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation_text = EncryptedTextField(_("Teks undangan"), blank=True)
    letter_number = models.CharField(max_length=80, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    rsvp = models.CharField(max_length=12, choices=Rsvp.choices, default=Rsvp.PENDING)
    rsvp_note = EncryptedTextField(blank=True)
    rsvp_at = models.DateTimeField(null=True, blank=True)
    pledged_at = models.DateTimeField(null=True, blank=True)
    pledge_name = EncryptedTextField(blank=True)
    pledge_ip = models.GenericIPAddressField(null=True, blank=True)
    pledge_channel = models.CharField(max_length=12, blank=True)
    attendance = models.CharField(max_length=12, default="unknown")
    arrived_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    walk_in = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # Program reports: a KKA's participants from the index alone (PostgreSQL).
            models.Index(
                fields=["conference"],
                include=["id", "category", "attendance", "removed_at"],
                name="conf_participant_conf_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PortalLink(models.Model):
    """A participant's private link: only the token's SHA-256 is stored."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link:{self.participant_id}"


class LetterCounter(models.Model):
    """The last number issued per organisation and year (locked while numbering)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="letter_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}:{self.last}"


class LetterNumber(models.Model):
    """The register of official letter numbers: every number issued, none skipped."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    number = models.CharField(max_length=80)
    kind = models.CharField(max_length=30)
    conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "year", "seq"], name="letter_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Disclosure(models.Model):
    """What was shown or sent to an outside participant, when, under which consent."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="disclosures"
    )
    kind = models.CharField(max_length=30)
    consent = models.ForeignKey(Consent, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["participant", "-at"])]

    def __str__(self) -> str:
        return f"{self.participant_id}:{self.kind}"


class Attendance(models.TextChoices):
    UNKNOWN = "unknown", _("Belum dicatat")
    PRESENT = "present", _("Hadir")
    ABSENT = "absent", _("Tidak hadir")
    REPRESENTED = "represented", _("Diwakilkan")
    LEFT_EARLY = "left_early", _("Pulang lebih awal")


class DataNeeds(models.TextChoices):
    UNSET = "", _("Belum dinilai")
    MET = "met", _("Terpenuhi")
    PARTLY = "partly", _("Sebagian terpenuhi")
    NOT_MET = "not_met", _("Belum terpenuhi")


class Minutes(models.Model):
    """The notulen of one KKA in two layers, saved with an optimistic version.

    ``shared_text`` is what participants with the "shared minutes" level may read and
    agree to; ``private_text`` is the counsellor's own notes. Both are encrypted. A
    save based on an older version is refused (never silently overwritten) and the
    refused text is kept as a ``MinutesDraft``, so nothing typed is lost.
    """

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="minutes")
    shared_text = EncryptedTextField(_("Notulen bersama"), blank=True)
    private_text = EncryptedTextField(_("Catatan pribadi konselor"), blank=True)
    data_wanted = EncryptedTextField(_("Data yang ingin diperoleh"), blank=True)
    data_obtained = EncryptedTextField(_("Data yang diperoleh"), blank=True)
    data_needs = models.CharField(
        _("Kebutuhan data"), max_length=10, choices=DataNeeds.choices, blank=True
    )
    conclusions = EncryptedTextField(_("Kesimpulan"), blank=True)
    directions = EncryptedTextField(_("Arah penanganan"), blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"minutes:{self.conference_id}@{self.version}"


class MinutesDraft(models.Model):
    """A save that lost a version conflict, kept so no text is ever lost."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="drafts")
    base_version = models.PositiveIntegerField()
    content = EncryptedTextField()  # JSON of the refused fields
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"draft:{self.minutes_id}@{self.base_version}"


class MinutesAddendum(models.Model):
    """A correction to finalised minutes: who, when, why. Minutes are never edited."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="addenda")
    layer = models.CharField(
        max_length=10, choices=[("shared", _("Notulen bersama")), ("private", _("Catatan pribadi"))]
    )
    text = EncryptedTextField(_("Tambahan / koreksi"))
    reason = EncryptedTextField(_("Alasan"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.code


class MinutesResponse(models.Model):
    """A participant's answer to the shared minutes through their private link:
    "setuju" (agree; once) or a comment (as many as they like). Append-only."""

    class Kind(models.TextChoices):
        AGREE = "agree", _("Setuju")
        COMMENT = "comment", _("Komentar")

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="responses")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="minutes_responses"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    comment = EncryptedTextField(_("Komentar"), blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["agree", "comment"]),
                name="minutes_response_kind_valid",
            ),
            models.UniqueConstraint(
                fields=["minutes", "participant"],
                condition=models.Q(kind="agree"),
                name="minutes_response_one_agree",
            ),
        ]

    def __str__(self) -> str:
        return self.code


# --- after the meeting: commitments, evaluations, follow-up ------------------------------


class CommitmentStatus(models.TextChoices):
    PLANNED = "planned", _("Direncanakan")
    IN_PROGRESS = "in_progress", _("Sedang berjalan")
    DONE = "done", pgettext_lazy("kemajuan", "Selesai")
    NOT_DONE = "not_done", _("Tidak terlaksana")
    DROPPED = "dropped", _("Dibatalkan")


OPEN_COMMITMENT_STATUSES = (CommitmentStatus.PLANNED, CommitmentStatus.IN_PROGRESS)


class Commitment(models.Model):
    """What one party agreed to do (komitmen): a participant or a counsellor, never both."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    conference = models.ForeignKey(Conference, on_delete=models.PROTECT, related_name="commitments")
    # The case's organisation, repeated so the dashboard reads only its own organisation's
    # commitments (index below), however many organisations share the database.
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", editable=False
    )
    participant = models.ForeignKey(
        Participant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commitments",
        verbose_name=_("Peserta"),
    )
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Konselor"),
    )
    what = EncryptedTextField(_("Komitmen"))
    due_on = models.DateField(_("Batas waktu"), null=True, blank=True)
    check_method = EncryptedTextField(_("Cara pemeriksaan"), blank=True)
    status = models.CharField(
        _("Status"),
        max_length=12,
        choices=CommitmentStatus.choices,
        default=CommitmentStatus.PLANNED,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(participant__isnull=False, counsellor__isnull=True)
                    | models.Q(participant__isnull=True, counsellor__isnull=False)
                ),
                name="commitment_exactly_one_who",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CommitmentStatus.values),
                name="commitment_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["due_on", "status"]),
            models.Index(
                fields=["organisation", "status", "due_on"], name="conf_commitment_org_due"
            ),
            # Program reports: a KKA's commitments from the index alone (PostgreSQL).
            models.Index(
                fields=["conference"],
                include=["id", "status", "due_on", "participant"],
                name="conf_commitment_conf_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.organisation_id is None and self.conference_id is not None:
            self.organisation_id = self.conference.case.organisation_id
        super().save(*args, **kwargs)


class CommitmentProgress(models.Model):
    """A note on how a commitment is going, by a counsellor or by its own participant."""

    commitment = models.ForeignKey(Commitment, on_delete=models.PROTECT, related_name="progress")
    note = EncryptedTextField(_("Catatan kemajuan"))
    at = models.DateTimeField(default=timezone.now)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(by_user__isnull=False, by_participant__isnull=True)
                    | models.Q(by_user__isnull=True, by_participant__isnull=False)
                ),
                name="commitment_progress_one_author",
            ),
        ]

    def __str__(self) -> str:
        return f"progress:{self.commitment_id}"


class EvaluationKind(models.TextChoices):
    LAISEG = "laiseg", _("Penilaian segera (laiseg)")
    LAIJAPEN = "laijapen", _("Penilaian jangka pendek (laijapen)")
    LAIJAPANG = "laijapang", _("Penilaian jangka panjang (laijapang)")
    PROCESS = "proses", _("Evaluasi proses")


LATER_EVALUATION_KINDS = (EvaluationKind.LAIJAPEN, EvaluationKind.LAIJAPANG)


class EvaluationScheme(models.TextChoices):
    UCA = "uca", _("UCA (pemahaman, perasaan, rencana tindakan)")
    BMB3 = "bmb3", _("BMB3 (berpikir, merasa, bersikap, bertindak, bertanggung jawab)")


class CommitmentResult(models.TextChoices):
    DONE = "done", pgettext_lazy("kemajuan", "Terlaksana")
    PARTLY = "partly", _("Sebagian terlaksana")
    NOT_DONE = "not_done", _("Tidak terlaksana")


class Evaluation(models.Model):
    """One evaluation of a KKA: laiseg (per participant), laijapen, laijapang or process.

    Answers and results are JSON kept encrypted; read them with ``answers_dict`` and
    ``commitment_results_dict``.
    """

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    conference = models.ForeignKey(Conference, on_delete=models.PROTECT, related_name="evaluations")
    kind = models.CharField(_("Jenis penilaian"), max_length=12, choices=EvaluationKind.choices)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations"
    )
    scheme = models.CharField(
        _("Skema penilaian"), max_length=8, choices=EvaluationScheme.choices, blank=True
    )
    answers = EncryptedTextField(_("Jawaban"), default="{}", blank=True)
    client_situation = EncryptedTextField(_("Keadaan konseli saat ini"), blank=True)
    commitment_results = EncryptedTextField(_("Hasil per komitmen"), default="{}", blank=True)
    analysis = EncryptedTextField(_("Analisis: tujuan dibandingkan hasil"), blank=True)
    data_needs_met = models.CharField(
        _("Kebutuhan data"), max_length=10, choices=DataNeeds.choices, blank=True
    )
    due_on = models.DateField(_("Jadwal penilaian"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=EvaluationKind.values),
                name="evaluation_kind_valid",
            ),
            models.UniqueConstraint(
                fields=["conference", "kind"],
                condition=models.Q(kind__in=["laijapen", "laijapang", "proses"]),
                name="evaluation_one_later_per_kind",
            ),
            models.UniqueConstraint(
                fields=["conference", "participant"],
                condition=models.Q(kind="laiseg", participant__isnull=False),
                name="evaluation_one_laiseg_per_participant",
            ),
        ]
        indexes = [
            models.Index(fields=["due_on"]),
            # Program reports: a KKA's evaluations from the index alone (PostgreSQL).
            models.Index(
                fields=["conference"],
                include=["id", "kind", "due_on", "done_at"],
                name="conf_evaluation_conf_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def answers_dict(self) -> dict[str, str]:
        return json.loads(self.answers or "{}")

    @property
    def commitment_results_dict(self) -> dict[str, dict[str, str]]:
        return json.loads(self.commitment_results or "{}")


class FollowUpKind(models.TextChoices):
    NEXT_KKA = "next_kka", _("KKA berikutnya")
    INDIVIDUAL_COUNSELLING = "individual_counselling", _("Konseling individual")
    HOME_VISIT = "home_visit", _("Kunjungan rumah")
    CONSULTATION = "consultation", _("Konsultasi dengan orang tua/guru/atasan")
    REFERRAL = "referral", _("Alih tangan kasus")


class ReferralTo(models.TextChoices):
    PSYCHOLOGIST = "psikolog", _("Psikolog")
    PSYCHIATRIST = "psikiater", _("Psikiater")
    DOCTOR = "dokter", _("Dokter")
    POLICE = "polisi", _("Polisi")
    SOCIAL_WORKER = "pekerja_sosial", _("Pekerja sosial")
    TPPK = "tppk", _("TPPK (Tim Pencegahan dan Penanganan Kekerasan)")
    OTHER_COUNSELLOR = "konselor_lain", _("Konselor lain")
    OTHER = "lainnya", _("Lainnya")


class FollowUpStatus(models.TextChoices):
    PLANNED = "planned", _("Direncanakan")
    IN_PROGRESS = "in_progress", _("Sedang berjalan")
    DONE = "done", pgettext_lazy("kemajuan", "Selesai")
    CANCELLED = "cancelled", _("Dibatalkan")


class FollowUp(models.Model):
    """Tindak lanjut of a case, often decided in a KKA; a referral keeps its consent."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="followups")
    conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.PROTECT, related_name="followups"
    )
    next_conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("Jenis tindak lanjut"), max_length=24, choices=FollowUpKind.choices)
    referral_to = models.CharField(
        _("Dialihtangankan kepada"), max_length=20, choices=ReferralTo.choices, blank=True
    )
    referral_to_name = EncryptedTextField(_("Nama penerima alih tangan"), blank=True)
    reason = EncryptedTextField(_("Alasan alih tangan"), blank=True)
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("Status"), max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.PLANNED
    )
    planned_on = models.DateField(_("Tanggal rencana"), null=True, blank=True)
    note = EncryptedTextField(_("Catatan"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=FollowUpKind.values), name="followup_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=FollowUpStatus.values),
                name="followup_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="referral", consent__isnull=False) & ~models.Q(referral_to="")
                )
                | (~models.Q(kind="referral") & models.Q(referral_to="")),
                name="followup_referral_has_target_and_consent",
            ),
        ]
        indexes = [
            # Program reports: the period's follow-ups (and referrals) from the index alone
            # on PostgreSQL.
            models.Index(
                fields=["created_at"],
                include=["id", "case", "kind", "referral_to"],
                name="conf_followup_created_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Report(models.Model):
    """The laporan pelaksanaan's narrative, one text per component (DOMAIN §2.6).

    An empty component means "not edited": the laporan shows the text KKA pre-fills
    from the record (``kka.conferences.report.report_defaults``). Finalising freezes
    every component (defaults included) into these fields; a finalised report is
    read-only.
    """

    conference = models.OneToOneField(Conference, on_delete=models.PROTECT, related_name="report")
    jenis_kegiatan = EncryptedTextField(_("Jenis kegiatan"), blank=True)
    waktu = EncryptedTextField(_("Waktu"), blank=True)
    sasaran = EncryptedTextField(_("Sasaran"), blank=True)
    hasil = EncryptedTextField(_("Hasil yang dicapai"), blank=True)
    analisis = EncryptedTextField(_("Analisis hasil penilaian proses dan hasil"), blank=True)
    tindak_lanjut = EncryptedTextField(_("Rencana tindak lanjut"), blank=True)
    faktor = EncryptedTextField(_("Faktor pendukung dan penghambat"), blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"report:{self.conference_id}"


class ReminderSent(models.Model):
    """One reminder that went out (or was decided), so ``kka remind`` never sends the
    same reminder twice. ``key`` names what it was about with codes only (e.g.
    ``commitment:<code>:soon`` or ``digest:<user id>:<date>``); never any text."""

    key = models.CharField(max_length=120, unique=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, default="email")
    sent_on = models.DateField()
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
