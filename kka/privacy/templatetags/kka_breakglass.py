"""Break-glass on case and KKA pages: the banner, and whether to hide private notes."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from kka.cases.models import Case
from kka.lib import dates
from kka.privacy import breakglass
from kka.privacy.models import BreakGlass

register = template.Library()


@register.simple_tag(takes_context=True)
def breakglass_grant(context: template.Context, case: Case, role: Any = None) -> BreakGlass | None:
    """The grant under which the viewer reads this case, or None (on the case, or no grant).

    ``role``: the viewer's role on the case when the page knows it (no query for the team)."""
    if role is not None and role != breakglass.ROLE:
        return None
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not breakglass.is_break_glass(user, case):
        return None
    return breakglass.active_grant(user, case)


@register.simple_tag(takes_context=True)
def breakglass_banner(context: template.Context, case: Case, role: Any = None) -> str:
    """The "Akses darurat sampai HH.MM" banner with an end button; empty for the case team."""
    if role is not None and role != breakglass.ROLE:
        return ""
    grant = breakglass_grant(context, case)
    if grant is None:
        return ""
    zone = case.organisation.time_zone
    until = f"{dates.local(grant.expires_at, zone):%H.%M} {dates.zone_abbreviation(zone)}"
    return render_to_string(
        "privacy/breakglass_banner.html",
        {"grant": grant, "until": until},
        request=context.get("request"),
    )
