"""Template helpers for Indonesian dates in the organisation's time zone."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from kka.lib import dates

register = template.Library()


@register.filter
def long_date(value: dt.date | dt.datetime | None) -> str:
    return dates.long_date(value) if value else ""


@register.filter
def long_datetime(value: dt.datetime | None) -> str:
    return dates.long_datetime(value) if value else ""


@register.simple_tag
def now_long() -> str:
    return dates.long_date(timezone.now())
