"""The interactive API docs in a real browser: Swagger UI renders the live OpenAPI
document under KKA's Content Security Policy, with no violation in the console and no
request to another site; "Try it out" reaches the API with a pasted token."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from kka.accounts.models import Role
from tests.api.util import token_for
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_without_csp_violation_or_outside_request(
    browser: Any, live_server: Any
) -> None:
    org = make_organisation(name="SMP Negeri 5 Aman")
    make_user(organisation=org, role=Role.KONSELOR, email="dok@uji.test")
    context = browser.new_context(locale="id-ID", base_url=live_server.url)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " console.error('Content Security Policy violation: ' + e.violatedDirective); });"
    )
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto("/api/v1/docs")
    page.wait_for_url(re.compile(r"/akun/masuk/"))  # staff only
    page.get_by_label("Email").fill("dok@uji.test")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/api/v1/docs$"))
    # Swagger UI ran (under script-src) and rendered the operations of the live document.
    page.wait_for_selector(".opblock", timeout=15000)
    assert page.locator(".opblock").count() >= 3
    assert "KKA API" in page.content()

    # The token is pasted into the Authorize dialog and sent by "Try it out".
    user = make_user(organisation=org, role=Role.KONSELOR, email="dok2@uji.test")
    raw = token_for(user)
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator(".modal-ux input").first.fill(raw)
    page.locator(".modal-ux button.modal-btn.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    block = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/cases"])')
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    with page.expect_response(re.compile(r"/api/v1/cases")) as answer:
        block.locator("button.execute").click()
    assert answer.value.status == 200

    violations = [text for text in console if "Content Security Policy" in text]
    assert violations == [], violations
    assert hosts == {urlsplit(live_server.url).netloc}, hosts
    context.close()
