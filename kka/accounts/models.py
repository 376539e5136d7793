"""Users, organisations (lembaga) and memberships with roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kka.lib.codes import new_code
from kka.lib.fields import EncryptedTextField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff member who logs in with an email address.

    Invited participants never get an account; they use a private link.
    ``is_superuser`` is an operator flag only: it grants no access to case data.
    """

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("nama lengkap"), max_length=150)
    staff_number = models.CharField(_("NIP / nomor pegawai"), max_length=40, blank=True)
    language = models.CharField(
        _("bahasa"),
        max_length=8,
        choices=[("id", "Bahasa Indonesia"), ("en", "English")],
        default="id",
    )
    is_active = models.BooleanField(_("aktif"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("pengguna")
        verbose_name_plural = _("pengguna")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        # No Django admin site is installed; kept for third-party code that asks.
        return False


class Setting(models.TextChoices):
    SEKOLAH = "sekolah", _("Sekolah")
    MADRASAH = "madrasah", _("Madrasah")
    PERUSAHAAN = "perusahaan", _("Perusahaan / kantor")
    KELUARGA = "keluarga", _("Keluarga")
    MASYARAKAT = "masyarakat", _("Masyarakat / desa")
    LAINNYA = "lainnya", _("Lainnya")


class TimeZoneChoice(models.TextChoices):
    WIB = "Asia/Jakarta", _("WIB (Asia/Jakarta)")
    WITA = "Asia/Makassar", _("WITA (Asia/Makassar)")
    WIT = "Asia/Jayapura", _("WIT (Asia/Jayapura)")


def new_organisation_code() -> str:
    return new_code(8)


class Organisation(models.Model):
    """A lembaga: a school, madrasah, company, family or village office."""

    code = models.CharField(
        max_length=12, unique=True, default=new_organisation_code, editable=False
    )
    name = models.CharField(_("nama lembaga"), max_length=200)
    setting = models.CharField(_("jenis lembaga"), max_length=20, choices=Setting.choices)
    address = models.TextField(_("alamat"), blank=True)
    city = models.CharField(_("kota / kabupaten"), max_length=100, blank=True)
    phone = models.CharField(_("telepon"), max_length=40, blank=True)
    email = models.EmailField(_("email lembaga"), blank=True)
    time_zone = models.CharField(
        _("zona waktu"),
        max_length=40,
        choices=TimeZoneChoice.choices,
        default=TimeZoneChoice.WIB,
    )
    head_title = models.CharField(_("jabatan pimpinan"), max_length=100, blank=True)
    head_name = models.CharField(_("nama pimpinan"), max_length=150, blank=True)
    head_staff_number = models.CharField(_("NIP pimpinan"), max_length=40, blank=True)
    extra_bidang = models.JSONField(
        _("bidang tambahan"),
        default=list,
        blank=True,
        help_text=_("Bidang layanan selain pribadi, sosial, belajar dan karir."),
    )
    letter_number_pattern = models.CharField(
        _("pola nomor surat"),
        max_length=80,
        default="{seq:03d}/BK/{roman_month}/{year}",
        help_text=_("Tersedia: {seq}, {seq:03d}, {month}, {roman_month}, {year}."),
    )
    require_plan_approval = models.BooleanField(
        _("rencana KKA perlu disetujui"),
        default=False,
        help_text=_(
            "Jika aktif, undangan ke pihak luar lembaga baru dapat dikirim setelah "
            "rencana disetujui supervisor kasus atau koordinator BK."
        ),
    )
    structuring_text = models.TextField(
        _("teks penstrukturan KKA"),
        blank=True,
        help_text=_("Pembukaan yang dibacakan konselor di awal KKA. Kosongkan untuk teks baku."),
    )
    asas_variant = models.CharField(
        _("daftar asas"),
        max_length=2,
        choices=[("12", _("12 asas (Prayitno)")), ("11", _("11 asas (daftar baru)"))],
        default="12",
    )
    evaluation_scheme = models.CharField(
        _("skema penilaian segera"),
        max_length=8,
        choices=[
            ("uca", _("UCA (pemahaman, perasaan, rencana tindakan)")),
            ("bmb3", _("BMB3 (berpikir, merasa, bersikap, bertindak, bertanggung jawab)")),
        ],
        default="uca",
        help_text=_("Pertanyaan penilaian segera (laiseg) di akhir KKA."),
    )
    # --- documents: letterhead, paper, plan format -------------------------------------
    letterhead_upper = models.TextField(
        _("baris atas kop surat"),
        blank=True,
        help_text=_(
            "Baris di atas nama lembaga, misalnya nama pemerintah daerah dan dinas. "
            "Satu baris per baris."
        ),
    )
    website = models.CharField(_("situs web"), max_length=100, blank=True)
    logo_stored_name = models.CharField(max_length=80, blank=True, editable=False)
    paper_size = models.CharField(
        _("ukuran kertas"),
        max_length=4,
        choices=[("A4", _("A4 (210 x 297 mm)")), ("F4", _("F4 / folio (215 x 330 mm)"))],
        default="A4",
    )
    plan_format = models.CharField(
        _("format rencana KKA"),
        max_length=10,
        choices=[
            ("satkung", _("SATKUNG (butir A-Q)")),
            ("rpl", _("RPL (rencana pelaksanaan layanan)")),
        ],
        default="satkung",
    )
    # Program reports show a figure from fewer clients than this as "< N"; never below
    # the default of 5 (kka.reports.protect), only ever raised.
    report_threshold = models.PositiveSmallIntegerField(
        _("batas angka kecil di laporan program"),
        default=5,
        help_text=_(
            "Angka yang berasal dari konseli lebih sedikit dari batas ini ditampilkan "
            "sebagai “< batas”. Paling kecil 5."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("lembaga")
        verbose_name_plural = _("lembaga")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(setting__in=Setting.values), name="organisation_setting_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(time_zone__in=TimeZoneChoice.values),
                name="organisation_time_zone_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(report_threshold__gte=5),
                name="organisation_report_threshold_min",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    KONSELOR = "konselor", _("Konselor")
    KOORDINATOR = "koordinator", _("Koordinator BK")
    PIMPINAN = "pimpinan", _("Pimpinan")
    ADMIN = "admin", _("Admin lembaga")
    DPO = "dpo", _("Petugas pelindungan data")
    # An education-office supervisor: a member of the office's own organisation who
    # reads aggregate reports of the organisation groups that office supervises.
    PENGAWAS = "pengawas", _("Pengawas (dinas pendidikan)")


def new_membership_code() -> str:
    return new_code(10)


class Membership(models.Model):
    """A user's single role in one organisation (one row per user and organisation)."""

    code = models.CharField(max_length=12, unique=True, default=new_membership_code, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("peran"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("aktif"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("keanggotaan")
        verbose_name_plural = _("keanggotaan")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique_pair"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organisation_id}:{self.role}"


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", _("Keluar")
    IDLE = "idle", _("Tidak ada aktivitas")
    ABSOLUTE = "absolute", _("Batas 12 jam")
    ENDED_BY_USER = "ended_by_user", _("Diakhiri pengguna")
    ALL = "all", _("Keluar dari semua perangkat")
    DEACTIVATED = "deactivated", _("Akun dinonaktifkan")
    PASSWORD_CHANGED = "password_changed", _("Kata sandi diubah")


def new_session_code() -> str:
    return new_code(10)


class UserSession(models.Model):
    """One login of a user on one device, so that they can see and end it.

    The session key itself never appears here in clear: ``key_hash`` (a keyed HMAC)
    finds the row for a request, and ``key_encrypted`` lets KKA delete that session from
    the session store when it is ended from elsewhere. ``ip_network`` keeps only the
    network part of the address and ``device`` a short "Browser · System" summary.
    """

    code = models.CharField(max_length=12, unique=True, default=new_session_code, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    key_hash = models.CharField(max_length=64, unique=True)
    key_encrypted = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, blank=True, choices=SessionEndReason.choices)
    ip_network = models.CharField(max_length=50, blank=True)
    device = models.CharField(max_length=60, blank=True)

    class Meta:
        verbose_name = _("sesi")
        verbose_name_plural = _("sesi")
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.code}"


class BackupCode(models.Model):
    """A one-time backup code for the second factor, stored only as a password hash.

    The code itself is shown once, when it is made; ``used_at`` spends it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="backup_codes")
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("kode cadangan")
        verbose_name_plural = _("kode cadangan")
        indexes = [models.Index(fields=["user", "used_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.pk}"


def new_group_code() -> str:
    return new_code(10)


class OrganisationGroup(models.Model):
    """Organisations whose aggregate program reports an office (the supervising
    organisation, e.g. a dinas pendidikan) may read through its ``pengawas`` members.
    Never a way to case content: only ``kka.reports`` reads it."""

    code = models.CharField(max_length=12, unique=True, default=new_group_code, editable=False)
    name = models.CharField(_("nama kelompok"), max_length=200)
    supervisor = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="supervised_groups",
        verbose_name=_("lembaga pengawas"),
    )
    organisations = models.ManyToManyField(
        Organisation, related_name="report_groups", verbose_name=_("lembaga anggota")
    )
    report_threshold = models.PositiveSmallIntegerField(
        _("batas angka kecil di laporan program"), default=5
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("kelompok lembaga")
        verbose_name_plural = _("kelompok lembaga")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(report_threshold__gte=5),
                name="organisation_group_report_threshold_min",
            ),
        ]

    def __str__(self) -> str:
        return self.name
