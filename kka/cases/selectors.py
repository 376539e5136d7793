"""Reads over case data that the access functions have already admitted."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kka.cases import access
from kka.cases.models import (
    BUILTIN_BIDANG,
    Case,
    CaseEvent,
    Client,
    ClientNameToken,
    Consent,
    ConsentGiver,
    ConsentKind,
    ConsentText,
)
from kka.lib.blind_index import query_tokens

ADULT_AGE = 18
GUARDIAN_GIVERS = frozenset({ConsentGiver.PARENT, ConsentGiver.GUARDIAN})


def local_today(organisation: Any) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def eighteenth_birthday(birth: dt.date) -> dt.date:
    try:
        return birth.replace(year=birth.year + ADULT_AGE)
    except ValueError:  # born on 29 February: adult on 1 March
        return dt.date(birth.year + ADULT_AGE, 3, 1)


def client_is_minor(client: Client, *, on: dt.date | None = None) -> bool:
    """Under 18 on the given day (default: today in the organisation's zone).

    An unknown birth date counts as a minor: a guardian's consent is then required,
    which is the safe side for a child's data.
    """
    birth = client.birth_date_value
    if birth is None:
        return True
    day = on or local_today(client.organisation)
    return day < eighteenth_birthday(birth)


def valid_consent_givers(client: Client, *, on: dt.date | None = None) -> frozenset[str]:
    if client_is_minor(client, on=on):
        return GUARDIAN_GIVERS
    return frozenset({ConsentGiver.CLIENT})


def current_consent(client: Client, *, on: dt.date | None = None) -> Consent | None:
    """The consent in force: the newest statement by a valid giver, unless withdrawn."""
    latest = (
        Consent.objects.filter(client=client, giver__in=valid_consent_givers(client, on=on))
        .order_by("-recorded_at", "-id")
        .first()
    )
    if latest is None or latest.kind != ConsentKind.GRANT:
        return None
    return latest


def consent_history(client: Client) -> QuerySet[Consent]:
    return Consent.objects.filter(client=client).select_related("recorded_by", "consent_text")


def current_consent_text(organisation: Any) -> ConsentText | None:
    return ConsentText.objects.filter(organisation=organisation).order_by("-version").first()


def bidang_choices(organisation: Any) -> list[tuple[str, str]]:
    extra = [(name, name) for name in (organisation.extra_bidang or []) if name]
    return [(key, str(label)) for key, label in BUILTIN_BIDANG] + extra


def bidang_label(organisation: Any, value: str) -> str:
    return dict(bidang_choices(organisation)).get(value, value)


def _matching_clients(query: str, organisation: Any) -> QuerySet[Client] | None:
    """Clients of the organisation whose name tokens match; callers intersect it with
    what the viewer may see (it is only ever used as a subquery)."""
    tokens = query_tokens(query)
    if not tokens:
        return None
    qs = Client.objects.filter(organisation=organisation)
    for token in tokens:
        named = ClientNameToken.objects.filter(organisation=organisation, token=token)
        qs = qs.filter(pk__in=named.values("client_id"))
    return qs


def case_list(
    *,
    viewer: Any,
    organisation: Any,
    status: str = "",
    bidang: str = "",
    query: str = "",
) -> QuerySet[Case]:
    """Cases the viewer may see in one organisation, newest activity first."""
    qs = access.visible_cases(viewer).filter(organisation=organisation)
    if status:
        qs = qs.filter(status=status)
    if bidang:
        qs = qs.filter(bidang=bidang)
    query = (query or "").strip()
    if query:
        by_code = qs.filter(code__iexact=query.upper())
        by_title = qs.filter(title__icontains=query)
        clients = _matching_clients(query, organisation)
        by_name = qs.filter(client__in=clients) if clients is not None else qs.none()
        qs = (by_code | by_title | by_name).distinct()
    return qs.select_related("client", "owner").order_by("-last_activity_at", "-id")


def client_list(*, viewer: Any, organisation: Any, query: str = "") -> QuerySet[Client]:
    qs = access.visible_clients(viewer).filter(organisation=organisation)
    query = (query or "").strip()
    if query:
        clients = _matching_clients(query, organisation)
        if clients is None:
            return qs.none()
        qs = qs.filter(pk__in=clients.values("pk"))
    return qs.order_by("-created_at", "-id")


def case_timeline(case: Case, *, limit: int = 100) -> QuerySet[CaseEvent]:
    return (
        CaseEvent.objects.filter(case=case).select_related("actor").order_by("-at", "-id")[:limit]
    )
