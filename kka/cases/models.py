"""Clients (konseli), cases, case records (himpunan data), problem maps and consent.

Identity and case content are stored with ``EncryptedTextField``. Names are found
through keyed blind-index tokens (``ClientNameToken``), identifiers through keyed
exact-match tokens. Reads go through ``kka.cases.access``; writes through
``kka.cases.services``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation
from kka.lib.codes import new_code
from kka.lib.fields import EncryptedTextField


def _code() -> str:
    return new_code(10)


class Sex(models.TextChoices):
    LAKI_LAKI = "L", _("Laki-laki")
    PEREMPUAN = "P", _("Perempuan")


class Client(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    full_name = EncryptedTextField(_("nama lengkap"))
    sex = models.CharField(_("jenis kelamin"), max_length=1, choices=Sex.choices, blank=True)
    # Stored encrypted as ISO text; parsed in Python (minor status is derived from it).
    birth_date = EncryptedTextField(_("tanggal lahir"), blank=True)
    nisn = EncryptedTextField(_("NISN"), blank=True)
    employee_number = EncryptedTextField(_("nomor pegawai"), blank=True)
    nik = EncryptedTextField(_("NIK"), blank=True)
    group = EncryptedTextField(_("kelas / bagian"), blank=True)
    address = EncryptedTextField(_("alamat"), blank=True)
    phone = EncryptedTextField(_("telepon"), blank=True)
    # Keyed exact-match tokens, so re-imports find the same person.
    nisn_token = models.CharField(max_length=32, blank=True, db_index=True)
    employee_number_token = models.CharField(max_length=32, blank=True, db_index=True)
    nik_token = models.CharField(max_length=32, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "nisn_token"],
                # Accepted (bandit B106, until 2027-05-31): not a password.
                condition=~models.Q(nisn_token=""),  # nosec B106
                name="client_unique_nisn",
            ),
            models.UniqueConstraint(
                fields=["organisation", "employee_number_token"],
                # Accepted (bandit B106, until 2027-05-31): empty blind index, not a password.
                condition=~models.Q(employee_number_token=""),  # nosec B106
                name="client_unique_employee_number",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def birth_date_value(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.birth_date) if self.birth_date else None
        except ValueError:
            return None

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() + "." for part in (self.full_name or "").split() if part)


class ClientNameToken(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="name_tokens")
    # The client's organisation, repeated so a name search reads only its own
    # organisation's tokens (index below), however many organisations share the database.
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    token = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "token"], name="client_name_token_unique")
        ]
        indexes = [
            models.Index(
                fields=["organisation", "token", "client"], name="cases_nametoken_org_token"
            )
        ]

    def __str__(self) -> str:
        return self.token


class Relationship(models.TextChoices):
    AYAH = "ayah", _("Ayah")
    IBU = "ibu", _("Ibu")
    WALI = "wali", _("Wali")
    SAUDARA = "saudara", _("Saudara")
    PASANGAN = "pasangan", _("Suami / istri")
    LAINNYA = "lainnya", _("Lainnya")


class Guardian(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="guardians")
    full_name = EncryptedTextField(_("nama"))
    relationship = models.CharField(_("hubungan"), max_length=20, choices=Relationship.choices)
    phone = EncryptedTextField(_("telepon / WhatsApp"), blank=True)
    email = EncryptedTextField(_("email"), blank=True)
    address = EncryptedTextField(_("alamat"), blank=True)

    def __str__(self) -> str:
        return self.code


BUILTIN_BIDANG = (
    ("pribadi", _("Pribadi")),
    ("sosial", _("Sosial")),
    ("belajar", _("Belajar")),
    ("karir", _("Karir")),
)


class IntakeSource(models.TextChoices):
    SELF = "sendiri", _("Datang sendiri")
    TEACHER = "guru", _("Guru / wali kelas")
    PARENT = "orang_tua", _("Orang tua / wali")
    SUPERIOR = "atasan", _("Atasan")
    COLLEAGUE = "rekan", _("Teman / rekan")
    OFFICIAL = "aparat", _("Aparat / tokoh masyarakat")
    SCREENING = "asesmen", _("Hasil asesmen / instrumen")
    OTHER = "lainnya", _("Lainnya")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Terbuka")
    IN_HANDLING = "in_handling", _("Dalam penanganan")
    REFERRED = "referred", _("Dialihtangankan")
    CLOSED = "closed", _("Ditutup")


class CaseOutcome(models.TextChoices):
    RESOLVED = "resolved", _("Teratasi")
    IMPROVED = "improved", _("Membaik")
    REFERRED = "referred", _("Dialihtangankan")
    UNCHANGED = "unchanged", _("Belum berubah")
    OTHER = "other", _("Lainnya")


class Case(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    bidang = models.CharField(_("bidang"), max_length=60)
    title = models.CharField(
        _("judul (tanpa identitas)"),
        max_length=120,
        help_text=_("Judul singkat yang tidak memuat nama atau identitas konseli."),
    )
    description = EncryptedTextField(_("gambaran masalah"), blank=True)
    intake_source = models.CharField(_("sumber kasus"), max_length=20, choices=IntakeSource.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    outcome = models.CharField(_("hasil"), max_length=20, choices=CaseOutcome.choices, blank=True)
    outcome_note = EncryptedTextField(_("catatan hasil"), blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(outcome=""),
                name="case_closed_has_outcome",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "-last_activity_at"]),
            models.Index(fields=["owner", "-last_activity_at"]),
            models.Index(fields=["organisation", "bidang"]),
            # Program reports (kka.reports.figures): the period's cases of the scope's
            # organisations, read from the index alone on PostgreSQL (INCLUDE columns;
            # plain indexes elsewhere). Plans: docs/performance.md "Program reports".
            models.Index(
                fields=["organisation", "opened_at"],
                include=["id", "client", "owner", "bidang", "status", "closed_at"],
                name="cases_org_opened_idx",
            ),
            models.Index(
                fields=["organisation", "closed_at"],
                include=["id", "client", "owner", "bidang", "outcome"],
                name="cases_org_closed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CaseRole(models.TextChoices):
    CO_COUNSELLOR = "co_counsellor", _("Konselor pendamping")
    SUPERVISOR = "supervisor", _("Supervisor")


class CaseMember(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=CaseRole.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="case_member_unique"),
        ]
        indexes = [models.Index(fields=["user", "case"])]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.user_id}:{self.role}"


class RecordSource(models.TextChoices):
    OBSERVATION = "observasi", _("Observasi")
    INTERVIEW = "wawancara", _("Wawancara")
    INSTRUMENT = "instrumen", _("Hasil instrumen")
    HOME_VISIT = "kunjungan_rumah", _("Kunjungan rumah")
    TEACHER_REPORT = "laporan_guru", _("Laporan guru / wali kelas")
    PARENT_REPORT = "laporan_orang_tua", _("Laporan orang tua")
    SUPERIOR_REPORT = "laporan_atasan", _("Laporan atasan")
    DOCUMENT = "dokumen", _("Dokumen")
    OTHER = "lainnya", _("Lainnya")


class CaseRecord(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="records")
    occurred_on = models.DateField(_("tanggal"))
    source = models.CharField(_("sumber data"), max_length=30, choices=RecordSource.choices)
    content = EncryptedTextField(_("isi catatan"))
    may_bring_to_kka = models.BooleanField(
        _("boleh dibawa ke konferensi kasus"),
        default=False,
        help_text=_("Hanya catatan yang ditandai ini yang dapat dipilih sebagai bahan KKA."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["case", "-occurred_on"])]

    def __str__(self) -> str:
        return self.code


class Attachment(models.Model):
    """A file attached to a case record, stored encrypted under a server-made name."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    # Empty for a consent scan, which belongs to the client rather than a record.
    record = models.ForeignKey(
        CaseRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    original_name = EncryptedTextField()
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.code


class AspectKind(models.TextChoices):
    SYMPTOM = "gejala", _("Gejala")
    CAUSE = "penyebab", _("Penyebab")
    FACTOR = "faktor", _("Faktor")


class ParticipantCategory(models.TextChoices):
    SCHOOL_STAFF = "staf_lembaga", _("Staf sekolah / lembaga")
    FAMILY = "keluarga", _("Keluarga")
    EMPLOYER = "pemberi_kerja", _("Atasan / pemberi kerja")
    COMMUNITY = "masyarakat", _("Aparat desa / tokoh masyarakat")
    PROFESSIONAL = "profesional", _("Profesional luar (psikolog, dokter, pekerja sosial…)")


class ProblemMap(models.Model):
    """The core problem of a case; aspects and resources hang from it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="problem_map")
    core_problem = EncryptedTextField(_("masalah inti"))
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"map:{self.case_id}"


class ProblemAspect(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    problem_map = models.ForeignKey(ProblemMap, on_delete=models.CASCADE, related_name="aspects")
    kind = models.CharField(_("jenis"), max_length=20, choices=AspectKind.choices)
    text = EncryptedTextField(_("uraian"))
    records = models.ManyToManyField(CaseRecord, blank=True, related_name="aspects")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.code


class ProblemResource(models.Model):
    """A person or institution who can help, and what they could contribute."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    problem_map = models.ForeignKey(ProblemMap, on_delete=models.CASCADE, related_name="resources")
    name = EncryptedTextField(_("nama / lembaga"))
    role = models.CharField(_("peran / hubungan"), max_length=100)
    category = models.CharField(_("kategori"), max_length=20, choices=ParticipantCategory.choices)
    contribution = EncryptedTextField(_("kontribusi yang diharapkan"), blank=True)
    aspects = models.ManyToManyField(ProblemAspect, blank=True, related_name="resources")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.code


class ConsentText(models.Model):
    """The plain-language consent text shown, versioned per organisation."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="consent_texts"
    )
    version = models.PositiveIntegerField()
    body = models.TextField(_("teks persetujuan"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="consent_text_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class ConsentGiver(models.TextChoices):
    CLIENT = "konseli", _("Konseli sendiri")
    PARENT = "orang_tua", _("Orang tua")
    GUARDIAN = "wali", _("Wali")


class ConsentChannel(models.TextChoices):
    PAPER = "kertas", _("Formulir bertanda tangan (dipindai dan dilampirkan)")
    VERBAL = "lisan", _("Lisan (dicatat konselor)")
    ELECTRONIC = "elektronik", _("Elektronik")


class ConsentKind(models.TextChoices):
    GRANT = "grant", _("Pemberian persetujuan")
    WITHDRAWAL = "withdrawal", _("Penarikan persetujuan")


class Consent(models.Model):
    """One append-only consent statement (or withdrawal) for a client."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=12, choices=ConsentKind.choices)
    giver = models.CharField(_("pemberi persetujuan"), max_length=20, choices=ConsentGiver.choices)
    giver_name = EncryptedTextField(_("nama pemberi persetujuan"))
    giver_relationship = models.CharField(_("hubungan dengan konseli"), max_length=60, blank=True)
    purpose_hold_kka = models.BooleanField(_("menyelenggarakan konferensi kasus"), default=False)
    share_school_staff = models.BooleanField(
        _("berbagi dengan staf sekolah / lembaga"), default=False
    )
    share_family = models.BooleanField(_("berbagi dengan keluarga"), default=False)
    share_employer = models.BooleanField(_("berbagi dengan atasan / pemberi kerja"), default=False)
    share_community = models.BooleanField(
        _("berbagi dengan aparat desa / tokoh masyarakat"), default=False
    )
    share_professionals = models.BooleanField(_("berbagi dengan profesional luar"), default=False)
    purpose_documents = models.BooleanField(_("membuat dokumen"), default=False)
    consent_text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("cara persetujuan"), max_length=20, choices=ConsentChannel.choices)
    note = EncryptedTextField(_("catatan"), blank=True)
    scan = models.ForeignKey(
        "Attachment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    given_at = models.DateTimeField(_("waktu persetujuan"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["client", "-recorded_at"])]

    def __str__(self) -> str:
        return self.code

    SHARE_FIELDS = {
        ParticipantCategory.SCHOOL_STAFF: "share_school_staff",
        ParticipantCategory.FAMILY: "share_family",
        ParticipantCategory.EMPLOYER: "share_employer",
        ParticipantCategory.COMMUNITY: "share_community",
        ParticipantCategory.PROFESSIONAL: "share_professionals",
    }

    def allows_sharing_with(self, category: str) -> bool:
        return self.kind == ConsentKind.GRANT and bool(
            getattr(self, self.SHARE_FIELDS[ParticipantCategory(category)])
        )


class CaseEvent(models.Model):
    """The case timeline: what happened, when, by whom (codes only, no content)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=40)
    ref = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "-at"])]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}"


class ImportBatch(models.Model):
    """An uploaded client spreadsheet awaiting confirmation (held encrypted)."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = EncryptedTextField()
    payload = EncryptedTextField()  # base64 of the uploaded file
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code
