"""Meeting mode at phone width: structuring, pledge on the device, attendance,
minutes that autosave, survive a reload, and never overwrite a colleague's text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.accounts.models import Role
from kka.cases import services as case_services
from kka.cases.models import CaseRole
from kka.conferences import services
from kka.conferences.models import Minutes
from tests.browser.conftest import PHONE, screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page: Any, email: str) -> None:
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))


def wait_saved(page: Any) -> None:
    # "Belum tersimpan…" also contains "tersimpan": wait for the status to START with it.
    page.wait_for_function(
        # A function, not an expression string: a string is eval'd, which the CSP refuses.
        "() => document.getElementById('save-status').textContent.startsWith('Tersimpan')",
        timeout=15000,
    )


def test_meeting_mode_on_a_phone(browser: Any, live_server: Any) -> None:
    org = make_organisation(name="SMP Negeri 2 Harapan")
    owner = make_user(organisation=org, role=Role.KONSELOR, email="bk@uji.test")
    colleague = make_user(organisation=org, role=Role.KONSELOR, email="bk2@uji.test")
    client = case_services.client_create(
        actor=owner, organisation=org, full_name="Rudi Hartono", birth_date="1990-01-01"
    )
    case = case_services.case_open(
        actor=owner, client=client, bidang="sosial", title="Relasi", intake_source="sendiri"
    )
    case_services.case_member_add(
        actor=owner, case=case, user=colleague, role=CaseRole.CO_COUNSELLOR
    )
    conference = services.conference_create(actor=owner, case=case)
    services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Ratna Dewi",
        role="wali kelas",
        category="staf_lembaga",
    )

    context = browser.new_context(viewport=PHONE, is_mobile=True, base_url=live_server.url)
    page = context.new_page()
    login(page, "bk@uji.test")
    page.goto(f"/kka/{conference.code}/pertemuan/")
    assert "bukan untuk menghakimi" in page.content()

    # Attendance: refused before the pledge, accepted after a pledge on this device.
    page.locator("#hadir select").first.select_option("present")
    page.get_by_role("button", name="Catat").first.click()
    expect(page.locator("body")).to_contain_text("belum menyatakan komitmen kerahasiaan")
    page.get_by_text("Ambil komitmen kerahasiaan").first.click()
    page.get_by_label("Nama lengkap Anda").fill("Ratna Dewi")
    page.get_by_label("Saya telah membaca dan menyetujui pernyataan kerahasiaan di atas.").check()
    page.get_by_role("button", name="Simpan komitmen di perangkat ini").click()
    page.locator("#hadir select").first.select_option("present")
    page.get_by_role("button", name="Catat").first.click()
    assert page.locator("#hadir select").first.input_value() == "present"

    # Minutes in two layers autosave within seconds.
    page.locator("#m-shared").fill("Wali kelas menyampaikan perkembangan nilai.")
    page.locator("#m-private").fill("Catatan konselor: perlu kunjungan rumah.")
    wait_saved(page)
    saved = Minutes.objects.get(conference=conference)
    assert saved.shared_text == "Wali kelas menyampaikan perkembangan nilai."
    assert saved.private_text == "Catatan konselor: perlu kunjungan rumah."
    page.reload()
    assert page.locator("#m-shared").input_value() == "Wali kelas menyampaikan perkembangan nilai."
    assert page.locator("#m-private").input_value() == "Catatan konselor: perlu kunjungan rumah."
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "meeting-phone")

    # A colleague saves first from the same version: this page is told, nothing is lost.
    minutes = Minutes.objects.get(conference=conference)
    from kka.conferences import meeting

    meeting.minutes_save(
        actor=colleague,
        conference=conference,
        base_version=minutes.version,
        values={"shared_text": "Versi rekan: orang tua akan hadir minggu depan."},
    )
    page.locator("#m-shared").fill("Versi saya: nilai naik sedikit.")
    page.wait_for_selector("#conflict:not([hidden])", timeout=15000)
    assert "Versi rekan" in page.locator("#conflict").inner_text()
    assert page.locator("#m-shared").input_value() == "Versi saya: nilai naik sedikit."
    page.locator("#m-shared").fill(
        "Versi saya: nilai naik sedikit. Versi rekan: orang tua akan hadir minggu depan."
    )
    page.get_by_role("button", name="Sudah digabungkan").click()
    wait_saved(page)
    minutes.refresh_from_db()
    assert "Versi saya" in minutes.shared_text and "Versi rekan" in minutes.shared_text

    page.get_by_role("button", name="Finalkan notulen").click()
    expect(page.locator("body")).to_contain_text("difinalkan")
    assert page.locator("#minutes-form").count() == 0
    context.close()
