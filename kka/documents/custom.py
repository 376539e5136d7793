"""An organisation's own DOCX templates: checked on upload, rendered in a sandbox.

An organisation may upload a Word file per document kind with ``{{ nama_isian }}``
placeholders (docxtpl). The template sees ONLY the kind's flat string fields (see
``Kind.field_help``) and, for documents with tables, ``baris`` (the rows of the
first table as plain dicts of strings: ``{{ b.nama }}``), ``baris_2`` … for later
tables. Nothing else: no settings, no objects, no Python internals.

Three walls keep it that way:

1. Before compiling, every template's syntax tree is checked against a short
   allow-list: output, ``if``, ``for`` (at most two deep, not recursive), names,
   item access, comparisons and a few text filters. No ``set``, ``include``,
   ``import``, ``macro``, calls, arithmetic or ``autoescape`` switches; no name or
   key starting with ``_``. Anything else is refused with code ``security``.
2. Jinja's ``SandboxedEnvironment`` with no loader, no globals and no attribute
   access at all (only dict keys, and ``loop.index`` & co.).
3. The context holds strings, and lists of dicts of strings — nothing that leads
   anywhere.

Output is XML-escaped; unknown names render empty. A template that fails raises
:class:`TemplateBroken` with a short ``code``; the document services then fall back
to the built-in layout and record the code (never the template's text).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.filters import FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.documents.blocks import Doc, Table
from kka.documents.models import DocumentTemplate
from kka.lib import private_files

if TYPE_CHECKING:
    from kka.accounts.models import Organisation, User
    from kka.documents.registry import Kind

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# A Word template with a logo is rarely over 1 MB.
TEMPLATE_MAX_BYTES = 5 * 1024 * 1024
# Uncompressed size of all parts: refuses zip bombs before any XML is parsed.
TEMPLATE_MAX_UNPACKED = 40 * 1024 * 1024
MAX_FOR_DEPTH = 2
ROW_LISTS = ("baris", *(f"baris_{n}" for n in range(2, 10)))
ROW_LIST_PATTERN = re.compile(r"^baris(_[2-9])?$")

SAFE_FILTERS = (
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "length",
    "count",
    "join",
    "first",
    "last",
    "e",
    "escape",
    "truncate",
    "wordcount",
    "string",
)
LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth"}
)
ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.For,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.CondExpr,
    nodes.Concat,
    nodes.Tuple,
    nodes.List,
    nodes.Keyword,
)

# Jinja's own special names (the template object, macro arguments).
SPECIAL_NAMES = frozenset({"self", "caller", "varargs", "kwargs"})

CODES = ("not_docx", "too_large", "syntax", "security", "unknown_field", "render")


class TemplateBroken(Exception):
    """The template cannot be used. ``code`` is one of :data:`CODES` (safe to store
    and audit); ``detail`` may quote the template itself, for its uploader only."""

    def __init__(self, code: str, detail: str = "") -> None:
        assert code in CODES, code
        super().__init__(code)
        self.code = code
        self.detail = detail

    @property
    def message(self) -> str:
        if self.code == "too_large":
            text = _("Berkas templat terlalu besar (maksimal %(mb)s MB).") % {
                "mb": TEMPLATE_MAX_BYTES // (1024 * 1024)
            }
        elif self.code == "unknown_field":
            text = _("Templat memakai nama isian yang tidak dikenal: %(names)s.") % {
                "names": self.detail
            }
        else:
            text = {
                "not_docx": _("Berkas ini bukan dokumen Word (.docx)."),
                "syntax": _(
                    "Templat tidak dapat dibaca: ada tanda {{ }} atau {% %} yang tidak "
                    "lengkap atau salah tulis."
                ),
                "security": _(
                    "Templat memakai perintah yang tidak diizinkan. Gunakan hanya "
                    "{{ nama_isian }}, {% if %} dan {% for %}."
                ),
                "render": _("Templat gagal diisi. Periksa kembali tanda {{ }} dan {% %}."),
            }[self.code]
        if self.detail and self.code in ("syntax", "security"):
            text += " " + _("Sekitar: %(where)s") % {"where": self.detail}
        return text


# --- the sandbox ----------------------------------------------------------------------


class _Refused(SecurityError):
    pass


def _check_tree(tree: nodes.Node) -> None:
    """Refuse every construct outside the allow-list (wall 1)."""

    def walk(node: nodes.Node, depth: int) -> None:
        if not isinstance(node, ALLOWED_NODES):
            raise _Refused(type(node).__name__.lower())
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise _Refused(node.attr)
        if isinstance(node, nodes.Name) and (
            node.name.startswith("_") or node.name in SPECIAL_NAMES
        ):
            raise _Refused(node.name)
        if (
            isinstance(node, nodes.Const)
            and isinstance(node.value, str)
            and node.value.startswith("_")
        ):
            raise _Refused(node.value)
        if isinstance(node, nodes.Filter | nodes.Test) and node.name.startswith("_"):
            raise _Refused(node.name)
        if isinstance(node, nodes.For):
            if node.recursive:
                raise _Refused("recursive")
            depth += 1
            if depth > MAX_FOR_DEPTH:
                raise _Refused("for-depth")
        for child in node.iter_child_nodes():
            walk(child, depth)

    walk(tree, 0)


class _Sandbox(SandboxedEnvironment):
    """No loader, no globals, a few text filters, no attribute access (wall 2)."""

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=ChainableUndefined)
        self.globals.clear()
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
        self.names_used: set[str] = set()

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        from jinja2 import meta

        tree = super()._parse(source, name, filename)
        _check_tree(tree)
        self.names_used |= meta.find_undeclared_variables(tree)
        return tree

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Dict keys are read as items, not attributes; only the loop's counters are.
        return isinstance(obj, LoopContext) and attr in LOOP_ATTRIBUTES

    def is_safe_callable(self, obj: Any) -> bool:
        return False


# --- context --------------------------------------------------------------------------


def _key(column: str) -> str:
    key = re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_")
    return key or "kolom"


def _row_dict(columns: tuple[str, ...], row: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for index, column in enumerate(columns):
        key = _key(column)
        # Never a key that shadows a dict method or starts with "_".
        if key in {"items", "keys", "values", "get", "pop", "copy", "update", "clear"}:
            key = f"{key}_"
        out.setdefault(key, str(row[index]) if index < len(row) else "")
        out.setdefault(f"kolom_{index + 1}", str(row[index]) if index < len(row) else "")
    return out


def rows_from_doc(doc: Doc | None) -> dict[str, list[dict[str, str]]]:
    """``baris``, ``baris_2`` …: the built-in document's tables as lists of dicts of
    strings (keys from the column titles: "Jabatan/Peran" → ``jabatan_peran``)."""
    if doc is None:
        return {}
    tables = [block for block in doc.blocks if isinstance(block, Table)]
    return {
        name: [_row_dict(table.columns, row) for row in table.rows]
        for name, table in zip(ROW_LISTS, tables, strict=False)
    }


def _context(
    fields: dict[str, str], rows: dict[str, list[dict[str, str]]] | None
) -> dict[str, Any]:
    # Strings only (wall 3), whatever a caller passes.
    context: dict[str, Any] = {
        str(k): "" if v is None else str(v)
        for k, v in fields.items()
        if re.fullmatch(r"[a-z][a-z0-9_]*", str(k))
    }
    for name, items in (rows or {}).items():
        if ROW_LIST_PATTERN.match(name):
            context[name] = [{str(k): str(v) for k, v in item.items()} for item in items]
    return context


# --- checking and rendering -----------------------------------------------------------


def _check_package(data: bytes) -> None:
    if len(data) > TEMPLATE_MAX_BYTES:
        raise TemplateBroken("too_large")
    if private_files.sniff_content_type(data) != DOCX_TYPE:
        raise TemplateBroken("not_docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise TemplateBroken("not_docx") from exc
    if unpacked > TEMPLATE_MAX_UNPACKED:
        raise TemplateBroken("too_large")


def _where(exc: BaseException) -> str:
    """A short quote of the template around a syntax error (for its uploader)."""
    context = getattr(exc, "docx_context", None)
    if not context:
        return ""
    text = " ".join(" ".join(str(line).split()) for line in context).strip()
    return text[:80]


def _render(data: bytes, context: dict[str, Any]) -> tuple[bytes, set[str]]:
    from docxtpl import DocxTemplate

    _check_package(data)
    env = _Sandbox()
    try:
        template = DocxTemplate(io.BytesIO(data))
        template.render(context, jinja_env=env, autoescape=True)
        out = io.BytesIO()
        template.save(out)
    except _Refused as exc:
        raise TemplateBroken("security", str(exc)[:40]) from exc
    except SecurityError as exc:
        raise TemplateBroken("security") from exc
    except TemplateSyntaxError as exc:
        raise TemplateBroken("syntax", _where(exc)) from exc
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise TemplateBroken("render") from exc
    except zipfile.BadZipFile as exc:
        raise TemplateBroken("not_docx") from exc
    except Exception as exc:  # lxml, docx internals: never take the caller down
        raise TemplateBroken("render") from exc
    result = out.getvalue()
    _check_output(result)
    return result, env.names_used


def _check_output(result: bytes) -> None:
    import docx

    try:
        docx.Document(io.BytesIO(result))
    except Exception as exc:
        raise TemplateBroken("render") from exc


def render_custom_docx(
    template: DocumentTemplate,
    fields: dict[str, str],
    *,
    doc: Doc | None = None,
    rows: dict[str, list[dict[str, str]]] | None = None,
) -> bytes:
    """Fill the organisation's stored template with ``fields`` (and the tables of the
    built-in ``doc`` as ``baris``…). Raises :class:`TemplateBroken`."""
    try:
        data = private_files.read(template.stored_name)
    except (OSError, ValueError) as exc:
        raise TemplateBroken("not_docx") from exc
    all_rows = rows_from_doc(doc)
    all_rows.update(rows or {})
    result, _names = _render(data, _context(fields, all_rows))
    if doc is not None:
        result = stamp(result, doc)
    DocumentTemplate.objects.filter(pk=template.pk).exclude(last_error="").update(last_error="")
    return result


def stamp(data: bytes, doc: Doc) -> bytes:
    """What the organisation's layout cannot leave out: "RAHASIA" and the person the
    copy is for at the top of every page of a confidential document, and the footer
    line (number · date · short hash) on every page of every document."""
    import docx

    from kka.documents import render

    try:
        document = docx.Document(io.BytesIO(data))
        odd_even = document.settings.odd_and_even_pages_header_footer
        for index, section in enumerate(document.sections):
            headers = [(section.header, section.footer)]
            if section.different_first_page_header_footer:
                headers.append((section.first_page_header, section.first_page_footer))
            if odd_even:
                headers.append((section.even_page_header, section.even_page_footer))
            for header, footer in headers:
                if doc.confidential and (index == 0 or not header.is_linked_to_previous):
                    line = f"{_('RAHASIA')} · {render.produced_for_text(doc)}"
                    if header.paragraphs:
                        para = header.paragraphs[0].insert_paragraph_before(line)
                    else:
                        para = header.add_paragraph(line)
                    for run in para.runs:
                        run.bold = True
                if index == 0 or not footer.is_linked_to_previous:
                    footer.add_paragraph(render.footer_text(doc))
        out = io.BytesIO()
        document.save(out)
    except Exception as exc:
        raise TemplateBroken("render") from exc
    return out.getvalue()


def render_bytes(data: bytes, fields: dict[str, str], **rows: list[dict[str, str]]) -> bytes:
    """Render template bytes directly (checks, previews and tests)."""
    return _render(data, _context(fields, rows))[0]


def sample_fields(kind: Kind) -> dict[str, str]:
    return {name: f"[{name}]" for name in kind.field_help}


def check_template(kind: Kind, data: bytes) -> None:
    """Everything an upload must pass: a real DOCX, not too big, renders with sample
    values, and uses no name the kind does not provide."""
    sample_rows = {name: [{"no": "1", "kolom_1": "1"}] for name in ROW_LISTS}
    _result, names = _render(data, _context(sample_fields(kind), sample_rows))
    unknown = sorted(
        name
        for name in names
        if name not in kind.field_help and name != "loop" and not ROW_LIST_PATTERN.match(name)
    )
    if unknown:
        raise TemplateBroken("unknown_field", ", ".join(unknown)[:200])


# --- services -------------------------------------------------------------------------


def active_template(organisation: Organisation, kind: str) -> DocumentTemplate | None:
    return DocumentTemplate.objects.filter(
        organisation=organisation, kind=kind, active=True
    ).first()


def templates_by_kind(organisation: Organisation) -> dict[str, DocumentTemplate]:
    return {
        template.kind: template
        for template in DocumentTemplate.objects.filter(
            organisation=organisation, active=True
        ).select_related("uploaded_by")
    }


def template_upload(
    *,
    actor: User,
    organisation: Organisation,
    kind: Kind,
    original_name: str,
    data: bytes,
) -> DocumentTemplate:
    """Check and store a template; it replaces the kind's active one (kept inactive).

    Raises ``ValidationError`` with a clear Indonesian message when the file fails.
    """
    try:
        check_template(kind, data)
    except TemplateBroken as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    return _template_save(
        actor=actor, organisation=organisation, kind=kind, original_name=original_name, data=data
    )


@transaction.atomic
def _template_save(
    *,
    actor: User,
    organisation: Organisation,
    kind: Kind,
    original_name: str,
    data: bytes,
) -> DocumentTemplate:
    try:
        stored = private_files.store(data)
    except private_files.RejectedFile as exc:
        raise ValidationError(TemplateBroken("not_docx").message, code="not_docx") from exc
    previous = list(
        DocumentTemplate.objects.select_for_update().filter(
            organisation=organisation, kind=kind.code, active=True
        )
    )
    for old in previous:
        old.active = False
        old.save(update_fields=["active"])
    name = (original_name or "templat.docx").replace("/", "_").replace("\\", "_")[-200:]
    template = DocumentTemplate(
        organisation=organisation,
        kind=kind.code,
        original_name=name,
        stored_name=stored.stored_name,
        sha256=stored.sha256,
        size=stored.size,
        active=True,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    template.full_clean()
    template.save()
    audit_log(
        action="document.template_uploaded",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="documenttemplate",
        object_ref=template.code,
        refs={"kind": kind.code, "replaced": ",".join(old.code for old in previous)},
    )
    return template


@transaction.atomic
def template_deactivate(*, actor: User, template: DocumentTemplate) -> DocumentTemplate:
    """Stop using a template; the built-in layout is used again. The row stays."""
    template = DocumentTemplate.objects.select_for_update().get(pk=template.pk)
    if not template.active:
        return template
    template.active = False
    template.save(update_fields=["active"])
    audit_log(
        action="document.template_deactivated",
        actor=actor,
        actor_role=role_in(actor, template.organisation_id),
        organisation=template.organisation_id,
        object_type="documenttemplate",
        object_ref=template.code,
        refs={"kind": template.kind},
    )
    return template


def template_mark_failed(template: DocumentTemplate, code: str) -> None:
    """Remember why the template last failed (a code, never its text)."""
    if code not in CODES:
        code = "render"
    DocumentTemplate.objects.filter(pk=template.pk).update(last_error=code)


# --- the sample template --------------------------------------------------------------


def field_help_items(kind: Kind) -> Iterator[tuple[str, str]]:
    for name, help_text in kind.field_help.items():
        yield name, str(help_text)


def sample_docx(kind: Kind) -> bytes:
    """A starting template for ``kind``: every field as ``{{ nama }}`` with its
    description, made with python-docx. An organisation edits it in Word."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"  # type: ignore[attr-defined]
    style.font.size = Pt(11)  # type: ignore[attr-defined]
    document.add_heading(str(kind.title), level=1)
    document.add_paragraph(
        _(
            "Contoh templat KKA. Ubah tata letaknya di Word; setiap isian di kolom kanan "
            "diganti dengan isinya saat dokumen dibuat. Hapus isian yang tidak dipakai."
        )
    )
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    header = table.rows[0].cells
    header[0].text = _("Keterangan")
    header[1].text = _("Isian")
    for name, help_text in field_help_items(kind):
        cells = table.add_row().cells
        cells[0].text = help_text
        cells[1].text = "{{ " + name + " }}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def field_names(kind: Kind) -> Iterable[str]:
    return kind.field_help.keys()
