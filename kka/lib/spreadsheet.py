"""Cells for CSV/XLSX exports that a spreadsheet never reads as a formula.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can be run
as a formula (or a DDE command) by Excel or LibreOffice Calc. Such a cell is prefixed
with an apostrophe, which the spreadsheet shows as plain text (OWASP "CSV injection").
Every export writes its cells through :func:`neutralise_cell` or :func:`neutralised_row`.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """The cell as text, with an apostrophe in front if it could start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def neutralised_row(values: Iterable[object]) -> list[str]:
    return [neutralise_cell(value) for value in values]
