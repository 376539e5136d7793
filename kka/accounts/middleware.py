"""Active organisation, its time zone, and the interface language for each request."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from kka.accounts import memo
from kka.accounts.models import Membership

SESSION_ORGANISATION_KEY = "kka_org"


def active_memberships(user: Any) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user, is_active=True, organisation__isnull=False)
        .select_related("organisation")
        .order_by("organisation__name", "id")
    )


class OrganisationMiddleware:
    """Sets ``request.membership`` / ``request.organisation`` and the time zone.

    Memberships are read on every request, so a removed or deactivated membership
    stops working on the very next request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.memberships = []  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.organisation = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            memberships = active_memberships(request.user)
            wanted = request.session.get(SESSION_ORGANISATION_KEY)
            chosen = next((m for m in memberships if m.organisation.code == wanted), None)
            if chosen is None and memberships:
                chosen = memberships[0]
            request.memberships = memberships  # type: ignore[attr-defined]
            request.membership = chosen  # type: ignore[attr-defined]
            request.organisation = chosen.organisation if chosen else None  # type: ignore[attr-defined]
        zone = (
            request.organisation.time_zone  # type: ignore[attr-defined]
            if request.organisation  # type: ignore[attr-defined]
            else settings.TIME_ZONE
        )
        timezone.activate(zoneinfo.ZoneInfo(zone))
        # The access checks reuse this request's memberships (kka.accounts.memo).
        token = memo.remember(request.user, memberships) if request.user.is_authenticated else None
        try:
            return self.get_response(request)
        finally:
            if token is not None:
                memo.release(token)
            timezone.deactivate()


def requested_language(request: HttpRequest) -> str:
    supported = {code for code, _ in settings.LANGUAGES}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language in supported:
        return str(user.language)
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in supported:
        return str(cookie)
    # Indonesian unless a person chose otherwise; the browser's Accept-Language is ignored.
    return str(settings.LANGUAGE_CODE)


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = requested_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        return response
