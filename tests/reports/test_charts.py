"""Report charts: well-formed SVG that names no outside resource and runs no script,
withheld figures never drawn (not even as what is left of a stacked total), the same
table always gives the same bytes, and sizes that stay readable on a phone."""

from __future__ import annotations

import base64
import re

import lxml.etree
import pytest
from django.utils import translation

from kka.reports import charts
from kka.reports.protect import Shown, ShownRow, ShownTable

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
WITHHELD = Shown(None, "< 5")
DASH = Shown(None, "\N{EM DASH}")


def n(value: float) -> Shown:
    return Shown(value, str(value))


def bar_table(rows: list[tuple[str, Shown]], chart: str = "bar") -> ShownTable:
    return ShownTable(
        "kkas",
        "KKA yang terlaksana, menurut bidang",
        "Bidang",
        [("held", "KKA terlaksana")],
        [ShownRow(label.lower(), label, [cell]) for label, cell in rows],
        ShownRow("total", "Jumlah", [n(99)]),
        chart=chart,
    )


def stacked_table() -> ShownTable:
    return ShownTable(
        "commitments",
        "Komitmen",
        "Pihak",
        [("total", "Komitmen"), ("done", "Terlaksana"), ("not_done", "Tidak"), ("x", "Lewat")],
        [
            ShownRow("a", "Keluarga", [n(20), n(10), n(10), n(0)]),
            # The total (20) is shown, one part is withheld: 20 - 12 - 4 would give it back.
            ShownRow("b", "Staf sekolah / lembaga", [n(20), n(12), WITHHELD, n(4)]),
            ShownRow("c", "Konselor", [WITHHELD, WITHHELD, WITHHELD, n(0)]),
        ],
        ShownRow("total", "Jumlah", [n(45), n(25), n(14), n(6)]),
        chart="stacked",
    )


def trend_table() -> ShownTable:
    return ShownTable(
        "trend",
        "Perkembangan per bulan",
        "Bulan",
        [("cases_opened", "Kasus dibuka"), ("kkas_held", "KKA terlaksana")],
        [
            ShownRow("2026-07", "Jul 2026", [n(5), n(7)]),
            ShownRow("2026-08", "Agu 2026", [WITHHELD, n(8)]),
            ShownRow("2026-09", "Sep 2026", [n(6), WITHHELD]),
            ShownRow("2026-10", "Okt 2026", [n(9), n(11)]),
        ],
        None,
        chart="line",
    )


def parse(svg: str) -> lxml.etree._Element:
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return lxml.etree.fromstring(svg.encode("utf-8"), parser)


def rectangle_width(d: str) -> float:
    xs = [float(x) for x in re.findall(r"[ML] ([-\d.]+) [-\d.]+", d)]
    return max(xs) - min(xs)


def bars(svg: str) -> dict[tuple[int, int], float]:
    """Drawn bars by (row, column) of the table, with their width in points."""
    root = parse(svg)
    out = {}
    for group in root.iter(f"{SVG}g"):
        match = re.fullmatch(r"bar-(\d+)-(\d+)", group.get("id", ""))
        if match:
            path = group.find(f"{SVG}path")
            assert path is not None
            out[(int(match[1]), int(match[2]))] = rectangle_width(path.get("d"))
    return out


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in parse(svg).iter(f"{SVG}text")]


ALL_TABLES = [
    bar_table([("Pribadi", n(13)), ("Sosial", WITHHELD), ("Belajar", n(17))]),
    stacked_table(),
    trend_table(),
]


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.chart)
def test_svg_is_well_formed_and_self_contained(table: ShownTable) -> None:
    svg = charts.chart_svg(table)
    assert svg is not None
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert "<!DOCTYPE" not in svg
    # No script, no embedded HTML, no event handlers, no outside resource.
    assert not list(root.iter(f"{SVG}script", f"{SVG}foreignObject"))
    assert "<script" not in svg.lower()
    for element in root.iter():
        for name, value in element.attrib.items():
            assert not name.startswith("on"), name
            if name in ("href", XLINK_HREF):
                assert value.startswith("#"), value
        style = element.get("style", "")
        for ref in re.findall(r"url\(([^)]*)\)", style + element.get("clip-path", "")):
            assert ref.startswith("#"), ref
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", svg)
    assert "http" not in without_namespaces
    assert "<image" not in svg
    # Text stays text (readable, searchable, translatable), in the table's words.
    assert any(t for t in texts(svg))


def test_bar_chart_leaves_the_withheld_row_out() -> None:
    table = bar_table([("Pribadi", n(13)), ("Sosial", WITHHELD), ("Belajar", n(17))])
    svg = charts.chart_svg(table)
    assert svg is not None
    drawn = bars(svg)
    assert set(drawn) == {(0, 0), (2, 0)}
    assert drawn[(2, 0)] / drawn[(0, 0)] == pytest.approx(17 / 13, rel=1e-3)
    words = texts(svg)
    assert "Sosial" in words
    assert "13" in words and "17" in words
    assert "< 5" in words  # said where the bar would be, never as a length
    assert any("tidak digambar" in w for w in words)
    # The total row (99) is not a bar.
    assert "99" not in words


def test_stacked_bars_stack_only_shown_parts_and_never_the_total() -> None:
    svg = charts.chart_svg(stacked_table())
    assert svg is not None
    drawn = bars(svg)
    # Columns are the parts (after the total): 0 = done, 1 = not done, 2 = overdue.
    assert set(drawn) == {(0, 0), (0, 1), (1, 0), (1, 2)}
    full = drawn[(0, 0)] + drawn[(0, 1)]  # 10 + 10 = the shown total 20
    partial = drawn[(1, 0)] + drawn[(1, 2)]  # 12 + 4, the withheld part left out
    assert partial / full == pytest.approx(16 / 20, rel=1e-3)
    # A row with every part withheld has no bar at all.
    assert not [key for key in drawn if key[0] == 2]


def test_line_chart_leaves_gaps_for_withheld_months() -> None:
    svg = charts.chart_svg(trend_table())
    assert svg is not None
    root = parse(svg)
    markers = {}
    for group in root.iter(f"{SVG}g"):
        if re.fullmatch(r"series-\d", group.get("id", "")):
            markers[group.get("id")] = len(list(group.iter(f"{SVG}use")))
    assert markers == {"series-0": 3, "series-1": 3}  # four months, one withheld each
    words = texts(svg)
    assert "Kasus dibuka" in words and "KKA terlaksana" in words
    assert any("tidak digambar" in w for w in words)


def test_no_note_when_nothing_is_withheld() -> None:
    svg = charts.chart_svg(bar_table([("Pribadi", n(13)), ("Belajar", n(17))]))
    assert svg is not None
    assert not any("tidak digambar" in w for w in texts(svg))


def test_nothing_to_plot_gives_no_chart() -> None:
    assert charts.chart_svg(bar_table([("Pribadi", n(13))], chart="")) is None
    assert charts.chart_svg(bar_table([("Pribadi", n(0)), ("Sosial", n(0))])) is None
    assert charts.chart_svg(bar_table([("Pribadi", WITHHELD), ("Sosial", n(0))])) is None
    assert charts.chart_svg(bar_table([("Pribadi", DASH)])) is None
    assert charts.chart_svg(bar_table([])) is None
    assert charts.chart_data_uri(bar_table([("Pribadi", n(0))])) is None


def test_output_is_deterministic() -> None:
    table = stacked_table()
    first = charts.chart_svg(table)
    charts._CACHE.clear()
    second = charts.chart_svg(stacked_table())
    assert first is not None and first == second
    # A different table gives a different chart.
    assert charts.chart_svg(trend_table()) != first


def test_data_uri_carries_the_same_svg() -> None:
    table = trend_table()
    uri = charts.chart_data_uri(table)
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == charts.chart_svg(table)


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.chart)
def test_sized_for_a_phone(table: ShownTable) -> None:
    """The image is shown at the column's width (about 350 CSS px on a phone): the SVG
    is about that wide and no text is smaller than 11 pt."""
    svg = charts.chart_svg(table)
    assert svg is not None
    root = parse(svg)
    width = float(root.get("width").removesuffix("pt"))
    assert 250 <= width <= 360
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert sizes and min(sizes) >= 11


def test_long_labels_are_wrapped_not_cut() -> None:
    label = "Profesional luar (psikolog, dokter, pekerja sosial, terapis okupasi, dan lain-lain)"
    svg = charts.chart_svg(bar_table([(label, n(7))]))
    assert svg is not None
    lines = [t for t in texts(svg) if t and t in label]
    assert len(lines) >= 2  # wrapped over lines
    assert " ".join(lines) == label  # and nothing cut


def test_labels_follow_the_active_language() -> None:
    table = bar_table([("Pribadi", n(13)), ("Sosial", WITHHELD)])
    with translation.override("id"):
        indonesian = charts.chart_svg(table)
    with translation.override("en"):
        english = charts.chart_svg(table)
    assert indonesian is not None and english is not None
    # Each language has its own cached chart (the note is translated text).
    assert ("id" in {k[1] for k in charts._CACHE}) and ("en" in {k[1] for k in charts._CACHE})


def test_labels_are_plain_text_whatever_they_hold() -> None:
    """Row labels can be an organisation's own bidang names: markup stays text and a
    dollar sign is not mathtext."""
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    dollars = "Biaya $x^2$ & {{ 7*7 }}"
    svg = charts.chart_svg(bar_table([(hostile, n(6)), (dollars, n(8))]))
    assert svg is not None
    root = parse(svg)
    assert not list(root.iter(f"{SVG}script", f"{SVG}img", f"{SVG}image"))
    joined = "".join(texts(svg))
    assert "<script>alert(1)</script>" in joined
    assert "$x^2$" in joined and "{{ 7*7 }}" in joined
