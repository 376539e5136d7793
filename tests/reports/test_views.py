"""Program report pages: who reaches which page, the period picker and its errors, the
small-number rule in the HTML, the counsellor's exact figures, one audit row per view,
and no client or case identity anywhere on a report page.

Data: one school where the counsellor opened six cases in bidang "belajar" and two in
"pribadi" (two clients: below the threshold of five).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lxml.html
import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Organisation, OrganisationGroup, Role, User
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import Case
from kka.reports import periods, services
from tests.conferences.test_planning import logged_in, make_client
from tests.personas import World, make_organisation, make_user, make_world

pytestmark = pytest.mark.django_db

SECRET_NAME = "Rahasiawati Konselisari"
SECRET_TITLE = "Judul-kasus-rahasia"
TABLE = "cases_by_bidang"


@dataclass
class Scene:
    world: World
    cases: list[Case]
    office: Organisation
    pengawas: User
    group: OrganisationGroup
    other_group: OrganisationGroup


def open_case(owner: User, organisation: Organisation, *, bidang: str, n: int) -> Case:
    client = make_client(owner, organisation, full_name=f"{SECRET_NAME} {n}")
    return case_services.case_open(
        actor=owner,
        client=client,
        bidang=bidang,
        title=f"{SECRET_TITLE} {n}",
        intake_source="guru",
    )


@pytest.fixture
def scene() -> Scene:
    world = make_world()
    owner = world.counsellor
    cases = [open_case(owner, world.org, bidang="belajar", n=n) for n in range(6)]
    cases += [open_case(owner, world.org, bidang="pribadi", n=n) for n in range(6, 8)]
    office = make_organisation(name="Dinas Pendidikan Uji")
    pengawas = make_user(organisation=office, role=Role.PENGAWAS)
    group = OrganisationGroup.objects.create(name="Gugus Sekolah Uji", supervisor=office)
    group.organisations.add(world.org)
    other_office = make_organisation(name="Dinas Lain")
    other_group = OrganisationGroup.objects.create(name="Gugus Lain", supervisor=other_office)
    other_group.organisations.add(world.org)
    return Scene(world, cases, office, pengawas, group, other_group)


def get(user: User | None, url: str) -> Any:
    http = logged_in(user) if user is not None else HttpClient()
    return http.get(url)


def tree(response: Any) -> Any:
    return lxml.html.fromstring(response.content.decode())


def row_cells(response: Any, table: str, row_label: str, prefix: str = "r") -> list[Any]:
    """The <td> elements of one row of one report table on the page."""
    section = tree(response).xpath(f'//section[@aria-labelledby="{prefix}-{table}"]')
    assert len(section) == 1, f"no section for {table}"
    rows = [
        tr
        for tr in section[0].xpath(".//tr")
        if tr.xpath("./th") and tr.xpath("./th")[0].text_content().strip() == row_label
    ]
    assert len(rows) == 1, f"no row {row_label!r} in {table}"
    return list(rows[0].xpath("./td"))


def audit_count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- who reaches which page ------------------------------------------------------------


@pytest.mark.parametrize("persona", ["coordinator", "head"])
def test_organisation_report_renders_for_koordinator_and_pimpinan(
    scene: Scene, persona: str
) -> None:
    user = scene.world.personas()[persona]
    response = get(user, reverse("reports:organisation"))
    assert response.status_code == 200
    page = tree(response)
    today = services.local_today(scene.world.org)
    period = periods.semester(today)
    assert services.report_title(period) in page.xpath("//h1")[0].text_content()
    assert scene.world.org.name in response.content.decode()
    assert page.xpath('//aside[@id="protection-note"]')
    # Every table of the report has its section and accessible table; charts are images.
    for slug in ("cases_by_bidang", "kkas", "participants", "commitments", "trend"):
        section = page.xpath(f'//section[@aria-labelledby="r-{slug}"]')
        assert section, slug
        assert section[0].xpath(".//table/caption")
        assert section[0].xpath(".//th[@scope='col']")
    images = page.xpath("//figure[@class='report-chart']/img")
    assert images, "no chart on the page"
    for img in images:
        assert img.get("src").startswith("data:image/svg+xml;base64,")
        assert "tabel" in img.get("alt")
    # The downloads keep the period.
    query = f"from={period.start.isoformat()}&to={period.end.isoformat()}"
    for fmt in ("pdf", "xlsx", "csv"):
        url = reverse("reports:organisation_export", args=[fmt]) + "?" + query
        assert page.xpath(f'//a[@href="{url}"]'), fmt


@pytest.mark.parametrize("persona", ["counsellor", "admin", "dpo", "outsider"])
def test_organisation_report_is_404_for_everyone_else(scene: Scene, persona: str) -> None:
    user = scene.world.personas()[persona]
    assert get(user, reverse("reports:organisation")).status_code == 404


def test_pengawas_does_not_get_the_organisation_or_own_report(scene: Scene) -> None:
    assert get(scene.pengawas, reverse("reports:organisation")).status_code == 404
    assert get(scene.pengawas, reverse("reports:own")).status_code == 404


def test_anonymous_is_sent_to_login_first() -> None:
    for name, args in (
        ("reports:organisation", []),
        ("reports:own", []),
        ("reports:groups", []),
        ("reports:group", ["ABCDEFGH"]),
    ):
        response = get(None, reverse(name, args=args))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login")), name


@pytest.mark.parametrize("persona", ["counsellor", "coordinator"])
def test_own_report_renders_for_counselling_members(scene: Scene, persona: str) -> None:
    response = get(scene.world.personas()[persona], reverse("reports:own"))
    assert response.status_code == 200
    assert tree(response).xpath('//aside[@id="protection-note"]')


@pytest.mark.parametrize("persona", ["head", "admin", "dpo"])
def test_own_report_is_404_without_counselling_role(scene: Scene, persona: str) -> None:
    assert get(scene.world.personas()[persona], reverse("reports:own")).status_code == 404


def test_pengawas_sees_their_groups_and_not_another_offices(scene: Scene) -> None:
    response = get(scene.pengawas, reverse("reports:groups"))
    assert response.status_code == 200
    text = response.content.decode()
    assert reverse("reports:group", args=[scene.group.code]) in text
    assert scene.other_group.name not in text
    response = get(scene.pengawas, reverse("reports:group", args=[scene.group.code]))
    assert response.status_code == 200
    page = tree(response)
    assert scene.group.name in page.xpath("//p[@class='report-subject']")[0].text_content()
    # The group as a whole first, then each member organisation in a <details>.
    members = page.xpath("//details[contains(@class, 'report-member')]")
    assert [m.xpath("./summary")[0].text_content().strip() for m in members] == [
        scene.world.org.name
    ]
    assert members[0].xpath(".//section[@aria-labelledby='m1-cases_by_bidang']")
    other = reverse("reports:group", args=[scene.other_group.code])
    assert get(scene.pengawas, other).status_code == 404
    assert get(scene.pengawas, reverse("reports:group", args=["NOSUCHCODE"])).status_code == 404


@pytest.mark.parametrize("persona", ["coordinator", "head", "counsellor", "admin"])
def test_group_pages_are_404_for_other_roles(scene: Scene, persona: str) -> None:
    user = scene.world.personas()[persona]
    assert get(user, reverse("reports:groups")).status_code == 404
    assert get(user, reverse("reports:group", args=[scene.group.code])).status_code == 404


# --- navigation and home -----------------------------------------------------------------


def nav_links(response: Any) -> dict[str, str]:
    nav = tree(response).xpath("//nav[@class='mainnav']")[0]
    return {a.text_content().strip(): a.get("href") for a in nav.xpath(".//a")}


def test_nav_offers_the_report_each_role_may_read(scene: Scene) -> None:
    home = reverse("web:home")
    personas = scene.world.personas()
    assert nav_links(get(personas["coordinator"], home))["Laporan"] == reverse(
        "reports:organisation"
    )
    assert nav_links(get(personas["head"], home))["Laporan"] == reverse("reports:organisation")
    assert nav_links(get(personas["counsellor"], home))["Laporan saya"] == reverse("reports:own")
    assert nav_links(get(scene.pengawas, home))["Laporan"] == reverse("reports:groups")
    for persona in ("admin", "dpo"):
        links = nav_links(get(personas[persona], home))
        assert "Laporan" not in links and "Laporan saya" not in links, persona


def test_home_links_the_pengawas_to_groups_and_the_head_to_the_report(scene: Scene) -> None:
    home = reverse("web:home")
    page = get(scene.pengawas, home)
    assert page.status_code == 200
    group_url = reverse("reports:group", args=[scene.group.code])
    assert tree(page).xpath(f"//section[contains(@class,'home-reports')]//a[@href='{group_url}']")
    assert scene.other_group.name not in page.content.decode()
    head_home = tree(get(scene.world.head, home))
    assert head_home.xpath(f"//main//a[@href='{reverse('reports:organisation')}']")


def test_koordinator_can_switch_between_organisation_and_own_report(scene: Scene) -> None:
    page = tree(get(scene.world.coordinator, reverse("reports:organisation")))
    tabs = page.xpath("//nav[@class='report-tabs']//a")
    assert [a.get("href") for a in tabs] == [
        reverse("reports:organisation"),
        reverse("reports:own"),
    ]
    assert tabs[0].get("aria-current") == "page"


# --- periods -------------------------------------------------------------------------------


def test_semester_and_year_from_the_query_string(scene: Scene) -> None:
    url = reverse("reports:organisation")
    response = get(scene.world.coordinator, f"{url}?from=2025-07-01&to=2026-06-30")
    assert response.status_code == 200
    assert "Tahun Pelajaran 2025/2026" in tree(response).xpath("//h1")[0].text_content()
    response = get(scene.world.coordinator, f"{url}?from=2026-01-01&to=2026-06-30")
    assert "Semester Genap 2025/2026" in tree(response).xpath("//h1")[0].text_content()


def test_picker_offers_semesters_and_years_and_marks_the_current(scene: Scene) -> None:
    response = get(scene.world.coordinator, reverse("reports:organisation"))
    page = tree(response)
    chips = page.xpath("//ul[@class='report-chips']//a")
    labels = [a.text_content() for a in chips]
    today = services.local_today(scene.world.org)
    current = periods.semester(today)
    previous = periods.previous(current)
    assert current.label in labels and previous.label in labels
    assert periods.school_year(today).label in labels
    marked = [a.text_content() for a in chips if a.get("aria-current") == "true"]
    assert marked == [current.label]
    assert page.xpath("//input[@type='date' and @name='from']")
    assert page.xpath("//input[@type='date' and @name='to']")


def test_protected_report_widens_a_custom_period_to_whole_months(scene: Scene) -> None:
    url = reverse("reports:organisation")
    response = get(scene.world.coordinator, f"{url}?from=2026-08-15&to=2026-09-10")
    assert response.status_code == 200
    text = tree(response).text_content()
    assert "1 Agustus 2026 \N{EN DASH} 30 September 2026" in text
    assert "Periode disesuaikan menjadi bulan penuh" in text
    export = reverse("reports:organisation_export", args=["pdf"])
    assert f"{export}?from=2026-08-01&amp;to=2026-09-30" in response.content.decode()


def test_own_report_keeps_the_days_asked_for(scene: Scene) -> None:
    url = reverse("reports:own")
    response = get(scene.world.counsellor, f"{url}?from=2026-08-15&to=2026-09-10")
    assert response.status_code == 200
    text = tree(response).text_content()
    assert "15 Agustus 2026 \N{EN DASH} 10 September 2026" in text
    assert "Periode disesuaikan" not in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=kemarin&to=2026-01-31", "Tanggal periode tidak dikenali"),
        ("from=2026-01-01", "Tanggal periode tidak dikenali"),
        ("from=2026-03-01&to=2026-02-01", "tidak boleh sebelum tanggal awal"),
        ("from=2020-01-01&to=2026-01-31", "paling panjang tiga tahun"),
        ("from=2026-02-30&to=2026-03-31", "Tanggal periode tidak dikenali"),
    ],
)
def test_an_invalid_period_shows_its_message_not_an_error_page(
    scene: Scene, query: str, message: str
) -> None:
    for user, name, action in (
        (scene.world.coordinator, "reports:organisation", "report.organisation_viewed"),
        (scene.world.counsellor, "reports:own", "report.own_viewed"),
        (scene.pengawas, "reports:group", "report.group_viewed"),
    ):
        args = [scene.group.code] if name == "reports:group" else []
        before = audit_count(action)
        response = get(user, f"{reverse(name, args=args)}?{query}")
        assert response.status_code == 400, name
        alert = tree(response).xpath("//p[@role='alert']")
        assert alert and message in alert[0].text_content(), name
        # The picker is still there; no report was read, so none was audited.
        assert tree(response).xpath("//input[@name='from']")
        assert not tree(response).xpath("//section[contains(@class,'report-section')]")
        assert audit_count(action) == before, name


# --- the small-number rule and the exact own report -------------------------------------


def test_a_bidang_with_two_clients_shows_less_than_five_never_two(scene: Scene) -> None:
    response = get(scene.world.coordinator, reverse("reports:organisation"))
    cells = row_cells(response, "cases_by_bidang", "Pribadi")
    texts = [td.text_content().strip() for td in cells]
    assert texts[0] == "< 5"  # opened
    assert "2" not in texts
    assert all(t in ("< 5", "0") for t in texts), texts
    for td in cells:
        if td.text_content().strip() == "< 5":
            assert "suppressed" in td.get("class")
            assert td.get("title")
            assert td.get("aria-describedby") == "protection-note"
    # Six clients in "belajar" are shown (adjusted by at most 2, never below 5).
    belajar = row_cells(response, "cases_by_bidang", "Belajar")
    opened = int(belajar[0].text_content())
    assert 5 <= opened <= 8


def test_the_group_report_withholds_the_same_small_count(scene: Scene) -> None:
    response = get(scene.pengawas, reverse("reports:group", args=[scene.group.code]))
    for prefix in ("r", "m1"):
        texts = [
            td.text_content().strip()
            for td in row_cells(response, "cases_by_bidang", "Pribadi", prefix=prefix)
        ]
        assert texts[0] == "< 5", prefix
        assert "2" not in texts, prefix


def test_counsellors_own_report_is_exact(scene: Scene) -> None:
    response = get(scene.world.counsellor, reverse("reports:own"))
    assert response.status_code == 200
    pribadi = [
        td.text_content().strip() for td in row_cells(response, "cases_by_bidang", "Pribadi")
    ]
    belajar = [
        td.text_content().strip() for td in row_cells(response, "cases_by_bidang", "Belajar")
    ]
    assert pribadi[0] == "2" and belajar[0] == "6"
    assert "< 5" not in response.content.decode().replace("&lt;", "<")
    # Another counsellor's own report counts none of these cases.
    other = get(scene.world.other_counsellor, reverse("reports:own"))
    assert row_cells(other, TABLE, "Pribadi")[0].text_content().strip() == "0"


# --- audit and confidentiality -------------------------------------------------------------


def test_each_view_writes_exactly_one_audit_row(scene: Scene) -> None:
    for user, url, action in (
        (scene.world.coordinator, reverse("reports:organisation"), "report.organisation_viewed"),
        (scene.world.head, reverse("reports:organisation"), "report.organisation_viewed"),
        (scene.world.counsellor, reverse("reports:own"), "report.own_viewed"),
        (
            scene.pengawas,
            reverse("reports:group", args=[scene.group.code]),
            "report.group_viewed",
        ),
    ):
        http = logged_in(user)
        before = AuditEvent.objects.count()
        assert http.get(url).status_code == 200
        new = list(AuditEvent.objects.order_by("id")[before:])
        assert [e.action for e in new] == [action], url
        assert new[0].actor_id == user.pk
        assert set(new[0].refs) == {"from", "to"}
    # The group list reads no report.
    http = logged_in(scene.pengawas)
    before = AuditEvent.objects.count()
    assert http.get(reverse("reports:groups")).status_code == 200
    assert AuditEvent.objects.count() == before


def test_no_client_or_case_identity_on_any_report_page(scene: Scene) -> None:
    pages = [
        get(scene.world.coordinator, reverse("reports:organisation")),
        get(scene.world.head, reverse("reports:organisation")),
        get(scene.world.counsellor, reverse("reports:own")),
        get(scene.world.coordinator, reverse("reports:own")),
        get(scene.pengawas, reverse("reports:groups")),
        get(scene.pengawas, reverse("reports:group", args=[scene.group.code])),
    ]
    for response in pages:
        assert response.status_code == 200
        text = response.content.decode()
        assert SECRET_NAME not in text
        assert SECRET_TITLE not in text
        for case in scene.cases:
            assert case.code not in text
            assert case.client.code not in text
            assert reverse("cases:case_detail", args=[case.code]) not in text
        # No link on the page leads into case content.
        for href in tree(response).xpath("//main//a/@href"):
            assert not href.startswith(("/kasus/", "/konseli/", "/kka/")), href


def test_report_pages_are_not_cached(scene: Scene) -> None:
    response = get(scene.world.coordinator, reverse("reports:organisation"))
    assert "no-store" in response.get("Cache-Control", "") or "private" in response.get(
        "Cache-Control", ""
    )


def test_the_page_works_in_english(scene: Scene) -> None:
    scene.world.coordinator.language = "en"
    scene.world.coordinator.save(update_fields=["language"])
    response = get(scene.world.coordinator, reverse("reports:organisation"))
    assert response.status_code == 200
    assert tree(response).xpath("//html/@lang") == ["en"]
