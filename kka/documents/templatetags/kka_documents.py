"""The "Dokumen" section of a KKA page:
``{% load kka_documents %}{% conference_documents conference %}``.

The page's view has already checked access to the conference; its ``role`` (in the
template context) decides whether produce buttons are shown.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from kka.cases import access as case_access
from kka.documents import registry, services

register = template.Library()

EDITION_LABELS: dict[str, Any] = {
    "": "",
    "kosong": _("kosong"),
    "rahasia": _("rahasia"),
}


def edition_label(code: str) -> str:
    return str(EDITION_LABELS.get(code, code))


@register.inclusion_tag("documents/_conference_documents.html", takes_context=True)
def conference_documents(
    context: template.Context, conference: Any, participants: list[Any] | None = None
) -> dict[str, Any]:
    """``participants``: the conference's participants (not removed) when the page has
    them already (one query fewer)."""
    kinds = registry.load_all()
    organisation = conference.case.organisation
    role = context.get("role")
    rows = []
    for document in services.conference_documents(conference):
        if role == case_access.BREAK_GLASS and document.edition == "rahasia":
            continue  # break-glass: the private notes stay with the case team
        kind = kinds.get(document.kind)
        rows.append(
            {
                "document": document,
                "title": str(kind.title) if kind else document.kind,
                "edition": edition_label(document.edition),
            }
        )

    def offer(scope: str) -> list[dict[str, Any]]:
        return [
            {
                "kind": kind,
                "editions": [(code, edition_label(code)) for code in kind.editions],
            }
            for kind in sorted(kinds.values(), key=lambda k: services.bundle_rank(k.code))
            if kind.scope == scope
            # of the two plan formats, only the one the organisation uses
            and (kind.code not in services.PLAN_KINDS or kind.code == organisation.plan_format)
        ]

    return {
        "conference": conference,
        "rows": rows,
        "writable": role in case_access.WRITER_ROLES,
        "conference_kinds": offer("conference"),
        "participant_kinds": offer("participant"),
        "participants": (
            list(conference.participants.filter(removed_at__isnull=True))
            if participants is None
            else participants
        ),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
