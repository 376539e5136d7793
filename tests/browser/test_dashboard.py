"""The counsellor's dashboard at phone width, in a real browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.conferences import services
from kka.conferences.models import ConferenceStatus, Evaluation
from tests.browser.conftest import screenshot
from tests.conferences.test_planning import make_case
from tests.personas import PASSWORD, make_world
from tests.web.test_dashboard import commit, kka, local_today, make_quiet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_fits_a_phone_screen(phone_page: Any) -> None:
    page = phone_page
    world = make_world()
    owner = world.counsellor
    today = local_today(world.org)
    long_title = "Prestasi belajar menurun drastis sejak semester ganjil tahun ajaran ini"
    planned, (father, _teacher) = kka(
        owner,
        world.org,
        title=long_title,
        days=0,
        people=(("keluarga", "ayah"), ("staf_lembaga", "guru mata pelajaran matematika")),
    )
    services.invitation_send(actor=owner, participant=father, channel="letter")
    kka(owner, world.org, title="Tanpa izin", consent=False)
    held, (h_father, _t) = kka(owner, world.org, title="Terlaksana", status="held")
    commit(held, h_father, "Mendampingi belajar setiap malam " * 8, today - dt.timedelta(days=4))
    commit(held, owner, "Konseling individual lanjutan", today + dt.timedelta(days=2))
    closed, _ = kka(owner, world.org, title="Selesai", status=ConferenceStatus.CLOSED)
    Evaluation.objects.filter(conference=closed).update(due_on=today)
    make_quiet(make_case(owner, world.org, title="Perundungan di media sosial"))

    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()
    screenshot(page, "dashboard-phone")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("heading", name="KKA mendatang")).to_be_visible()
    summary = page.get_by_role("navigation", name="Ringkasan pekerjaan")
    assert "Komitmen lewat batas waktu" in summary.inner_text()
    # The tiles jump to their sections; the KKA's title leads to its page.
    summary.get_by_role("link", name="Penilaian jatuh tempo").click()
    assert page.url.endswith("#d-evaluations")
    page.get_by_role("link", name=f"{long_title} · KKA 1").first.click()
    page.wait_for_url(f"**/kka/{planned.code}/")
