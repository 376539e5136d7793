"""The XSS corpus (tests/web/test_xss_corpus.py) in a real Chromium: the counsellor's pages
and the participant's portal, with every editable text field flooded, open no dialog and
report no Content Security Policy violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from tests.personas import PASSWORD
from tests.web.test_xss_corpus import _build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', function (e) {"
    " console.error('Content Security Policy violation: ' + e.violatedDirective); });"
)


def _watched(browser: Any, live_server: Any) -> tuple[Any, Any, list[str], list[str]]:
    context = browser.new_context(locale="id-ID", base_url=live_server.url)
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    dialogs: list[str] = []
    console: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: console.append(message.text))
    return context, page, dialogs, console


def test_flooded_pages_open_no_dialog_in_a_browser(browser: Any, live_server: Any) -> None:
    flooded = _build()
    scene = flooded.scene
    objects = scene.objects
    context, page, dialogs, console = _watched(browser, live_server)

    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(scene.users["owner"].email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))

    pages = [
        reverse("web:home"),
        reverse("cases:case_detail", args=[objects["case"]]),
        reverse("cases:client_detail", args=[objects["client"]]),
        reverse("cases:client_edit", args=[objects["client"]]),
        reverse("cases:record_edit", args=[objects["case"], objects["record"]]),
        reverse("conferences:detail", args=[objects["conference"]]),
        reverse("conferences:plan", args=[objects["conference"]]),
        reverse("conferences:meeting", args=[objects["closed_conference"]]),
        reverse("conferences:report", args=[objects["closed_conference"]]),
        reverse("cases:case_list"),
        reverse("cases:client_list"),
    ]
    for path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        # Hovering and focusing every element would fire on* handlers, were there any.
        page.evaluate(
            "() => document.querySelectorAll('body *').forEach((el) => {"
            " el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));"
            " el.dispatchEvent(new FocusEvent('focus')); })"
        )
        page.wait_for_timeout(100)
        assert dialogs == [], path
    body = page.content()
    assert "TI{{7*7}}TI" in body or "TI{{7*7}}TI" in page.inner_text("body")

    # The participant's portal, in a browser of its own.
    portal_context, portal, portal_dialogs, portal_console = _watched(browser, live_server)
    portal.goto(f"/undangan/?t={flooded.portal_token}")
    portal.wait_for_url(re.compile(r"/undangan/$"))
    portal.wait_for_load_state("load")
    assert "<script>alert(1)</script>" in portal.inner_text("body")
    assert portal_dialogs == []

    violations = [t for t in console + portal_console if "Content Security Policy" in t]
    assert violations == [], violations

    # The listener hears a dialog when there is one (so the checks above can fail).
    page.evaluate("() => alert('kontrol')")
    assert dialogs == ["kontrol"]
    portal_context.close()
    context.close()
