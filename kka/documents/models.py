"""The register of produced documents, and organisations' own DOCX templates.

Every generation is a ``Document`` row (who, which kind, about what, for whom, the
content hash); the bytes are stored encrypted (``kka.lib.private_files``). A
finalised document is served from storage and never regenerated. Every download,
email attachment or portal view of a document is a ``DocumentAccess`` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation
from kka.cases.models import Case, Client, Consent
from kka.conferences.models import (
    Conference,
    Evaluation,
    FollowUp,
    LetterNumber,
    Participant,
)
from kka.lib.codes import new_code
from kka.lib.fields import EncryptedTextField


def _code() -> str:
    return new_code(10)


class DocumentFormat(models.TextChoices):
    PDF = "pdf", "PDF"
    DOCX = "docx", "DOCX"


class DocumentTemplate(models.Model):
    """An organisation's own DOCX template for one document kind (docxtpl, sandboxed).

    Only the active one per kind is used; replacing it keeps the old row (inactive)
    so documents produced with it still say which template made them.
    """

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("jenis dokumen"), max_length=40)
    original_name = models.CharField(_("nama berkas"), max_length=200)
    stored_name = models.CharField(max_length=80, unique=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=models.Q(active=True),
                name="document_template_one_active_per_kind",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Document(models.Model):
    """One produced document (a file in one format)."""

    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("jenis dokumen"), max_length=40)
    edition = models.CharField(max_length=20, blank=True)
    format = models.CharField(max_length=4, choices=DocumentFormat.choices)
    # What it is about (the kind's scope says which are set).
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    followup = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # For whom this copy was produced (printed on every page of confidential ones).
    produced_for = EncryptedTextField(blank=True)
    letter_number = models.ForeignKey(
        LetterNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(max_length=80, blank=True)
    template = models.ForeignKey(
        DocumentTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why the organisation's template was not used (code, never content), if it failed.
    template_fallback = models.CharField(max_length=40, blank=True)
    stored_name = models.CharField(max_length=80, unique=True)
    sha256 = models.CharField(max_length=64)  # of the file
    # Of the content; its first 12 characters are printed in every page's footer.
    content_hash = models.CharField(max_length=64, blank=True)
    draft = models.BooleanField(default=False)
    size = models.PositiveIntegerField()
    pages = models.PositiveIntegerField(null=True, blank=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "kind", "-created_at"]),
            models.Index(fields=["conference", "kind"]),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def short_hash(self) -> str:
        """What the footer of every page shows."""
        return (self.content_hash or self.sha256)[:12]


class DocumentAccess(models.Model):
    """A document left KKA's storage: downloaded, attached to an email, shown in the
    portal, or included in a print bundle."""

    class Channel(models.TextChoices):
        DOWNLOAD = "download", _("Diunduh")
        EMAIL = "email", _("Dikirim lewat email")
        PORTAL = "portal", _("Dibuka lewat tautan pribadi")
        BUNDLE = "bundle", _("Dicetak bersama")

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="accesses")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.channel}"
