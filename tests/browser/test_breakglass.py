"""Break-glass as a coordinator would use it: from the home page, past the step-up,
a refused short reason, the case with its banner, then ending the access early."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.accounts.models import Role
from kka.cases import services as case_services
from kka.privacy.models import BreakGlass
from tests.browser.conftest import screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page: Any, email: str) -> None:
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))


def test_coordinator_opens_reads_and_ends_break_glass(page: Any) -> None:
    org = make_organisation(name="SMP Negeri 9 Darurat")
    owner = make_user(organisation=org, role=Role.KONSELOR, full_name="Bu Rina")
    make_user(organisation=org, role=Role.DPO, email="dpo@uji.test", full_name="Pak Dedi")
    make_user(
        organisation=org,
        role=Role.KOORDINATOR,
        email="koordinator@uji.test",
        full_name="Pak Joko",
    )
    client = case_services.client_create(
        actor=owner, organisation=org, full_name="Rudi Hartono", birth_date="2011-03-04"
    )
    case = case_services.case_open(
        actor=owner, client=client, bidang="pribadi", title="Menarik diri", intake_source="guru"
    )
    login(page, "koordinator@uji.test")
    assert page.goto(f"/kasus/{case.code}/").status == 404

    page.goto("/")
    page.get_by_role("link", name="Akses darurat ke kasus yang tidak Anda tangani").click()
    # Step-up first: without a second factor the password again.
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Verifikasi").click()
    page.wait_for_url(re.compile(r"/akses-darurat/$"))

    page.get_by_label("Kode kasus").fill(case.code.lower())
    page.get_by_label("Alasan").fill("Mendesak sekali")
    page.get_by_role("button", name="Buka akses darurat").click()
    expect(page.get_by_text("Tuliskan alasan minimal 20 karakter.")).to_be_visible()
    assert not BreakGlass.objects.exists()

    page.get_by_label("Kode kasus").fill(case.code)
    page.get_by_label("Alasan").fill(
        "Konselor cuti sakit; orang tua melapor kejadian serius hari ini."
    )
    page.get_by_role("button", name="Buka akses darurat").click()
    page.wait_for_url(re.compile(rf"/kasus/{case.code}/$"))
    assert page.locator("h1").first.inner_text() == "Menarik diri"
    banner = page.locator("#akses-darurat")
    assert re.search(r"Akses darurat sampai \d\d\.\d\d WIB", banner.inner_text())
    screenshot(page, "breakglass-case")

    banner.get_by_role("button", name="Akhiri akses darurat").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_text("Akses darurat diakhiri.")).to_be_visible()
    assert page.goto(f"/kasus/{case.code}/").status == 404
    assert BreakGlass.objects.get().ended_at is not None

    # The DPO judges the reason and marks the use reviewed.
    page.context.clear_cookies()
    login(page, "dpo@uji.test")
    page.goto("/privasi/akses-darurat/")
    row = page.locator("tbody tr").first
    assert "orang tua melapor kejadian serius" in row.inner_text()
    assert "Pak Joko" in row.inner_text() and case.code in row.inner_text()
    assert "Rudi Hartono" not in page.content()
    screenshot(page, "breakglass-dpo")
    row.get_by_role("button", name="Tandai sudah ditinjau").click()
    page.wait_for_url(re.compile(r"/privasi/akses-darurat/$"))
    assert "sudah ditinjau" in page.locator("tbody tr").first.inner_text()
