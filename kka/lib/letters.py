"""Official letter numbers from an organisation's pattern."""

from __future__ import annotations

import datetime as dt
import string

ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
FIELDS = {"seq", "month", "roman_month", "year"}


class BadPattern(ValueError):
    pass


def check_pattern(pattern: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise BadPattern(str(exc)) from exc
    if "seq" not in names:
        raise BadPattern("the pattern must contain {seq}")
    unknown = names - FIELDS
    if unknown:
        raise BadPattern(f"unknown fields: {sorted(unknown)}")
    format_number(pattern, seq=1, day=dt.date(2026, 1, 1))


def format_number(pattern: str, *, seq: int, day: dt.date) -> str:
    try:
        return pattern.format(
            seq=seq, month=day.month, roman_month=ROMAN_MONTHS[day.month - 1], year=day.year
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise BadPattern(str(exc)) from exc
