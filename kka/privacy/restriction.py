"""Restriction of processing (UU 27/2022): while a client's restriction is active,
every change to the client, their cases and KKAs is refused; reads stay allowed.

The write paths of ``kka.cases.access`` and ``kka.conferences.access`` and the
participant portal call :func:`refuse_if_restricted`; starting and lifting a
restriction are services of :mod:`kka.privacy.subject`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from kka.audit.services import audit_log
from kka.privacy.models import Restriction


class ProcessingRestricted(PermissionDenied):
    """A change refused because the client's processing is restricted."""

    message = _(
        "Pemrosesan data konseli ini sedang dibatasi: perubahan ditolak sampai pembatasan dicabut."
    )


def active_restriction(client_id: int) -> Restriction | None:
    return (
        Restriction.objects.filter(client_id=client_id, lifted_at__isnull=True)
        .order_by("-started_at")
        .first()
    )


def is_restricted(client_id: int) -> bool:
    return Restriction.objects.filter(client_id=client_id, lifted_at__isnull=True).exists()


def audit_refusal(*, client: Any, actor: Any = None, where: str = "") -> None:
    """Record a refused change (codes only). Outside a rolled-back transaction it stays."""
    audit_log(
        action="privacy.change_refused",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        organisation=client.organisation_id,
        object_type="client",
        object_ref=client.code,
        refs={"where": where} if where else None,
        outcome="denied",
    )


def refuse_if_restricted(*, client: Any, actor: Any = None, where: str = "") -> None:
    """Raise :class:`ProcessingRestricted` (after an audit row) if the client is restricted."""
    if not is_restricted(client.pk):
        return
    audit_refusal(client=client, actor=actor, where=where)
    raise ProcessingRestricted(ProcessingRestricted.message)
