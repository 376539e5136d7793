"""Restriction of processing (UU 27/2022): while a client's restriction is active,
every change to the client, their cases and KKAs is refused; reads stay allowed.

The write paths of ``kka.cases.access`` and ``kka.conferences.access`` and the
participant portal call :func:`refuse_if_restricted`; starting and lifting a
restriction are services of :mod:`kka.privacy.subject`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
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


def started_at_subquery(client_id_field: str) -> Subquery:
    """For an access query: when the client's active restriction started (or NULL), so
    the page's banner needs no query of its own (see :func:`banner_state`)."""
    return Subquery(
        Restriction.objects.filter(client_id=OuterRef(client_id_field), lifted_at__isnull=True)
        .order_by("-started_at")
        .values("started_at")[:1]
    )


def remember_state(client: Any, started_at: Any) -> None:
    """Keep the value read by :func:`started_at_subquery` on the client for this request."""
    client._kka_restriction_since = started_at


def banner_state(client: Any) -> Any:
    """The start of the client's active restriction (None: not restricted); read with
    the page's access query when it was, else now."""
    if hasattr(client, "_kka_restriction_since"):
        return client._kka_restriction_since
    restriction = active_restriction(client.pk)
    return restriction.started_at if restriction else None


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
