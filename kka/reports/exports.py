"""Program reports as files: PDF (with the kop surat and the charts), XLSX and CSV.

Everything here is made from a :class:`~kka.reports.protect.ShownReport`, never from the
raw figures: a withheld figure has no number left to leak, and is written as its text
("< 5") in every format. Spreadsheet cells go through :mod:`kka.lib.spreadsheet`, so a
label such as an organisation's own bidang name "=1+1" is never read as a formula.

The PDF is a :class:`~kka.documents.blocks.Doc` rendered by the documents pipeline
(``kka.documents.render``): the same letterhead, paper size, fonts and footer (with the
page numbers and the generated-at time in the organisation's zone) as every other
document. Charts are the SVGs of ``kka.reports.charts`` in :class:`Figure` blocks. It is
always in Indonesian, like every document; the spreadsheets follow the interface language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kka.documents import blocks as b
from kka.documents import render
from kka.lib.dates import long_datetime
from kka.lib.spreadsheet import neutralise_cell, neutralised_row
from kka.reports.protect import Shown, ShownReport, ShownRow, ShownTable

FORMATS = ("pdf", "xlsx", "csv")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
SHEET_NAME_MAX = 31  # Excel's limit
# Charts are drawn for a phone (about 122 mm wide); at 62% of the text width of A4 their
# labels come out at about 10.5 pt, next to the 10 pt tables.
CHART_WIDTH = 62
_SHEET_FORBIDDEN = set("[]:*?/\\")


@dataclass
class ReportFile:
    """What one download exports: the main report and, for a group, each member
    organisation's report after it. ``organisation`` gives the letterhead, the paper
    size and the time zone (for a group: the supervising organisation)."""

    kind: str  # "organisation", "own" or "group"
    report: ShownReport
    organisation: Any
    parts: list[tuple[str, ShownReport]] = field(default_factory=list)
    group_code: str = ""
    generated_at: dt.datetime = field(default_factory=timezone.now)

    def sections(self) -> Iterator[tuple[str, ShownReport]]:
        """(heading, report): the report itself first, then each member organisation."""
        yield self.report.subject, self.report
        yield from self.parts


# --- shared text -------------------------------------------------------------------------


def subject_label(kind: str) -> str:
    if kind == "group":
        return _("Kelompok lembaga")
    if kind == "own":
        return _("Konselor")
    return _("Lembaga")


def protection_note(report: ShownReport) -> str:
    if report.exact:
        return _(
            "Angka persis dari kasus Anda sendiri. Laporan ini tidak memuat nama konseli, "
            "kode kasus, atau isi kasus."
        )
    return _(
        "Angka yang berasal dari kurang dari %(threshold)s konseli ditampilkan sebagai "
        "“< %(threshold)s”. "
        "Angka lain dapat bergeser paling banyak 2 agar dua laporan tidak dapat saling "
        "dikurangkan untuk mengungkap angka kecil; karena itu jumlah dapat sedikit berbeda "
        "dari penjumlahan barisnya. Periode laporan selalu berupa bulan penuh. Laporan ini "
        "tidak memuat nama konseli, kode kasus, atau isi kasus."
    ) % {"threshold": report.threshold}


def period_text(report: ShownReport) -> str:
    period = report.period
    dates = "{} \N{EN DASH} {}".format(
        formats.date_format(period.start, "j F Y"), formats.date_format(period.end, "j F Y")
    )
    return dates if period.kind == "custom" else f"{period.label} ({dates})"


def threshold_text(report: ShownReport) -> str:
    if report.exact:
        return _("tidak ada (angka persis)")
    return ngettext("%(count)s konseli", "%(count)s konseli", report.threshold) % {
        "count": report.threshold
    }


def generated_text(export: ReportFile) -> str:
    return long_datetime(export.generated_at, export.organisation.time_zone)


DURATION_COLUMNS = ("cases", "q1", "median", "q3")


def duration_columns() -> list[tuple[str, str]]:
    return [
        ("cases", _("Kasus")),
        ("q1", _("Kuartil 1")),
        ("median", _("Median")),
        ("q3", _("Kuartil 3")),
    ]


def durations_table(report: ShownReport) -> ShownTable:
    """The durations (median and quartiles) as one more table, for the files."""
    return ShownTable(
        "durations",
        _("Lama waktu penanganan (hari)"),
        _("Rentang waktu"),
        duration_columns(),
        [
            ShownRow(d.slug, d.label, [getattr(d, column) for column in DURATION_COLUMNS])
            for d in report.durations
        ],
        None,
        chart="",
    )


def file_tables(report: ShownReport) -> list[ShownTable]:
    """Every table a file carries, in order; the durations last."""
    return [*report.tables, durations_table(report)]


def filename(kind: str, report: ShownReport, fmt: str, *, group_code: str = "") -> str:
    """``laporan-program-2026-07-01-2026-12-31.pdf``: the period only, never a name."""
    stem = {"organisation": "laporan-program", "own": "laporan-saya"}.get(kind, "")
    if kind == "group":
        code = "".join(c for c in group_code if c.isascii() and c.isalnum())
        stem = f"laporan-kelompok-{code}" if code else "laporan-kelompok"
    period = report.period
    return f"{stem}-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"


# --- PDF ---------------------------------------------------------------------------------


def _chart_svg(table: ShownTable) -> str | None:
    from kka.reports import charts

    return charts.chart_svg(table)


def _pdf_table(table: ShownTable) -> b.Table:
    rows = [(row.label, *(cell.text for cell in row.cells)) for row in table.rows]
    if table.total is not None:
        rows.append((table.total.label, *(cell.text for cell in table.total.cells)))
    count = len(table.columns)
    return b.Table(
        columns=(table.row_heading, *(label for _slug, label in table.columns)),
        rows=tuple(rows),
        widths=(max(6, 2 * count), *([3] * count)),
    )


def _pdf_section(report: ShownReport, *, charts: bool) -> list[b.Block]:
    out: list[b.Block] = []
    for table in file_tables(report):
        out.append(b.Heading(table.title, level=2))
        svg = _chart_svg(table) if charts and table.chart else None
        if svg:
            alt = _("Grafik: %(title)s. Angkanya ada pada tabel di bawahnya.") % {
                "title": table.title
            }
            out.append(b.Figure(svg.encode("utf-8"), "image/svg+xml", alt, width=CHART_WIDTH))
        out.append(_pdf_table(table))
    return out


def pdf_doc(export: ReportFile, *, member_charts: bool = True) -> b.Doc:
    """The report as a document (in the active language: :func:`pdf` sets Indonesian)."""
    report = export.report
    generated = generated_text(export)
    doc = b.Doc(
        kind="laporan_program",
        title=report.title,
        date_text=_("Dibuat %(when)s") % {"when": generated},
    )
    fields: list[tuple[str, str, str]] = [
        ("", subject_label(export.kind), report.subject),
        ("", _("Periode"), period_text(report)),
    ]
    if export.parts:
        fields.append(("", _("Lembaga anggota"), ", ".join(name for name, _r in export.parts)))
    fields += [
        ("", _("Batas angka kecil"), threshold_text(report)),
        ("", _("Dibuat"), generated),
    ]
    doc.add(
        b.Heading(report.title, level=2, centred=True),
        b.Fields(rows=tuple(fields)),
        b.Paragraph(protection_note(report), italic=True, small=True),
    )
    doc.add(*_pdf_section(report, charts=True))
    for name, part in export.parts:
        doc.add(
            b.PageBreak(),
            b.Heading(_("Lembaga anggota: %(name)s") % {"name": name}, level=2, centred=True),
            *_pdf_section(part, charts=member_charts),
        )
    return doc


def pdf(export: ReportFile) -> bytes:
    """The PDF, always in Indonesian; build ``export`` under ``translation.override("id")``
    too, so the report's own labels match."""
    with translation.override("id"):
        doc = pdf_doc(export)
        return render.render_pdf(doc, export.organisation)


# --- XLSX and CSV ------------------------------------------------------------------------


def _sheet_name(table: ShownTable, used: set[str]) -> str:
    names = {
        "durations": _("Lama waktu"),
        "cases_by_bidang": _("Kasus dibuka"),
        "closed_by_outcome": _("Kasus ditutup"),
        "kkas": _("KKA"),
        "participants": _("Peserta"),
        "commitments": _("Komitmen"),
        "commitment_shares": _("Persentase komitmen"),
        "evaluations": _("Penilaian"),
        "followups": _("Tindak lanjut"),
        "referrals": _("Alih tangan"),
        "trend": _("Per bulan"),
    }
    base = names.get(table.slug) or table.title or table.slug
    base = "".join(" " if c in _SHEET_FORBIDDEN else c for c in base).strip("' ")
    base = base[:SHEET_NAME_MAX] or "Tabel"
    name, n = base, 2
    while name.lower() in used or name.lower() == _("Keterangan").lower():
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def _number_cell(cell: Shown) -> tuple[Any, str]:
    """(value, number format) of a figure: a number where one is shown, otherwise its
    text ("< 5", "\N{EM DASH}"); percentages as fractions shown with "%"."""
    if cell.number is None:
        return neutralise_cell(cell.text), ""
    if cell.text.endswith("%"):
        return cell.number / 100, "0%"
    if isinstance(cell.number, float) and not cell.number.is_integer():
        return cell.number, "0.0"
    return int(cell.number), "0"


def _info_rows(export: ReportFile) -> list[tuple[str, str]]:
    report = export.report
    rows = [
        (_("Judul"), report.title),
        (subject_label(export.kind), report.subject),
        (_("Periode"), period_text(report)),
        (_("Dari tanggal"), report.period.start.isoformat()),
        (_("Sampai tanggal"), report.period.end.isoformat()),
        (_("Batas angka kecil"), threshold_text(report)),
        (_("Perlindungan angka"), protection_note(report)),
        (_("Dibuat"), generated_text(export)),
    ]
    for name, _part in export.parts:
        rows.append((_("Lembaga anggota"), name))
    return rows


def xlsx(export: ReportFile) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    book = Workbook()
    info = book.active
    info.title = _("Keterangan")
    for label, value in _info_rows(export):
        info.append(neutralised_row([label, value]))
    for row in info.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 100
    for cell in info["B"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    sections = list(export.sections())
    used: set[str] = set()
    for index, table in enumerate(file_tables(export.report)):
        sheet = book.create_sheet(_sheet_name(table, used))
        sheet.column_dimensions["A"].width = 42
        for column in range(2, len(table.columns) + 2):
            sheet.column_dimensions[_column_letter(column)].width = 16
        sheet.append([neutralise_cell(table.title)])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
        for name, report in sections:
            shown = file_tables(report)[index]
            sheet.append([])
            if len(sections) > 1:
                sheet.append([neutralise_cell(name)])
                sheet.cell(row=sheet.max_row, column=1).font = bold
            sheet.append(neutralised_row([shown.row_heading, *(lbl for _s, lbl in shown.columns)]))
            for cell in sheet[sheet.max_row]:
                cell.font = bold
            body = [*shown.rows, *([shown.total] if shown.total is not None else [])]
            for row in body:
                sheet.append([neutralise_cell(row.label)])
                line = sheet.max_row
                for column, figure in enumerate(row.cells, start=2):
                    value, number_format = _number_cell(figure)
                    target = sheet.cell(row=line, column=column, value=value)
                    target.data_type = "s" if isinstance(value, str) else "n"
                    if number_format:
                        target.number_format = number_format
                    else:
                        target.alignment = Alignment(horizontal="right")
                if row is shown.total:
                    for cell in sheet[line]:
                        cell.font = bold
    book.properties.creator = "KKA"
    book.properties.lastModifiedBy = "KKA"
    book.properties.title = export.report.title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _plain_number(cell: Shown) -> str:
    """A machine-readable number ("12", "2.5"), or "" for a withheld or empty figure."""
    if cell.number is None:
        return ""
    if float(cell.number).is_integer():
        return str(int(cell.number))
    return f"{float(cell.number):.1f}"


def csv_bytes(export: ReportFile) -> bytes:
    """One file: a line per figure with its section (the report's subject), table, row
    and column, the number (empty when withheld) and the text as shown."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        neutralised_row([_("Bagian"), _("Tabel"), _("Baris"), _("Kolom"), _("Nilai"), _("Teks")])
    )
    for name, report in export.sections():
        for table in file_tables(report):
            body = [*table.rows, *([table.total] if table.total is not None else [])]
            for row in body:
                for (_slug, column), figure in zip(table.columns, row.cells, strict=True):
                    writer.writerow(
                        neutralised_row(
                            [
                                name,
                                table.title,
                                row.label,
                                column,
                                _plain_number(figure),
                                figure.text,
                            ]
                        )
                    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_file(export: ReportFile, fmt: str) -> bytes:
    if fmt == "pdf":
        return pdf(export)
    if fmt == "xlsx":
        return xlsx(export)
    if fmt == "csv":
        return csv_bytes(export)
    raise ValueError(fmt)
