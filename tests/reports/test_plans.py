"""The program report's queries use the indexes added for them (issue #10, item 8).

PostgreSQL only. On a small seeded dataset (deterministic: ``kka seed`` with a fixed
seed), after ``ANALYZE`` (every row sampled at this size, so the statistics and the plans
are stable) and with no planner setting changed, every query ``figures.compute()`` sends
for one organisation and one month (a small part of the data) is explained with
``EXPLAIN (FORMAT JSON)``:

- the queries that pick the period's cases by opening or closing day read them through
  ``cases_org_opened_idx`` / ``cases_org_closed_idx`` with the date range in the index
  condition (not just the organisation);
- the queries over held KKAs find them through ``conf_starts_cover_idx``, the follow-up
  queries through ``conf_followup_created_cover``, each with the date range in the index
  condition, also when the scope's organisations are in several time zones;
- no query reads the table its period filters (cases, KKAs, follow-ups) sequentially.

A control shows the check can fail: a query whose date condition cannot use the index
(the day of a cast timestamp) is reported as not using it. The index-only scans the
INCLUDE columns allow need a vacuumed table (the visibility map), which a test transaction
cannot have; ``bench/reports.py --explain`` shows them at 100,000 cases with timings.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet

from kka.accounts.models import Organisation
from kka.cases.models import Case
from kka.reports import figures
from kka.reports.figures import Scope
from kka.seed.generate import EMAIL_DOMAIN, Options, seed

from .conftest import module_data

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="by design: the plans checked are PostgreSQL's (SQLite has its own planner)",
    ),
]

TODAY = dt.date(2026, 12, 1)
MONTH = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
OPENED_INDEX = "cases_org_opened_idx"
CLOSED_INDEX = "cases_org_closed_idx"
STARTS_INDEX = "conf_starts_cover_idx"
FOLLOWUP_INDEX = "conf_followup_created_cover"
INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
# The table each index serves: reading all of it is what the index prevents.
TABLE_OF = {
    OPENED_INDEX: "cases_case",
    CLOSED_INDEX: "cases_case",
    STARTS_INDEX: "conferences_conference",
    FOLLOWUP_INDEX: "conferences_followup",
}

Plan = list[dict[str, Any]]  # every node of one plan


@pytest.fixture(scope="module")
def organisation(django_db_setup: None, django_db_blocker: Any) -> Iterator[Organisation]:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")

    def build() -> Organisation:
        seed(
            Options(
                organisations=6,
                cases=600,
                seed=21,
                today=TODAY,
                batch_size=300,
                documents_every=0,
                pipeline=False,
            )
        )
        with connection.cursor() as cursor:
            # What autovacuum does after a bulk load. Allowed in a transaction; it
            # counts the transaction's own new rows.
            cursor.execute("ANALYZE")
        found = Organisation.objects.filter(email__endswith=EMAIL_DOMAIN).order_by("pk").first()
        assert found is not None
        return found

    with module_data(django_db_blocker, build) as organisation:
        yield organisation


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.calls.append((sql, params))
        return execute(sql, params, many, context)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _explain(sql: str, params: Any) -> Plan:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    doc = raw if isinstance(raw, list) else json.loads(raw)
    return list(_nodes(doc[0]["Plan"]))


def _plans(scope: Scope) -> list[tuple[str, Plan]]:
    """(sql, plan) of each query compute() sends for the month."""
    recorder = _Recorder()
    with connection.execute_wrapper(recorder):
        figures.compute(scope, *MONTH, TODAY)
    assert len(recorder.calls) >= 10  # the report's queries, not nothing
    return [(sql, _explain(sql, params)) for sql, params in recorder.calls]


def _uses_range(plan: Plan, index: str, column: str) -> bool:
    """The plan reads ``index`` with ``column``'s range in the index condition."""
    return any(
        node["Node Type"] in INDEX_SCANS
        and node.get("Index Name") == index
        and column in str(node.get("Index Cond", ""))
        for node in plan
    )


def _filters(sql: str, table: str, column: str) -> bool:
    return f'"{table}"."{column}" >=' in sql


def _sql_plan(qs: QuerySet[Any]) -> Plan:
    sql, params = qs.query.sql_with_params()
    return _explain(sql, params)


def test_the_dataset_is_large_enough_and_the_month_a_small_part(
    organisation: Organisation,
) -> None:
    cases = Case.objects.filter(organisation=organisation)
    lower = dt.datetime.combine(MONTH[0], dt.time(), tzinfo=dt.UTC)
    upper = dt.datetime.combine(MONTH[1], dt.time(), tzinfo=dt.UTC)
    in_month = cases.filter(opened_at__gte=lower, opened_at__lt=upper).count()
    assert cases.count() >= 50
    assert Case.objects.count() >= 500
    assert 0 < in_month < Case.objects.count() / 20


def test_the_indexes_exist_with_the_columns_the_report_reads(db: None) -> None:
    with connection.cursor() as cursor:
        cases = connection.introspection.get_constraints(cursor, "cases_case")
        conferences = connection.introspection.get_constraints(cursor, "conferences_conference")
    # Key columns first, then the INCLUDE columns the report reads from the index.
    opened, closed = cases[OPENED_INDEX]["columns"], cases[CLOSED_INDEX]["columns"]
    assert opened[:2] == ["organisation_id", "opened_at"]
    assert set(opened[2:]) == {"id", "client_id", "owner_id", "bidang", "status", "closed_at"}
    assert closed[:2] == ["organisation_id", "closed_at"]
    assert set(closed[2:]) == {"id", "client_id", "owner_id", "bidang", "outcome"}
    starts = conferences[STARTS_INDEX]["columns"]
    assert starts[0] == "starts_at"
    assert set(starts[1:]) == {"id", "status", "case_id", "bidang"}


def test_one_month_of_one_organisation_is_read_through_the_indexes(
    organisation: Organisation,
) -> None:
    plans = _plans(Scope((organisation.pk,), organisation.time_zone))
    checked = {OPENED_INDEX: 0, CLOSED_INDEX: 0, STARTS_INDEX: 0, FOLLOWUP_INDEX: 0}
    for sql, plan in plans:
        wanted = []
        if _filters(sql, "cases_case", "opened_at"):
            wanted.append((OPENED_INDEX, "opened_at"))
        if _filters(sql, "cases_case", "closed_at"):
            wanted.append((CLOSED_INDEX, "closed_at"))
        if _filters(sql, "conferences_conference", "starts_at"):
            wanted.append((STARTS_INDEX, "starts_at"))
        if _filters(sql, "conferences_followup", "created_at"):
            wanted.append((FOLLOWUP_INDEX, "created_at"))
        for index, column in wanted:
            assert _uses_range(plan, index, column), (index, sql, plan)
            checked[index] += 1
        # The table the period filters is never read whole. (The other side of a join,
        # e.g. the organisation's cases for its KKAs, may be: at this size a sequential
        # scan of a few pages is a fair choice, and it depends on the table's history.)
        filtered = {TABLE_OF[index] for index, _column in wanted}
        full = {
            node["Relation Name"]
            for node in plan
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in filtered
        }
        assert not full, (full, sql)
    # Every kind of query was there to check: case tables, quartiles and trend by opening
    # day, outcomes by closing day, KKAs / participants / commitments / evaluations and
    # their trend by start, follow-ups and referrals by creation.
    assert checked[OPENED_INDEX] >= 4, checked
    assert checked[CLOSED_INDEX] >= 2, checked
    assert checked[STARTS_INDEX] >= 8, checked
    assert checked[FOLLOWUP_INDEX] >= 4, checked


def test_organisations_in_several_time_zones_give_the_kkas_one_index_range(
    organisation: Organisation,
) -> None:
    """Each organisation's period is in its own zone: an OR of (organisations, range)
    pairs. ``figures._during`` adds their envelope (earliest start to latest end) as a
    plain range, and the KKA scan uses it as one index condition. Without it PostgreSQL
    combines the per-zone ranges here (BitmapOr: checked by hand), but at 100,000 cases
    it read the whole KKA table instead (docs/performance.md, "Program reports"); this
    checks that the envelope is there and used."""
    organisations = list(Organisation.objects.filter(email__endswith=EMAIL_DOMAIN))
    zones = {zoneinfo.ZoneInfo(o.time_zone) for o in organisations}
    assert len(zones) > 1
    after = MONTH[1] + dt.timedelta(days=1)
    lower = min(dt.datetime.combine(MONTH[0], dt.time(), tzinfo=z) for z in zones)
    upper = max(dt.datetime.combine(after, dt.time(), tzinfo=z) for z in zones)
    bounds = [f"'{m.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}+00'" for m in (lower, upper)]
    scope = Scope(tuple(o.pk for o in organisations), organisation.time_zone)
    kka_queries = 0
    for sql, plan in _plans(scope):
        if _filters(sql, "conferences_conference", "starts_at"):
            kka_queries += 1
            assert any(
                node["Node Type"] in INDEX_SCANS
                and node.get("Index Name") == STARTS_INDEX
                and all(bound in str(node.get("Index Cond", "")) for bound in bounds)
                for node in plan
            ), (bounds, sql, plan)
    assert kka_queries >= 8


def test_the_counsellor_scope_is_read_through_an_index_too(organisation: Organisation) -> None:
    case = Case.objects.filter(organisation=organisation).order_by("pk").first()
    assert case is not None
    owner_index = next(i.name for i in Case._meta.indexes if i.fields[0] == "owner")
    scope = Scope((organisation.pk,), organisation.time_zone, owner_id=case.owner_id)
    for sql, plan in _plans(scope):
        if _filters(sql, "cases_case", "opened_at"):
            names = {node.get("Index Name") for node in plan if node["Node Type"] in INDEX_SCANS}
            assert names & {OPENED_INDEX, owner_index}, (names, sql)
            assert not any(
                n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "cases_case"
                for n in plan
            )


def test_control_a_date_condition_the_index_cannot_serve_is_caught(
    organisation: Organisation,
) -> None:
    """The check above can fail: the same month asked as the day of a cast timestamp
    (what a careless rewrite of ``_during`` might do) is not an index range."""
    lower = dt.datetime.combine(MONTH[0], dt.time(), tzinfo=dt.UTC)
    upper = dt.datetime.combine(MONTH[1], dt.time(), tzinfo=dt.UTC)
    good = Case.objects.filter(
        organisation=organisation, opened_at__gte=lower, opened_at__lt=upper
    ).values("bidang")
    careless = Case.objects.filter(organisation=organisation, opened_at__date__range=MONTH).values(
        "bidang"
    )
    assert _uses_range(_sql_plan(good), OPENED_INDEX, "opened_at")
    assert not _uses_range(_sql_plan(careless), OPENED_INDEX, "opened_at")
