"""Indonesian dates and the organisation's time zone (WIB / WITA / WIT)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import formats, timezone, translation

ZONE_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def zone_abbreviation(zone_name: str) -> str:
    return ZONE_ABBREVIATIONS.get(zone_name, zone_name)


def local(value: dt.datetime, zone_name: str | None = None) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(zone_name) if zone_name else timezone.get_current_timezone()
    return timezone.localtime(value, zone)


def long_date(value: dt.date | dt.datetime, zone_name: str | None = None) -> str:
    """'Senin, 30 November 2026' (in the active language)."""
    if isinstance(value, dt.datetime):
        value = local(value, zone_name)
    return formats.date_format(value, "l, j F Y")


def long_datetime(value: dt.datetime, zone_name: str | None = None) -> str:
    """'Senin, 30 November 2026 pukul 09.00 WIB'."""
    zone = zone_name or timezone.get_current_timezone_name()
    moment = local(value, zone)
    word = translation.pgettext("time of day", "pukul")
    return f"{long_date(moment, zone)} {word} {moment:%H.%M} {zone_abbreviation(zone)}"
