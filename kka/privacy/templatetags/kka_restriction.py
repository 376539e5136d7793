"""The restriction banner on client, case and KKA pages (UU PDP restriction of processing)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from kka.privacy.restriction import banner_state

register = template.Library()


@register.simple_tag
def restriction_banner(client: Any) -> str:
    """ "Pemrosesan dibatasi sejak … — perubahan ditolak", or nothing."""
    if client is None:
        return ""
    started_at = banner_state(client)
    if started_at is None:
        return ""
    return render_to_string(
        "privacy/restriction_banner.html", {"restriction": {"started_at": started_at}}
    )
