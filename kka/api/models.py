"""Personal API tokens. The token itself is shown once; only its keyed hash is stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kka.accounts.models import Organisation
from kka.lib.codes import new_code


def _code() -> str:
    return new_code(10)


class TokenScope(models.TextChoices):
    READ = "read", _("Baca saja")
    WRITE = "write", _("Baca dan ubah")


class ApiToken(models.Model):
    code = models.CharField(max_length=12, unique=True, default=_code, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # The organisation the token acts in (the user's membership is re-checked per request).
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("nama token"), max_length=80)
    scope = models.CharField(_("cakupan"), max_length=10, choices=TokenScope.choices)
    # First characters of the token, shown to tell tokens apart ("kka_ab12…").
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("berlaku sampai"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_via = models.CharField(max_length=10, default="ui")  # ui | cli

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return self.code
