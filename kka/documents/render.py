"""Render a :class:`~kka.documents.blocks.Doc` to PDF (WeasyPrint) and DOCX (python-docx).

Both renderers add what no kind writes itself: the kop surat (letterhead) at the top
of the first page of letters, "RAHASIA" and the person the copy was produced for in
the header of every page of confidential documents, and a footer on every page with
the number, the date, a short hash of the content and "Halaman X dari Y". Paper is
A4 or F4 (folio, 215 x 330 mm) as the organisation chose. Documents are always in
Indonesian, whatever the user's interface language.

Nothing is fetched from the network: the logo is embedded from private storage and
only KKA's own static files can be referenced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import docx
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from kka.documents import blocks as b
from kka.lib import private_files

# Paper sizes in millimetres (width, height).
PAPER_MM = {"A4": (210.0, 297.0), "F4": (215.0, 330.0)}
# Margins in millimetres: top, right, bottom, left (binding side on the left).
MARGINS_MM = (23.0, 20.0, 22.0, 25.0)
SERIF = "Noto Serif"  # PDF body font (embedded); DejaVu Serif is the fallback
DOCX_FONT = "Times New Roman"  # what offices expect in Word; LibreOffice substitutes

_LOGO_TYPES = {"image/png", "image/jpeg"}
# Pictures a Figure block may carry (made by KKA itself: charts, never uploads).
_FIGURE_TYPES = _LOGO_TYPES | {"image/svg+xml"}


class ExternalResourceRefused(ValueError):
    pass


def content_hash(doc: b.Doc) -> str:
    """The full sha256 of the document's content (what its footer shows 12 of)."""
    return hashlib.sha256(doc.text_for_hash().encode("utf-8")).hexdigest()


def short_hash(doc: b.Doc) -> str:
    return content_hash(doc)[:12]


def paper_mm(organisation: Any) -> tuple[float, float]:
    return PAPER_MM.get(getattr(organisation, "paper_size", "A4") or "A4", PAPER_MM["A4"])


# --- shared pieces ----------------------------------------------------------------------


@dataclass(frozen=True)
class Letterhead:
    upper: tuple[str, ...]
    name: str
    address: str
    contacts: str
    logo: bytes | None
    logo_type: str


def letterhead(organisation: Any) -> Letterhead:
    """The kop surat lines from the organisation's settings."""
    upper = tuple(
        line.strip() for line in (organisation.letterhead_upper or "").splitlines() if line.strip()
    )
    address_lines = [line.strip().rstrip(",") for line in (organisation.address or "").splitlines()]
    address = ", ".join(line for line in address_lines if line)
    city = (organisation.city or "").strip()
    if city and city.lower() not in address.lower():
        address = f"{address}, {city}" if address else city
    contacts = []
    if organisation.phone:
        contacts.append(f"Telp. {organisation.phone}")
    if organisation.email:
        contacts.append(f"Email: {organisation.email}")
    if getattr(organisation, "website", ""):
        contacts.append(f"Situs: {organisation.website}")
    logo, logo_type = _logo(organisation)
    return Letterhead(
        upper=upper,
        name=organisation.name,
        address=address,
        contacts=" · ".join(contacts),
        logo=logo,
        logo_type=logo_type,
    )


def _logo(organisation: Any) -> tuple[bytes | None, str]:
    stored = getattr(organisation, "logo_stored_name", "")
    if not stored:
        return None, ""
    try:
        data = private_files.read(stored)
    except (OSError, ValueError):
        # A missing or unreadable logo must not stop a document: print without it.
        return None, ""
    kind = private_files.sniff_content_type(data) or ""
    if kind not in _LOGO_TYPES:
        return None, ""
    return data, kind


def footer_text(doc: b.Doc) -> str:
    """ "005/BK/XI/2026 · Senin, 30 November 2026 · 1a2b3c4d5e6f" (empty parts left out)."""
    parts = [doc.number, doc.date_text, short_hash(doc)]
    return " · ".join(part for part in parts if part)


def produced_for_text(doc: b.Doc) -> str:
    return _("Dibuat untuk: %(name)s") % {"name": doc.produced_for or "-"}


def _signature_rows(block: b.Signatures) -> list[list[dict[str, Any] | None]]:
    """Signature blocks two per row; a single one sits on the right. The date line goes
    above the right-hand block of the first row (the person signing the letter). The
    lines above each block are padded so the names of a row line up."""
    sigs: list[dict[str, Any] | None] = [
        {"block": s, "lines": list(s.lines_above)} for s in block.blocks
    ]
    if len(sigs) % 2 == 1:
        sigs.insert(len(sigs) - 1, None)  # last one goes on the right
    rows = [sigs[i : i + 2] for i in range(0, len(sigs), 2)]
    if rows and block.place_date:
        right = rows[0][-1]
        if right is not None:
            right["lines"].insert(0, block.place_date)
    for row in rows:
        height = max(len(sig["lines"]) for sig in row if sig is not None)
        for sig in row:
            if sig is not None:
                sig["lines"] += [""] * (height - len(sig["lines"]))
    return rows


def _blank_rows(table: b.Table) -> list[list[str]]:
    """Empty rows for handwriting; numbered on when the first column is "No"."""
    numbered = bool(table.columns) and table.columns[0].strip().rstrip(".").lower() == "no"
    rows = []
    for i in range(table.blank_rows):
        first = f"{len(table.rows) + i + 1}." if numbered else ""
        rows.append([first] + [""] * (len(table.columns) - 1))
    return rows


def _percentages(widths: tuple[int, ...], count: int) -> list[float]:
    if not widths or len(widths) != count or sum(widths) <= 0:
        return []
    total = sum(widths)
    return [round(100 * w / total, 2) for w in widths]


def _css_number(value: float) -> str:
    """A number for CSS (never localised: "12.5", not "12,5")."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- PDF ---------------------------------------------------------------------------------


def _css_string(text: str) -> SafeString:
    """Text for a CSS string literal: everything but ASCII letters and digits as a hex
    escape, so no value can end the string or the <style> element."""
    out = []
    for char in text.replace("\n", " "):
        # Spaces are escaped too: CSS swallows one space after a hex escape.
        if char.isascii() and char.isalnum():
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    # Accepted (bandit B308 B703, until 2027-05-31): only [A-Za-z0-9\\] remain.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


def _items(doc: b.Doc) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for block in doc.blocks:
        if isinstance(block, b.Heading):
            items.append({"type": "heading", "block": block})
        elif isinstance(block, b.Paragraph):
            align = {"centre": "centre", "center": "centre"}.get(block.align, block.align)
            if align not in ("left", "right", "centre", "justify"):
                align = "justify"
            items.append({"type": "paragraph", "block": block, "align": align})
        elif isinstance(block, b.LetterHead):
            items.append({"type": "letterhead", "block": block})
        elif isinstance(block, b.Fields):
            has_codes = any(code for code, _label, _value in block.rows)
            items.append({"type": "fields", "block": block, "has_codes": has_codes})
        elif isinstance(block, b.Table):
            items.append(
                {
                    "type": "table",
                    "block": block,
                    "widths": [
                        _css_number(w) for w in _percentages(block.widths, len(block.columns))
                    ],
                    "blank": _blank_rows(block),
                }
            )
        elif isinstance(block, b.BulletList):
            items.append({"type": "list", "block": block})
        elif isinstance(block, b.Signatures):
            items.append({"type": "signatures", "block": block, "rows": _signature_rows(block)})
        elif isinstance(block, b.PageBreak):
            items.append({"type": "pagebreak", "letterhead": block.letterhead})
        elif isinstance(block, b.Spacer):
            height = _css_number(1.35 * max(block.lines, 0))
            items.append({"type": "spacer", "height": height})
        elif isinstance(block, b.Figure):
            items.append({"type": "figure", "block": block, **_figure_html(block)})
        else:  # pragma: no cover - a new block type must be taught to both renderers
            raise TypeError(f"unknown block {type(block).__name__}")
    return items


def _figure_html(block: b.Figure) -> dict[str, str]:
    if block.content_type not in _FIGURE_TYPES:
        raise ValueError(f"figure type {block.content_type[:40]!r}")
    uri = f"data:{block.content_type};base64," + base64.b64encode(block.data).decode()
    return {"uri": uri, "width": _css_number(min(max(block.width, 10), 100))}


def render_html(doc: b.Doc, organisation: Any) -> str:
    """The HTML WeasyPrint lays out (exposed for debugging and tests)."""
    with translation.override("id"):
        head = letterhead(organisation) if doc.letterhead else None
        logo_uri = ""
        if head and head.logo:
            logo_uri = f"data:{head.logo_type};base64," + base64.b64encode(head.logo).decode()
        width, height = paper_mm(organisation)
        context = {
            "doc": doc,
            "items": _items(doc),
            "page_size": f"{width:g}mm {height:g}mm",
            "letterhead": head,
            "logo_uri": logo_uri,
            "labels": {
                "number": _("Nomor"),
                "attachment": _("Lampiran"),
                "subject": _("Perihal"),
            },
            "css": {
                "confidential": _css_string(_("RAHASIA")),
                "produced_for": _css_string(produced_for_text(doc)),
                "footer": _css_string(footer_text(doc)),
                "page_word": _css_string(_("Halaman")),
                "of_word": _css_string(_("dari")),
            },
        }
        return render_to_string("documents/document.html", context)


def _fetcher() -> Any:
    """WeasyPrint's fetcher limited to embedded images and KKA's own static files."""
    from django.contrib.staticfiles import finders
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                meta, _sep, payload = url[5:].partition(",")
                mime = meta.split(";")[0]
                if mime in _FIGURE_TYPES and meta.endswith(";base64"):
                    try:
                        body = base64.b64decode(payload, validate=True)
                    except binascii.Error as error:
                        raise ExternalResourceRefused("data") from error
                    return URLFetcherResponse(url, body, {"Content-Type": mime})
            parsed = urlparse(url)
            if parsed.scheme == "kka-static":
                path = finders.find(parsed.path.lstrip("/"))
                if isinstance(path, str):
                    with open(path, "rb") as handle:
                        return URLFetcherResponse(url, handle.read())
            raise ExternalResourceRefused(url[:80])

    return LocalOnly(allowed_protocols=("data", "kka-static"))


def render_pdf(doc: b.Doc, organisation: Any) -> bytes:
    import weasyprint

    html = render_html(doc, organisation)
    document = weasyprint.HTML(string=html, base_url="kka-static:///", url_fetcher=_fetcher())
    return document.write_pdf()  # type: ignore[no-any-return]


# --- DOCX --------------------------------------------------------------------------------


def render_docx(doc: b.Doc, organisation: Any) -> bytes:
    with translation.override("id"):
        return _Docx(doc, organisation).render()


# WordprocessingML wants property children in schema order (Word refuses a file
# otherwise, LibreOffice does not care): the elements that must follow each one we add.
_PPR_AFTER_PBDR = (
    "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct",
    "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
    "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId",
    "cnfStyle", "rPr", "sectPr", "pPrChange",
)  # fmt: skip
_TBLPR_AFTER_BORDERS = ("shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription")
_TBLPR_AFTER_CELLMAR = ("tblLook", "tblCaption", "tblDescription", "tblPrChange")


def _insert(parent: Any, child: Any, successors: tuple[str, ...]) -> None:
    """Insert ``child`` before the first of ``successors`` present in ``parent``."""
    tags = {qn(f"w:{name}") for name in successors}
    for existing in parent:
        if existing.tag in tags:
            existing.addprevious(child)
            return
    parent.append(child)


class _Docx:
    def __init__(self, doc: b.Doc, organisation: Any) -> None:
        self.doc = doc
        self.organisation = organisation
        self.document = docx.Document()
        width, height = paper_mm(organisation)
        top, right, bottom, left = MARGINS_MM

        self.text_width_mm = width - left - right
        section = self.document.sections[0]
        section.page_width = Mm(width)
        section.page_height = Mm(height)
        section.top_margin = Mm(top)
        section.right_margin = Mm(right)
        section.bottom_margin = Mm(bottom)
        section.left_margin = Mm(left)
        section.header_distance = Mm(10)
        section.footer_distance = Mm(10)
        self._styles()

    # -- setup --

    def _styles(self) -> None:
        styles = self.document.styles
        normal = styles["Normal"]
        normal.font.name = DOCX_FONT
        normal.font.size = Pt(11)
        rpr = normal.element.get_or_add_rPr()
        fonts = rpr.get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), DOCX_FONT)
        normal.paragraph_format.space_after = Pt(4)
        normal.paragraph_format.line_spacing = 1.15
        for name, size in (("Heading 1", 13), ("Heading 2", 11.5), ("Heading 3", 11)):
            style = styles[name]
            style.font.name = DOCX_FONT
            style.font.size = Pt(size)
            style.font.bold = True
            style.font.italic = name == "Heading 3"
            style.font.color.rgb = None
            hfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
            for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                hfonts.set(qn(attr), DOCX_FONT)
            # Word's theme fonts would override the explicit name otherwise.
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
                if hfonts.get(qn(attr)) is not None:
                    del hfonts.attrib[qn(attr)]
            style.paragraph_format.space_before = Pt(10 if name != "Heading 1" else 0)
            style.paragraph_format.space_after = Pt(5)
            style.paragraph_format.keep_with_next = True

    def render(self) -> bytes:
        if self.doc.confidential:
            self._header()
        self._footer()
        if self.doc.letterhead:
            self._letterhead()
        for block in self.doc.blocks:
            self._block(block)
        # python-docx's template ends with an empty paragraph only if we add none; fine.
        out = io.BytesIO()
        self.document.core_properties.title = self.doc.title
        self.document.core_properties.author = "KKA"
        self.document.core_properties.comments = ""
        self.document.core_properties.language = "id-ID"
        self.document.save(out)
        return out.getvalue()

    # -- header, footer, letterhead --

    def _header(self) -> None:
        header = self.document.sections[0].header
        header.is_linked_to_previous = False
        para = header.paragraphs[0]
        self._right_tab(para)
        mark = para.add_run(_("RAHASIA"))
        mark.bold = True
        mark.font.size = Pt(10)
        para.add_run("\t")
        who = para.add_run(produced_for_text(self.doc))
        who.font.size = Pt(8.5)

    def _footer(self) -> None:
        footer = self.document.sections[0].footer
        footer.is_linked_to_previous = False
        para = footer.paragraphs[0]
        self._right_tab(para)
        runs = [para.add_run(footer_text(self.doc)), para.add_run("\t")]
        runs.append(para.add_run(_("Halaman") + " "))
        self._field(para, "PAGE", "1")
        runs.append(para.add_run(" " + _("dari") + " "))
        self._field(para, "NUMPAGES", "1")
        for run in runs:
            run.font.size = Pt(7.5)

    def _right_tab(self, paragraph: Any) -> None:
        """One right-aligned tab stop at the right margin; the Header and Footer styles'
        own centre and right stops (set for US Letter) are cleared."""
        stops = paragraph.paragraph_format.tab_stops
        style_stops = paragraph.style.paragraph_format.tab_stops if paragraph.style else []
        for stop in style_stops:
            stops.add_tab_stop(stop.position, WD_TAB_ALIGNMENT.CLEAR)
        stops.add_tab_stop(Mm(self.text_width_mm), WD_TAB_ALIGNMENT.RIGHT)

    @staticmethod
    def _field(paragraph: Any, instruction: str, placeholder: str) -> None:
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), f" {instruction} ")
        run = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        size = OxmlElement("w:sz")
        size.set(qn("w:val"), "15")
        rpr.append(size)
        run.append(rpr)
        text = OxmlElement("w:t")
        text.text = placeholder
        run.append(text)
        field.append(run)
        paragraph._p.append(field)

    def _letterhead(self) -> None:
        head = letterhead(self.organisation)
        if head.logo:
            table = self.document.add_table(rows=1, cols=2)
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            self._no_borders(table)
            logo_cell, text_cell = table.rows[0].cells
            self._cell_width(logo_cell, 26)
            self._cell_width(text_cell, self.text_width_mm - 26)
            picture = logo_cell.paragraphs[0]
            try:
                picture.add_run().add_picture(io.BytesIO(head.logo), width=Mm(22))
            except Exception:  # an odd image must not stop the document
                picture.add_run("")
            target = text_cell
            first = text_cell.paragraphs[0]
        else:
            target = None
            first = self.document.add_paragraph()

        def line(text: str, size: float, bold: bool, upper: bool) -> None:
            nonlocal first
            if first is not None:
                para = first
                first = None
            else:
                para = (target or self.document).add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            para.paragraph_format.space_after = Pt(0)
            para.paragraph_format.space_before = Pt(0)
            para.paragraph_format.line_spacing = 1.0
            run = para.add_run(text.upper() if upper else text)
            run.bold = bold
            run.font.size = Pt(size)

        for upper_line in head.upper:
            line(upper_line, 11.5, True, True)
        line(head.name, 16, True, True)
        if head.address:
            line(head.address, 9, False, False)
        if head.contacts:
            line(head.contacts, 9, False, False)
        rule = self.document.add_paragraph()
        rule.paragraph_format.space_before = Pt(2)
        rule.paragraph_format.space_after = Pt(10)
        self._bottom_rule(rule)

    @staticmethod
    def _bottom_rule(paragraph: Any) -> None:
        ppr = paragraph._p.get_or_add_pPr()
        borders = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        bottom.set(qn("w:val"), "thinThickSmallGap")
        bottom.set(qn("w:sz"), "18")
        bottom.set(qn("w:space"), "1")
        bottom.set(qn("w:color"), "000000")
        borders.append(bottom)
        _insert(ppr, borders, _PPR_AFTER_PBDR)

    # -- tables --

    @staticmethod
    def _table_borders(table: Any, value: str) -> None:
        tbl_pr = table._tbl.tblPr
        for old in tbl_pr.findall(qn("w:tblBorders")):
            tbl_pr.remove(old)
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            element = OxmlElement(f"w:{edge}")
            element.set(qn("w:val"), value)
            if value != "nil":
                element.set(qn("w:sz"), "6")
                element.set(qn("w:space"), "0")
                element.set(qn("w:color"), "000000")
            borders.append(element)
        _insert(tbl_pr, borders, _TBLPR_AFTER_BORDERS)

    @staticmethod
    def _cell_margins(table: Any, mm: float) -> None:
        """Left and right cell padding (Word's default is wider than the PDF's)."""
        margins = OxmlElement("w:tblCellMar")
        for edge in ("left", "right"):
            element = OxmlElement(f"w:{edge}")
            element.set(qn("w:w"), str(round(mm * 56.7)))
            element.set(qn("w:type"), "dxa")
            margins.append(element)
        _insert(table._tbl.tblPr, margins, _TBLPR_AFTER_CELLMAR)

    def _no_borders(self, table: Any) -> None:
        self._table_borders(table, "nil")

    @staticmethod
    def _cell_width(cell: Any, width_mm: float) -> None:
        cell.width = Mm(width_mm)

    def _set_widths(self, table: Any, widths_mm: list[float]) -> None:
        table.autofit = False
        for column, width in zip(table.columns, widths_mm, strict=False):
            column.width = Mm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=False):
                cell.width = Mm(width)

    @staticmethod
    def _cell_text(cell: Any, text: str, *, bold: bool = False, size: float | None = None) -> None:
        lines = text.split("\n") if text else [""]
        para = cell.paragraphs[0]
        para.paragraph_format.space_after = Pt(0)
        for index, line in enumerate(lines):
            run = para.add_run(line)
            run.bold = bold
            if size:
                run.font.size = Pt(size)
            if index < len(lines) - 1:
                run.add_break()

    @staticmethod
    def _row_height(row: Any, mm: float) -> None:
        row.height = Mm(mm)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST

    @staticmethod
    def _no_split(row: Any, header: bool = False) -> None:
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if header:
            tr_pr.append(OxmlElement("w:tblHeader"))

    @staticmethod
    def _shade(cell: Any, fill: str) -> None:
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:color"), "auto")
        shading.set(qn("w:fill"), fill)
        cell._tc.get_or_add_tcPr().append(shading)

    # -- blocks --

    def _text_paragraph(self, text: str, para: Any = None) -> Any:
        para = para or self.document.add_paragraph()
        lines = text.split("\n")
        runs = []
        for index, line in enumerate(lines):
            run = para.add_run(line)
            runs.append(run)
            if index < len(lines) - 1:
                run.add_break()
        return para, runs

    def _block(self, block: b.Block) -> None:
        if isinstance(block, b.Heading):
            level = min(max(block.level, 1), 3)
            para = self.document.add_paragraph(style=f"Heading {level}")
            _para, runs = self._text_paragraph(
                block.text.upper() if level == 1 else block.text, para
            )
            if block.centred:
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, b.Paragraph):
            para, runs = self._text_paragraph(block.text)
            para.alignment = {
                "left": WD_ALIGN_PARAGRAPH.LEFT,
                "right": WD_ALIGN_PARAGRAPH.RIGHT,
                "centre": WD_ALIGN_PARAGRAPH.CENTER,
                "center": WD_ALIGN_PARAGRAPH.CENTER,
            }.get(block.align, WD_ALIGN_PARAGRAPH.JUSTIFY)
            for run in runs:
                run.bold = block.bold
                run.italic = block.italic
                if block.small:
                    run.font.size = Pt(9.5)
        elif isinstance(block, b.LetterHead):
            self._letterhead_block(block)
        elif isinstance(block, b.Fields):
            self._fields(block)
        elif isinstance(block, b.Table):
            self._ruled(block)
        elif isinstance(block, b.BulletList):
            style = "List Number" if block.numbered else "List Bullet"
            for item in block.items:
                para = self.document.add_paragraph(style=style)
                self._text_paragraph(item, para)
        elif isinstance(block, b.Signatures):
            self._signatures(block)
        elif isinstance(block, b.PageBreak):
            self.document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            if block.letterhead:
                self._letterhead()
        elif isinstance(block, b.Spacer):
            for _i in range(max(block.lines, 0)):
                self.document.add_paragraph()
        elif isinstance(block, b.Figure):
            self._figure(block)
        else:  # pragma: no cover
            raise TypeError(f"unknown block {type(block).__name__}")

    def _figure(self, block: b.Figure) -> None:
        """PNG and JPEG are embedded; an SVG (which Word cannot take) is described by
        its ``alt`` text instead."""
        para = self.document.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if block.content_type in _LOGO_TYPES:
            width = self.text_width_mm * min(max(block.width, 10), 100) / 100
            try:
                para.add_run().add_picture(io.BytesIO(block.data), width=Mm(width))
            except Exception:  # an odd image must not stop the document: describe it
                para = self.document.add_paragraph()
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            else:
                return
        run = para.add_run(f"[{block.alt}]")
        run.italic = True
        run.font.size = Pt(9.5)

    def _letterhead_block(self, block: b.LetterHead) -> None:
        rows = (
            (_("Nomor"), block.number, False),
            (_("Lampiran"), block.attachment, False),
            (_("Perihal"), block.subject, True),
        )
        table = self.document.add_table(rows=len(rows), cols=3)
        self._no_borders(table)
        self._set_widths(table, [25, 4, self.text_width_mm - 29])
        for row, (label, value, bold) in zip(table.rows, rows, strict=True):
            self._cell_text(row.cells[0], label)
            self._cell_text(row.cells[1], ":")
            self._cell_text(row.cells[2], value, bold=bold)
        gap = self.document.add_paragraph()
        gap.paragraph_format.space_after = Pt(0)
        for line in block.addressee:
            para, _runs = self._text_paragraph(line)
            para.paragraph_format.space_after = Pt(0)
        if block.addressee:
            self.document.add_paragraph()

    def _fields(self, block: b.Fields) -> None:
        has_codes = any(code for code, _label, _value in block.rows)
        cols = 4 if has_codes else 3
        table = self.document.add_table(rows=len(block.rows), cols=cols)
        self._no_borders(table)
        label_mm = round(self.text_width_mm * 0.38, 1)
        widths = [label_mm, 4.0, self.text_width_mm - label_mm - 4.0]
        if has_codes:
            widths = [7.0, label_mm - 7.0, 4.0, self.text_width_mm - label_mm - 4.0]
        self._set_widths(table, widths)
        for row, (code, label, value) in zip(table.rows, block.rows, strict=True):
            cells = list(row.cells)
            if has_codes:
                self._cell_text(cells.pop(0), code, bold=True)
            self._cell_text(cells[0], label)
            self._cell_text(cells[1], ":")
            self._cell_text(cells[2], value)
        self.document.add_paragraph().paragraph_format.space_after = Pt(0)

    def _ruled(self, block: b.Table) -> None:
        count = len(block.columns)
        blank = _blank_rows(block)
        table = self.document.add_table(rows=1 + len(block.rows) + len(blank), cols=count)
        self._table_borders(table, "single")
        self._cell_margins(table, 1.2)
        percentages = _percentages(block.widths, count) or [100 / count] * count
        self._set_widths(table, [self.text_width_mm * p / 100 for p in percentages])
        header = table.rows[0]
        self._no_split(header, header=True)
        for cell, title in zip(header.cells, block.columns, strict=True):
            self._cell_text(cell, title, bold=True, size=10)
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            self._shade(cell, "E8E8E8")
        body = list(block.rows) + [tuple(r) for r in blank]
        for row, values in zip(table.rows[1:], body, strict=True):
            self._no_split(row)
            for cell, value in zip(row.cells, values, strict=False):
                self._cell_text(cell, value, size=10)
            if block.tall_rows:
                self._row_height(row, 11)
        for row in table.rows[1 + len(block.rows) :]:
            if not block.tall_rows:
                self._row_height(row, 7)
        self.document.add_paragraph().paragraph_format.space_after = Pt(0)

    def _signatures(self, block: b.Signatures) -> None:
        rows = _signature_rows(block)
        table = self.document.add_table(rows=len(rows), cols=2)
        self._no_borders(table)
        half = self.text_width_mm / 2
        self._set_widths(table, [half, half])
        for row, pair in zip(table.rows, rows, strict=True):
            self._no_split(row)
            for cell, sig in zip(row.cells, pair, strict=True):
                if sig is None:
                    continue
                signature: b.Signature = sig["block"]
                lines: list[str] = sig["lines"]
                para = cell.paragraphs[0]
                para.paragraph_format.space_after = Pt(0)
                for index, text in enumerate(lines):
                    run = para.add_run(text)
                    if index < len(lines) - 1:
                        run.add_break()
                space = cell.add_paragraph()
                space.paragraph_format.space_after = Pt(0)
                space.paragraph_format.space_before = Pt(48)
                name = space.add_run(signature.name)
                name.bold = True
                name.underline = True
                if signature.id_label:
                    ident = cell.add_paragraph(f"{signature.id_label}. {signature.id_value}")
                    ident.paragraph_format.space_after = Pt(6)
