"""As a new counsellor would: client, case, records, problem map, consent, search, timeline."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from kka.accounts.models import Role
from tests.browser.conftest import screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real (tiny) PDF, produced by hand: header, one empty page, trailer.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def login(page: Any, email: str) -> None:
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))


def test_new_counsellor_builds_a_case_file(page: Any, tmp_path: Any) -> None:
    org = make_organisation(name="SMP Negeri 5 Lestari")
    make_user(organisation=org, role=Role.KONSELOR, email="guru.bk@uji.test", full_name="Bu Wati")
    login(page, "guru.bk@uji.test")

    # 1. A client who is a minor, with a parent.
    page.get_by_role("link", name="Konseli", exact=True).first.click()
    page.get_by_role("link", name="Konseli baru").first.click()
    page.get_by_label("Nama lengkap").fill("Dimas Anggara Putra")
    page.get_by_label("Jenis kelamin").select_option("L")
    birth = dt.date.today().replace(year=dt.date.today().year - 13)
    page.get_by_label("Tanggal lahir").fill(birth.isoformat())
    page.get_by_label("Kelas / bagian").fill("VIII B")
    page.get_by_label("Nama orang tua / wali").fill("Siti Rahmawati")
    page.get_by_label("Hubungan").select_option("ibu")
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url(re.compile(r"/konseli/[0-9A-Z]+/$"))
    assert page.locator("h1").inner_text() == "Dimas Anggara Putra"
    assert "Anak (di bawah 18 tahun)" in page.content()
    assert "diperlukan persetujuan orang tua atau wali" in page.content()

    # 2. Open a case.
    page.get_by_role("link", name="Buka kasus").click()
    page.get_by_label("Bidang").select_option("belajar")
    page.get_by_label("Judul kasus (tanpa identitas)").fill("Penurunan prestasi belajar")
    page.get_by_label("Sumber kasus").select_option("guru")
    page.get_by_label("Gambaran masalah").fill("Nilai turun sejak semester lalu; sering terlambat.")
    page.get_by_role("button", name="Buka kasus").click()
    page.wait_for_url(re.compile(r"/kasus/[0-9A-Z]+/$"))
    case_url = page.url
    assert page.locator("h1").inner_text() == "Penurunan prestasi belajar"

    # 3. Two records, one with an attachment.
    pdf = tmp_path / "laporan-wali-kelas.pdf"
    pdf.write_bytes(PDF_BYTES)
    page.get_by_role("link", name="Tambah catatan").click()
    page.get_by_label("Sumber data").select_option("laporan_guru")
    page.get_by_label("Isi catatan").fill("Wali kelas: tugas sering tidak dikumpulkan.")
    page.get_by_label("Boleh dibawa ke konferensi kasus").check()
    page.get_by_label("Lampiran (PDF, JPEG, PNG, DOCX)").set_input_files(str(pdf))
    page.get_by_role("button", name="Simpan catatan").click()
    page.wait_for_url(case_url)
    assert "laporan-wali-kelas.pdf" in page.content()
    page.get_by_role("link", name="Tambah catatan").click()
    page.get_by_label("Sumber data").select_option("wawancara")
    page.get_by_label("Isi catatan").fill(
        "Konseli mengaku mengantuk karena membantu berjualan malam."
    )
    page.get_by_role("button", name="Simpan catatan").click()
    page.wait_for_url(case_url)

    # The attachment downloads through the access-checked view.
    with page.expect_download() as download:
        page.get_by_role("link", name="laporan-wali-kelas.pdf").first.click()
    assert download.value.path().read_bytes() == PDF_BYTES

    # 4. Problem map: core, one aspect linked to a record, two resources.
    page.get_by_label("Masalah inti").fill("Prestasi belajar menurun")
    page.get_by_role("button", name="Simpan masalah inti").click()
    page.wait_for_url(re.compile(r"#peta$"))
    page.get_by_text("Tambah aspek", exact=True).first.click()
    page.get_by_label("Jenis aspek").select_option("penyebab")
    page.get_by_label("Uraian").fill("Kurang tidur karena bekerja malam")
    page.locator("#peta form").filter(has_text="Didukung oleh catatan").locator(
        "input[type=checkbox]"
    ).last.check()
    page.get_by_role("button", name="Tambah aspek").click()
    page.wait_for_url(re.compile(r"#peta$"))
    for name, role, category in [
        ("Bu Ratna", "wali kelas", "staf_lembaga"),
        ("Ibu Siti Rahmawati", "ibu kandung", "keluarga"),
    ]:
        page.get_by_text("Tambah sumber bantuan", exact=True).first.click()
        page.get_by_label("Nama orang / lembaga").fill(name)
        page.get_by_label("Peran / hubungan").fill(role)
        page.get_by_label("Kategori").select_option(category)
        page.get_by_role("button", name="Tambah sumber bantuan").click()
        page.wait_for_url(re.compile(r"#peta$"))
    tree = page.locator("#peta").inner_text()
    assert "Prestasi belajar menurun" in tree
    assert "Kurang tidur karena bekerja malam" in tree
    assert "Bu Ratna" in tree and "Ibu Siti Rahmawati" in tree

    # 5. The guardian's consent.
    page.get_by_role("link", name="Catat persetujuan").first.click()
    page.locator("#id_giver").select_option("orang_tua")
    page.get_by_label("Nama pemberi persetujuan").fill("Siti Rahmawati")
    page.get_by_label("Hubungan dengan konseli").fill("ibu kandung")
    page.get_by_label("Menyelenggarakan konferensi kasus tentang konseli").check()
    page.get_by_label("Berbagi keterangan dengan staf sekolah / lembaga").check()
    page.get_by_label("Berbagi keterangan dengan keluarga").check()
    page.get_by_label("Cara persetujuan").select_option("lisan")
    page.get_by_role("button", name="Simpan persetujuan").click()
    page.wait_for_url(re.compile(r"/konseli/[0-9A-Z]+/$"))
    assert "Persetujuan berlaku" in page.content()

    # 6. Find the case again by the client's name.
    page.get_by_role("link", name="Kasus", exact=True).first.click()
    page.get_by_label("Cari").fill("dimas")
    page.get_by_role("button", name="Tampilkan").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "Penurunan prestasi belajar" in rows.first.inner_text()
    rows.first.get_by_role("link", name="Penurunan prestasi belajar").click()

    # 7. The timeline tells the story.
    timeline = page.locator("ol.timeline").inner_text()
    for line in [
        "Kasus dibuka",
        "Catatan ditambahkan",
        "Lampiran ditambahkan",
        "Masalah inti dirumuskan",
        "Aspek masalah ditambahkan",
        "Sumber bantuan ditambahkan",
        "Persetujuan dicatat",
    ]:
        assert line in timeline, line
    screenshot(page, "case-page-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "case-page-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
