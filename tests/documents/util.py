"""Checks on real files with real tools: qpdf, pdftotext, pdffonts, LibreOffice."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (make test installs it)", pytrace=False)
    return path


def qpdf_check(pdf: bytes) -> None:
    """``qpdf --check`` passes (exit 0; 3 means warnings only, which we also refuse)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        result = subprocess.run(
            [_tool("qpdf"), "--check", handle.name], capture_output=True, text=True
        )
    assert result.returncode == 0, result.stdout + result.stderr


def pdf_pages_text(pdf: bytes) -> list[str]:
    """The text of each page (pdftotext -layout, split on form feeds)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        result = subprocess.run(
            [_tool("pdftotext"), "-layout", "-enc", "UTF-8", handle.name, "-"],
            capture_output=True,
            check=True,
        )
    pages = result.stdout.decode("utf-8").split("\f")
    return [page for page in pages if page.strip()]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_pages_text(pdf))


def squash(text: str) -> str:
    """Whitespace collapsed, so a field wrapped over two lines still matches."""
    return " ".join(text.split())


def pdf_fonts_all_embedded(pdf: bytes) -> list[str]:
    """The font names; fails if any font is not embedded (pdffonts 'emb' column)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        result = subprocess.run(
            [_tool("pdffonts"), handle.name], capture_output=True, text=True, check=True
        )
    lines = result.stdout.splitlines()[2:]
    assert lines, "no fonts in the PDF"
    names = []
    for line in lines:
        parts = line.split()
        # name type [encoding...] emb sub uni object ID: emb is the 5th field from the end
        emb = parts[-5]
        assert emb == "yes", f"font not embedded: {line}"
        names.append(parts[0])
    return names


def docx_text(docx: bytes) -> str:
    """All paragraph and table text of a DOCX (python-docx), headers and footers too."""
    import docx as python_docx

    document = python_docx.Document(io.BytesIO(docx))
    parts: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer):
            parts += [p.text for p in part.paragraphs]
            for table in part.tables:
                parts += [cell.text for row in table.rows for cell in row.cells]
    parts += [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def libreoffice_to_pdf(docx: bytes) -> bytes:
    """Convert with LibreOffice headless; fails on any error. Returns the PDF."""
    soffice = _tool("soffice")
    with tempfile.TemporaryDirectory() as workdir:
        source = Path(workdir) / "dokumen.docx"
        source.write_bytes(docx)
        profile = Path(workdir) / "profile"
        result = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
                workdir,
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        target = Path(workdir) / "dokumen.pdf"
        assert result.returncode == 0 and target.exists(), result.stdout + result.stderr
        return target.read_bytes()
