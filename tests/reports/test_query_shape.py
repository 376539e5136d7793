"""``figures.compute()`` asks the database for aggregates, not for rows: the number of
queries does not grow with the data, and (on PostgreSQL) every SELECT aggregates."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kka.accounts.models import Membership, Organisation, Role
from kka.cases.models import Case
from kka.reports import figures
from kka.reports.figures import Scope
from kka.seed.generate import EMAIL_DOMAIN, Options, seed

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 7, 15)
YEAR = (dt.date(2025, 7, 1), dt.date(2026, 6, 30))
AGGREGATES = ("COUNT(", "SUM(", "MIN(", "MAX(", "PERCENTILE_CONT(")


def _seed_one(cases: int, number: int) -> Organisation:
    seed(
        Options(
            organisations=1,
            cases=cases,
            seed=number,
            today=TODAY,
            documents_every=0,
            pipeline=False,
        )
    )
    return Organisation.objects.filter(email__endswith=EMAIL_DOMAIN).order_by("-pk")[0]


def _queries(scope: Scope) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        figures.compute(scope, *YEAR, TODAY)
    return [q["sql"] for q in captured.captured_queries]


def _without_subqueries(sql: str) -> str:
    """``sql`` with every parenthesised ``(SELECT ...)`` replaced by ``(?)``."""
    out: list[str] = []
    index = 0
    while index < len(sql):
        if sql.upper().startswith("(SELECT ", index):
            depth = 0
            for end in range(index, len(sql)):
                depth += {"(": 1, ")": -1}.get(sql[end], 0)
                if depth == 0:
                    break
            out.append("(?)")
            index = end + 1
        else:
            out.append(sql[index])
            index += 1
    return "".join(out)


def _top_level(sql: str) -> tuple[str, str]:
    """The select list and the GROUP BY clause of the outermost query."""
    depth = 0
    upper = _without_subqueries(sql).upper()
    select_end = group_at = -1
    for index, char in enumerate(upper):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            if select_end < 0 and upper.startswith(" FROM ", index):
                select_end = index
            elif upper.startswith(" GROUP BY ", index):
                group_at = index
    assert select_end > 0, sql
    group_by = ""
    if group_at > 0:
        group_by = re.split(r" (?:HAVING|ORDER BY|LIMIT) ", upper[group_at + 10 :])[0]
    return upper[:select_end], group_by


def _owner(organisation: Organisation) -> Any:
    return (
        Membership.objects.filter(organisation=organisation, role=Role.KONSELOR)
        .order_by("user_id")
        .values_list("user_id", flat=True)[0]
    )


def test_query_count_does_not_grow_with_the_data() -> None:
    small = _seed_one(50, 3)
    large = _seed_one(300, 4)
    assert Case.objects.filter(organisation=large).count() == 300
    assert Case.objects.filter(organisation=small).count() == 50
    for owner in (False, True):
        counts = []
        for organisation in (small, large):
            scope = Scope(
                (organisation.pk,),
                organisation.time_zone,
                owner_id=_owner(organisation) if owner else None,
            )
            counts.append(len(_queries(scope)))
        assert counts[0] == counts[1], (owner, counts)
    both = Scope((small.pk, large.pk), "Asia/Jakarta")
    assert len(_queries(both)) == counts[0] - 1  # no workload series for a group


def test_every_select_aggregates() -> None:
    """No query returns one row per case (or per KKA, participant...): each outermost
    SELECT computes aggregates, grouped by a category if at all. Exceptions: the one
    look-up of the organisations' time zones, and on SQLite the list of days the
    quartiles are computed from (SQLite has no percentile_cont)."""
    organisation = _seed_one(60, 5)
    scope = Scope((organisation.pk,), organisation.time_zone, owner_id=_owner(organisation))
    queries = _queries(scope)
    assert len(queries) > 15
    fallback = []
    for sql in queries:
        assert sql.upper().startswith("SELECT"), sql
        select, group_by = _top_level(sql)
        if '"accounts_organisation"' in sql and "cases_case" not in sql:
            continue  # organisations' zones: one row per organisation of the scope
        if not any(a in select for a in AGGREGATES):
            fallback.append(sql)
            continue
        assert not re.search(r'\."ID"(?:,|$)', group_by.strip()), sql  # not grouped by a key
    if connection.vendor == "postgresql":
        assert fallback == []
    else:
        assert len(fallback) == 2  # the two sets of quartiles
        assert all("JULIANDAY" in sql.upper() for sql in fallback)
