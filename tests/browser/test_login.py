"""As a person would: log in, switch language, look at the page at phone width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.accounts.models import Role
from tests.browser.conftest import screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_counsellor_logs_in_in_indonesian_and_switches_to_english(page: Any) -> None:
    org = make_organisation(name="SMP Negeri 3 Contoh")
    make_user(organisation=org, role=Role.KONSELOR, email="rina@uji.test", full_name="Rina")

    page.goto("/")
    assert page.locator("h1").inner_text() == "Masuk ke KKA"
    assert page.locator("html").get_attribute("lang") == "id"
    page.get_by_label("Email").fill("rina@uji.test")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "Selamat datang, Rina" in page.locator("h1").inner_text()
    assert "SMP Negeri 3 Contoh" in page.content()

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome, Rina" in page.locator("h1").inner_text()

    # The choice is remembered for this account.
    page.reload()
    assert "Welcome, Rina" in page.locator("h1").inner_text()


def test_wrong_password_is_refused_in_indonesian(page: Any) -> None:
    make_user(email="budi@uji.test")
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill("budi@uji.test")
    page.get_by_label("Kata sandi").fill("salah-sekali-kata-sandinya")
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Email atau kata sandi salah.")


def test_phone_width_home_page_screenshot(phone_page: Any) -> None:
    org = make_organisation(name="SD Negeri 1 Harapan")
    make_user(organisation=org, email="sari@uji.test", full_name="Sari Dewi")
    phone_page.goto("/akun/masuk/")
    screenshot(phone_page, "login-phone")
    phone_page.get_by_label("Email").fill("sari@uji.test")
    phone_page.get_by_label("Kata sandi").fill(PASSWORD)
    phone_page.get_by_role("button", name="Masuk").click()
    phone_page.wait_for_url(re.compile(r"/$"))
    path = screenshot(phone_page, "home-phone")
    assert path.stat().st_size > 5000
    # Nothing is wider than the phone's screen.
    overflow = phone_page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390
