"""A whole KKA at phone width, as a counsellor runs it and as a parent follows it up.

The counsellor (on a phone): reads the structuring, takes the teacher's pledge on the
device, marks attendance, writes both layers of the minutes, records three
commitments, moves the KKA to "held", records the immediate evaluation for two
participants and finalises the minutes. Then the father, through his private link,
reads the shared minutes, agrees, adds progress to his own commitment — and never
sees the counsellor's private notes or anybody else's commitment (canary).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.accounts.models import Role
from kka.conferences import services
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    ConferenceStatus,
    Evaluation,
    Minutes,
    MinutesResponse,
)
from tests.browser.conftest import PHONE, eventually, screenshot
from tests.browser.test_meeting import login, wait_saved
from tests.conferences.test_planning import give_consent, make_case, schedule
from tests.personas import make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRIVATE = "Konselor curiga ada tekanan di rumah rahasia-pribadi-7Q"
SHARED = "Ani lebih sering datang tepat waktu; orang tua dan wali kelas sepakat membantu."
TEACHER_WHAT = "Memberi tugas susulan setiap Senin rahasia-guru-3K"
FATHER_WHAT = "Mengantar Ani ke sekolah setiap pagi"
MY_WHAT = "Konseling individual dua minggu sekali"
FATHER_NOTE = "Sudah mengantar lima hari berturut-turut"


def fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_whole_kka_on_a_phone(browser: Any, live_server: Any) -> None:
    org = make_organisation(name="SMP Negeri 9 Sukamaju")
    owner = make_user(organisation=org, role=Role.KONSELOR, email="bk@kka.test")
    case = make_case(owner, org, full_name="Ani Wulandari")
    give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    conference = schedule(owner, conference, days=0)
    father = services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Budi Santoso",
        role="ayah",
        category="keluarga",
        email="budi@contoh.test",
        disclosure="shared_minutes",
    )
    teacher = services.participant_add(
        actor=owner,
        conference=conference,
        full_name="Ratna Dewi",
        role="wali kelas",
        category="staf_lembaga",
        disclosure="shared_minutes",
    )
    for step in (ConferenceStatus.PLANNED, ConferenceStatus.INVITED):
        conference = services.conference_set_status(actor=owner, conference=conference, status=step)
    # The father pledged online beforehand, through his invitation link.
    services.pledge_take(
        participant=father, typed_name="Budi Santoso", agreed=True, ip="", channel="online"
    )

    context = browser.new_context(viewport=PHONE, is_mobile=True, base_url=live_server.url)
    page = context.new_page()
    login(page, "bk@kka.test")
    page.goto(f"/kka/{conference.code}/pertemuan/")

    # Structuring: the opening and the asas, as data.
    structuring = page.locator("details.card").first
    assert "bukan untuk menghakimi" in structuring.inner_text()
    assert page.locator("ol.asas li").count() == 12

    # Attendance: the teacher pledges on this phone, then both are marked present.
    rows = page.locator("#hadir ul.attendance > li")
    teacher_row = rows.filter(has_text="Ratna Dewi")
    teacher_row.get_by_text("Ambil komitmen kerahasiaan").click()
    teacher_row.get_by_label("Nama lengkap Anda").fill("Ratna Dewi")
    teacher_row.get_by_label(
        "Saya telah membaca dan menyetujui pernyataan kerahasiaan di atas."
    ).check()
    teacher_row.get_by_role("button", name="Simpan komitmen di perangkat ini").click()
    for name in ("Budi Santoso", "Ratna Dewi"):
        row = page.locator("#hadir ul.attendance > li").filter(has_text=name)
        row.locator("select").select_option("present")
        row.get_by_role("button", name="Catat").click()
    teacher.refresh_from_db()
    father.refresh_from_db()
    assert teacher.pledge_channel == "device" and teacher.attendance == "present"
    assert father.pledge_channel == "online" and father.attendance == "present"

    # Minutes in two layers, saved automatically.
    page.locator("#m-shared").fill(SHARED)
    page.locator("#m-private").fill(PRIVATE)
    wait_saved(page)
    minutes = Minutes.objects.get(conference=conference)
    assert (minutes.shared_text, minutes.private_text) == (SHARED, PRIVATE)
    fits(page)
    screenshot(page, "whole-kka-meeting-phone")

    # Three commitments, fast: who, what, by when.
    for who, what in (
        ("Budi Santoso (ayah)", FATHER_WHAT),
        ("Ratna Dewi (wali kelas)", TEACHER_WHAT),
        ("Saya (konselor)", MY_WHAT),
    ):
        form = page.locator("form.quick-commitment")
        form.get_by_label("Siapa").select_option(label=who)
        form.get_by_label("Sampai tanggal").fill("2030-01-31")
        form.get_by_label("Apa yang akan dilakukan").fill(what)
        form.get_by_role("button", name="Tambah komitmen").click()
        expect(page.locator("body")).to_contain_text("Komitmen dicatat.")
    assert Commitment.objects.filter(conference=conference).count() == 3

    # The meeting took place: the KKA is held (from the KKA page).
    page.goto(f"/kka/{conference.code}/")
    page.get_by_label("Ubah status").select_option(label="Terlaksana")
    page.get_by_role("button", name="Simpan status").click()
    eventually(lambda: Conference.objects.get(pk=conference.pk).status == ConferenceStatus.HELD)

    # Immediate evaluation (UCA) for both participants.
    page.goto(f"/kka/{conference.code}/pertemuan/")
    for name, understanding in (
        ("Budi Santoso", "Saya paham Ani butuh diantar"),
        ("Ratna Dewi", "Tugas susulan membantu"),
    ):
        row = page.locator("#penilaian ul.attendance > li").filter(has_text=name)
        row.get_by_text("Isi penilaian segera").click()
        row.get_by_label("Pemahaman baru").fill(understanding)
        row.get_by_label("Perasaan").fill("Lega")
        row.get_by_label("Rencana tindakan").fill("Menjalankan komitmen")
        row.get_by_role("button", name="Simpan penilaian").click()
        expect(page.locator("body")).to_contain_text("tercatat")
    assert Evaluation.objects.filter(conference=conference, kind="laiseg").count() == 2

    # Finalise: the minutes become read-only.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Finalkan notulen").click()
    page.wait_for_selector("text=Notulen difinalkan")
    assert page.locator("#minutes-form").count() == 0
    minutes.refresh_from_db()
    assert minutes.finalised_at is not None
    fits(page)
    context.close()

    # The father, through his private link, on his own phone.
    token = services.portal_link_create(participant=father)
    parent = browser.new_context(viewport=PHONE, is_mobile=True, base_url=live_server.url)
    portal = parent.new_page()
    portal.goto(f"/undangan/?t={token}")
    portal.wait_for_url(re.compile(r"/undangan/$"))
    content = portal.content()
    assert SHARED in content
    assert PRIVATE not in content and "rahasia-pribadi" not in content
    assert TEACHER_WHAT not in content and "rahasia-guru" not in content
    assert MY_WHAT not in content
    assert FATHER_WHAT in content
    fits(portal)

    portal.get_by_role("button", name="Setuju").click()
    eventually(
        MinutesResponse.objects.filter(participant=father, kind=MinutesResponse.Kind.AGREE).exists
    )

    mine = portal.locator("#komitmen").locator("li").filter(has_text=FATHER_WHAT)
    mine.get_by_label("Catatan kemajuan").fill(FATHER_NOTE)
    mine.get_by_role("button", name="Kirim catatan").click()
    eventually(CommitmentProgress.objects.filter(commitment__participant=father).exists)
    progress = CommitmentProgress.objects.get(commitment__participant=father)
    assert progress.note == FATHER_NOTE and progress.by_participant_id == father.pk
    expect(portal.locator("body")).to_contain_text(FATHER_NOTE)
    content = portal.content()
    assert PRIVATE not in content and TEACHER_WHAT not in content
    fits(portal)
    screenshot(portal, "whole-kka-portal-phone")
    parent.close()

    # The counsellor sees the agreement and the father's progress on the KKA.
    assert Conference.objects.get(pk=conference.pk).status == ConferenceStatus.HELD
