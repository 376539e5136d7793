"""The English catalogue: complete, in step with the sources, and actually used.

Every user-visible msgid is Indonesian; ``kka/locale/en/LC_MESSAGES/django.po`` gives
the English. The extractor below is a small, gettext-free stand-in for Django's
``makemessages``: it finds the strings that templates and Python code look up at run
time, so a new ``{% trans "..." %}`` without an English translation fails this module.
"""

from __future__ import annotations

import ast
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kka"
PO_PATH = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
LOGIN_URL = "/akun/masuk/"

# (msgctxt or None, msgid) -> where it was found
Key = tuple[str | None, str]
Found = dict[Key, list[str]]

# --- templates ---------------------------------------------------------------------

_STR = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_LINE_COMMENT_RE = re.compile(r"\{#.*?#\}")
_BLOCK_COMMENT_RE = re.compile(r"\{%\s*comment\b.*?%\}.*?\{%\s*endcomment\s*%\}", re.S)
_TRANS_RE = re.compile(rf"\{{%\s*trans(?:late)?\s+({_STR})(.*?)%\}}", re.S)
_BLOCKTRANS_RE = re.compile(
    r"\{%\s*blocktrans(?:late)?\b(.*?)%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S
)
_PLURAL_RE = re.compile(r"\{%\s*plural\s*%\}")
_UNDERSCORE_RE = re.compile(rf"\b_\(\s*({_STR})\s*\)")
_CONTEXT_RE = re.compile(rf"\bcontext\s+({_STR})")
_VARIABLE_RE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _unquote(literal: str) -> str:
    """A template string literal as the template engine sees it (django.utils.text)."""
    quote = literal[0]
    return literal[1:-1].replace("\\" + quote, quote).replace("\\\\", "\\")


def _blocktrans_msgid(options: str, body: str) -> str | None:
    body = _PLURAL_RE.split(body)[0]  # the singular is the catalogue key
    if "{%" in body:
        return None  # other tags inside blocktrans are a template error, not a msgid
    parts = _VARIABLE_RE.split(body)
    # Text between variables keeps a literal '%' as '%%'; {{ var }} becomes %(var)s.
    msgid = "".join(
        part.replace("%", "%%") if i % 2 == 0 else f"%({part})s" for i, part in enumerate(parts)
    )
    if re.search(r"\btrimmed\b", options):
        msgid = translation.trim_whitespace(msgid)
    return msgid


def extract_template(text: str, where: str = "<template>") -> Found:
    found: Found = defaultdict(list)
    text = _BLOCK_COMMENT_RE.sub(lambda m: "\n" * m.group().count("\n"), text)
    text = _LINE_COMMENT_RE.sub("", text)

    def add(context: str | None, msgid: str, pos: int) -> None:
        found[(context, msgid)].append(f"{where}:{text.count(chr(10), 0, pos) + 1}")

    for m in _TRANS_RE.finditer(text):
        context = _CONTEXT_RE.search(m.group(2))
        add(_unquote(context.group(1)) if context else None, _unquote(m.group(1)), m.start())
    for m in _BLOCKTRANS_RE.finditer(text):
        msgid = _blocktrans_msgid(m.group(1), m.group(2))
        if msgid is not None:
            context = _CONTEXT_RE.search(m.group(1))
            add(_unquote(context.group(1)) if context else None, msgid, m.start())
    for m in _UNDERSCORE_RE.finditer(text):  # {{ _("...") }} and tag arguments
        add(None, _unquote(m.group(1)), m.start())
    return found


# --- Python ------------------------------------------------------------------------

# gettext function name -> position of the msgid argument (a context comes first).
_PY_FUNCTIONS = {
    "_": 0,
    "gettext": 0,
    "gettext_lazy": 0,
    "gettext_noop": 0,
    "ngettext": 0,
    "ngettext_lazy": 0,
    "pgettext": 1,
    "pgettext_lazy": 1,
    "npgettext": 1,
    "npgettext_lazy": 1,
}


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def extract_python(source: str, where: str = "<python>") -> Found:
    """Calls like ``_("...")`` or ``translation.pgettext("ctx", "...")`` with literal strings."""
    found: Found = defaultdict(list)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        index = _PY_FUNCTIONS.get(name or "")
        if index is None or len(node.args) <= index:
            continue
        msgid = _literal(node.args[index])
        context = _literal(node.args[0]) if index else None
        if msgid is None or (index and context is None):
            continue
        found[(context, msgid)].append(f"{where}:{node.lineno}")
    return found


def extract_project() -> Found:
    """What makemessages run in kka/ would look for: .html, .txt and .py files."""
    found: Found = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        where = str(path.relative_to(ROOT))
        if path.suffix in {".html", ".txt"}:
            part = extract_template(path.read_text(encoding="utf-8"), where)
        elif path.suffix == ".py":
            part = extract_python(path.read_text(encoding="utf-8"), where)
        else:
            continue
        for key, places in part.items():
            found[key].extend(places)
    return found


# --- the catalogue -----------------------------------------------------------------


def load_catalogue() -> Catalog:
    with PO_PATH.open("rb") as handle:
        return read_po(handle)


def _translated(catalogue: Catalog, key: Key) -> bool:
    context, msgid = key
    message = catalogue.get(msgid, context=context)
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def untranslated(catalogue: Catalog, found: Found) -> list[str]:
    return [
        f"{msgid!r}" + (f" (context {context!r})" if context else "") + f" at {', '.join(where)}"
        for (context, msgid), where in sorted(found.items(), key=lambda kv: kv[1])
        if not _translated(catalogue, (context, msgid))
    ]


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%(?:\(\w+\))?[sdif]", text))


def _messages(catalogue: Catalog) -> Iterable:
    return (message for message in catalogue if message.id)


# --- tests: the catalogue itself ---------------------------------------------------


def test_catalogue_header_declares_english_in_utf8() -> None:
    text = PO_PATH.read_text(encoding="utf-8")
    catalogue = load_catalogue()

    assert '"Language: en\\n"' in text
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in text
    assert str(catalogue.locale) == "en"
    assert not catalogue.fuzzy


def test_every_catalogue_entry_is_translated_and_not_fuzzy() -> None:
    problems = []
    for message in _messages(load_catalogue()):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"empty msgstr: {message.id!r}")
    assert not problems, "\n".join(problems)
    assert "#, fuzzy" not in PO_PATH.read_text(encoding="utf-8")


def test_translations_keep_the_placeholders() -> None:
    catalogue = load_catalogue()
    problems = []
    for message in _messages(catalogue):
        if isinstance(message.string, str):
            wrong = _placeholders(message.id) != _placeholders(message.string)
        else:  # plural forms may leave out the number, but must not invent placeholders
            allowed = set(_placeholders(message.id[-1]))
            wrong = any(not set(_placeholders(form)) <= allowed for form in message.string)
        if wrong:
            problems.append(f"{message.id!r} -> {message.string!r}")
    problems += [f"{message.id!r}: {errors}" for message, errors in catalogue.check()]
    assert not problems, "\n".join(problems)


# --- tests: the extractor and the sources ------------------------------------------

SAMPLE_TEMPLATE = r"""{% load i18n %}
<h1>{% trans "Beranda" %}</h1>
<p>{% trans "Sesuatu baru" %}</p>
<a title="{% translate 'Kutip tunggal' %}">{% trans "Dengan konteks" context "menu" %}</a>
<p>{% trans "Menu \"Lupa\" di sini." %}</p>
<p>{% blocktrans with name=user.full_name %}Halo, {{ name }} 100%{% endblocktrans %}</p>
<p>{% blocktranslate trimmed count n=items|length %}
  Satu berkas
{% plural %}{{ n }} berkas{% endblocktranslate %}</p>
{# {% trans "Di dalam komentar" %} #}
{% comment %}{% trans "Juga di dalam komentar" %}{% endcomment %}
{{ _("Garis bawah") }}
{% trans variabel %}
"""

SAMPLE_PYTHON = """
from django.utils import translation
from django.utils.translation import gettext as _, gettext_lazy, pgettext

A = _("Satu")
B = gettext_lazy("Dua " "disambung")
C = pgettext("waktu", "pukul")
D = translation.pgettext("time of day", "lewat")
E = _(nama_variabel)
F = _(f"bukan {literal}")
"""


def test_template_extractor_reads_every_form_of_the_tags() -> None:
    found = extract_template(SAMPLE_TEMPLATE)

    assert set(found) == {
        (None, "Beranda"),
        (None, "Sesuatu baru"),
        (None, "Kutip tunggal"),
        ("menu", "Dengan konteks"),
        (None, 'Menu "Lupa" di sini.'),
        (None, "Halo, %(name)s 100%%"),
        (None, "Satu berkas"),
        (None, "Garis bawah"),
    }
    assert found[(None, "Sesuatu baru")] == ["<template>:3"]


def test_python_extractor_reads_literal_calls_only() -> None:
    found = extract_python(SAMPLE_PYTHON)

    assert set(found) == {
        (None, "Satu"),
        (None, "Dua disambung"),
        ("waktu", "pukul"),
        ("time of day", "lewat"),
    }


def test_a_new_untranslated_template_string_is_reported() -> None:
    catalogue = load_catalogue()
    found = extract_template('{% load i18n %}{% trans "Sesuatu baru" %}{% trans "Beranda" %}')

    assert untranslated(catalogue, found) == ["'Sesuatu baru' at <template>:1"]


def test_the_extractor_finds_the_projects_strings() -> None:
    found = extract_project()

    assert (None, "Konferensi Kasus") in found  # base.html
    assert (None, "Selamat datang, %(name)s") in found  # blocktrans in web/home.html
    assert (None, "Kata sandi") in found  # gettext_lazy in accounts/forms.py
    assert ("time of day", "pukul") in found  # translation.pgettext in lib/dates.py


def test_every_string_in_the_sources_is_in_the_catalogue() -> None:
    missing = untranslated(load_catalogue(), extract_project())

    assert not missing, (
        "Not translated in kka/locale/en/LC_MESSAGES/django.po (run `kka makemessages -l en "
        "--no-obsolete --add-location file` in kka/ and translate; makemessages cuts a "
        '{% trans "..." %} literal short at an escaped \\" quote, so write such strings '
        "with single outer quotes):\n" + "\n".join(missing)
    )


# --- tests: the rendered pages -----------------------------------------------------


@pytest.fixture
def english_catalogue(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Serve the .po as it is now, compiled here, so the test needs no build step."""
    mo_dir = tmp_path / "en" / "LC_MESSAGES"
    mo_dir.mkdir(parents=True)
    buffer = io.BytesIO()
    write_mo(buffer, load_catalogue())
    (mo_dir / "django.mo").write_bytes(buffer.getvalue())
    settings.LOCALE_PATHS = [tmp_path]  # resets Django's translation caches


@pytest.mark.django_db
def test_login_page_in_english_with_the_language_cookie(
    client: Client, english_catalogue: None
) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert "Log in" in html
    assert "Log in to KKA" in html
    assert "Password" in html  # a gettext_lazy form label
    assert "Masuk ke KKA" not in html
    assert "kata sandi" not in html.lower()
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_login_page_stays_indonesian_for_an_english_browser(
    client: Client, english_catalogue: None
) -> None:
    response = client.get(LOGIN_URL, headers={"accept-language": "en"})

    html = response.content.decode()
    assert '<html lang="id"' in html
    assert "Masuk ke KKA" in html
    assert "Log in" not in html
    assert response["Content-Language"] == "id"


def test_time_of_day_word_uses_its_context(english_catalogue: None) -> None:
    with translation.override("en"):
        assert translation.pgettext("time of day", "pukul") == "at"
    with translation.override("id"):
        assert translation.pgettext("time of day", "pukul") == "pukul"
