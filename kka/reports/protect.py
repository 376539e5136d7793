"""From raw cells to what a person may see: the small-number rule and the
differencing guard, plus the labels every output (page, PDF, exports, API) shares.

Protected views (organisation and group reports):

1. **Small numbers.** A non-zero figure that comes from fewer than ``threshold``
   distinct clients is shown as "< 5" (or "< threshold"); its number is withheld
   everywhere, including the API and exports.
2. **Differencing.** Every other figure is moved by a fixed amount between -2 and +2
   chosen by a keyed hash (HMAC with the server's index key) of its count and its
   *cell key* (the sum of the ids of the rows it counts) — deliberately not of the
   figure's name. The same rows always give the same figure, wherever it appears
   (another table, column, period or report), so a report is stable and repeating a
   figure under another name gives an attacker no second, independent draw to average
   away. Two figures over different rows carry independent adjustments, so
   subtracting one report from another does not give back a suppressed count. This is
   the "cell key" method statistics offices use for flexible tables. A figure never
   drops below the threshold because of the adjustment. Totals are their own cells and
   are adjusted independently of their rows.
3. **Derived figures.** Ratios (participants per KKA, shares of commitments) are made
   from the shown figures, never from true ones, and are withheld ("—") when their
   numerator or base is withheld; a share is at most 100%. Durations (quartiles of
   days) are withheld when the cases behind them come from fewer than ``threshold``
   clients.
4. **Periods** of protected views are whole months (``periods.snap_to_months``).

What remains (known, accepted): an attacker who can pull many reports over many
*different* sets of rows that all contain the same few cases (for instance every pair
"January to X" / "February to X" for X through the year) gets a new independent draw
from each pair and could average them. Whole-month periods limit how many such pairs
exist; the noise is the guard for a single or a handful of differences, which is what
tests/reports/test_protect.py proves.

The counsellor's own report is exact: they already know their clients.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kka.cases.models import BUILTIN_BIDANG, CaseOutcome, CaseStatus
from kka.cases.selectors import bidang_choices
from kka.conferences.models import (
    PARTICIPANT_CATEGORIES,
    EvaluationKind,
    FollowUpKind,
    ReferralTo,
)
from kka.reports.figures import COUNSELLOR_CATEGORY, Cell, Quartiles, RawReport, Table
from kka.reports.periods import Period

DEFAULT_THRESHOLD = 5
NOISE = (-2, -1, 0, 1, 2)


@dataclass(frozen=True)
class Shown:
    """One figure as shown: ``number`` is None when it is withheld."""

    number: int | float | None
    text: str

    @property
    def suppressed(self) -> bool:
        return self.number is None and self.text != "\N{EM DASH}"


@dataclass
class ShownRow:
    slug: str
    label: str
    cells: list[Shown]


@dataclass
class ShownTable:
    slug: str
    title: str
    row_heading: str
    columns: list[tuple[str, str]]
    rows: list[ShownRow]
    total: ShownRow | None = None
    chart: str = "bar"  # "bar", "stacked", "line" or "" (no chart)


@dataclass
class ShownDuration:
    slug: str
    label: str
    cases: Shown
    q1: Shown
    median: Shown
    q3: Shown


@dataclass
class ShownReport:
    title: str
    subject: str  # organisation, group or counsellor name
    period: Period
    exact: bool
    threshold: int
    tables: list[ShownTable] = field(default_factory=list)
    durations: list[ShownDuration] = field(default_factory=list)

    def table(self, slug: str) -> ShownTable:
        return next(t for t in self.tables if t.slug == slug)


DASH = Shown(None, "\N{EM DASH}")


class Protector:
    def __init__(self, *, threshold: int, exact: bool) -> None:
        self.threshold = threshold
        self.exact = exact

    def cell(self, figure: str, cell: Cell) -> Shown:
        if self.exact or cell.value == 0:
            return Shown(cell.value, _number(cell.value))
        if cell.clients < self.threshold:
            return Shown(None, f"< {self.threshold}")
        shown = max(cell.value + noise(figure, cell), self.threshold)
        return Shown(shown, _number(shown))

    def allowed(self, clients: int) -> bool:
        return self.exact or clients >= self.threshold


def noise(figure: str, cell: Cell) -> int:
    """The fixed adjustment of a cell: a function of its rows (value and cell key)
    only. ``figure`` is accepted for callers and deliberately not used (see the module
    docstring, point 2)."""
    key = settings.SEARCH_INDEX_KEY.encode("utf-8")
    message = f"report-cell:{cell.value}:{cell.key}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return NOISE[int.from_bytes(digest[:4], "big") % len(NOISE)]


def _number(value: float) -> str:
    return formats.number_format(value, decimal_pos=0 if float(value).is_integer() else 1)


def _ratio(numerator: Shown, denominator: Shown, *, percent: bool) -> Shown:
    if numerator.number is None or not denominator.number:
        return DASH
    value = numerator.number / denominator.number * (100 if percent else 1)
    # Adjusted figures can make a part look larger than its whole; a share stops at 100%.
    value = min(round(value), 100) if percent else round(value, 1)
    text = _number(value) + ("%" if percent else "")
    return Shown(value, text)


def _rows(
    protector: Protector,
    table: Table,
    order: Iterable[tuple[str, Any]],
    *,
    keep_empty: bool = True,
) -> list[ShownRow]:
    rows: list[ShownRow] = []
    seen: set[str] = set()
    labelled = list(order)
    known = {slug for slug, _label in labelled}
    extra = [(slug, slug) for slug in table.rows if slug not in known]
    for slug, label in [*labelled, *extra]:
        if slug in seen:
            continue
        seen.add(slug)
        cells = table.rows.get(slug)
        if cells is None and not keep_empty:
            continue
        rows.append(
            ShownRow(
                slug,
                str(label),
                [
                    protector.cell(f"{table.slug}:{slug}:{col}", (cells or {}).get(col, _ZERO))
                    for col in table.columns
                ],
            )
        )
    return rows


_ZERO = Cell(0, 0, 0)


def _total(protector: Protector, table: Table) -> ShownRow:
    return ShownRow(
        "total",
        _("Jumlah"),
        [protector.cell(f"{table.slug}:total:{col}", table.total[col]) for col in table.columns],
    )


def _duration(protector: Protector, slug: str, label: str, q: Quartiles) -> ShownDuration:
    cases = protector.cell(f"duration:{slug}", Cell(q.n, q.clients, q.key))
    if q.n == 0:
        return ShownDuration(slug, label, cases, DASH, DASH, DASH)
    if not protector.allowed(q.clients):
        hidden = Shown(None, f"< {protector.threshold}")
        return ShownDuration(slug, label, cases, hidden, hidden, hidden)

    def days(value: float | None) -> Shown:
        if value is None:
            return DASH
        return Shown(value, _("%(days)s hari") % {"days": _number(value)})

    return ShownDuration(slug, label, cases, days(q.q1), days(q.median), days(q.q3))


def month_label(month: dt.date) -> str:
    return formats.date_format(month, "M Y")


def present(
    raw: RawReport,
    *,
    title: str,
    subject: str,
    period: Period,
    threshold: int,
    exact: bool,
    bidang_source: Any = None,
) -> ShownReport:
    """Label and protect every figure of ``raw``.

    ``bidang_source`` is the organisation whose own bidang names label the rows (None
    for a group: built-in names, other names as written)."""
    if not exact:  # never below the default, whatever a caller passes
        threshold = max(threshold, DEFAULT_THRESHOLD)
    p = Protector(threshold=threshold, exact=exact)
    report = ShownReport(
        title=title, subject=subject, period=period, exact=exact, threshold=threshold
    )
    bidang: list[tuple[str, Any]] = (
        bidang_choices(bidang_source)
        if bidang_source is not None
        else [(k, str(v)) for k, v in BUILTIN_BIDANG]
    )
    status_columns = [
        ("opened", _("Dibuka")),
        *[(s.value, s.label) for s in CaseStatus],
    ]
    t = raw.cases_by_bidang
    report.tables.append(
        ShownTable(
            "cases_by_bidang",
            _("Kasus yang dibuka dalam periode, menurut bidang dan status sekarang"),
            _("Bidang"),
            [(slug, str(label)) for slug, label in status_columns],
            _rows(p, t, bidang),
            _total(p, t),
            chart="stacked",
        )
    )
    t = raw.closed_by_outcome
    report.tables.append(
        ShownTable(
            "closed_by_outcome",
            _("Kasus yang ditutup dalam periode, menurut bidang dan hasil"),
            _("Bidang"),
            [("closed", _("Ditutup")), *[(o.value, str(o.label)) for o in CaseOutcome]],
            _rows(p, t, bidang),
            _total(p, t),
            chart="stacked",
        )
    )
    t = raw.kkas
    kkas_total = _total(p, t)
    report.tables.append(
        ShownTable(
            "kkas",
            _("KKA yang terlaksana, menurut bidang"),
            _("Bidang"),
            [("held", _("KKA terlaksana"))],
            _rows(p, t, bidang),
            kkas_total,
        )
    )
    held = kkas_total.cells[0]
    t = raw.participants
    participant_rows = _rows(p, t, PARTICIPANT_CATEGORIES)
    for row in participant_rows:
        row.cells.append(_ratio(row.cells[0], held, percent=False))
    participant_total = _total(p, t)
    participant_total.cells.append(_ratio(participant_total.cells[0], held, percent=False))
    report.tables.append(
        ShownTable(
            "participants",
            _("Peserta KKA menurut kategori"),
            _("Kategori peserta"),
            [
                ("listed", _("Peserta")),
                ("attended", _("Hadir")),
                ("per_kka", _("Rata-rata per KKA")),
            ],
            participant_rows,
            participant_total,
        )
    )
    t = raw.commitments
    commitment_categories = [
        *PARTICIPANT_CATEGORIES,
        (COUNSELLOR_CATEGORY, pgettext("commitment by", "Konselor")),
    ]
    commitment_rows = _rows(p, t, commitment_categories)
    commitment_total = _total(p, t)
    report.tables.append(
        ShownTable(
            "commitments",
            _("Komitmen dari KKA dalam periode, menurut kategori pihak"),
            _("Pihak yang berkomitmen"),
            [
                ("total", _("Komitmen")),
                ("done", _("Terlaksana")),
                ("not_done", _("Tidak terlaksana")),
                ("overdue", _("Lewat batas waktu")),
                ("running", _("Masih berjalan")),
            ],
            commitment_rows,
            commitment_total,
            chart="stacked",
        )
    )
    share_rows = [
        ShownRow(
            row.slug,
            row.label,
            [_ratio(row.cells[i], row.cells[0], percent=True) for i in (1, 2, 3)],
        )
        for row in [*commitment_rows, commitment_total]
    ]
    report.tables.append(
        ShownTable(
            "commitment_shares",
            _("Persentase komitmen terlaksana, tidak terlaksana dan lewat batas waktu"),
            _("Pihak yang berkomitmen"),
            [
                ("done", _("Terlaksana")),
                ("not_done", _("Tidak terlaksana")),
                ("overdue", _("Lewat batas waktu")),
            ],
            share_rows[:-1],
            share_rows[-1],
            chart="",
        )
    )
    t = raw.evaluations
    report.tables.append(
        ShownTable(
            "evaluations",
            _("Penilaian (laiseg, laijapen, laijapang) dan ketepatan waktunya"),
            _("Jenis penilaian"),
            [
                ("total", _("Penilaian")),
                ("on_time", _("Tepat waktu")),
                ("late", _("Terlambat")),
                ("overdue", _("Belum dilakukan, lewat jadwal")),
                ("pending", _("Belum jatuh jadwal")),
            ],
            _rows(
                p,
                t,
                [(k, v) for k, v in EvaluationKind.choices if k != EvaluationKind.PROCESS],
            ),
            _total(p, t),
            chart="stacked",
        )
    )
    t = raw.followups
    report.tables.append(
        ShownTable(
            "followups",
            _("Tindak lanjut yang diputuskan dalam periode, menurut jenis"),
            _("Jenis tindak lanjut"),
            [("count", _("Tindak lanjut"))],
            _rows(p, t, FollowUpKind.choices),
            _total(p, t),
        )
    )
    t = raw.referrals
    report.tables.append(
        ShownTable(
            "referrals",
            _("Alih tangan kasus menurut tujuan"),
            _("Dialihtangankan kepada"),
            [("count", _("Alih tangan"))],
            _rows(p, t, ReferralTo.choices),
            _total(p, t),
        )
    )
    months = raw.trend.months
    series_labels = {
        "cases_opened": _("Kasus dibuka"),
        "kkas_held": _("KKA terlaksana"),
        "active_cases": _("Kasus aktif di akhir bulan"),
    }
    report.tables.append(
        ShownTable(
            "trend",
            _("Perkembangan per bulan") if not exact else _("Beban kerja per bulan"),
            _("Bulan"),
            [(slug, str(series_labels[slug])) for slug in raw.trend.series],
            [
                ShownRow(
                    month.isoformat()[:7],
                    month_label(month),
                    [
                        p.cell(f"trend:{slug}:{month.isoformat()[:7]}", values[index])
                        for slug, values in raw.trend.series.items()
                    ],
                )
                for index, month in enumerate(months)
            ],
            None,
            chart="line",
        )
    )
    report.durations = [
        _duration(p, "to_first_kka", _("Dari kasus dibuka sampai KKA pertama"), raw.to_first_kka),
        _duration(p, "to_closure", _("Dari kasus dibuka sampai kasus ditutup"), raw.to_closure),
    ]
    return report
