"""Program reports in a real browser: the koordinator's report at desktop and phone
width (charts load, each beside or above its table, no sideways scrolling on a phone)
and the pengawas' group report on a phone. Screenshots land in test-artifacts/."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from kka.accounts.models import Membership, OrganisationGroup, Role, User
from kka.reports import periods, services
from kka.seed.generate import Options, seed
from tests.browser.conftest import screenshot
from tests.personas import PASSWORD, make_organisation, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class Seeded:
    coordinator: User
    pengawas: User
    group: OrganisationGroup
    query: str  # the last whole school year


def seeded() -> Seeded:
    """Two seeded schools (cases spread over the three years up to today) and an office
    supervising both. The report shows the last whole school year."""
    seed(
        Options(
            organisations=2,
            cases=400,
            seed=3,
            password=PASSWORD,
            documents_every=0,
            pipeline=False,
            batch_size=500,
            today=dt.date.today(),
        )
    )
    membership = (
        Membership.objects.filter(role=Role.KOORDINATOR)
        .select_related("user", "organisation")
        .order_by("organisation_id")
        .first()
    )
    assert membership is not None
    school_orgs = [m.organisation for m in Membership.objects.filter(role=Role.KOORDINATOR)]
    office = make_organisation(name="Dinas Pendidikan Kota Contoh", setting="lainnya")
    pengawas = make_user(organisation=office, role=Role.PENGAWAS, full_name="Pengawas Uji")
    group = OrganisationGroup.objects.create(name="Gugus SMP Kota Contoh", supervisor=office)
    group.organisations.add(*school_orgs)
    year = periods.previous(periods.school_year(services.local_today(membership.organisation)))
    query = f"from={year.start.isoformat()}&to={year.end.isoformat()}"
    return Seeded(membership.user, pengawas, group, query)


def log_in(page: Any, user: User) -> None:
    page.goto("/akun/masuk/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("navigation", name="Navigasi utama")).to_be_visible()


def charts_loaded(page: Any) -> int:
    """Every chart image has loaded (naturalWidth > 0); returns how many there are."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.report-chart img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    return int(page.evaluate("document.querySelectorAll('figure.report-chart img').length"))


def no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def check_desktop(page: Any, world: Seeded) -> None:
    log_in(page, world.coordinator)
    page.get_by_role("navigation", name="Navigasi utama").get_by_role(
        "link", name="Laporan"
    ).click()
    expect(page.get_by_role("heading", name="Periode laporan")).to_be_visible()
    page.goto(f"/laporan/?{world.query}")
    expect(page.locator("h1")).to_contain_text("Laporan Program Bimbingan dan Konseling")
    expect(page.locator("h1")).to_contain_text("Tahun Pelajaran")
    expect(page.locator("#protection-note")).to_be_visible()
    assert charts_loaded(page) >= 5
    sections = page.locator("section.report-section:has(figure.report-chart)")
    for index in range(sections.count()):
        section = sections.nth(index)
        chart = section.locator("figure.report-chart img")
        table = section.locator(".report-table-wrap")
        expect(chart).to_be_visible()
        expect(table).to_be_visible()
        # Side by side: the table starts right of the chart, at about the same height.
        chart_box, table_box = chart.bounding_box(), table.bounding_box()
        assert table_box["x"] >= chart_box["x"] + chart_box["width"] - 1
        assert abs(table_box["y"] - chart_box["y"]) < 40
        assert chart_box["width"] >= 300
    # The downloads carry the same period.
    pdf = page.get_by_role("link", name="PDF")
    assert world.query in pdf.get_attribute("href").replace("&amp;", "&")
    no_sideways_scroll(page, 1280)
    screenshot(page, "reports-desktop")
    # The period picker goes to another semester without a full reload of anything else.
    page.locator("ul.report-chips a").first.click()
    expect(page.locator("h1")).to_contain_text("Semester")


def check_phone(page: Any, world: Seeded) -> None:
    log_in(page, world.coordinator)
    page.goto(f"/laporan/?{world.query}")
    expect(page.locator("h1")).to_contain_text("Laporan Program Bimbingan dan Konseling")
    count = charts_loaded(page)
    assert count >= 5
    sections = page.locator("section.report-section:has(figure.report-chart)")
    for index in range(sections.count()):
        section = sections.nth(index)
        chart = section.locator("figure.report-chart img")
        table = section.locator(".report-table-wrap")
        section.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        expect(table).to_be_visible()
        chart_box, table_box = chart.bounding_box(), table.bounding_box()
        # Stacked: the chart fills the width, the table follows below it.
        assert chart_box["width"] >= 300
        assert table_box["y"] >= chart_box["y"] + chart_box["height"] - 1
        assert chart_box["x"] + chart_box["width"] <= 390
    # A withheld figure is written "< 5" in a table, marked as such.
    suppressed = page.locator("td.suppressed")
    if suppressed.count():
        expect(suppressed.first).to_have_text("< 5")
    no_sideways_scroll(page, 390)
    screenshot(page, "reports-phone")


def test_koordinator_report_at_desktop_and_phone_width(page: Any, phone_page: Any) -> None:
    world = seeded()
    check_desktop(page, world)
    check_phone(phone_page, world)


def test_pengawas_group_report_at_phone_width(phone_page: Any) -> None:
    page = phone_page
    world = seeded()
    log_in(page, world.pengawas)
    # The nav leads to the list of groups; home lists them too.
    page.get_by_role("navigation", name="Navigasi utama").get_by_role(
        "link", name="Laporan"
    ).click()
    expect(page.locator("h1")).to_have_text("Laporan kelompok lembaga")
    no_sideways_scroll(page, 390)
    page.goto("/")
    page.get_by_role("link", name=world.group.name).first.click()
    expect(page.locator("h1")).to_contain_text("Laporan Program Bimbingan dan Konseling")
    page.goto(f"/laporan/kelompok/{world.group.code}/?{world.query}")
    expect(page.locator(".report-subject")).to_contain_text(world.group.name)
    assert charts_loaded(page) >= 5
    members = page.locator("details.report-member")
    assert members.count() == 2
    members.first.locator("summary").click()
    expect(members.first.locator("table").first).to_be_visible()
    no_sideways_scroll(page, 390)
    screenshot(page, "reports-group-phone")
