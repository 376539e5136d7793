"""An XSS corpus stored in every user-editable text field renders inert everywhere.

Every text field a person can fill in (listed in ``EDITABLE``; every other text column
must be listed in ``NOT_EDITABLE`` with the reason, so a new field cannot slip past) is
overwritten with payloads. Then:

- every page of the permission matrix (as someone allowed to see it) and the
  participant's portal page parse without a script element other than the page's own
  nonce'd ones, without an ``on*`` attribute and without a ``javascript:``/``data:``
  address; the template-injection probes appear literally, never evaluated;
- every document kind, every edition, as PDF and DOCX shows the payloads as literal
  text, and WeasyPrint fetched nothing (an outside address in the corpus is watched by
  a local HTTP server that counts requests); a custom DOCX template (Jinja sandbox)
  does not evaluate a probe inside a field value either;
- every CSV export neutralises cells that a spreadsheet would read as a formula.

The same corpus in a real browser: ``tests/browser/test_xss_corpus_browser.py``.
"""

from __future__ import annotations

import csv
import http.server
import io
import itertools
import json
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.two_factor import SESSION_VERIFIED_AT
from kka.lib.spreadsheet import FORMULA_TRIGGERS, neutralise_cell

# --- the corpus -----------------------------------------------------------------------------

# The template-injection probes carry markers: evaluated, they would read "TI49TI".
PROBE = "TI{{7*7}}TI"
EVALUATED = "TI49TI"
DEBUG_PROBE = "TD{% debug %}TD"

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
    PROBE,
    DEBUG_PROBE,
    "</textarea><script>alert(2)</script>",
    "' onmouseover='alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "=cmd|' /C calc'!A0",
    "+SUM(1)",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "</title><script>alert(3)</script>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>*{display:none}</style>",
    "<!--",
    "]]><![CDATA[",
    "${7*7}",
    "data:text/html,<script>alert(1)</script>",
    '<img src="http://127.0.0.1:9/leak.png">',
]
CORPUS = "\n".join(PAYLOADS)
# The outside address in the corpus (flood() points it at a watching local server).
OUTSIDE = "127.0.0.1:9"

# Text columns a person can fill in through a form (or that come from an upload or a
# browser header), by model.
EDITABLE: dict[str, set[str]] = {
    "accounts.User": {"full_name", "staff_number"},
    "accounts.Organisation": {
        "name",
        "address",
        "city",
        "phone",
        "head_title",
        "head_name",
        "head_staff_number",
        "letter_number_pattern",
        "structuring_text",
        "letterhead_upper",
        "website",
    },
    "accounts.UserSession": {"device"},  # from the User-Agent header
    # Typed by the operator (kka groups); shown to the pengawas on report pages and files.
    "accounts.OrganisationGroup": {"name"},
    "cases.Client": {"full_name", "nisn", "employee_number", "nik", "group", "address", "phone"},
    "cases.Guardian": {"full_name", "phone", "email", "address"},
    "cases.Case": {"bidang", "title", "description", "outcome_note"},
    "cases.CaseRecord": {"content"},
    "cases.Attachment": {"original_name"},  # the uploaded file's name
    "cases.ProblemMap": {"core_problem"},
    "cases.ProblemAspect": {"text"},
    "cases.ProblemResource": {"name", "role", "contribution"},
    "cases.ConsentText": {"body"},
    "cases.Consent": {"giver_name", "giver_relationship", "note"},
    "cases.ImportBatch": {"filename"},
    "conferences.Conference": {
        "topic",
        "bidang",
        "aim",
        "expected_results",
        "subject",
        "summary",
        "place",
        "organiser",
        "materials_note",
        "use_of_results",
        "evaluation_plan",
        "related_activities",
        "special_notes",
        "briefing",
        "approval_comment",
    },
    "conferences.Participant": {
        "full_name",
        "role",
        "institution",
        "email",
        "phone",
        "invitation_text",
        "rsvp_note",
        "pledge_name",
    },
    "conferences.LetterNumber": {"void_reason"},
    "conferences.Minutes": {
        "shared_text",
        "private_text",
        "data_wanted",
        "data_obtained",
        "conclusions",
        "directions",
    },
    "conferences.MinutesDraft": {"content"},
    "conferences.MinutesAddendum": {"text", "reason"},
    "conferences.MinutesResponse": {"comment"},
    "conferences.Commitment": {"what", "check_method"},
    "conferences.CommitmentProgress": {"note"},
    # answers and commitment_results are JSON: their string leaves are flooded.
    "conferences.Evaluation": {"client_situation", "commitment_results", "analysis", "answers"},
    "conferences.FollowUp": {"referral_to_name", "reason", "note"},
    "conferences.Report": {
        "jenis_kegiatan",
        "waktu",
        "sasaran",
        "hasil",
        "analisis",
        "tindak_lanjut",
        "faktor",
    },
    "documents.DocumentTemplate": {"original_name"},
    "privacy.SubjectRequest": {"requested_by_note", "outcome_note"},
    "privacy.Correction": {"old_value", "new_value", "reason"},
    "privacy.BreakGlass": {"reason"},
    "privacy.Incident": {"title", "description", "measures"},
    "api.ApiToken": {"name"},  # typed by its owner; flooded in its own test below
}

# Text columns nobody types into (choices are checked by the forms and skipped
# automatically; codes, hashes and tokens are made by KKA).
NOT_EDITABLE: dict[str, set[str]] = {
    "audit.AuditEvent": {"actor_role", "action", "object_type", "object_ref", "request_id"},
    "audit.AuditHead": {"last_hash"},
    "accounts.User": {"password"},
    "accounts.UserSession": {"key_encrypted", "ip_network"},
    "accounts.BackupCode": {"code_hash"},
    "cases.Client": {"birth_date", "nik_token"},  # a date (validated); a blind index
    "cases.Attachment": {"content_type", "sha256"},  # sniffed from the bytes; a digest
    "cases.CaseEvent": {"kind", "ref", "detail"},  # written by services
    "cases.ImportBatch": {"payload"},  # the uploaded file itself (base64), never shown
    "conferences.Participant": {"letter_number", "pledge_channel", "attendance"},
    "conferences.LetterNumber": {"number", "kind"},  # made from the (flooded) pattern
    "conferences.Disclosure": {"kind"},
    "conferences.ReminderSent": {"channel"},
    "documents.DocumentTemplate": {"sha256", "last_error"},
    "documents.Document": {
        "kind",
        "edition",
        "produced_for",
        "number",
        "template_fallback",
        "sha256",
        "content_hash",
    },
    "privacy.Correction": {"field", "object_code"},
    "jobs.JobRun": {"task", "error"},  # a task's name and an exception's class name, by code
    "api.ApiToken": {"prefix", "token_hash", "created_via"},  # made by KKA
}


def _is_text(f: models.Field[Any, Any]) -> bool:
    return isinstance(f, models.CharField | models.TextField)


def _skipped_automatically(model: type[models.Model], f: models.Field[Any, Any]) -> bool:
    unique = {name for group in model._meta.unique_together for name in group}
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            unique |= set(constraint.fields)
    return bool(
        f.choices
        or f.unique
        or f.name in unique
        or not f.editable
        or isinstance(f, models.EmailField)
    )


def text_columns() -> Iterator[tuple[type[models.Model], models.Field[Any, Any]]]:
    for model in apps.get_models():
        if not model.__module__.startswith("kka."):
            continue
        for f in model._meta.concrete_fields:
            if _is_text(f) and not _skipped_automatically(model, f):
                yield model, f


def test_every_text_column_is_classified() -> None:
    """A new text column must be added to EDITABLE (flooded) or NOT_EDITABLE (why)."""
    unclassified = []
    for model, f in text_columns():
        label = model._meta.label
        if f.name not in EDITABLE.get(label, set()) | NOT_EDITABLE.get(label, set()):
            unclassified.append(f"{label}.{f.name}")
    assert unclassified == []
    known = {(m._meta.label, f.name) for m, f in text_columns()}
    listed = {(label, name) for label, names in EDITABLE.items() for name in names}
    # The organisation's e-mail and the participant's are EmailFields (validated) or
    # encrypted text; everything listed must exist.
    assert listed - known == set()


# Values that must stay usable for KKA to work at all, with a payload around them.
SPECIAL = {
    ("accounts.Organisation", "letter_number_pattern"): "=1+<b>{seq}</b>",
    ("cases.Case", "title"): f"Judul {PROBE} <script>alert(1)</script>",
}


def _value(label: str, f: models.Field[Any, Any], counter: Iterator[int], longer: int = 0) -> str:
    """The next payload that fits the column; ``longer``: how much the outside address's
    port (set by ``flood``) lengthens the payload that holds it."""
    special = SPECIAL.get((label, f.name))
    if special is not None:
        return special
    limit = getattr(f, "max_length", None)
    if limit is None:
        return CORPUS
    start = next(counter)
    for n in range(len(PAYLOADS)):
        payload = PAYLOADS[(start + n) % len(PAYLOADS)]
        if len(payload) + (longer if OUTSIDE in payload else 0) <= limit:
            return payload
    return PAYLOADS[start % len(PAYLOADS)][:limit]


JSON_COLUMNS = {
    ("conferences.Evaluation", "answers"),
    ("conferences.Evaluation", "commitment_results"),
}


def _flood_leaves(value: Any, text: str) -> Any:
    if isinstance(value, dict):
        return {key: _flood_leaves(inner, text) for key, inner in value.items()}
    if isinstance(value, list):
        return [_flood_leaves(inner, text) for inner in value]
    return text if isinstance(value, str) else value


def flood(*, server_port: int | None = None) -> int:
    """Overwrite every editable text column of every row with payloads; returns how many
    values were written. ``server_port`` points the outside-image payload at a server."""
    counter = itertools.count()
    written = 0
    longer = len(f"{OUTSIDE[:-1]}{server_port}") - len(OUTSIDE) if server_port else 0
    for model, f in text_columns():
        label = model._meta.label
        if f.name not in EDITABLE.get(label, set()):
            continue
        for pk in model._default_manager.values_list("pk", flat=True):
            value = _value(label, f, counter, longer)
            if server_port is not None:
                value = value.replace(OUTSIDE, f"{OUTSIDE[:-1]}{server_port}")
            if (label, f.name) in JSON_COLUMNS:
                stored = model._default_manager.filter(pk=pk).values_list(f.name, flat=True)[0]
                value = json.dumps(_flood_leaves(json.loads(stored or "{}"), value))
            model._default_manager.filter(pk=pk).update(**{f.name: value})
            written += 1
    return written


# --- HTML checks ---------------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "poster"}
CSP_NONCE = re.compile(r"'nonce-([^']+)'")


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    scripts: int = 0


class _Inspector(HTMLParser):
    def __init__(self, nonce: str | None, findings: Findings) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.findings = findings

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = self.findings
        values = dict(attrs)
        if tag == "script":
            found.scripts += 1
            src = values.get("src") or ""
            if not self.nonce or values.get("nonce") != self.nonce:
                found.problems.append(f"script without the page's nonce: {attrs}")
            elif src and not src.startswith("/static/"):
                found.problems.append(f"script from elsewhere: {src}")
        if tag in {"iframe", "object", "embed", "base", "style"}:
            found.problems.append(f"<{tag}> element: {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                found.problems.append(f"<{tag} {name}=…>")
            if name in URL_ATTRIBUTES and value is not None:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                if squeezed.startswith(("javascript:", "vbscript:", "data:text")):
                    found.problems.append(f"<{tag} {name}={value[:40]!r}>")
                if (
                    tag == "img"
                    and name == "src"
                    and squeezed in {"x", "http://127.0.0.1:9/leak.png"}
                ):
                    found.problems.append(f"<img src={value!r}> from the corpus")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def inspect_html(response: Any) -> Findings:
    """Every element of the page that could run or fetch something the corpus put there."""
    match = CSP_NONCE.search(response.get("Content-Security-Policy", ""))
    findings = Findings()
    body = response.content.decode("utf-8", "replace")
    _Inspector(match.group(1) if match else None, findings).feed(body)
    if EVALUATED in body:
        findings.problems.append("a template probe was evaluated")
    if "alert(" in body and re.search(r"<script[^>]*>[^<]*alert\(", body):
        findings.problems.append("raw <script>alert in the page")
    return findings


def test_the_inspector_catches_each_payload_unescaped() -> None:
    """The checks can fail: every HTML payload, pasted in raw, is caught."""

    class Raw:
        def __init__(self, body: str) -> None:
            self.content = body.encode()

        def get(self, _name: str, default: str = "") -> str:
            return "script-src 'self' 'nonce-abc'"

    for payload in [p for p in PAYLOADS if "<" in p and ("script" in p or "on" in p)]:
        assert inspect_html(Raw(f"<p>{payload}</p>")).problems, payload
    assert inspect_html(Raw('<a href=" JaVa\tscript:alert(1)">x</a>')).problems
    assert inspect_html(Raw(f"<p>{EVALUATED}</p>")).problems
    assert not inspect_html(Raw('<script nonce="abc" src="/static/x.js"></script>')).problems


# --- the scene: the permission matrix's objects, flooded --------------------------------------


@dataclass
class Flooded:
    scene: Any
    portal_token: str
    written: int


def _build() -> Flooded:
    from kka.cases import services as case_services
    from kka.cases.models import Case
    from kka.conferences import services as conference_services
    from kka.conferences.models import Participant
    from tests.test_permission_matrix import build_scene
    from tests.test_permission_matrix_portal import ALL_PURPOSES

    scene = build_scene()
    owner = scene.users["owner"]
    case = Case.objects.get(code=scene.objects["case"])
    case_services.consent_record(
        actor=owner,
        client=case.client,
        giver="orang_tua",
        giver_name="Budi",
        channel="lisan",
        purposes=ALL_PURPOSES,
    )
    participant = Participant.objects.get(code=scene.objects["participant"])
    token = conference_services.portal_link_create(participant=participant)
    conference_services.pledge_take(
        participant=participant, typed_name="Budi", agreed=True, ip=None, channel="online"
    )
    written = flood()
    return Flooded(scene, token, written)


@pytest.fixture(scope="module")
def flooded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Flooded]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# Who opens each page: the first persona of this list the matrix lets GET it.
READERS = ["owner", "admin", "coordinator", "supervisor", "dpo", "head", "pengawas"]


def _pages() -> list[tuple[str, str]]:
    from tests.test_permission_matrix import MATRIX

    pages = []
    for name, (_kwargs, expectation) in sorted(MATRIX.items()):
        if name.startswith("portal:"):
            continue
        reader = next((p for p in READERS if expectation(p)[0] == "ok"), None)
        if reader is not None:
            pages.append((name, reader))
    return pages


PAGES = _pages()


@pytest.mark.django_db
def test_the_flood_reaches_every_editable_column(flooded: Flooded) -> None:
    assert flooded.written > 100
    from kka.cases.models import Case

    case = Case.objects.get(code=flooded.scene.objects["case"])
    assert PROBE in case.title
    assert case.description == CORPUS  # encrypted columns are flooded too


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "reader"), PAGES)
def test_every_page_renders_the_corpus_inert(flooded: Flooded, name: str, reader: str) -> None:
    from tests.test_permission_matrix import MATRIX

    scene = flooded.scene
    kwargs = {key: scene.objects.get(value, value) for key, value in MATRIX[name][0].items()}
    http = HttpClient()
    http.force_login(scene.users[reader])
    response = http.get(reverse(name, kwargs=kwargs))
    assert response.status_code < 400, f"{name}: {response.status_code}"
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return  # redirects, files and CSV are checked elsewhere
    findings = inspect_html(response)
    assert findings.problems == [], name


# Pages that show flooded text (so the inert check above really met the payloads).
SHOWING = [
    ("web:home", "owner"),
    ("cases:case_detail", "owner"),
    ("cases:client_detail", "owner"),
    ("cases:client_edit", "owner"),
    ("cases:record_edit", "owner"),
    ("cases:case_list", "owner"),
    ("conferences:detail", "owner"),
    ("conferences:plan", "owner"),
    ("conferences:participant_edit", "owner"),
    ("conferences:meeting", "owner"),
    ("conferences:report", "owner"),
    ("conferences:later_evaluation", "owner"),
    ("conferences:approval_review", "supervisor"),
    ("accounts:organisation_settings", "admin"),
    ("accounts:member_list", "admin"),
    ("accounts:sessions", "owner"),
    ("cases:consent_text_edit", "coordinator"),
    ("documents:letter_register", "owner"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "reader"), SHOWING)
def test_pages_show_the_corpus_escaped(flooded: Flooded, name: str, reader: str) -> None:
    from tests.test_permission_matrix import MATRIX

    scene = flooded.scene
    kwargs = {key: scene.objects.get(value, value) for key, value in MATRIX[name][0].items()}
    http = HttpClient()
    http.force_login(scene.users[reader])
    response = http.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200, name
    body = response.content.decode()
    assert "&lt;script&gt;" in body or "&lt;img src=x" in body or "&lt;svg" in body, name
    assert inspect_html(response).problems == [], name


# Program report pages show names only: the organisation's, the group's and its members'.
# Which payload the flood gives each depends on the row order, so these set their own.
REPORT_PAGES = [
    ("reports:organisation", {}, "coordinator"),
    ("reports:groups", {}, "pengawas"),
    ("reports:group", {"code": "group"}, "pengawas"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs", "reader"), REPORT_PAGES)
def test_report_pages_show_names_escaped(
    flooded: Flooded, name: str, kwargs: dict[str, str], reader: str
) -> None:
    from kka.accounts.models import Organisation, OrganisationGroup

    scene = flooded.scene
    Organisation.objects.filter(pk=scene.world.org.pk).update(
        name=f"<script>alert(1)</script>{PROBE}"
    )
    OrganisationGroup.objects.update(name='"><img src=x onerror=alert(1)>')
    http = HttpClient()
    http.force_login(scene.users[reader])
    resolved = {key: scene.objects.get(value, value) for key, value in kwargs.items()}
    response = http.get(reverse(name, kwargs=resolved))
    assert response.status_code == 200
    body = response.content.decode()
    if name != "reports:groups":  # the list names the groups only
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert PROBE in body and EVALUATED not in body
    if name != "reports:organisation":
        assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert inspect_html(response).problems == [], name


@pytest.mark.django_db
def test_probes_appear_literally_on_the_case_page(flooded: Flooded) -> None:
    http = HttpClient()
    http.force_login(flooded.scene.users["owner"])
    body = http.get(reverse("cases:case_detail", args=[flooded.scene.objects["case"]]))
    text = body.content.decode()
    assert PROBE in text and EVALUATED not in text
    assert "TD{% debug %}TD" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.django_db
def test_portal_page_renders_the_corpus_inert(flooded: Flooded) -> None:
    http = HttpClient()
    assert http.get("/undangan/", {"t": flooded.portal_token}).status_code == 302
    response = http.get("/undangan/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "&lt;script&gt;" in text  # the flooded names and briefing are on the page
    assert inspect_html(response).problems == []
    assert PROBE in text or "TI{{7*7}}TI" in text.replace("&#x27;", "'")


def test_api_token_names_render_inert(world: Any) -> None:
    """The one text a user types about a token: its name, on their token list."""
    from kka.api.tokens import token_create

    for payload in PAYLOADS:
        token_create(user=world.counsellor, organisation=world.org, name=payload[:80])
    http = HttpClient()
    http.force_login(world.counsellor)
    response = http.get("/akun/token-api/")
    assert response.status_code == 200
    assert "&lt;script&gt;" in response.content.decode()
    assert inspect_html(response).problems == []


# --- PDF and DOCX --------------------------------------------------------------------------


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def watcher() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that records every request WeasyPrint might make."""
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Counter.hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_pdf_fetcher_refuses_outside_addresses(watcher: tuple[int, list[str]]) -> None:
    import weasyprint

    from kka.documents import render

    port, hits = watcher
    outside = f"http://127.0.0.1:{port}/leak.png"
    with pytest.raises(render.ExternalResourceRefused):
        render._fetcher().fetch(outside)
    html = (
        f'<p>x</p><img src="{outside}"><link rel="stylesheet" href="{outside}.css">'
        f'<div style="background:url({outside}?bg)">y</div>'
    )
    weasyprint.HTML(
        string=html, base_url="kka-static:///", url_fetcher=render._fetcher()
    ).write_pdf()
    assert hits == []
    # Without KKA's fetcher the same HTML would fetch (so the assertion above can fail).
    weasyprint.HTML(string=html).write_pdf()
    assert hits


@pytest.mark.django_db
def test_every_document_shows_the_corpus_as_text_and_fetches_nothing(
    watcher: tuple[int, list[str]],
) -> None:
    from kka.documents.management.preview import build_demo_kka, produce_all, quiet_weasyprint
    from tests.documents.util import docx_text, pdf_text

    port, hits = watcher
    quiet_weasyprint()
    kka = build_demo_kka()
    flood(server_port=port)
    pdfs = produce_all(kka, fmt="pdf", editions=True)
    docxs = produce_all(kka, fmt="docx", editions=True)
    assert [(r.kind, r.problem) for r in pdfs + docxs if r.data is None] == []
    literal_pdf = literal_docx = 0
    for result in pdfs:
        assert result.data is not None
        text = pdf_text(result.data)
        assert EVALUATED not in text, result.kind
        literal_pdf += "<script>alert(1)</script>" in text
    for result in docxs:
        assert result.data is not None
        text = docx_text(result.data)
        assert EVALUATED not in text, result.kind
        literal_docx += "<script>alert(1)</script>" in text
        _assert_docx_xml_escaped(result.data, result.kind)
    assert literal_pdf >= len(pdfs) // 2, "payloads must show as literal text in the PDFs"
    assert literal_docx >= len(docxs) // 2
    assert hits == [], "WeasyPrint fetched an outside address"

    # The organisation's own DOCX layouts (Jinja sandbox), one per kind, naming every
    # field the kind offers: the flooded values go in as text, never as template code.
    from kka.documents import custom, registry
    from kka.documents.models import Document
    from tests.documents.test_custom_templates import make_docx

    kinds = registry.load_all()
    admin = kka.counsellor  # any actor; the service checks nothing else here
    for code, kind in kinds.items():
        lines = [f"{name}: {{{{ {name} }}}}" for name in kind.field_help]
        custom.template_upload(
            actor=admin,
            organisation=kka.organisation,
            kind=kind,
            original_name=f"{code}.docx",
            data=make_docx(*lines),
        )
    first_new = Document.objects.order_by("-id").values_list("id", flat=True).first() or 0
    owned = produce_all(kka, fmt="docx")
    assert [(r.kind, r.problem) for r in owned if r.data is None] == []
    used = Document.objects.filter(id__gt=first_new, format="docx")
    assert used.filter(template__isnull=False, template_fallback="").count() == len(kinds)
    literal_custom = 0
    for result in owned:
        assert result.data is not None
        text = docx_text(result.data)
        assert EVALUATED not in text, result.kind
        literal_custom += PROBE in text
        _assert_docx_xml_escaped(result.data, f"custom {result.kind}")
    assert literal_custom >= len(owned) // 2


@pytest.mark.django_db
def test_other_pdfs_show_the_corpus_as_text(flooded: Flooded) -> None:
    """PDFs made outside the document kinds: the consent proof (a download) and the data
    subject's access export (kka/privacy)."""
    from kka.cases.models import Client
    from tests.documents.util import pdf_text

    scene = flooded.scene
    http = HttpClient()
    http.force_login(scene.users["owner"])
    proof = http.get(
        reverse(
            "cases:consent_proof",
            kwargs={"code": scene.objects["client"], "consent": scene.objects["consent"]},
        )
    )
    assert proof.status_code == 200 and proof["Content-Type"] == "application/pdf"
    pdfs = {"consent_proof": proof.content}
    from kka.privacy import export

    if hasattr(export, "access_export"):
        client = Client.objects.get(code=scene.objects["client"])
        pdfs["access_export"] = export.access_export(
            actor=scene.users["owner"], client=client, fmt="pdf"
        )
    for label, data in pdfs.items():
        text = pdf_text(data)
        assert EVALUATED not in text, label
        assert "<script>alert(1)</script>" in text or "onerror=alert(1)" in text, label


def _assert_docx_xml_escaped(data: bytes, label: str) -> None:
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                part = archive.read(name)
                ElementTree.fromstring(part)  # well-formed: nothing broke out of a text run
                assert b"<script" not in part, (label, name)


def test_custom_docx_template_does_not_evaluate_field_values() -> None:
    from kka.documents import custom
    from tests.documents.test_custom_templates import make_docx
    from tests.documents.util import docx_text

    template = make_docx("[{{ nama_lembaga }}]", "[{{ tempat }}]")
    out = custom.render_bytes(template, {"nama_lembaga": CORPUS, "tempat": PROBE})
    text = docx_text(out)
    assert PROBE in text and EVALUATED not in text
    assert "<script>alert(1)</script>" in text
    assert "TD{% debug %}TD" in text
    _assert_docx_xml_escaped(out, "custom")


# --- the invitation mail (HTML part, subject, .ics) -----------------------------------------


class _Mail:
    """An e-mail's HTML alternative, shaped like a response for ``inspect_html``."""

    def __init__(self, html: str) -> None:
        self.content = html.encode()

    def get(self, _name: str, default: str = "") -> str:
        return default  # no nonce: an e-mail may carry no script at all


@pytest.mark.django_db
def test_invitation_mail_and_calendar_keep_the_corpus_inert(
    flooded: Flooded, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    import datetime as dt

    import icalendar
    from django.utils import timezone

    from kka.conferences import services as conference_services
    from kka.conferences.models import Conference, Participant

    scene = flooded.scene
    participant = Participant.objects.get(code=scene.objects["participant"])
    Participant.objects.filter(pk=participant.pk).update(email="budi@keluarga.test")
    participant.refresh_from_db()
    # The place carries a line break and a calendar property: it must stay one value.
    place = "Ruang BK\r\nATTENDEE:mailto:penyusup@luar.test\r\n<script>alert(1)</script>"
    Conference.objects.filter(pk=participant.conference_id).update(
        starts_at=timezone.now() + dt.timedelta(days=3), place=place
    )
    with django_capture_on_commit_callbacks(execute=True):
        conference_services.invitation_send(
            actor=scene.users["owner"], participant=participant, channel="email"
        )
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert "\n" not in message.subject and "\r" not in message.subject
    html = next(body for body, mime in message.alternatives if mime == "text/html")
    assert "&lt;script&gt;" in html
    assert inspect_html(_Mail(html)).problems == []
    ics = next(a for a in message.attachments if a[0] == "undangan.ics")
    calendar = icalendar.Calendar.from_ical(ics[1])
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    attendees = event.get("attendee")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees else []
    assert all("penyusup" not in str(a) for a in attendees)
    assert "penyusup@luar.test" in str(event.get("location"))  # kept as text, in its place


# --- CSV / XLSX exports --------------------------------------------------------------------


def test_neutralise_cell_handles_every_formula_trigger() -> None:
    for payload in PAYLOADS:
        cell = neutralise_cell(payload)
        assert cell[:1] not in FORMULA_TRIGGERS, payload
        if payload[:1] in FORMULA_TRIGGERS:
            assert cell == "'" + payload
        else:
            assert cell == payload
    assert neutralise_cell(7) == "7"
    assert neutralise_cell(None) == ""
    assert neutralise_cell(-3) == "'-3"


# Every export that writes CSV or XLSX: url name -> who may download it. A new export
# found by the source scan below without a row fails.
EXPORTS = {"documents:letter_register_csv": "owner"}


def test_every_csv_or_xlsx_export_is_listed() -> None:
    from pathlib import Path

    import kka

    root = Path(kka.__file__).parent
    writers = []
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if re.search(r"text/csv|spreadsheetml|csv\.writer|Workbook\(", source):
            writers.append(str(path.relative_to(root)))
    # Files that write exports; each must use the shared neutraliser.
    for name in writers:
        source = (root / name).read_text(encoding="utf-8")
        assert "neutralise_cell" in source or "neutralised_writer" in source, name
    assert "documents/views_register.py" in writers


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_csv_export_neutralises_formula_cells(flooded: Flooded, name: str) -> None:
    import datetime as dt

    from django.utils import timezone

    from kka.conferences import services as conference_services
    from kka.conferences.models import Conference, Participant

    scene = flooded.scene
    owner = scene.users["owner"]
    # A letter issued under the flooded pattern, by the flooded user name.
    participant = Participant.objects.get(code=scene.objects["participant"])
    Conference.objects.filter(pk=participant.conference_id).update(
        starts_at=timezone.now() + dt.timedelta(days=3), place="Ruang BK"
    )
    conference_services.invitation_send(actor=owner, participant=participant, channel="letter")
    http = HttpClient()
    http.force_login(scene.users[EXPORTS[name]])
    session = http.session
    session[SESSION_VERIFIED_AT] = time.time()  # exports ask for a fresh step-up
    session.save()
    response = http.get(reverse(name))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) > 1 and cells
    dangerous = [cell for cell in cells if cell[:1] in FORMULA_TRIGGERS]
    assert dangerous == []
    # The flooded values really are in the export, neutralised.
    assert any(cell.startswith("'=") for cell in cells)


# Program report downloads (aggregates): the names in them are the organisation's, the
# group's and its members' — typed by an admin or the operator, so formula-looking ones
# must come out neutralised (the figures themselves are numbers or "< 5").
REPORT_EXPORTS = [
    ("reports:organisation_export", {}, "coordinator"),
    ("reports:group_export", {"code": "group"}, "pengawas"),
]
FORMULA_NAMES = {"organisation": "=cmd|' /C calc'!A0", "group": "+SUM(1)"}


def _spreadsheet_cells(response: Any, fmt: str) -> list[str]:
    if fmt == "csv":
        text = response.content.decode("utf-8-sig")
        return [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(response.content))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula cell {sheet.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    cells.append(cell.value)
    return cells


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("name", "kwargs", "reader"), REPORT_EXPORTS)
def test_report_exports_neutralise_formula_names(
    flooded: Flooded, name: str, kwargs: dict[str, str], reader: str, fmt: str
) -> None:
    from kka.accounts.models import Organisation, OrganisationGroup

    scene = flooded.scene
    Organisation.objects.filter(pk=scene.world.org.pk).update(name=FORMULA_NAMES["organisation"])
    OrganisationGroup.objects.update(name=FORMULA_NAMES["group"])
    http = HttpClient()
    http.force_login(scene.users[reader])
    resolved = {key: scene.objects.get(value, value) for key, value in kwargs.items()}
    response = http.get(reverse(name, kwargs={**resolved, "fmt": fmt}))
    assert response.status_code == 200, response.status_code

    cells = _spreadsheet_cells(response, fmt)

    assert cells
    assert [cell for cell in cells if cell[:1] in FORMULA_TRIGGERS] == []
    # The names really are in the file, neutralised.
    assert "'" + FORMULA_NAMES["organisation"] in cells
    if name == "reports:group_export":
        assert "'" + FORMULA_NAMES["group"] in cells
