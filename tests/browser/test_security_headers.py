"""In a real browser: the security headers on signed-in pages, no CSP violation in the
console, and the minutes autosave (the one script of KKA's own) still working under the
policy. A deliberate inline script shows the policy is enforced and the listener hears."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kka.accounts.models import Role
from kka.cases import services as case_services
from kka.conferences import services
from kka.conferences.models import Minutes
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")


def assert_headers(response: Any) -> str:
    headers = response.headers  # lower-case names
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert "camera=()" in headers["permissions-policy"]
    assert "no-store" in headers["cache-control"]
    match = NONCE.search(csp)
    assert match
    return match.group(1)


def test_headers_and_no_csp_violation_on_signed_in_pages(browser: Any, live_server: Any) -> None:
    org = make_organisation(name="SMP Negeri 5 Aman")
    owner = make_user(organisation=org, role=Role.KONSELOR, email="aman@uji.test")
    client = case_services.client_create(
        actor=owner, organisation=org, full_name="Sari Wulandari", birth_date="1995-02-03"
    )
    case = case_services.case_open(
        actor=owner, client=client, bidang="pribadi", title="Cemas", intake_source="sendiri"
    )
    conference = services.conference_create(actor=owner, case=case)

    context = browser.new_context(locale="id-ID", base_url=live_server.url)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    # Reported violations also reach the page as an event; keep them across page loads.
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " console.error('Content Security Policy violation: ' + e.violatedDirective); });"
    )

    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill("aman@uji.test")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))

    case_page = page.goto(f"/kasus/{case.code}/")
    assert case_page is not None and case_page.status == 200
    assert "Cemas" in page.content()
    case_nonce = assert_headers(case_page)

    meeting = page.goto(f"/kka/{conference.code}/pertemuan/")
    assert meeting is not None and meeting.status == 200
    meeting_nonce = assert_headers(meeting)
    assert meeting_nonce != case_nonce
    # The browser hides nonce attributes from the DOM, but the property carries it.
    assert page.evaluate(
        "(nonce) => Array.from(document.scripts).every((s) => s.nonce === nonce)", meeting_nonce
    )
    # The stylesheet loaded (under style-src 'self'): the top bar has its layout.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") not in (
        "",
        "inline",
    )

    # The autosave script runs under the policy.
    page.locator("#m-shared").fill("Konseli mulai terbuka tentang rasa cemasnya.")
    page.wait_for_function(
        "() => document.getElementById('save-status').textContent.startsWith('Tersimpan')",
        timeout=15000,
    )
    minutes = Minutes.objects.get(conference=conference)
    assert minutes.shared_text == "Konseli mulai terbuka tentang rasa cemasnya."

    violations = [text for text in console if "Content Security Policy" in text]
    assert violations == [], violations

    # The policy is really enforced, and a violation would have been heard.
    page.evaluate(
        "var s = document.createElement('script');"
        " s.textContent = 'window.kkaInlineRan = true;';"
        " document.body.appendChild(s);"
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.kkaInlineRan === true") is False
    assert any("Content Security Policy" in text for text in console)
    context.close()
