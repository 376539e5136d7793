"""The period a program report covers.

Indonesian schools run a school year (tahun pelajaran) from July to June, in two
semesters: ganjil (July to December) and genap (January to June). A custom period is any
range of whole days; for views that protect small numbers it is widened to whole
months (``snap_to_months``), so two reports cannot differ by a single day's cases.

``parse`` takes dates written exactly as YYYY-MM-DD, refuses an end before the start,
a period longer than three years (``MAX_DAYS``) and days outside 2000-2099.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _

MAX_DAYS = 3 * 366  # a report covers at most three years
FIRST_DAY = dt.date(2000, 1, 1)  # no report reaches before or after these
LAST_DAY = dt.date(2099, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class PeriodError(ValueError):
    """A period the report cannot use; the message is shown to the person."""


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive
    kind: str  # "semester", "year" or "custom"

    @property
    def label(self) -> str:
        if self.kind == "year":
            return _("Tahun Pelajaran %(years)s") % {"years": self.school_years}
        if self.kind == "semester":
            name = _("Ganjil") if self.start.month == 7 else _("Genap")
            return _("Semester %(name)s %(years)s") % {"name": name, "years": self.school_years}
        start = formats.date_format(self.start, "j F Y")
        return f"{start} \N{EN DASH} {formats.date_format(self.end, 'j F Y')}"

    @property
    def school_years(self) -> str:
        first = self.start.year if self.start.month >= 7 else self.start.year - 1
        return f"{first}/{first + 1}"

    def months(self) -> list[dt.date]:
        """The first day of every month the period touches."""
        out = []
        cursor = self.start.replace(day=1)
        while cursor <= self.end:
            out.append(cursor)
            cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
        return out

    def as_query(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def school_year(today: dt.date) -> Period:
    first = today.year if today.month >= 7 else today.year - 1
    return Period(dt.date(first, 7, 1), dt.date(first + 1, 6, 30), "year")


def semester(today: dt.date) -> Period:
    if today.month >= 7:
        return Period(dt.date(today.year, 7, 1), dt.date(today.year, 12, 31), "semester")
    return Period(dt.date(today.year, 1, 1), dt.date(today.year, 6, 30), "semester")


def previous(period: Period) -> Period:
    """The period of the same kind just before (for the period picker)."""
    day_before = period.start - dt.timedelta(days=1)
    if period.kind == "year":
        return school_year(day_before)
    return semester(day_before)


def classify(start: dt.date, end: dt.date) -> Period:
    """A period whose dates happen to be a semester or school year is named as one."""
    for candidate in (school_year(start), semester(start)):
        if candidate.start == start and candidate.end == end:
            return candidate
    return Period(start, end, "custom")


def snap_to_months(period: Period) -> Period:
    last = calendar.monthrange(period.end.year, period.end.month)[1]
    return classify(period.start.replace(day=1), period.end.replace(day=last))


def parse(
    raw_from: str | None, raw_to: str | None, *, today: dt.date, whole_months: bool
) -> Period:
    """A period from ``from``/``to`` query values (ISO dates); the current semester
    when both are missing. Raises :class:`PeriodError` with a message to show."""
    if not raw_from and not raw_to:
        return semester(today)
    start = _date(raw_from)
    end = _date(raw_to)
    if end < start:
        raise PeriodError(_("Tanggal akhir periode tidak boleh sebelum tanggal awal."))
    if (end - start).days > MAX_DAYS:
        raise PeriodError(_("Periode laporan paling panjang tiga tahun."))
    if start < FIRST_DAY or end > LAST_DAY:
        raise PeriodError(_("Periode laporan harus di antara tahun 2000 dan 2099."))
    period = classify(start, end)
    return snap_to_months(period) if whole_months else period


def _date(raw: str | None) -> dt.date:
    """A day written exactly as YYYY-MM-DD (no week dates, no other ISO forms)."""
    value = (raw or "").strip()
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodError(_("Tanggal periode tidak dikenali; gunakan format TTTT-BB-HH.")) from None
