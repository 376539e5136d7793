"""HTTP hardening: the nonce-based CSP, the other security headers, no-store for every
response to a signed-in user or a portal session, and __Host- cookies with HSTS in
production (checked in a fresh production-mode process)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from kka.accounts.two_factor import SESSION_VERIFIED_AT
from kka.cases import services as case_services
from kka.conferences import services as conference_services
from kka.conferences.models import Participant
from kka.lib.security import (
    NO_STORE,
    PORTAL_SESSION_KEY,
    SecurityHeadersMiddleware,
    content_security_policy,
)
from kka.portal import views as portal_views
from tests.personas import World
from tests.test_permission_matrix import MATRIX, Scene, build_scene

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")
DOWNLOAD_CSP = "default-src 'none'; sandbox"
HOST = "kka.example.sch.id"


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    """The permission matrix's scene, built once; each test runs in a rolled-back savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def as_owner(scene: Scene) -> Client:
    http = Client()
    http.force_login(scene.users["owner"])
    return http


class Markup(HTMLParser):
    """Collects what a CSP without unsafe-inline would block (or must allow by nonce)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script_bodies: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements = 0
        self.event_handlers: list[str] = []
        self.javascript_urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
            self._in_script = not values.get("src")
        if tag == "style":
            self.style_elements += 1
        for name, value in attrs:
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.event_handlers.append(f"<{tag} {name}>")
            url = (value or "").strip().lower()
            if name in {"href", "src", "action", "formaction"} and url.startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script_bodies.append(data)


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def nonce_of(response: Any) -> str:
    match = NONCE.search(response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


def assert_security_headers(response: Any) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy


def assert_page_csp(response: Any) -> str:
    """The full page policy; returns the nonce after checking every script tag uses it."""
    assert_security_headers(response)
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = nonce_of(response)
    if response["Content-Type"].startswith("text/html"):
        assert_markup_obeys_csp(response.content.decode(), nonce)
    return nonce


def assert_markup_obeys_csp(html: str, nonce: str) -> None:
    markup = parse(html)
    for script in markup.scripts:
        src = script.get("src")
        if src:
            assert src.startswith("/static/"), src  # own origin only
        else:
            assert script.get("nonce") == nonce, "an inline script without the page's nonce"
        if "nonce" in script:
            assert script["nonce"] == nonce
    assert markup.style_attributes == []
    assert markup.style_elements == 0
    assert markup.event_handlers == []
    assert markup.javascript_urls == []


def assert_no_store(response: Any) -> None:
    assert "no-store" in response["Cache-Control"], response.get("Cache-Control")


# --- the policy itself -------------------------------------------------------------------------


def test_the_policy_text() -> None:
    assert content_security_policy("abc") == (
        "default-src 'self'; script-src 'self' 'nonce-abc'; style-src 'self'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def test_login_page_has_the_headers_and_its_scripts_carry_the_nonce(client: Client) -> None:
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    nonce = assert_page_csp(response)
    scripts = parse(response.content.decode()).scripts
    assert scripts, "htmx is loaded on every page"
    assert all(script.get("nonce") == nonce for script in scripts)
    # An anonymous page still never lands in a shared cache (it carries a CSRF token).
    assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]


def test_the_nonce_differs_on_every_request(client: Client) -> None:
    nonces = {nonce_of(client.get(reverse("accounts:login"))) for _ in range(5)}

    assert len(nonces) == 5
    assert all(len(nonce) >= 22 for nonce in nonces)  # 18 random bytes, url-safe base64


def test_logged_in_home_page(scene: Scene) -> None:
    response = as_owner(scene).get(reverse("web:home"))

    assert response.status_code == 200
    assert_page_csp(response)
    assert_no_store(response)


def test_case_page(scene: Scene) -> None:
    response = as_owner(scene).get(reverse("cases:case_detail", args=[scene.objects["case"]]))

    assert response.status_code == 200
    assert_page_csp(response)
    assert_no_store(response)


def test_meeting_page_script_carries_this_requests_nonce(scene: Scene) -> None:
    http = as_owner(scene)
    url = reverse("conferences:meeting", args=[scene.objects["conference"]])

    first, second = http.get(url), http.get(url)

    for response in (first, second):
        assert response.status_code == 200
        nonce = assert_page_csp(response)
        html = response.content.decode()
        assert f'src="/static/kka/minutes.js" nonce="{nonce}"' in html
        assert_no_store(response)
    assert nonce_of(first) != nonce_of(second)


def test_document_download_keeps_its_sandboxed_policy(scene: Scene) -> None:
    response = as_owner(scene).get(reverse("documents:download", args=[scene.objects["document"]]))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == DOWNLOAD_CSP
    assert_security_headers(response)
    assert_no_store(response)
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_view_that_sets_a_looser_cache_header_is_overridden_for_a_signed_in_user(
    scene: Scene,
) -> None:
    """The letter-register CSV chose "private, no-store" itself: kept. A redirect (which
    sets nothing) is marked no-store too."""
    http = as_owner(scene)
    session = http.session
    session[SESSION_VERIFIED_AT] = time.time()  # the export asks for a fresh step-up
    session.save()
    csv = http.get(reverse("documents:letter_register_csv"))
    assert csv["Cache-Control"] == "private, no-store"
    redirect = http.post(
        reverse("conferences:minutes_finalise", args=[scene.objects["conference"]]), {}
    )
    assert redirect.status_code in (302, 303)
    assert_no_store(redirect)


def test_the_portal(scene: Scene) -> None:
    participant = Participant.objects.get(code=scene.objects["participant"])
    # The scene's consent covers holding the KKA only; the family member needs sharing too.
    case_services.consent_record(
        actor=scene.users["owner"],
        client=participant.conference.case.client,
        giver="orang_tua",
        giver_name="Budi",
        channel="kertas",
        purposes=["purpose_hold_kka", "share_family"],
    )
    token = conference_services.portal_link_create(participant=participant)
    visitor = Client()

    entered = visitor.get("/undangan/", {"t": token})
    assert entered.status_code == 302
    assert_no_store(entered)
    response = visitor.get("/undangan/")

    assert response.status_code == 200
    assert "Budi" in response.content.decode()
    assert_page_csp(response)
    assert_no_store(response)


def test_static_files_keep_caching_and_get_the_headers(scene: Scene) -> None:
    """Even for a signed-in user: a stylesheet holds no client data."""
    response = as_owner(scene).get("/static/kka/app.css")

    assert response.status_code == 200
    assert_security_headers(response)
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age=0" not in response.get("Cache-Control", "")


def _through_middleware(request: Any, cache_control: str | None = None) -> HttpResponse:
    def view(_request: Any) -> HttpResponse:
        response = HttpResponse("<p>x</p>")
        if cache_control:
            response["Cache-Control"] = cache_control
        return response

    return SecurityHeadersMiddleware(view)(request)


def test_no_store_is_for_signed_in_users_and_portal_sessions_only(world: World) -> None:
    factory = RequestFactory()
    anonymous = factory.get("/")
    anonymous.user = AnonymousUser()
    anonymous.session = {}  # type: ignore[assignment]
    signed_in = factory.get("/")
    signed_in.user = world.counsellor
    portal = factory.get("/")
    portal.user = AnonymousUser()
    portal.session = {PORTAL_SESSION_KEY: 7}  # type: ignore[assignment]
    bare = factory.get("/")  # e.g. a static file: no user, no session

    cacheable = "public, max-age=600"
    assert _through_middleware(anonymous, cacheable)["Cache-Control"] == cacheable
    assert _through_middleware(bare, cacheable)["Cache-Control"] == cacheable
    for request in (signed_in, portal):
        response = _through_middleware(request, cacheable)
        assert response["Cache-Control"] == NO_STORE
        assert response["Expires"]
        assert_security_headers(response)
    # A view's own no-store choice is left as it is.
    assert _through_middleware(signed_in, "private, no-store")["Cache-Control"] == (
        "private, no-store"
    )
    assert PORTAL_SESSION_KEY == portal_views.SESSION_KEY


def test_the_request_carries_the_nonce_that_the_header_names() -> None:
    seen: list[str] = []

    def view(request: Any) -> HttpResponse:
        seen.append(request.csp_nonce)
        return HttpResponse("x")

    request = RequestFactory().get("/")
    response = SecurityHeadersMiddleware(view)(request)

    assert nonce_of(response) == seen[0]


# --- error pages ---------------------------------------------------------------------------------


def test_404_page_headers(client: Client, world: World) -> None:
    anonymous = client.get("/tidak-ada-di-sini/")
    client.force_login(world.counsellor)
    signed_in = client.get("/tidak-ada-di-sini/")

    for response in (anonymous, signed_in):
        assert response.status_code == 404
        assert_page_csp(response)
        assert_no_store(response)


def test_400_page_headers(client: Client) -> None:
    response = client.get("/akun/masuk/", headers={"host": "penipu.example"})

    assert response.status_code == 400
    assert_page_csp(response)


def test_csrf_failure_page_headers_and_no_detail(world: World) -> None:
    http = Client(enforce_csrf_checks=True)
    http.force_login(world.counsellor)

    response = http.post(reverse("accounts:switch_organisation"), {"organisation": "x"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "CSRF" not in html and "Referer" not in html and "cookie" not in html.lower()
    assert_page_csp(response)
    assert_no_store(response)


@pytest.mark.urls("tests.web.urls_boom")
def test_500_page_headers(client: Client, world: World) -> None:
    client.raise_request_exception = False
    client.force_login(world.counsellor)

    response = client.get("/uji/meledak/")

    assert response.status_code == 500
    assert_page_csp(response)
    assert_no_store(response)


# --- every page of the permission matrix, as the case owner ------------------------------------

OWNER_GETS = sorted(name for name, (_kwargs, expect) in MATRIX.items() if expect("owner")[0])


@pytest.mark.parametrize("name", OWNER_GETS)
def test_every_page_obeys_the_policy(scene: Scene, name: str) -> None:
    """No inline script without the nonce, no inline style or event handler, every
    response to the signed-in owner no-store, every response with the headers."""
    kwargs_spec, _expect = MATRIX[name]
    kwargs = {key: scene.objects.get(value, value) for key, value in kwargs_spec.items()}

    response = as_owner(scene).get(reverse(name, kwargs=kwargs))

    assert_security_headers(response)
    assert_no_store(response)
    csp = response["Content-Security-Policy"]
    if csp != DOWNLOAD_CSP:
        assert_page_csp(response)
    if response["Content-Type"].startswith("text/html"):
        assert_markup_obeys_csp(response.content.decode(), nonce_of(response))


def test_the_markup_check_finds_what_the_csp_blocks() -> None:
    """The walk above can fail: each forbidden construct is found."""
    nonce = "n" * 24
    bad = [
        "<script>alert(1)</script>",
        '<script nonce="other">alert(1)</script>',
        '<script src="https://cdn.example/x.js"></script>',
        '<p style="color:red">x</p>',
        "<style>p{}</style>",
        '<button onclick="go()">x</button>',
        '<a href="javascript:go()">x</a>',
    ]
    for html in bad:
        with pytest.raises(AssertionError):
            assert_markup_obeys_csp(html, nonce)
    assert_markup_obeys_csp(
        f'<script nonce="{nonce}">ok()</script><script src="/static/kka/minutes.js"></script>',
        nonce,
    )


# --- production mode, in a fresh process -------------------------------------------------------


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "KKA_ENV": "production",
        "KKA_DATA_DIR": str(tmp_path / "data"),
        "KKA_SECRET_KEY": secrets.token_urlsafe(48),
        "KKA_FIELD_KEYS": Fernet.generate_key().decode("ascii"),
        "KKA_INDEX_KEY": secrets.token_urlsafe(32),
        "KKA_ALLOWED_HOSTS": HOST,
        "KKA_SMTP_HOST": "localhost",
        "KKA_BASE_URL": f"https://{HOST}",
    }


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_production_deploy_check_passes_at_warning_level(tmp_path: Path) -> None:
    result = _run(
        _production_env(tmp_path),
        "-m",
        "kka.cli",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PRODUCTION_PROBE = textwrap.dedent(
    f"""
    import json, os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kka.settings")
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)
    # The manifest of hashed static names needs collectstatic; plain names do here.
    override_settings(STORAGES={{
        "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
        "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    }}).enable()
    http = Client()
    plain = http.get("/akun/masuk/", headers={{"host": "{HOST}"}})
    login = http.get("/akun/masuk/", headers={{"host": "{HOST}"}}, secure=True)
    cookies = {{
        name: {{key: str(morsel[key]) for key in ("secure", "path", "domain", "httponly",
                                                   "samesite")}}
        for name, morsel in login.cookies.items()
    }}
    print(json.dumps({{
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "plain_status": plain.status_code,
        "plain_location": plain.get("Location", ""),
        "status": login.status_code,
        "headers": dict(login.items()),
        "cookies": cookies,
    }}))
    """
)


def test_production_uses_host_cookies_and_hsts(tmp_path: Path) -> None:
    result = _run(_production_env(tmp_path), "-c", PRODUCTION_PROBE, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["session_cookie"] == "__Host-kka_session"
    assert found["csrf_cookie"] == "__Host-kka_csrf"
    # Plain HTTP is sent to HTTPS; over HTTPS the page carries HSTS and the policy.
    assert found["plain_status"] == 301
    assert found["plain_location"] == f"https://{HOST}/akun/masuk/"
    assert found["status"] == 200
    headers = found["headers"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert NONCE.search(headers["Content-Security-Policy"])
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The login page sets the CSRF cookie: a __Host- cookie must be Secure, Path=/, no Domain.
    csrf = found["cookies"]["__Host-kka_csrf"]
    assert csrf["secure"] == "True"
    assert csrf["path"] == "/"
    assert csrf["domain"] == ""
    assert csrf["httponly"] == "True"


# Rendered by WeasyPrint into PDFs or sent as e-mail, never served to a browser as a page.
NOT_BROWSER_PAGES = ("documents/document.html", "cases/consent_proof.html")


def test_no_template_needs_unsafe_inline() -> None:
    """Also the pages the matrix walk does not reach (other states, forms with errors)."""
    from django.conf import settings

    root = Path(settings.BASE_DIR)
    templates = [
        path
        for path in root.rglob("templates/**/*.html")
        if "/emails/" not in path.as_posix() and not path.as_posix().endswith(NOT_BROWSER_PAGES)
    ]
    assert len(templates) > 20
    problems = []
    for path in templates:
        source = path.read_text(encoding="utf-8")
        markup = parse(re.sub(r"\{#.*?#\}", "", source))
        name = path.relative_to(root).as_posix()
        problems += [f"{name}: {item}" for item in markup.style_attributes]
        problems += [f"{name}: {item}" for item in markup.event_handlers]
        problems += [f"{name}: {item}" for item in markup.javascript_urls]
        if markup.style_elements:
            problems.append(f"{name}: <style>")
        for script in markup.scripts:
            if not script.get("src") and "csp_nonce" not in (script.get("nonce") or ""):
                problems.append(f"{name}: inline <script> without the nonce")
    assert problems == []
