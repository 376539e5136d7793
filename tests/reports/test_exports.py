"""Program report files: PDF (letterhead, title, every table, charts), XLSX and CSV, and
their download views. Withheld figures are "< 5" in every format and never their number;
labels an organisation defines itself ("=1+1") are never read as formulas.

Checked with real tools (pdftotext, qpdf, pdftoppm) and openpyxl. Page 1 of the PDF is
kept as a PNG under ``test-artifacts/`` for a person to look at."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from kka.accounts.models import Organisation, OrganisationGroup, Role, User
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import Case
from kka.conferences import followup
from kka.documents import blocks as b
from kka.documents import render
from kka.reports import charts, exports, services
from kka.reports.periods import Period, snap_to_months
from kka.reports.protect import ShownReport
from tests.conferences.test_followup import held
from tests.documents.util import docx_text, pdf_pages_text, pdf_text, qpdf_check, squash
from tests.personas import World, make_organisation, make_user, make_world

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FORMULA = "=1+1"
TITLE = "Laporan Program Bimbingan dan Konseling"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class School:
    world: World
    org: Organisation
    period: Period  # what the query asks for (already whole months)
    query: dict[str, str]
    client_names: list[str]
    case_codes: list[str]

    @property
    def coordinator(self) -> User:
        return self.world.coordinator


def _local_today(org: Organisation) -> dt.date:
    return services.local_today(org)


def build_school(world: World | None = None) -> School:
    """One school: 6 clients in "sosial" (one with a held KKA and a commitment), 2 in
    "belajar" (withheld: fewer than 5), 1 in the school's own bidang "=1+1"."""
    world = world or make_world()
    org = world.org
    org.extra_bidang = [FORMULA]
    org.letterhead_upper = "Pemerintah Kota Bandung\nDinas Pendidikan"
    org.address = "Jl. Ciliwung No. 9"
    org.city = "Bandung"
    org.phone = "022-7654321"
    org.save()
    owner = world.counsellor
    kka = held(world)
    followup.commitment_add(
        actor=owner, conference=kka.conference, participant=kka.father, what="Mendampingi"
    )
    names = [kka.case.client.full_name]
    codes = [kka.case.code, kka.conference.code]
    plan = [("sosial", 5), ("belajar", 2), (FORMULA, 1)]
    n = 0
    for bidang, count in plan:
        for _i in range(count):
            n += 1
            name = f"Konseli Rahasia{n} Wibowo"
            client = case_services.client_create(
                actor=owner,
                organisation=org,
                full_name=name,
                birth_date=f"2011-03-{n % 9 + 1:02d}",
            )
            case = case_services.case_open(
                actor=owner,
                client=client,
                bidang=bidang,
                title="Judul rahasia",
                intake_source="guru",
            )
            names.append(name)
            codes.append(case.code)
    today = _local_today(org)
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    after = (today.replace(day=28) + dt.timedelta(days=10)).replace(day=1)
    last = after.replace(day=calendar.monthrange(after.year, after.month)[1])
    period = snap_to_months(Period(first, last, "custom"))
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    return School(world, org, period, query, names, codes)


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def export_url(name: str, fmt: str, **kwargs: str) -> str:
    return reverse(f"reports:{name}", kwargs={"fmt": fmt, **kwargs})


def organisation_report(school: School, *, language: str = "id") -> ShownReport:
    """The report as the service shows it (no audit row), to compare the files with."""
    with translation.override(language):
        return services.organisation_report(
            actor=school.coordinator, organisation=school.org, period=school.period, audit=False
        )


def withheld_cells(report: ShownReport) -> list[tuple[str, str, str]]:
    """(table slug, row slug, column slug) of every withheld figure."""
    out = []
    for table in report.tables:
        rows = [*table.rows, *([table.total] if table.total else [])]
        for row in rows:
            for (column, _label), cell in zip(table.columns, row.cells, strict=True):
                if cell.suppressed:
                    out.append((table.slug, row.slug, column))
    return out


def assert_nothing_identifying(text: str, school: School) -> None:
    for name in school.client_names:
        assert name not in text
        assert name.split()[1] not in text  # "Rahasia3": not even part of a name
    for code in school.case_codes:
        assert code not in text


def download(http: HttpClient, url: str, query: dict[str, str]) -> Any:
    response = http.get(url, query)
    assert response.status_code == 200, response.status_code
    return response


def pdftoppm_page1(pdf: bytes, name: str) -> Path:
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm is not installed"
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                tool,
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(source),
                f"{tmp}/page",
            ],
            check=True,
            capture_output=True,
        )
        target = ARTIFACTS / f"{name}.png"
        shutil.copyfile(Path(tmp) / "page.png", target)
    return target


def chart_pixels(pdf: bytes, page: int) -> int:
    """Pixels of page ``page`` (0-based) in a chart colour: the tables and text are black,
    grey and white, so only a drawn chart (bars, lines, legend) has these."""
    from PIL import Image

    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm is not installed"
    colours = [
        tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        for hex_colour in (*charts.SERIES_COLOURS, charts.BRAND)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.pdf"
        source.write_bytes(pdf)
        number = str(page + 1)
        subprocess.run(
            [
                tool,
                "-png",
                "-r",
                "40",
                "-f",
                number,
                "-l",
                number,
                "-singlefile",
                str(source),
                f"{tmp}/page",
            ],
            check=True,
            capture_output=True,
        )
        image = Image.open(Path(tmp) / "page.png").convert("RGB")
        pixels = list(image.get_flattened_data())
    return sum(
        1
        for pixel in pixels
        if any(
            sum(abs(a - b) for a, b in zip(pixel, colour, strict=True)) < 40 for colour in colours
        )
    )


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_has_letterhead_title_every_table_and_charts() -> None:
    school = build_school()
    http = logged_in(school.coordinator)
    response = download(http, export_url("organisation_export", "pdf"), school.query)
    pdf = response.content
    assert response["Content-Type"] == "application/pdf"
    start, end = school.query["from"], school.query["to"]
    assert response["Content-Disposition"] == (
        f'attachment; filename="laporan-program-{start}-{end}.pdf"'
    )
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    qpdf_check(pdf)

    text = squash(pdf_text(pdf))
    assert TITLE in text and "Konferensi Kasus" in text
    assert school.org.name.upper() in text  # the kop surat
    assert "PEMERINTAH KOTA BANDUNG" in text and "Jl. Ciliwung No. 9" in text
    assert school.org.name in text  # the subject line
    report = organisation_report(school)
    for table in report.tables:
        assert squash(table.title) in text, table.title
    assert "Lama waktu penanganan" in text
    assert "Halaman 1 dari" in text and "Dibuat" in text
    assert "< 5" in text  # "belajar" (2 clients) is withheld
    assert_nothing_identifying(text, school)

    # The charts are drawn (SVG, as vectors): page 1 holds the first one.
    assert "Kasus yang dibuka" in squash(pdf_pages_text(pdf)[0])
    assert chart_pixels(pdf, 0) > 300
    with translation.override("id"):
        html = render.render_html(exports.pdf_doc(_export(school, report)), school.org)
    assert html.count("data:image/svg+xml;base64,") >= 2

    png = pdftoppm_page1(pdf, "report-pdf-page1")
    assert png.stat().st_size > 5_000
    assert len(pdf) < 400_000, len(pdf)


def _export(school: School, report: ShownReport) -> exports.ReportFile:
    return exports.ReportFile("organisation", report, school.org)


def test_the_pdf_without_charts_draws_far_less() -> None:
    """The chart check above can fail: the same report without its figures draws far
    fewer paths on the same page."""
    school = build_school()
    with translation.override("id"):
        report = organisation_report(school)
        doc = exports.pdf_doc(_export(school, report))
    plain = b.Doc(kind=doc.kind, title=doc.title, date_text=doc.date_text)
    plain.add(*(block for block in doc.blocks if not isinstance(block, b.Figure)))
    with_charts = render.render_pdf(doc, school.org)
    without = render.render_pdf(plain, school.org)
    assert chart_pixels(with_charts, 0) > 300
    assert chart_pixels(without, 0) == 0


def test_pdf_is_indonesian_on_f4_for_an_english_user_and_shows_the_zone() -> None:
    school = build_school()
    school.org.paper_size = "F4"
    school.org.time_zone = "Asia/Makassar"
    school.org.save()
    school.coordinator.language = "en"
    school.coordinator.save()
    http = logged_in(school.coordinator)
    pdf = download(http, export_url("organisation_export", "pdf"), school.query).content
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert float(box.width) == pytest.approx(609.4, abs=0.5)
    assert float(box.height) == pytest.approx(935.4, abs=0.5)
    text = squash(pdf_text(pdf))
    assert TITLE in text and "Kasus yang dibuka dalam periode" in text
    assert "WITA" in text and "Halaman" in text


def test_pdf_figure_block_keeps_documents_safe() -> None:
    """The Figure block: an SVG goes into the PDF, the DOCX names it by its alt text,
    and a figure of another type is refused."""
    org = make_organisation()
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50">'
        b'<rect x="0" y="0" width="60" height="50" fill="#0072B2"/></svg>'
    )
    doc = b.Doc(kind="uji", title="Uji", blocks=[b.Figure(svg, "image/svg+xml", "Grafik uji")])
    pdf = render.render_pdf(doc, org)
    qpdf_check(pdf)
    assert "Grafik uji" in docx_text(render.render_docx(doc, org))
    with pytest.raises(ValueError):
        render.render_html(
            b.Doc(kind="uji", title="Uji", blocks=[b.Figure(b"<b/>", "text/html", "x")]), org
        )


# --- XLSX and CSV ------------------------------------------------------------------------


def _xlsx(content: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


def _sheet_rows(sheet: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _find_row(rows: list[list[Any]], label: str) -> list[Any]:
    found = [row for row in rows if row and row[0] == label]
    assert found, label
    return found[0]


def test_xlsx_has_every_table_withheld_as_text_and_neutralised_labels() -> None:
    school = build_school()
    http = logged_in(school.coordinator)
    response = download(http, export_url("organisation_export", "xlsx"), school.query)
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = _xlsx(response.content)
    report = organisation_report(school)

    info = _sheet_rows(book["Keterangan"])
    flat = " ".join(str(v) for row in info for v in row if v is not None)
    assert TITLE in flat and school.org.name in flat and "< 5" in flat
    assert school.query["from"] in flat and school.query["to"] in flat

    titles = {str(book[name]["A1"].value) for name in book.sheetnames[1:]}
    for table in report.tables:
        assert table.title in titles, table.title

    # Every figure: the shown number as a number, a withheld one as the text "< 5".
    sheets = {str(book[name]["A1"].value): book[name] for name in book.sheetnames[1:]}
    checked = withheld = 0
    for table in report.tables:
        rows = _sheet_rows(sheets[table.title])
        for row in [*table.rows, *([table.total] if table.total else [])]:
            line = _find_row(rows, row.label if row.label != FORMULA else "'" + FORMULA)
            for cell, value in zip(row.cells, line[1:], strict=False):
                checked += 1
                if cell.suppressed:
                    withheld += 1
                    assert value == "< 5"
                elif cell.number is None:
                    assert value == cell.text
                elif cell.text.endswith("%"):
                    assert value == pytest.approx(cell.number / 100)
                else:
                    assert value == cell.number
    assert withheld >= 3 and checked > 100

    # "belajar": 2 clients, withheld; the school's own bidang "=1+1" is plain text.
    cases = _sheet_rows(sheets[report.table("cases_by_bidang").title])
    belajar = _find_row(cases, "Belajar")
    assert belajar[1] == "< 5" and 2 not in belajar
    formula = _find_row(cases, "'" + FORMULA)
    assert formula[1] == "< 5"
    for sheet in book.worksheets:
        assert sheet.sheet_state == "visible"
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                assert cell.comment is None
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.value
        assert not any(d.hidden for d in sheet.column_dimensions.values())
        assert not any(d.hidden for d in sheet.row_dimensions.values())
        assert not sheet._charts and not sheet._images
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        listing = archive.namelist()
        assert not [n for n in listing if "comments" in n or "chart" in n or "drawing" in n]
        xml = b"".join(archive.read(n) for n in listing)
    assert_nothing_identifying(xml.decode("utf-8", "replace"), school)
    assert b"<f>" not in xml  # no formula anywhere


def _csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_has_every_figure_withheld_as_text_and_neutralised_labels() -> None:
    school = build_school()
    http = logged_in(school.coordinator)
    response = download(http, export_url("organisation_export", "csv"), school.query)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].endswith('.csv"')
    rows = _csv_rows(response.content)
    assert rows[0] == ["Bagian", "Tabel", "Baris", "Kolom", "Nilai", "Teks"]
    report = organisation_report(school)
    by_key = {(r[1], r[2], r[3]): r for r in rows[1:]}
    assert {r[0] for r in rows[1:]} == {school.org.name}
    count = 0
    for table in report.tables:
        for row in [*table.rows, *([table.total] if table.total else [])]:
            label = row.label if row.label != FORMULA else "'" + FORMULA
            for (_slug, column), cell in zip(table.columns, row.cells, strict=True):
                line = by_key[(table.title, label, column)]
                count += 1
                assert line[5] == cell.text
                if cell.suppressed:
                    assert line[4] == "" and line[5] == "< 5"
                elif cell.number is not None:
                    assert float(line[4]) == pytest.approx(cell.number)
    assert count == len([r for r in rows[1:] if r[1] != "Lama waktu penanganan (hari)"])
    belajar = by_key[(report.table("cases_by_bidang").title, "Belajar", "Dibuka")]
    assert belajar[4:] == ["", "< 5"]
    assert any(r[2] == "'" + FORMULA for r in rows)
    for line in rows:
        for value in line:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert_nothing_identifying(response.content.decode("utf-8"), school)


def test_own_report_files_are_exact() -> None:
    """The counsellor's own report is exact: "belajar" shows 2, not "< 5"."""
    school = build_school()
    http = logged_in(school.world.counsellor)
    response = download(http, export_url("own_export", "csv"), school.query)
    start, end = school.query["from"], school.query["to"]
    assert response["Content-Disposition"] == (
        f'attachment; filename="laporan-saya-{start}-{end}.csv"'
    )
    rows = _csv_rows(response.content)
    opened = {r[2]: r for r in rows if r[1].startswith("Kasus yang dibuka") and r[3] == "Dibuka"}
    assert opened["Belajar"][4:] == ["2", "2"]
    assert opened["Sosial"][4:] == ["6", "6"]
    assert opened["'" + FORMULA][4:] == ["1", "1"]
    assert not any(r[5].startswith("<") for r in rows[1:])
    pdf = download(http, export_url("own_export", "pdf"), school.query).content
    text = squash(pdf_text(pdf))
    assert "Laporan Kasus Saya" in text and school.world.counsellor.full_name in text


# --- groups ------------------------------------------------------------------------------


@dataclass
class Office:
    office: Organisation
    pengawas: User
    group: OrganisationGroup
    school: School
    second: Organisation


def build_office() -> Office:
    school = build_school()
    office = make_organisation(
        name="Dinas Pendidikan Kota Uji", letterhead_upper="Pemerintah Kota Uji"
    )
    pengawas = make_user(organisation=office, role=Role.PENGAWAS)
    second = make_organisation(name="SMA Negeri 2 Uji")
    group = OrganisationGroup.objects.create(name="Gugus SMP Kota Uji", supervisor=office)
    group.organisations.add(school.org, second)
    return Office(office, pengawas, group, school, second)


def test_group_files_whole_and_per_organisation_on_the_office_letterhead() -> None:
    o = build_office()
    http = logged_in(o.pengawas)
    url = export_url("group_export", "pdf", code=o.group.code)
    response = download(http, url, o.school.query)
    start, end = o.school.query["from"], o.school.query["to"]
    assert response["Content-Disposition"] == (
        f'attachment; filename="laporan-kelompok-{o.group.code}-{start}-{end}.pdf"'
    )
    pdf = response.content
    qpdf_check(pdf)
    pages = pdf_pages_text(pdf)
    assert "DINAS PENDIDIKAN KOTA UJI" in squash(pages[0])
    assert o.school.org.name.upper() not in squash(pages[0])  # not the school's kop
    text = squash(pdf_text(pdf))
    assert TITLE in text and "Gugus SMP Kota Uji" in text
    assert f"Lembaga anggota: {o.school.org.name}" in text
    assert f"Lembaga anggota: {o.second.name}" in text
    assert_nothing_identifying(text, o.school)

    book = _xlsx(
        download(
            http, export_url("group_export", "xlsx", code=o.group.code), o.school.query
        ).content
    )
    first = _sheet_rows(book[book.sheetnames[1]])
    labels = [row[0] for row in first if row and row[0]]
    for name in ("Gugus SMP Kota Uji", o.school.org.name, o.second.name):
        assert name in labels

    rows = _csv_rows(
        download(http, export_url("group_export", "csv", code=o.group.code), o.school.query).content
    )
    assert {r[0] for r in rows[1:]} == {"Gugus SMP Kota Uji", o.school.org.name, o.second.name}
    belajar = [
        r for r in rows if r[0] == o.school.org.name and r[2] == "Belajar" and r[3] == "Dibuka"
    ]
    assert belajar and belajar[0][4:] == ["", "< 5"]


# --- access, period, audit ---------------------------------------------------------------


def test_who_may_download_what() -> None:
    o = build_office()
    school = o.school
    world = school.world
    query = school.query
    org_url = export_url("organisation_export", "csv")
    own_url = export_url("own_export", "csv")
    group_url = export_url("group_export", "csv", code=o.group.code)

    anonymous = HttpClient().get(org_url, query)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    for user, url, status in [
        (world.coordinator, org_url, 200),
        (world.head, org_url, 200),
        (world.counsellor, org_url, 404),
        (world.admin, org_url, 404),
        (world.dpo, org_url, 404),
        (world.outsider, org_url, 404),
        (o.pengawas, org_url, 404),
        (world.counsellor, own_url, 200),
        (world.coordinator, own_url, 200),
        (world.head, own_url, 404),
        (o.pengawas, own_url, 404),
        (o.pengawas, group_url, 200),
        (world.coordinator, group_url, 404),
        (world.head, group_url, 404),
    ]:
        assert logged_in(user).get(url, query).status_code == status, (user.full_name, url)

    other_office = make_organisation(name="Dinas Lain")
    stranger = make_user(organisation=other_office, role=Role.PENGAWAS)
    assert logged_in(stranger).get(group_url, query).status_code == 404
    http = logged_in(world.coordinator)
    for bad in ("docx", "PDF", "json"):
        assert http.get(f"/laporan/unduh/{bad}/", query).status_code == 404


def test_an_invalid_period_goes_back_to_the_page() -> None:
    school = build_school()
    http = logged_in(school.coordinator)
    url = export_url("organisation_export", "pdf")
    response = http.get(url, {"from": "2026-13-01", "to": "2026-12-31"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("reports:organisation"))
    response = http.get(url, {"from": "2026-12-01", "to": "2026-01-31"})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="report.organisation_viewed").exists()


def test_one_audit_row_per_download_naming_the_period_only() -> None:
    o = build_office()
    school = o.school
    assert not AuditEvent.objects.filter(action__startswith="report.").exists()
    http = logged_in(school.coordinator)
    for fmt in exports.FORMATS:
        download(http, export_url("organisation_export", fmt), school.query)
    rows = list(AuditEvent.objects.filter(action="report.organisation_viewed"))
    assert len(rows) == 3
    assert rows[0].refs == {"from": school.query["from"], "to": school.query["to"]}
    download(
        logged_in(o.pengawas), export_url("group_export", "csv", code=o.group.code), school.query
    )
    assert AuditEvent.objects.filter(action="report.group_viewed").count() == 1
    download(logged_in(school.world.counsellor), export_url("own_export", "xlsx"), school.query)
    assert AuditEvent.objects.filter(action="report.own_viewed").count() == 1
    assert Case.objects.filter(organisation=school.org).count() == 9
