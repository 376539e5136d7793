"""The program report routes of the API: shape, the small-number rule in JSON, 404 for
anyone without access, period validation, the counsellor's exact figures and a group's
whole and per-organisation reports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation

from kka.accounts.models import Membership, Role
from kka.api.routers.reports import report_out
from kka.audit.models import AuditEvent
from kka.reports import periods, services
from tests.api.util import api_client, token_for
from tests.personas import make_organisation, make_user
from tests.reports.test_exports import (
    FORMULA,
    assert_nothing_identifying,
    build_office,
    build_school,
    organisation_report,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reports"
FIGURE_KEYS = {"value", "text"}


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def table(report: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(t for t in report["tables"] if t["slug"] == slug)


def row(tab: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(r for r in tab["rows"] if r["slug"] == slug)


def every_figure(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tab in report["tables"]:
        for r in [*tab["rows"], *([tab["total"]] if tab["total"] else [])]:
            assert len(r["cells"]) == len(tab["columns"])
            out += r["cells"]
    for duration in report["durations"]:
        out += [duration[key] for key in ("cases", "q1", "median", "q3")]
    return out


def test_organisation_report_shape_and_small_number_rule() -> None:
    school = build_school()
    http = api_client(school.coordinator)
    response = http.get(f"{BASE}/organisation", school.query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "title", "subject", "period", "exact", "threshold", "tables", "durations"
    }  # fmt: skip
    assert body["title"].startswith("Laporan Program Bimbingan dan Konseling")
    assert body["subject"] == school.org.name
    assert body["period"] == {
        "from": school.query["from"],
        "to": school.query["to"],
        "kind": "custom",
        "label": body["period"]["label"],
    }
    assert body["exact"] is False and body["threshold"] == 5
    slugs = [t["slug"] for t in body["tables"]]
    assert slugs[:3] == ["cases_by_bidang", "closed_by_outcome", "kkas"] and "trend" in slugs
    for tab in body["tables"]:
        assert set(tab) == {"slug", "title", "row_heading", "columns", "rows", "total"}
        assert all(set(c) == {"slug", "label"} for c in tab["columns"])
    for figure in every_figure(body):
        assert set(figure) == FIGURE_KEYS
        if figure["text"].startswith("<"):
            assert figure == {"value": None, "text": "< 5"}
        elif figure["value"] is not None:
            assert isinstance(figure["value"], int | float)

    cases = table(body, "cases_by_bidang")
    assert cases["columns"][0]["slug"] == "opened"
    assert row(cases, "belajar")["cells"][0] == {"value": None, "text": "< 5"}
    assert row(cases, FORMULA)["label"] == FORMULA  # JSON is not a spreadsheet
    assert row(cases, FORMULA)["cells"][0] == {"value": None, "text": "< 5"}
    sosial = row(cases, "sosial")["cells"][0]
    assert sosial["value"] is not None and 5 <= sosial["value"] <= 8

    # Exactly what the page shows (same figures, same adjustments).
    assert body == as_json(report_out(organisation_report(school)))
    assert_nothing_identifying(response.content.decode(), school)
    assert AuditEvent.objects.filter(action="report.organisation_viewed").count() == 1


def test_own_report_is_exact() -> None:
    school = build_school()
    response = api_client(school.world.counsellor).get(f"{BASE}/own", school.query)
    assert response.status_code == 200
    body = response.json()
    assert body["exact"] is True and body["threshold"] is None
    assert body["subject"] == school.world.counsellor.full_name
    cases = table(body, "cases_by_bidang")
    assert row(cases, "belajar")["cells"][0] == {"value": 2, "text": "2"}
    assert row(cases, "sosial")["cells"][0] == {"value": 6, "text": "6"}
    assert row(cases, FORMULA)["cells"][0] == {"value": 1, "text": "1"}
    assert not any(f["text"].startswith("<") for f in every_figure(body))
    assert table(body, "kkas")["total"]["cells"][0]["value"] == 1
    assert AuditEvent.objects.filter(action="report.own_viewed").count() == 1

    # Another counsellor of the school owns nothing: all zero, still exact.
    other = api_client(school.world.other_counsellor).get(f"{BASE}/own", school.query).json()
    assert row(table(other, "cases_by_bidang"), "sosial")["cells"][0]["value"] == 0


def test_groups_list_and_group_report_whole_and_per_organisation() -> None:
    o = build_office()
    http = api_client(o.pengawas)
    listing = http.get(f"{BASE}/groups")
    assert listing.status_code == 200
    assert listing.json() == {
        "items": [
            {
                "code": o.group.code,
                "name": o.group.name,
                "organisations": sorted(
                    [
                        {"code": o.school.org.code, "name": o.school.org.name},
                        {"code": o.second.code, "name": o.second.name},
                    ],
                    key=lambda item: item["name"],
                ),
            }
        ]
    }
    response = http.get(f"{BASE}/groups/{o.group.code}", o.school.query)
    assert response.status_code == 200
    body = response.json()
    assert body["group"]["code"] == o.group.code
    assert body["whole"]["subject"] == o.group.name and body["whole"]["threshold"] == 5
    members = {m["organisation"]["name"]: m["report"] for m in body["organisations"]}
    assert set(members) == {o.school.org.name, o.second.name}
    school = members[o.school.org.name]
    assert school["subject"] == o.school.org.name and school["exact"] is False
    assert row(table(school, "cases_by_bidang"), "belajar")["cells"][0] == {
        "value": None,
        "text": "< 5",
    }
    # The group uses built-in bidang names; the school's own bidang keeps its label.
    assert row(table(school, "cases_by_bidang"), FORMULA)["label"] == FORMULA
    empty = members[o.second.name]
    assert row(table(empty, "cases_by_bidang"), "sosial")["cells"][0] == {"value": 0, "text": "0"}
    assert_nothing_identifying(response.content.decode(), o.school)
    assert AuditEvent.objects.filter(action="report.group_viewed").count() == 1


def test_a_stricter_group_threshold_applies_to_every_member() -> None:
    o = build_office()
    o.group.report_threshold = 7
    o.group.save()
    body = api_client(o.pengawas).get(f"{BASE}/groups/{o.group.code}", o.school.query).json()
    assert body["whole"]["threshold"] == 7
    for member in body["organisations"]:
        assert member["report"]["threshold"] == 7
        for figure in every_figure(member["report"]):
            assert not figure["text"].startswith("< 5")
    school = next(
        m for m in body["organisations"] if m["organisation"]["code"] == o.school.org.code
    )
    # 6 clients in "sosial": fewer than 7, so withheld now.
    assert row(table(school["report"], "cases_by_bidang"), "sosial")["cells"][0] == {
        "value": None,
        "text": "< 7",
    }


def test_who_gets_404() -> None:
    o = build_office()
    world = o.school.world
    query = o.school.query
    stranger = make_user(organisation=make_organisation(name="Dinas Lain"), role=Role.PENGAWAS)
    group = f"{BASE}/groups/{o.group.code}"
    cases: list[tuple[Any, str, int]] = [
        (world.coordinator, f"{BASE}/organisation", 200),
        (world.head, f"{BASE}/organisation", 200),
        (world.counsellor, f"{BASE}/organisation", 404),
        (world.admin, f"{BASE}/organisation", 404),
        (world.dpo, f"{BASE}/organisation", 404),
        (o.pengawas, f"{BASE}/organisation", 404),
        (world.counsellor, f"{BASE}/own", 200),
        (world.coordinator, f"{BASE}/own", 200),
        (world.head, f"{BASE}/own", 404),
        (world.admin, f"{BASE}/own", 404),
        (o.pengawas, f"{BASE}/own", 404),
        (o.pengawas, f"{BASE}/groups", 200),
        (world.coordinator, f"{BASE}/groups", 404),
        (world.head, f"{BASE}/groups", 404),
        (o.pengawas, group, 200),
        (stranger, group, 404),
        (world.coordinator, group, 404),
        (world.head, group, 404),
        (o.pengawas, f"{BASE}/groups/TIDAKADA12", 404),
        (o.pengawas, f"{BASE}/groups/bad%00code", 404),
    ]
    for user, url, status in cases:
        response = api_client(user).get(url, query)
        assert response.status_code == status, (user.full_name, url, response.status_code)
        if status == 404:
            assert response.json()["code"] == "not_found"
    assert api_client().get(f"{BASE}/organisation", query).status_code == 401
    # An empty list would tell a pengawas of another office nothing; still 404 for others.
    assert api_client(stranger).get(f"{BASE}/groups").json() == {"items": []}


def test_the_token_organisation_decides() -> None:
    """A coordinator of two schools reads the report of the token's school only; a
    counselling role in another organisation does not open this one's report."""
    school = build_school()
    second = make_organisation(name="SMP Kedua")
    Membership.objects.create(user=school.coordinator, organisation=second, role=Role.KONSELOR)
    as_second = api_client(raw=token_for(school.coordinator, organisation=second))
    assert as_second.get(f"{BASE}/organisation", school.query).status_code == 404
    body = as_second.get(f"{BASE}/own", school.query).json()
    assert body["subject"] == school.coordinator.full_name
    assert row(table(body, "cases_by_bidang"), "sosial")["cells"][0]["value"] == 0
    as_first = api_client(raw=token_for(school.coordinator, organisation=school.org))
    assert as_first.get(f"{BASE}/organisation", school.query).json()["subject"] == school.org.name


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01", "to": "2026-12-31"},
        {"from": "kemarin", "to": "2026-12-31"},
        {"from": "2026-12-01", "to": "2026-01-31"},
        {"from": "2026-12-01"},
        {"to": "2026-12-31"},
        {"from": "2020-01-01", "to": "2026-12-31"},
    ],
)
def test_invalid_periods_answer_422(query: dict[str, str]) -> None:
    school = build_school_light()
    for path in ("organisation", "own"):
        user = school["coordinator"]
        response = api_client(user).get(f"{BASE}/{path}", query)
        assert response.status_code == 422, (path, query, response.content)
        body = response.json()
        assert body["code"] == "invalid" and body["message"]
        for value in query.values():
            assert value not in json.dumps(body)  # never the submitted values
    assert not AuditEvent.objects.filter(action__startswith="report.").exists()


def build_school_light() -> dict[str, Any]:
    org = make_organisation()
    return {"org": org, "coordinator": make_user(organisation=org, role=Role.KOORDINATOR)}


def test_periods_default_to_the_semester_and_protected_ones_are_whole_months() -> None:
    school = build_school_light()
    http = api_client(school["coordinator"])
    body = http.get(f"{BASE}/organisation").json()
    today = services.local_today(school["org"])
    semester = periods.semester(today)
    assert body["period"]["kind"] == "semester"
    assert body["period"]["from"] == semester.start.isoformat()
    assert body["period"]["to"] == semester.end.isoformat()
    with translation.override("id"):
        assert body["period"]["label"] == semester.label
    snapped = http.get(f"{BASE}/organisation", {"from": "2026-08-10", "to": "2026-09-20"}).json()
    assert snapped["period"]["from"] == "2026-08-01" and snapped["period"]["to"] == "2026-09-30"
    exact = http.get(f"{BASE}/own", {"from": "2026-08-10", "to": "2026-09-20"}).json()
    assert exact["period"]["from"] == "2026-08-10" and exact["period"]["to"] == "2026-09-20"
    year = http.get(f"{BASE}/organisation", {"from": "2026-07-01", "to": "2027-06-30"}).json()
    assert year["period"]["kind"] == "year"
    assert year["period"]["label"] == "Tahun Pelajaran 2026/2027"


def test_openapi_documents_the_report_routes() -> None:
    schema = api_client().get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("organisation", "own", "groups", "groups/{code}"):
        operation = paths[f"/api/v1/reports/{path}"]["get"]
        assert "404" in operation["responses"] and "200" in operation["responses"]
    names = {p["name"] for p in paths["/api/v1/reports/organisation"]["get"]["parameters"]}
    assert names == {"from", "to"}
    figure = schema["components"]["schemas"]["FigureOut"]
    assert set(figure["required"]) == {"value", "text"}
    assert "from" in schema["components"]["schemas"]["PeriodOut"]["properties"]
