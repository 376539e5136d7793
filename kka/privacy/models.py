"""Data protection (UU 27/2022): subject requests, break-glass, retention, incidents.

Free text a person typed (reasons, notes, incident descriptions, old and new values of
a correction) may name a client, so it is stored with ``EncryptedTextField``. Audit rows
about these objects carry their codes only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation
from kka.cases.models import Case, Client
from kka.lib.codes import new_code
from kka.lib.fields import EncryptedTextField

# UU PDP gives 3 x 24 hours to act on a data subject's request, and 3 x 24 hours to
# notify after a personal-data protection failure is discovered.
REQUEST_DEADLINE = dt.timedelta(hours=72)
INCIDENT_DEADLINE = dt.timedelta(hours=72)


def _code() -> str:
    return new_code(10)


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Akses (salinan data)")
    CORRECTION = "correction", _("Pembetulan")
    RESTRICTION = "restriction", _("Pembatasan pemrosesan")
    ERASURE = "erasure", _("Penghapusan / anonimisasi")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Diterima")
    AWAITING_APPROVAL = "awaiting_approval", _("Menunggu persetujuan kedua")
    DONE = "done", _("Selesai")
    REJECTED = "rejected", _("Ditolak")


class SubjectRequest(models.Model):
    """A data subject's request (access, correction, restriction, erasure) for a client."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("jenis permintaan"), max_length=20, choices=RequestKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    # Who asked (the client, a parent or guardian) and how: free text, encrypted.
    requested_by_note = EncryptedTextField(_("diajukan oleh / keterangan"), blank=True)
    received_at = models.DateTimeField(_("diterima"), default=timezone.now)
    due_at = models.DateTimeField(_("batas waktu"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_note = EncryptedTextField(_("catatan penyelesaian"), blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "status", "due_at"]),
            models.Index(fields=["client", "kind"]),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        if self.due_at is None:
            self.due_at = self.received_at + REQUEST_DEADLINE
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Correction(models.Model):
    """One corrected field of a client's data, with the value before and after."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(
        SubjectRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    # "<model>.<field>" of the corrected value, e.g. "client.full_name", plus the object code.
    field = models.CharField(max_length=60)
    object_code = models.CharField(max_length=12)
    old_value = EncryptedTextField(blank=True)
    new_value = EncryptedTextField(blank=True)
    reason = EncryptedTextField(_("alasan"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["client", "-changed_at"])]

    def __str__(self) -> str:
        return self.code


class Restriction(models.Model):
    """While active (``lifted_at`` empty) every change to the client's cases is refused."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(
        SubjectRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["client", "lifted_at"])]

    def __str__(self) -> str:
        return self.code


class Erasure(models.Model):
    """The record that a client's personal data was erased or anonymised (no content)."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="+")
    request = models.OneToOneField(SubjectRequest, on_delete=models.PROTECT, related_name="+")
    erased_at = models.DateTimeField(default=timezone.now)
    # Counts of what was removed, e.g. {"records": 4, "files": 2}: figures only.
    summary = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.code


class BreakGlass(models.Model):
    """Emergency read access of a coordinator to a case they are not on (60 minutes)."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField(_("alasan"))
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "case", "expires_at"]),
            models.Index(fields=["organisation", "-started_at"]),
        ]

    def __str__(self) -> str:
        return self.code


class RecordType(models.TextChoices):
    CLOSED_CASE = "closed_case", _("Kasus yang sudah ditutup (seluruh isi kasus)")
    INACTIVE_CLIENT = "inactive_client", _("Konseli tanpa kasus terbuka")
    DOCUMENT = "document", _("Dokumen yang dihasilkan")
    PORTAL_LINK = "portal_link", _("Tautan pribadi peserta")
    SESSION = "session", _("Riwayat sesi masuk")


class RetentionRule(models.Model):
    """How long one type of record is kept after its trigger, per organisation."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="retention_rules"
    )
    record_type = models.CharField(_("jenis data"), max_length=30, choices=RecordType.choices)
    months = models.PositiveIntegerField(_("masa simpan (bulan)"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "record_type"], name="retention_rule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.record_type}:{self.months}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Ditangani")
    NOTIFIED = "notified", _("Sudah diberitahukan")
    CLOSED = "closed", _("Ditutup")


class Incident(models.Model):
    """A personal-data protection failure (kegagalan pelindungan data pribadi)."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    title = EncryptedTextField(_("judul singkat"))
    description = EncryptedTextField(_("kronologi (kapan dan bagaimana)"), blank=True)
    measures = EncryptedTextField(_("upaya penanganan dan pemulihan"), blank=True)
    discovered_at = models.DateTimeField(_("waktu diketahui"))
    occurred_from = models.DateTimeField(_("terjadi sejak"), null=True, blank=True)
    occurred_to = models.DateTimeField(_("terjadi sampai"), null=True, blank=True)
    # The account or address involved, to find what was reached in the audit log.
    suspect_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suspect_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    notified_at = models.DateTimeField(_("waktu pemberitahuan"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-discovered_at"])]

    def __str__(self) -> str:
        return self.code

    @property
    def notify_by(self) -> dt.datetime:
        return self.discovered_at + INCIDENT_DEADLINE


class IncidentSubject(models.Model):
    """A client whose data an incident reached, with the data categories reached."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="subjects")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField(default=list)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "client"], name="incident_subject_unique")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.client_id}"
