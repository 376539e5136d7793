"""Charts of a program report, drawn on the server as SVG with matplotlib.

Only matplotlib's object API is used (``Figure`` and its SVG backend, never pyplot's
global state). rcParams are global, so every chart is drawn under one lock and one
``rc_context``. Output is deterministic: a fixed hash salt per chart, no date and no
creator metadata, no DOCTYPE (so the document names no outside resource).

What a chart shows is what the table next to it shows, never more: a withheld figure
("< 5", ``Shown.number is None``) is not drawn at all, and stacked bars stack only the
figures that are shown (the row total, the table's first column, is never drawn as a
bar of its own, so no bar length gives a withheld part back).

Public interface (the PDF uses it too): :func:`chart_svg` and :func:`chart_data_uri`.
"""

from __future__ import annotations

import base64
import math
import os
import re
import sys
import tempfile
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kka.reports.protect import Shown, ShownTable

# Widths and heights in inches (the SVG is in points, 72 per inch). The page shows the
# image at the width of its column, so the fonts are sized for a phone (about 350 CSS
# pixels wide, a scale of about 0.75).
WIDTH = 4.0
LABEL_SIZE = 12.5
VALUE_SIZE = 11.5
NOTE_SIZE = 11
LINE_HEIGHT = 0.22  # one line of a 12.5 pt label
BAR_HEIGHT = 0.26
ROW_GAP = 0.16
WRAP = 34  # characters per label line

INK = "#1d2321"
MUTED = "#4f5a56"
GRID = "#d5dbd8"
BRAND = "#0b5d4b"
# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), each
# with a pattern, so colour is never the only difference between two series.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
HATCHES = ("", "/", ".", "x", "\\", "+")
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", "-", "--")

_LOCK = threading.Lock()


def _configure_matplotlib_dir() -> None:
    """matplotlib caches its font list under MPLCONFIGDIR (default: $HOME). Point it at
    the KKA data directory, or at a temporary directory if that cannot be written."""
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return
    target = Path(settings.DATA_DIR) / "matplotlib"
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not os.access(target, os.W_OK):
            raise OSError
    except OSError:
        target = Path(tempfile.mkdtemp(prefix="kka-matplotlib-"))
    os.environ["MPLCONFIGDIR"] = str(target)


def _rc(salt: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": f"kka-report-{salt}",
        "svg.image_inline": True,
        # Labels are data (bidang names an organisation writes): never TeX or mathtext.
        "text.parse_math": False,
        "text.usetex": False,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
        "font.size": LABEL_SIZE,
        "text.color": INK,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": INK,
        "axes.linewidth": 0.8,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "xtick.labelcolor": INK,
        "ytick.labelcolor": INK,
        "xtick.labelsize": VALUE_SIZE,
        "ytick.labelsize": VALUE_SIZE,
        "hatch.linewidth": 0.8,
        "path.simplify": True,
        "figure.dpi": 72,
        "savefig.dpi": 72,
    }


@dataclass
class _Row:
    label: str
    values: list[float | None]  # None: nothing to draw (withheld, or no figure)
    withheld: bool  # at least one of the row's figures is withheld


def _value(cell: Shown) -> float | None:
    if cell.number is None:
        return None
    return float(cell.number)


def _withheld_text(table: ShownTable) -> str | None:
    for row in table.rows:
        for cell in row.cells:
            if cell.suppressed:
                return cell.text
    return None


def _series(table: ShownTable) -> tuple[list[str], list[_Row]]:
    """The series labels and, per row, the values to draw, by chart kind."""
    if table.chart == "bar":
        columns = [table.columns[0][1]] if table.columns else []
        rows = [
            _Row(row.label, [_value(row.cells[0])], row.cells[0].suppressed)
            for row in table.rows
            if row.cells
        ]
        return columns, rows
    if table.chart == "stacked":
        columns = [label for _slug, label in table.columns[1:]]
        rows = [
            _Row(
                row.label,
                [_value(cell) for cell in row.cells[1:]],
                any(cell.suppressed for cell in row.cells[1:]),
            )
            for row in table.rows
        ]
        return columns, rows
    # "line": one series per column over the month rows
    columns = [label for _slug, label in table.columns]
    rows = [
        _Row(row.label, [_value(cell) for cell in row.cells], any(c.suppressed for c in row.cells))
        for row in table.rows
    ]
    return columns, rows


def _something_to_draw(rows: list[_Row]) -> bool:
    """At least one figure above zero is shown (a chart of withheld figures and zeros
    would be empty)."""
    return any(v > 0 for row in rows for v in row.values if v is not None)


def chart_svg(table: ShownTable) -> str | None:
    """The chart of ``table`` as an SVG document, or None when the table has no chart
    or nothing to plot. Labels are in the active language."""
    if table.chart not in ("bar", "stacked", "line"):
        return None
    columns, rows = _series(table)
    if not rows or not columns or not _something_to_draw(rows):
        return None
    return _cached_svg(repr(table), get_language() or "", table)


def chart_data_uri(table: ShownTable) -> str | None:
    """The chart as a ``data:`` URI for an ``<img src>`` (the page CSP allows data
    images but no inline styles, which an inline SVG would need)."""
    svg = chart_svg(table)
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# The same table gives the same SVG (deterministic), so recent charts are kept: a
# report page draws up to ten of them. A key holds aggregate figures and labels only.
_CACHE: OrderedDict[tuple[str, str], str] = OrderedDict()
_CACHE_SIZE = 128


def _cached_svg(key: str, language: str, table: ShownTable) -> str:
    with _LOCK:
        svg = _CACHE.get((key, language))
        if svg is not None:
            _CACHE.move_to_end((key, language))
            return svg
    svg = _render(table)
    with _LOCK:
        _CACHE[(key, language)] = svg
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return svg


def _render(table: ShownTable) -> str:
    import io

    _configure_matplotlib_dir()
    import matplotlib
    from matplotlib.figure import Figure

    columns, rows = _series(table)
    with _LOCK, matplotlib.rc_context(cast(Any, _rc(table.slug))):
        figure = Figure()
        if table.chart == "line":
            _draw_line(figure, columns, rows, _withheld_text(table))
        else:
            _draw_bars(
                figure, columns, rows, _withheld_text(table), stacked=table.chart == "stacked"
            )
        buffer = io.StringIO()
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buffer.getvalue()
    # The DOCTYPE names an outside DTD; an SVG document does not need it.
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, count=1)


# --- drawing ---------------------------------------------------------------------------


def _wrap(label: str) -> list[str]:
    return textwrap.wrap(label, WRAP, break_on_hyphens=False) or [""]


def _legend_lines(columns: list[str]) -> tuple[int, int]:
    """Legend columns and lines: two columns when every label is short."""
    ncol = 2 if max(len(c) for c in columns) <= 16 and len(columns) > 1 else 1
    return ncol, math.ceil(len(columns) / ncol)


def _text_width(text: str, size: float) -> float:
    """A generous estimate of a text's width in inches (DejaVu Sans averages about
    0.6 em per character)."""
    return len(text) * size * 0.6 / 72


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _note(figure: Any, withheld: str | None, height: float) -> None:
    if withheld is None:
        return
    note = figure.text(
        0.1 / WIDTH,
        0.12 / height,
        _("%(shown)s: tidak digambar (terlalu sedikit konseli)") % {"shown": withheld},
        fontsize=NOTE_SIZE,
        color=MUTED,
        ha="left",
        va="bottom",
    )
    note.set_gid("withheld-note")


def _legend(figure: Any, handles: list[Any], columns: list[str], height: float) -> None:
    ncol, _lines = _legend_lines(columns)
    figure.legend(
        handles,
        columns,
        loc="upper left",
        bbox_to_anchor=(0.02 / WIDTH, 1 - 0.04 / height),
        ncol=ncol,
        frameon=False,
        fontsize=VALUE_SIZE,
        handlelength=1.6,
        handleheight=1.0,
        columnspacing=1.0,
        borderaxespad=0,
        borderpad=0.2,
    )


def _draw_bars(
    figure: Any, columns: list[str], rows: list[_Row], withheld: str | None, *, stacked: bool
) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    labels = [_wrap(row.label) for row in rows]
    _ncol, legend_lines = _legend_lines(columns)
    legend_height = legend_lines * 0.26 + 0.12
    row_heights = [len(lines) * LINE_HEIGHT + BAR_HEIGHT + ROW_GAP for lines in labels]
    plot_height = sum(row_heights) + 0.05
    axis_height = 0.4
    note_height = 0.4 if withheld else 0.1
    height = legend_height + plot_height + axis_height + note_height
    figure.set_size_inches(WIDTH, height)

    left, right = 0.12, 0.12
    axes = figure.add_axes(
        (
            left / WIDTH,
            (axis_height + note_height) / height,
            (WIDTH - left - right) / WIDTH,
            plot_height / height,
        )
    )
    # y runs in inches from the bottom of the plot area, so the layout is exact.
    totals = [sum(v for v in row.values if v is not None) for row in rows]
    largest = max([*totals, 1.0])
    value_room = 0.55  # inches kept right of the longest bar for its value
    plot_width = WIDTH - left - right
    xmax = largest * plot_width / max(plot_width - value_room, 0.5)
    axes.set_xlim(0, xmax)
    axes.set_ylim(0, plot_height)
    per_inch = xmax / plot_width

    colours = [BRAND] if not stacked else list(SERIES_COLOURS)
    top = plot_height
    for row_index, (row, lines, row_height) in enumerate(
        zip(rows, labels, row_heights, strict=True)
    ):
        label_top = top - 0.04
        axes.text(
            0,
            label_top,
            "\n".join(lines),
            ha="left",
            va="top",
            fontsize=LABEL_SIZE,
            linespacing=1.05,
            color=INK,
        )
        bar_center = top - len(lines) * LINE_HEIGHT - BAR_HEIGHT / 2 - 0.06
        cursor = 0.0
        for index, value in enumerate(row.values):
            if value is None or value <= 0:
                continue
            colour = colours[index % len(colours)]
            bars = axes.barh(
                bar_center,
                value,
                left=cursor,
                height=BAR_HEIGHT,
                color=colour,
                edgecolor="white" if stacked else colour,
                linewidth=0.8,
                hatch=HATCHES[index % len(HATCHES)] if stacked else None,
            )
            # Named in the SVG (row and column of the table), so tests can measure bars.
            bars.patches[0].set_gid(f"bar-{row_index}-{index}")
            text = _format(value)
            if stacked and value / per_inch >= _text_width(text, VALUE_SIZE) + 0.12:
                dark = _luminance(colour) < 0.45
                axes.text(
                    cursor + value / 2,
                    bar_center,
                    text,
                    ha="center",
                    va="center",
                    fontsize=VALUE_SIZE,
                    color="white" if dark else INK,
                    bbox={
                        "boxstyle": "round,pad=0.15",
                        "facecolor": colour,
                        "edgecolor": "none",
                    },
                )
            cursor += value
        end_text = ""
        if not stacked and row.values[0] is not None:
            end_text = _format(row.values[0])
        elif stacked and not row.withheld and cursor == 0:
            end_text = _format(0)
        if row.withheld:
            end_text = f"{end_text}  {withheld}".strip() if end_text else (withheld or "")
        if end_text:
            axes.text(
                cursor + 0.06 * per_inch,
                bar_center,
                end_text,
                ha="left",
                va="center",
                fontsize=VALUE_SIZE,
                color=INK if not row.withheld else MUTED,
                fontstyle="normal" if not row.withheld else "italic",
            )
        top -= row_height

    axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.set_yticks([])
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    handles = [
        Patch(
            facecolor=colours[i % len(colours)],
            edgecolor="white" if stacked else colours[i % len(colours)],
            hatch=HATCHES[i % len(HATCHES)] if stacked else None,
            label=label,
        )
        for i, label in enumerate(columns)
    ]
    _legend(figure, handles, columns, height)
    _note(figure, withheld, height)


def _draw_line(figure: Any, columns: list[str], rows: list[_Row], withheld: str | None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    _ncol, lines = _legend_lines(columns)
    legend_height = lines * 0.26 + 0.12
    plot_height = 2.4
    axis_height = 0.62
    note_height = 0.4 if withheld else 0.1
    height = legend_height + plot_height + axis_height + note_height
    figure.set_size_inches(WIDTH, height)
    left, right = 0.5, 0.2
    axes = figure.add_axes(
        (
            left / WIDTH,
            (axis_height + note_height) / height,
            (WIDTH - left - right) / WIDTH,
            plot_height / height,
        )
    )
    xs = list(range(len(rows)))
    handles = []
    largest = 1.0
    for index, label in enumerate(columns):
        ys = [row.values[index] if index < len(row.values) else None for row in rows]
        drawn = [math.nan if y is None else y for y in ys]
        largest = max([largest, *(y for y in ys if y is not None)])
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        (line,) = axes.plot(
            xs,
            drawn,
            color=colour,
            linewidth=2.2,
            linestyle=LINESTYLES[index % len(LINESTYLES)],
            marker=MARKERS[index % len(MARKERS)],
            markersize=6,
            markerfacecolor=colour if index % 2 == 0 else "white",
            markeredgewidth=1.6,
        )
        line.set_gid(f"series-{index}")
        handles.append(
            Line2D(
                [],
                [],
                color=colour,
                linewidth=2.2,
                linestyle=LINESTYLES[index % len(LINESTYLES)],
                marker=MARKERS[index % len(MARKERS)],
                markersize=6,
                markerfacecolor=colour if index % 2 == 0 else "white",
                markeredgewidth=1.6,
                label=label,
            )
        )
    axes.set_ylim(0, largest * 1.1)
    axes.set_xlim(-0.4, max(len(rows) - 1, 0) + 0.4)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    step = max(1, math.ceil(len(rows) / 6))
    ticks = xs[::step]
    axes.set_xticks(ticks)
    axes.set_xticklabels([rows[i].label.replace(" ", "\n", 1) for i in ticks])
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    _legend(figure, handles, columns, height)
    _note(figure, withheld, height)


def _format(value: float | None) -> str:
    from django.utils import formats

    if value is None:
        return ""
    return str(formats.number_format(value, decimal_pos=0 if float(value).is_integer() else 1))
