"""As a new counsellor would: plan a KKA, invite four people, and the parent answers.

Run once for a school and once for a family-practice organisation. The counsellor
plans the KKA through the real pages, is stopped by the consent gate, records the
parent's consent, sends the invitations by email; the parent opens the private
link from the mail on a phone, answers, pledges confidentiality, and only then
reads the briefing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from kka.accounts.models import Role
from kka.cases import services as case_services
from kka.conferences.models import Conference, Participant
from tests.browser.conftest import PHONE, screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARENT = "Siti Rahmawati"
PARENT_EMAIL = "siti.rahmawati@keluarga.test"
BRIEFING = "PENANDA-RINGKASAN-7Q2X"
CONSENT_REFUSAL = (
    "Belum ada persetujuan orang tua/wali yang berlaku untuk konseli ini (konseli masih anak)."
)

SETTINGS: dict[str, dict[str, Any]] = {
    "sekolah": {
        "organisation": "SMP Negeri 5 Lestari",
        "bidang": "belajar",
        "title": "Penurunan prestasi belajar",
        "place": "Ruang BK",
        # name, role, category, email, access
        "participants": [
            ("Bu Ratna Dewi", "Wali kelas", "staf_lembaga", "ratna@sekolah.test", "invitation"),
            (PARENT, "Ibu", "keluarga", PARENT_EMAIL, "briefing"),
            ("Dr. Hendra Gunawan", "Psikolog", "profesional", "hendra@psikolog.test", "invitation"),
            (
                "Pak Bambang Sutrisno",
                "Kepala sekolah",
                "staf_lembaga",
                "kepsek@sekolah.test",
                "invitation",
            ),
        ],
        "sharing": [
            "Berbagi keterangan dengan staf sekolah / lembaga",
            "Berbagi keterangan dengan keluarga",
            "Berbagi keterangan dengan profesional luar",
        ],
    },
    "keluarga": {
        "organisation": "Layanan Konseling Keluarga Harmoni",
        "bidang": "sosial",
        "title": "Menarik diri dari pergaulan",
        "place": "Rumah keluarga",
        "participants": [
            (PARENT, "Ibu", "keluarga", PARENT_EMAIL, "briefing"),
            ("Pak Joko Santoso", "Paman", "keluarga", "joko@keluarga.test", "invitation"),
            ("Ustaz Ahmad Fauzi", "Tokoh agama", "masyarakat", "ahmad@masjid.test", "invitation"),
            ("Ibu Maria Ulfa", "Pekerja sosial", "profesional", "maria@dinsos.test", "invitation"),
        ],
        "sharing": [
            "Berbagi keterangan dengan keluarga",
            "Berbagi keterangan dengan aparat desa / tokoh masyarakat",
            "Berbagi keterangan dengan profesional luar",
        ],
    },
}


def login(page: Any, email: str) -> None:
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/$"))


def participant_row(page: Any, name: str) -> Any:
    return page.locator("#participants tbody tr").filter(has_text=name)


@pytest.mark.parametrize("setting", ["keluarga", "sekolah"])
def test_counsellor_plans_a_kka_and_the_parent_answers(
    page: Any, browser: Any, live_server: Any, setting: str
) -> None:
    plan = SETTINGS[setting]
    org = make_organisation(name=plan["organisation"], setting=setting)
    counsellor = make_user(
        organisation=org, role=Role.KONSELOR, email="konselor@uji.test", full_name="Bu Wati"
    )
    # The client (a child, with a parent) and the case exist already; the KKA is new.
    today = timezone.localdate()
    client = case_services.client_create(
        actor=counsellor,
        organisation=org,
        full_name="Dimas Anggara Putra",
        birth_date=dt.date(today.year - 13, 1, 15).isoformat(),
        guardians=[{"full_name": PARENT, "relationship": "ibu", "email": PARENT_EMAIL}],
    )
    case = case_services.case_open(
        actor=counsellor,
        client=client,
        bidang=plan["bidang"],
        title=plan["title"],
        intake_source="orang_tua",
        description="Sejak semester lalu jarang bicara dan sering menyendiri.",
    )

    page.set_default_timeout(10_000)
    # a. Plan the KKA from the case page.
    login(page, "konselor@uji.test")
    page.goto(f"/kasus/{case.code}/")
    page.get_by_role("button", name="Rencanakan KKA").click()
    page.wait_for_url(re.compile(r"/kka/[0-9A-Z]+/rencana/$"))
    suggestions = page.locator("#place-suggestions option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert plan["place"] in suggestions
    page.get_by_label("I. Tempat penyelenggaraan").fill(plan["place"])
    day = today + dt.timedelta(days=14)
    page.get_by_label("J. Mulai").fill(f"{day.isoformat()}T09:00")
    page.get_by_label("J. Selesai").fill(f"{day.isoformat()}T11:00")
    page.get_by_label("Ringkasan untuk peserta").fill(
        f"Ananda sedang kami dampingi. {BRIEFING} Mohon hadir tepat waktu."
    )
    page.get_by_role("button", name="Simpan rencana").click()
    page.wait_for_url(re.compile(r"/kka/[0-9A-Z]+/$"))
    kka_url = page.url
    expect(page.locator(".messages")).to_contain_text("Rencana KKA disimpan.")
    assert "pukul 09.00 WIB" in page.locator(".pagehead").inner_text()
    assert plan["place"] in page.locator(".pagehead").inner_text()

    # b. Four participants of different roles, added by hand.
    for name, role, category, email, access in plan["participants"]:
        form = page.locator("details").filter(
            has=page.locator("summary", has_text="Tambah peserta")
        )
        if form.get_attribute("open") is None:
            form.locator("summary").click()
        form.get_by_label(re.compile(r"^Nama\b")).fill(name)
        form.get_by_label("Peran / hubungan").fill(role)
        form.get_by_label("Kategori").select_option(category)
        form.get_by_label("Email").fill(email)
        form.get_by_label("Tingkat akses").select_option(access)
        form.get_by_role("button", name="Tambah peserta").click()
        page.wait_for_url(kka_url)
        expect(page.locator(".messages")).to_contain_text("Peserta ditambahkan.")
    assert page.locator("#participants tbody tr").count() == 4
    for name, role, *_rest in plan["participants"]:
        assert role in participant_row(page, name).inner_text()

    # c. Planned; inviting the parent is refused without the parent's consent.
    # The next step is preselected, never the irreversible "Dibatalkan".
    assert page.get_by_label("Ubah status").input_value() == "planned"
    page.get_by_label("Ubah status").select_option("planned")
    page.get_by_role("button", name="Simpan status").click()
    page.wait_for_url(kka_url)
    assert "Direncanakan" in page.locator(".pagehead .badge").inner_text()
    participant_row(page, PARENT).get_by_role("button", name="Undang").click()
    page.wait_for_url(kka_url)
    refusal = page.locator(".messages .msg-error")
    expect(refusal).to_be_visible()
    assert refusal.inner_text() == CONSENT_REFUSAL
    assert not mail.outbox
    assert Participant.objects.filter(invited_at__isnull=False).count() == 0

    # d. Record the parent's consent from the refusal, back to the KKA, invite everyone.
    participant_row(page, PARENT).get_by_role("link", name="Catat persetujuan").click()
    page.wait_for_url(re.compile(r"/persetujuan/"))
    page.locator("#id_giver").select_option("orang_tua")
    page.get_by_label("Nama pemberi persetujuan").fill(PARENT)
    page.get_by_label("Hubungan dengan konseli").fill("ibu kandung")
    page.get_by_label("Menyelenggarakan konferensi kasus tentang konseli").check()
    for purpose in plan["sharing"]:
        page.get_by_label(purpose).check()
    page.get_by_label("Cara persetujuan").select_option("lisan")
    page.get_by_role("button", name="Simpan persetujuan").click()
    page.wait_for_url(re.compile(r"/konseli/[0-9A-Z]+/$"))
    assert "Persetujuan berlaku" in page.content()
    page.get_by_role("link", name=plan["title"]).click()
    page.get_by_role("link", name="KKA 1").click()
    page.wait_for_url(kka_url)
    expect(page.get_by_text("Semua syarat terpenuhi: undangan dapat dikirim.")).to_be_visible()

    for name, *_rest in plan["participants"]:
        row = participant_row(page, name)
        assert row.locator("select[name=channel]").input_value() == "email"
        row.get_by_role("button", name="Undang").click()
        page.wait_for_url(kka_url)
        expect(page.locator(".messages")).to_contain_text(f"Undangan dikirim ke {name}.")
    assert "Undangan terkirim" in page.locator(".pagehead .badge").inner_text()
    expect(page.get_by_text("Mode pengembangan: email tidak benar-benar dikirim")).to_be_visible()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p[3] for p in plan["participants"])

    # e. The parent's private link, from the mail.
    to_parent = [m for m in mail.outbox if m.to == [PARENT_EMAIL]]
    found = re.search(r"https?://\S+/undangan/\?t=[A-Za-z0-9_-]{43,}", to_parent[-1].body)
    assert found, to_parent[-1].body
    link = urlsplit(found.group(0))
    assert BRIEFING not in to_parent[-1].body
    assert "Dimas" not in to_parent[-1].body

    # f. The parent, on a phone.
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True, locale="id-ID"
    )
    try:
        parent = context.new_page()
        parent.goto(f"{link.path}?{link.query}")
        parent.wait_for_url(re.compile(r"/undangan/$"))
        assert "t=" not in parent.url
        assert parent.locator("h1").inner_text() == f"Undangan untuk {PARENT}"
        facts = parent.locator("dl.facts").inner_text()
        assert plan["place"] in facts and "pukul 09.00 WIB" in facts
        assert BRIEFING not in parent.content()

        parent.get_by_label("Hadir", exact=True).check()
        parent.get_by_role("button", name="Kirim jawaban").click()
        parent.wait_for_url(re.compile(r"/undangan/$"))
        expect(parent.locator(".messages")).to_contain_text("Terima kasih, jawaban Anda tersimpan.")
        assert BRIEFING not in parent.content()

        parent.get_by_label("Nama lengkap Anda").fill(PARENT)
        parent.get_by_label("Saya telah membaca dan menyetujui").check()
        parent.get_by_role("button", name="Saya berjanji menjaga kerahasiaan").click()
        parent.wait_for_url(re.compile(r"/undangan/$"))
        expect(parent.locator(".messages")).to_contain_text("Pernyataan kerahasiaan Anda tercatat.")
        briefing = parent.locator("#ringkasan")
        expect(briefing).to_be_visible()
        assert BRIEFING in briefing.inner_text()
        assert "Dimas" not in parent.content()
        screenshot(parent, f"portal-phone-{setting}")
        assert parent.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()

    parent_row = next(
        p for p in Participant.objects.filter(conference__case=case) if p.full_name == PARENT
    )
    assert parent_row.rsvp == "hadir"
    assert parent_row.pledge_name == PARENT and parent_row.pledge_channel == "online"
    assert Conference.objects.get(case=case).status == "invited"

    # The counsellor sees the answer and the pledge on the KKA page.
    page.reload()
    row = participant_row(page, PARENT).inner_text()
    assert "Hadir" in row and "✔" in row
    for name, *_rest in plan["participants"]:
        assert "terkirim" in participant_row(page, name).inner_text()
    expect(page.locator("#h-siap")).to_be_visible()
    screenshot(page, f"kka-page-{setting}")
