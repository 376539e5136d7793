"""The neutral document model every KKA document is built from.

A document kind (``kka.documents.kinds.*``) turns a record into a :class:`Doc`: a
list of blocks. The same ``Doc`` is rendered to PDF (HTML + WeasyPrint) and to DOCX
(python-docx), so both formats always carry the same fields. Letterhead, the
"RAHASIA" marking, page numbers and the footer (number, date, short hash) are added
by the renderers from :class:`Doc`'s attributes, never by the kinds.

All text in blocks is plain text (no HTML, no Markdown); renderers escape it.
Newlines inside a string are line breaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A document title (level 1) or section heading (level 2/3)."""

    text: str
    level: int = 2
    centred: bool = False


@dataclass(frozen=True)
class Paragraph:
    text: str
    bold: bool = False
    italic: bool = False
    align: str = "justify"  # "left" | "centre" | "right" | "justify"
    small: bool = False


@dataclass(frozen=True)
class LetterHead:
    """Nomor / Lampiran / Perihal and the addressee of an official letter."""

    number: str
    subject: str  # Perihal
    attachment: str = "-"  # Lampiran
    addressee: tuple[str, ...] = ()  # "Yth. Bapak/Ibu ...", "di tempat"


@dataclass(frozen=True)
class Fields:
    """Label → value rows (SATKUNG A-Q, identity of the meeting...). ``code`` is an
    optional left marker such as "A"."""

    rows: tuple[tuple[str, str, str], ...]  # (code, label, value)


@dataclass(frozen=True)
class Table:
    """A ruled table. ``widths`` are relative (e.g. (1, 6, 4, 4, 3, 4)); ``blank_rows``
    appends empty rows for handwriting (daftar hadir for walk-ins)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...] = ()
    blank_rows: int = 0
    tall_rows: bool = False  # room for a signature in each row


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Signature:
    """One signature block: e.g. ("Mengetahui,", "Kepala Sekolah") / name / NIP."""

    lines_above: tuple[str, ...]
    name: str
    id_label: str = ""  # "NIP", "NIK", "No. pegawai" or ""
    id_value: str = ""


@dataclass(frozen=True)
class Signatures:
    """The date line ("Bandung, 30 November 2026") and one or more signature blocks
    side by side (two per row)."""

    place_date: str
    blocks: tuple[Signature, ...]


@dataclass(frozen=True)
class PageBreak:
    """A new page; ``letterhead`` repeats the kop surat on it (e.g. the next letter of
    a file holding several letters)."""

    letterhead: bool = False


@dataclass(frozen=True)
class Spacer:
    lines: int = 1


@dataclass(frozen=True)
class Figure:
    """A picture in the flow of the text, such as a chart of a program report.

    ``data`` is an SVG document or PNG/JPEG bytes made by KKA itself (never uploaded);
    ``alt`` says what it shows (the DOCX renderer prints it in place of an SVG, which
    Word cannot embed). ``width`` is a percentage of the text width."""

    data: bytes
    content_type: str  # "image/svg+xml", "image/png" or "image/jpeg"
    alt: str
    width: int = 100


Block = (
    Heading
    | Paragraph
    | LetterHead
    | Fields
    | Table
    | BulletList
    | Signatures
    | PageBreak
    | Spacer
    | Figure
)


@dataclass
class Doc:
    """One document, ready to render.

    ``confidential`` documents carry "RAHASIA" and ``produced_for`` (the person the
    copy is made for) on every page. ``number`` and ``date_text`` go in the footer of
    every page together with a short hash of the content.
    """

    kind: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    confidential: bool = False
    produced_for: str = ""
    number: str = ""
    date_text: str = ""
    letterhead: bool = True
    # A draft (minutes or report not finalised yet) can never become a final document.
    draft: bool = False

    def add(self, *blocks: Block) -> Doc:
        self.blocks.extend(blocks)
        return self

    def text_for_hash(self) -> str:
        """A stable text of the content (what the footer hash is computed from)."""
        return repr((self.kind, self.title, self.blocks, self.number, self.produced_for))
