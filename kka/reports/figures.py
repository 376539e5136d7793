"""Aggregate figures of a program report, computed in SQL.

Every figure is a :class:`Cell`: the count itself, the number of distinct clients
behind it (for the small-number rule) and a *cell key*, the sum of the counted rows'
primary keys. Two cells over the same rows have the same key; cells over different
rows almost never do. ``kka.reports.protect`` turns the key into a fixed,
unguessable adjustment, so subtracting two reports does not give back a small count.

Nothing here loops over rows in Python except the quartiles on SQLite (which has no
``percentile_cont``); on PostgreSQL they are computed by the database too. The number
of queries does not depend on the number of rows (tests/reports/test_query_shape.py).

What each figure counts (settled; tests/reports/test_figures.py recomputes every one
of them from the plain rows):

- **Days.** A timestamp falls on the day it is in the time zone of *its case's
  organisation* (``Organisation.time_zone``), also when one report covers
  organisations in different zones (a pengawas's group). A period is the whole local
  days from ``start`` to ``end``.
- **cases_by_bidang**: cases *opened* in the period, by the case's bidang; the status
  columns (open / in handling / referred / closed) are each case's status *now*, when
  the report is made, not at the end of the period.
- **closed_by_outcome**: cases whose ``closed_at`` is in the period (a reopened case
  has none), by bidang and outcome.
- **kkas**: KKAs held or closed whose start is in the period, by the KKA's own bidang.
- **participants**: the (not removed) participants of those KKAs, by category;
  "attended" is present, left early or represented.
- **commitments**: the commitments of those KKAs (a KKA whose start is in the period),
  by the committed participant's category, or "konselor" for the counsellor's own.
  Dropped commitments are left out of every column. "overdue" is still planned or in
  progress with a due date before ``today``; "running" is still open otherwise.
- **evaluations**: laiseg, laijapen and laijapang of those KKAs. An evaluation is due
  on its ``due_on``; a laiseg (which has none) is due on the KKA's own day. "on time"
  is done on or before that day, the day of ``done_at`` taken in the organisation's
  zone; "late" is done after it; "overdue" is not done and due before ``today``;
  "pending" is not done and not yet due (or without a due day).
- **followups** / **referrals**: follow-ups *decided* (created) in the period, whatever
  their status now, by kind; referrals by destination.
- **to_first_kka** / **to_closure**: for cases opened in the period, days from opening
  to the first held KKA (whenever it was) and to ``closed_at``; quartiles with
  PostgreSQL's ``percentile_cont`` (linear between closest ranks).
- **trend**: per local month from ``start`` up to ``min(end, today)`` (no months in the
  future): cases opened, KKAs held and, for a counsellor's own report, the cases open
  at the end of the month (opened before its end and not closed by then; at ``today``
  for the current month, at ``end`` for a period ending mid-month).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear, TruncDate

from kka.accounts.models import Organisation
from kka.cases.models import Case, CaseOutcome, CaseStatus
from kka.conferences.models import (
    Attendance,
    Commitment,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    Evaluation,
    EvaluationKind,
    FollowUp,
    FollowUpKind,
    Participant,
)

HELD = (ConferenceStatus.HELD, ConferenceStatus.CLOSED)
COUNSELLOR_CATEGORY = "konselor"  # a commitment the counsellor took on
ATTENDED = (Attendance.PRESENT, Attendance.LEFT_EARLY, Attendance.REPRESENTED)
EVALUATION_KINDS = (EvaluationKind.LAISEG, EvaluationKind.LAIJAPEN, EvaluationKind.LAIJAPANG)
MAX_TREND_MONTHS = 40  # periods.parse allows three years, snapped to whole months


@dataclass(frozen=True)
class Cell:
    value: int
    clients: int
    key: int


ZERO = Cell(0, 0, 0)


@dataclass
class Table:
    """Rows by columns of cells, plus a total row computed over the same rows (so its
    client count is distinct across rows, not a sum)."""

    slug: str
    columns: list[str]
    rows: dict[str, dict[str, Cell]] = field(default_factory=dict)
    total: dict[str, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class Quartiles:
    n: int
    clients: int
    q1: float | None
    median: float | None
    q3: float | None
    key: int = 0  # sum of the counted cases' ids (the cell key of ``n``)


@dataclass
class Trend:
    months: list[dt.date]
    series: dict[str, list[Cell]]


@dataclass
class Scope:
    """Whose rows a report counts: cases of these organisations, optionally only the
    cases one counsellor owns.

    Days are taken in each organisation's own time zone (read from the database);
    ``zone`` is only the fallback for an organisation id that is not found."""

    organisation_ids: tuple[int, ...]
    zone: str
    owner_id: int | None = None


@dataclass
class RawReport:
    scope: Scope
    start: dt.date
    end: dt.date
    today: dt.date
    cases_by_bidang: Table
    closed_by_outcome: Table
    kkas: Table
    participants: Table
    commitments: Table
    evaluations: Table
    followups: Table
    referrals: Table
    to_first_kka: Quartiles
    to_closure: Quartiles
    trend: Trend


# --- time zones ------------------------------------------------------------------------

# The organisations of a scope grouped by time zone: ((zone, (organisation ids)), ...).
Zones = tuple[tuple[zoneinfo.ZoneInfo, tuple[int, ...]], ...]


def _zones(scope: Scope) -> Zones:
    """One query: every organisation's zone (the scope's ``zone`` for unknown ids)."""
    wanted = tuple(dict.fromkeys(scope.organisation_ids))
    if not wanted:
        return ()
    found = dict(
        Organisation.objects.filter(pk__in=wanted).order_by().values_list("pk", "time_zone")
    )
    by_zone: dict[str, list[int]] = {}
    for pk in wanted:
        by_zone.setdefault(found.get(pk) or scope.zone, []).append(pk)
    return tuple((zoneinfo.ZoneInfo(name), tuple(ids)) for name, ids in sorted(by_zone.items()))


def _midnight(zone: zoneinfo.ZoneInfo, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _during(zones: Zones, prefix: str, moment: str, start: dt.date, end: dt.date) -> Q:
    """``moment`` falls on a local day from ``start`` to ``end`` (inclusive), each row's
    day taken in its organisation's zone. ``prefix`` leads from the row to its case."""
    q = Q(pk__in=[])
    after = end + dt.timedelta(days=1)
    for zone, ids in zones:
        q |= Q(
            **{
                f"{prefix}organisation_id__in": ids,
                f"{moment}__gte": _midnight(zone, start),
                f"{moment}__lt": _midnight(zone, after),
            }
        )
    if len(zones) > 1:
        # The envelope of the zones' ranges (implied by the OR above) as one plain range,
        # which PostgreSQL can use as an index condition; the OR alone it cannot.
        q &= Q(
            **{
                f"{moment}__gte": min(_midnight(zone, start) for zone, _ids in zones),
                f"{moment}__lt": max(_midnight(zone, after) for zone, _ids in zones),
            }
        )
    return q


def _local(
    zones: Zones, prefix: str, make: Callable[[zoneinfo.ZoneInfo], Any], output_field: Any
) -> Any:
    """An expression evaluated in each row's organisation's zone."""
    if len(zones) == 1:
        return make(zones[0][0])
    return SqlCase(
        *[When(Q(**{f"{prefix}organisation_id__in": ids}), then=make(zone)) for zone, ids in zones],
        default=Value(None),
        output_field=output_field,
    )


def _month_index(zones: Zones, prefix: str, moment: str) -> Any:
    """year * 12 + month - 1 of ``moment``'s local month."""

    def make(zone: zoneinfo.ZoneInfo) -> Any:
        return (
            ExtractYear(moment, tzinfo=zone) * Value(12)
            + ExtractMonth(moment, tzinfo=zone)
            - Value(1)
        )

    return _local(zones, prefix, make, IntegerField())


# --- query building blocks -------------------------------------------------------------


def _cases(scope: Scope) -> QuerySet[Case]:
    qs = Case.objects.filter(organisation_id__in=scope.organisation_ids)
    if scope.owner_id is not None:
        qs = qs.filter(owner_id=scope.owner_id)
    return qs


def _case_filter(scope: Scope, prefix: str) -> Q:
    q = Q(**{f"{prefix}organisation_id__in": scope.organisation_ids})
    if scope.owner_id is not None:
        q &= Q(**{f"{prefix}owner_id": scope.owner_id})
    return q


def _cell_aggregates(name: str, client_path: str, condition: Q | None = None) -> dict[str, Any]:
    """Three aggregates for one cell: count, distinct clients, sum of ids."""
    return {
        f"{name}__n": Count("id", filter=condition),
        f"{name}__c": Count(client_path, filter=condition, distinct=True),
        f"{name}__k": Coalesce(Sum("id", filter=condition), Value(0)),
    }


def _cell(values: dict[str, Any], name: str) -> Cell:
    return Cell(
        int(values[f"{name}__n"] or 0),
        int(values[f"{name}__c"] or 0),
        int(values[f"{name}__k"] or 0),
    )


def _table(
    slug: str,
    qs: QuerySet[Any],
    group_by: str,
    client_path: str,
    columns: dict[str, Q | None],
) -> Table:
    """One GROUP BY query for the rows and one aggregate for the total row's distinct
    clients (its count and key are the sums of the rows', as every counted row is in
    exactly one group; a client can be in several, so clients are counted again)."""
    aggregates: dict[str, Any] = {}
    for column, condition in columns.items():
        aggregates.update(_cell_aggregates(column, client_path, condition))
    table = Table(slug=slug, columns=list(columns))
    for values in qs.order_by().values(group_by).annotate(**aggregates):
        group = str(values[group_by] or "")
        assert group not in table.rows, (slug, group)  # NULL and "" would merge
        table.rows[group] = {c: _cell(values, c) for c in columns}
    clients = qs.order_by().aggregate(
        **{
            f"{column}__c": Count(client_path, filter=condition, distinct=True)
            for column, condition in columns.items()
        }
    )
    table.total = {
        c: Cell(
            sum(row[c].value for row in table.rows.values()),
            int(clients[f"{c}__c"] or 0),
            sum(row[c].key for row in table.rows.values()),
        )
        for c in columns
    }
    return table


# --- quartiles -------------------------------------------------------------------------


class _PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression)
        self.extra["fraction"] = repr(float(fraction))


class _DaysBetween(Func):
    """Whole and fractional days from the second expression to the first."""

    output_field = FloatField()

    template = "(julianday(%(expressions)s))"
    arg_joiner = ") - julianday("

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)",
            arg_joiner=" - ",
            **extra,
        )


def _quartiles(qs: QuerySet[Case], later: Any) -> Quartiles:
    """One aggregate query on PostgreSQL; on SQLite a count and the list of days."""
    annotated = qs.annotate(_later=later).filter(_later__isnull=False)
    days = _DaysBetween(F("_later"), F("opened_at"))
    aggregates: dict[str, Any] = {
        "n": Count("id"),
        "c": Count("client_id", distinct=True),
        "k": Coalesce(Sum("id"), Value(0)),
    }
    if connection.vendor == "postgresql":
        got = annotated.order_by().aggregate(
            **aggregates,
            q1=_PercentileCont(days, 0.25),
            q2=_PercentileCont(days, 0.5),
            q3=_PercentileCont(days, 0.75),
        )
        if not got["n"]:
            return Quartiles(0, 0, None, None, None)
        q1, q2, q3 = got["q1"], got["q2"], got["q3"]
    else:  # SQLite (one school, small data) has no percentile function
        got = annotated.order_by().aggregate(**aggregates)
        if not got["n"]:
            return Quartiles(0, 0, None, None, None)
        values = sorted(annotated.order_by().annotate(_days=days).values_list("_days", flat=True))
        q1, q2, q3 = _linear_quartiles(values)
    return Quartiles(
        int(got["n"]), int(got["c"]), _days(q1), _days(q2), _days(q3), key=int(got["k"] or 0)
    )


def _percentile(values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear between the closest ranks."""
    position = fraction * (len(values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


def _linear_quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """The same interpolation as PostgreSQL's percentile_cont (``values`` sorted)."""
    return _percentile(values, 0.25), _percentile(values, 0.5), _percentile(values, 0.75)


def _days(value: float | None) -> float | None:
    return None if value is None else round(max(float(value), 0.0), 1)


# --- the report ------------------------------------------------------------------------


def compute(scope: Scope, start: dt.date, end: dt.date, today: dt.date) -> RawReport:
    zones = _zones(scope)
    cases = _cases(scope)
    opened = cases.filter(_during(zones, "", "opened_at", start, end))

    cases_by_bidang = _table(
        "cases_by_bidang",
        opened,
        "bidang",
        "client_id",
        {
            "opened": None,
            CaseStatus.OPEN.value: Q(status=CaseStatus.OPEN),
            CaseStatus.IN_HANDLING.value: Q(status=CaseStatus.IN_HANDLING),
            CaseStatus.REFERRED.value: Q(status=CaseStatus.REFERRED),
            CaseStatus.CLOSED.value: Q(status=CaseStatus.CLOSED),
        },
    )
    closed = cases.filter(_during(zones, "", "closed_at", start, end))
    closed_by_outcome = _table(
        "closed_by_outcome",
        closed,
        "bidang",
        "client_id",
        {"closed": None, **{o.value: Q(outcome=o.value) for o in CaseOutcome}},
    )

    held = Conference.objects.filter(
        _case_filter(scope, "case__"),
        _during(zones, "case__", "starts_at", start, end),
        status__in=HELD,
    )
    kkas = _table("kkas", held, "bidang", "case__client_id", {"held": None})

    participants = Participant.objects.filter(
        _case_filter(scope, "conference__case__"),
        _during(zones, "conference__case__", "conference__starts_at", start, end),
        conference__status__in=HELD,
        removed_at__isnull=True,
    )
    participants_table = _table(
        "participants",
        participants,
        "category",
        "conference__case__client_id",
        {"listed": None, "attended": Q(attendance__in=ATTENDED)},
    )

    commitments = (
        Commitment.objects.filter(
            _case_filter(scope, "conference__case__"),
            _during(zones, "conference__case__", "conference__starts_at", start, end),
            conference__status__in=HELD,
        )
        .exclude(status=CommitmentStatus.DROPPED)
        .annotate(_category=Coalesce("participant__category", Value(COUNSELLOR_CATEGORY)))
    )
    still_open = Q(status__in=(CommitmentStatus.PLANNED, CommitmentStatus.IN_PROGRESS))
    commitments_table = _table(
        "commitments",
        commitments,
        "_category",
        "conference__case__client_id",
        {
            "total": None,
            "done": Q(status=CommitmentStatus.DONE),
            "not_done": Q(status=CommitmentStatus.NOT_DONE),
            "overdue": still_open & Q(due_on__lt=today),
            "running": still_open & (Q(due_on__isnull=True) | Q(due_on__gte=today)),
        },
    )

    evaluations_table = _evaluations(scope, zones, start, end, today)

    followups = FollowUp.objects.filter(
        _case_filter(scope, "case__"), _during(zones, "case__", "created_at", start, end)
    )
    followups_table = _table("followups", followups, "kind", "case__client_id", {"count": None})
    referrals_table = _table(
        "referrals",
        followups.filter(kind=FollowUpKind.REFERRAL),
        "referral_to",
        "case__client_id",
        {"count": None},
    )

    first_kka: Any
    if connection.vendor == "postgresql":
        # A grouped join, not a correlated subquery: PostgreSQL evaluated the subquery
        # four times per case (filter and three percentiles), 2.4 s over three years at
        # 100k cases (bench/reports.py); the join takes 0.3 s. SQLite lists the days
        # per case (no percentile_cont) and keeps the subquery.
        first_kka = Min("conferences__starts_at", filter=Q(conferences__status__in=HELD))
    else:
        first_kka = Subquery(
            Conference.objects.filter(case_id=OuterRef("pk"), status__in=HELD)
            .order_by()
            .values("case_id")
            .annotate(first=Min("starts_at"))
            .values("first")[:1]
        )
    to_first_kka = _quartiles(opened, first_kka)
    to_closure = _quartiles(opened, F("closed_at"))

    trend = _trend(scope, zones, start, min(end, today), today, opened, held)
    return RawReport(
        scope=scope,
        start=start,
        end=end,
        today=today,
        cases_by_bidang=cases_by_bidang,
        closed_by_outcome=closed_by_outcome,
        kkas=kkas,
        participants=participants_table,
        commitments=commitments_table,
        evaluations=evaluations_table,
        followups=followups_table,
        referrals=referrals_table,
        to_first_kka=to_first_kka,
        to_closure=to_closure,
        trend=trend,
    )


def _evaluations(scope: Scope, zones: Zones, start: dt.date, end: dt.date, today: dt.date) -> Table:
    prefix = "conference__case__"
    kka_day = _local(
        zones, prefix, lambda z: TruncDate("conference__starts_at", tzinfo=z), DateField()
    )
    done_on = _local(zones, prefix, lambda z: TruncDate("done_at", tzinfo=z), DateField())
    due = SqlCase(
        When(due_on__isnull=False, then=F("due_on")),
        When(kind=EvaluationKind.LAISEG, then=kka_day),
        default=Value(None),
        output_field=DateField(),
    )
    evaluations = Evaluation.objects.filter(
        _case_filter(scope, prefix),
        _during(zones, prefix, "conference__starts_at", start, end),
        conference__status__in=HELD,
        kind__in=EVALUATION_KINDS,
    ).annotate(_due=due, _done_on=done_on)
    done = Q(done_at__isnull=False)
    not_done = Q(done_at__isnull=True)
    return _table(
        "evaluations",
        evaluations,
        "kind",
        "conference__case__client_id",
        {
            "total": None,
            "on_time": done & (Q(_due__isnull=True) | Q(_done_on__lte=F("_due"))),
            "late": done & Q(_due__isnull=False, _done_on__gt=F("_due")),
            "overdue": not_done & Q(_due__isnull=False, _due__lt=today),
            "pending": not_done & (Q(_due__isnull=True) | Q(_due__gte=today)),
        },
    )


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out: list[dt.date] = []
    cursor = start.replace(day=1)
    while cursor <= end and len(out) < MAX_TREND_MONTHS:
        out.append(cursor)
        cursor = _next_month(cursor)
    return out


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _monthly(
    qs: QuerySet[Any],
    zones: Zones,
    prefix: str,
    moment: str,
    client_path: str,
    months: list[dt.date],
) -> list[Cell]:
    if not months:
        return []
    rows = (
        qs.order_by()
        .annotate(_month=_month_index(zones, prefix, moment))
        .values("_month")
        .annotate(**_cell_aggregates("m", client_path))
    )
    by_month: dict[dt.date, Cell] = {}
    for values in rows:
        if values["_month"] is None:
            continue
        index = int(values["_month"])
        by_month[dt.date(index // 12, index % 12 + 1, 1)] = _cell(values, "m")
    return [by_month.get(m, ZERO) for m in months]


def _trend(
    scope: Scope,
    zones: Zones,
    start: dt.date,
    last: dt.date,
    today: dt.date,
    opened: QuerySet[Case],
    held: QuerySet[Conference],
) -> Trend:
    """Months from ``start`` to ``last`` (the period's end, or today if earlier)."""
    months = _months(start, last)
    series = {
        "cases_opened": _monthly(opened, zones, "", "opened_at", "client_id", months),
        "kkas_held": _monthly(held, zones, "case__", "starts_at", "case__client_id", months),
    }
    if scope.owner_id is not None:
        series["active_cases"] = _active_at_month_end(scope, zones, months, last)
    return Trend(months=months, series=series)


def _active_at_month_end(
    scope: Scope, zones: Zones, months: list[dt.date], last: dt.date
) -> list[Cell]:
    """Cases open at the end of each month (a counsellor's workload): one query with
    one conditional count per month. A month's end is the midnight after its last
    day, or after ``last`` when that is earlier."""
    aggregates: dict[str, Any] = {}
    for index, month in enumerate(months):
        day_after = min(_next_month(month), last + dt.timedelta(days=1))
        condition = Q(pk__in=[])
        for zone, ids in zones:
            moment = _midnight(zone, day_after)
            condition |= Q(organisation_id__in=ids, opened_at__lt=moment) & (
                Q(closed_at__isnull=True) | Q(closed_at__gte=moment)
            )
        aggregates.update(_cell_aggregates(f"a{index}", "client_id", condition))
    if not aggregates:
        return []
    values = _cases(scope).order_by().aggregate(**aggregates)
    return [_cell(values, f"a{index}") for index in range(len(months))]
