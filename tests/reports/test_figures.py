"""Every figure of ``figures.compute()`` against an independent computation.

A seeded dataset (two organisations, ~300 cases) plus hand-made rows for what the
generator never makes (a referred outcome, employer and community participants, late
evaluations, commitments without a due date, timestamps near local midnight in WIT).
The expected figures are counted in Python with sets and dicts over plain rows read
with ``values_list``, each timestamp turned into a local day with ``zoneinfo`` — a
different method from the SQL aggregates. Every cell (value, distinct clients, cell
key) of every table and total row, both quartile sets and the monthly trend are
compared, for: one organisation over a school year, a semester and a custom period,
two organisations in different zones together, and a counsellor's own cases.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest

from kka.accounts.models import Membership, Organisation, Role, User
from kka.cases.models import BUILTIN_BIDANG, Case, CaseOutcome
from kka.conferences.models import (
    PARTICIPANT_CATEGORIES,
    Commitment,
    Conference,
    Evaluation,
    FollowUp,
    FollowUpKind,
    Participant,
)
from kka.reports import figures
from kka.reports.figures import Cell, Quartiles, RawReport, Scope, Table
from kka.seed.generate import EMAIL_DOMAIN, Options, seed
from tests.personas import make_organisation
from tests.reports.conftest import add_case, add_conference, add_participant, module_data

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 7, 15)
WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
WIT = zoneinfo.ZoneInfo("Asia/Jayapura")
UTC = dt.UTC

HELD = {"held", "closed"}
ATTENDED = {"present", "left_early", "represented"}
OPEN_COMMITMENT = {"planned", "in_progress"}
EVALUATION_KINDS = {"laiseg", "laijapen", "laijapang"}


# --- the dataset -----------------------------------------------------------------------


@dataclass
class Data:
    wib: Organisation  # seeded, moved to Asia/Jakarta
    wit: Organisation  # seeded, moved to Asia/Jayapura
    counsellor: User  # owns the hand-made WIT cases
    boundary: dict[str, int] = field(default_factory=dict)  # name -> case id


def _build() -> Data:
    seed(
        Options(
            organisations=2,
            cases=300,
            seed=23,
            today=TODAY,
            documents_every=0,
            pipeline=False,
        )
    )
    wib, wit = Organisation.objects.filter(email__endswith=EMAIL_DOMAIN).order_by("pk")
    Organisation.objects.filter(pk=wib.pk).update(time_zone="Asia/Jakarta")
    Organisation.objects.filter(pk=wit.pk).update(time_zone="Asia/Jayapura")
    wib.refresh_from_db()
    wit.refresh_from_db()
    membership = (
        Membership.objects.filter(organisation=wit, role=Role.KONSELOR).order_by("user_id").first()
    )
    assert membership is not None
    counsellor = membership.user
    data = Data(wib=wib, wit=wit, counsellor=counsellor)

    def at(zone: zoneinfo.ZoneInfo, *args: int) -> dt.datetime:
        year, month, day, hour, minute = (*args, 0, 0)[:5]
        return dt.datetime(year, month, day, hour, minute, tzinfo=zone)

    # Cases opened a little after local midnight: another day (and month) in UTC.
    new_year = add_case(wit, counsellor, at(WIT, 2026, 1, 1, 0, 30), bidang="karir")
    new_year.status = "in_handling"
    new_year.save(update_fields=["status"])
    data.boundary["wit_new_year"] = new_year.pk
    data.boundary["wit_after_year"] = add_case(
        wit, counsellor, at(WIT, 2026, 7, 1, 0, 10), bidang="sosial"
    ).pk
    wib_owner = User.objects.get(pk=Case.objects.filter(organisation=wib).values("owner")[:1])
    data.boundary["wib_old_year"] = add_case(
        wib, wib_owner, at(WIB, 2025, 12, 31, 23, 30), bidang="belajar"
    ).pk
    # Closed just after local midnight on 1 April, with the outcome the seed never uses.
    closed = add_case(
        wit,
        counsellor,
        at(WIT, 2026, 2, 10, 9),
        bidang="karir",
        status="closed",
        outcome=CaseOutcome.REFERRED,
        closed_at=at(WIT, 2026, 4, 1, 0, 20),
    )
    data.boundary["wit_closed_april"] = closed.pk

    # A KKA starting just after midnight on 1 March (28 February in UTC).
    kka = add_conference(new_year, at(WIT, 2026, 3, 1, 0, 15), bidang="karir")
    employer = add_participant(kka, "pemberi_kerja")
    community = add_participant(kka, "masyarakat", attendance="absent")
    add_participant(kka, "konseli", attendance="represented")
    add_participant(kka, "staf_lembaga", removed_at=at(WIT, 2026, 2, 27, 8))
    add_participant(kka, "keluarga", attendance="unknown")
    for participant, status, due in (
        (employer, "planned", None),  # no due date: still running
        (None, "in_progress", dt.date(2026, 3, 10)),  # the counsellor's, overdue
        (community, "dropped", dt.date(2026, 3, 10)),  # left out
        (employer, "not_done", dt.date(2026, 3, 12)),
        (community, "done", dt.date(2026, 3, 20)),
    ):
        Commitment.objects.create(
            conference=kka,
            participant=participant,
            counsellor=None if participant else counsellor,
            what="Komitmen uji",
            due_on=due,
            status=status,
            created_by=counsellor,
        )
    for kind, participant, due, done in (
        ("laiseg", employer, None, at(WIT, 2026, 3, 1, 23, 59)),  # KKA's day: on time
        ("laiseg", community, None, at(WIT, 2026, 3, 2, 0, 30)),  # next local day: late
        ("laijapen", None, dt.date(2026, 3, 15), at(WIT, 2026, 3, 16, 0, 30)),  # late
        ("laijapang", None, dt.date(2026, 5, 1), None),  # overdue
        ("proses", None, None, at(WIT, 2026, 3, 1, 2)),  # not an evaluation counted
    ):
        Evaluation.objects.create(
            conference=kka, kind=kind, participant=participant, due_on=due, done_at=done
        )
    FollowUp.objects.create(
        case=new_year,
        conference=kka,
        kind=FollowUpKind.HOME_VISIT,
        created_by=counsellor,
        created_at=at(WIT, 2026, 3, 1, 0, 20),
    )
    # A held (not yet closed) KKA of the closed case, and one that was cancelled.
    add_conference(closed, at(WIT, 2026, 3, 31, 23, 50), status="held", bidang="pribadi")
    add_conference(closed, at(WIT, 2026, 3, 5, 9), status="cancelled")
    # Laijapen of a seeded KKA in WIB done late; referral destinations never seeded.
    late = (
        Evaluation.objects.filter(
            kind="laijapen",
            done_at__isnull=False,
            conference__case__organisation=wib,
            conference__starts_at__gte=dt.datetime(2025, 8, 1, tzinfo=WIB),
            conference__starts_at__lt=dt.datetime(2026, 5, 1, tzinfo=WIB),
        )
        .order_by("pk")
        .first()
    )
    assert late is not None and late.due_on is not None
    late.done_at = dt.datetime.combine(late.due_on + dt.timedelta(days=3), dt.time(9), WIB)
    late.save(update_fields=["done_at"])
    for destination, organisation in (("tppk", wib), ("polisi", wit)):
        referral = (
            FollowUp.objects.filter(kind="referral", case__organisation=organisation)
            .order_by("-created_at")
            .first()
        )
        assert referral is not None
        referral.referral_to = destination
        referral.save(update_fields=["referral_to"])
    return data


@pytest.fixture(scope="module")
def data(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Data]:
    with module_data(django_db_blocker, _build) as built:
        yield built


# --- plain rows ------------------------------------------------------------------------


class CaseRow(NamedTuple):
    id: int
    client_id: int
    organisation_id: int
    owner_id: int
    bidang: str
    status: str
    outcome: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class ConferenceRow(NamedTuple):
    id: int
    case_id: int
    status: str
    bidang: str
    starts_at: dt.datetime | None


class ParticipantRow(NamedTuple):
    id: int
    conference_id: int
    category: str
    attendance: str
    removed_at: dt.datetime | None


class CommitmentRow(NamedTuple):
    id: int
    conference_id: int
    participant_id: int | None
    status: str
    due_on: dt.date | None


class EvaluationRow(NamedTuple):
    id: int
    conference_id: int
    kind: str
    due_on: dt.date | None
    done_at: dt.datetime | None


class FollowUpRow(NamedTuple):
    id: int
    case_id: int
    kind: str
    referral_to: str
    created_at: dt.datetime


@dataclass
class Rows:
    zones: dict[int, zoneinfo.ZoneInfo]
    cases: dict[int, CaseRow]
    conferences: dict[int, ConferenceRow]
    participants: dict[int, ParticipantRow]
    commitments: list[CommitmentRow]
    evaluations: list[EvaluationRow]
    followups: list[FollowUpRow]


def read_rows() -> Rows:
    return Rows(
        zones={
            pk: zoneinfo.ZoneInfo(name)
            for pk, name in Organisation.objects.values_list("id", "time_zone")
        },
        cases={
            r[0]: CaseRow(*r)
            for r in Case.objects.values_list(
                "id",
                "client_id",
                "organisation_id",
                "owner_id",
                "bidang",
                "status",
                "outcome",
                "opened_at",
                "closed_at",
            )
        },
        conferences={
            r[0]: ConferenceRow(*r)
            for r in Conference.objects.values_list(
                "id", "case_id", "status", "bidang", "starts_at"
            )
        },
        participants={
            r[0]: ParticipantRow(*r)
            for r in Participant.objects.values_list(
                "id", "conference_id", "category", "attendance", "removed_at"
            )
        },
        commitments=[
            CommitmentRow(*r)
            for r in Commitment.objects.values_list(
                "id", "conference_id", "participant_id", "status", "due_on"
            )
        ],
        evaluations=[
            EvaluationRow(*r)
            for r in Evaluation.objects.values_list(
                "id", "conference_id", "kind", "due_on", "done_at"
            )
        ],
        followups=[
            FollowUpRow(*r)
            for r in FollowUp.objects.values_list(
                "id", "case_id", "kind", "referral_to", "created_at"
            )
        ],
    )


# --- the independent computation -------------------------------------------------------


def cell(items: Iterable[tuple[int, int]]) -> Cell:
    """(row id, client id) pairs -> count, distinct clients, sum of ids."""
    pairs = list(items)
    return Cell(len(pairs), len({client for _id, client in pairs}), sum(i for i, _c in pairs))


@dataclass
class Expected:
    rows: dict[str, dict[str, Cell]]
    total: dict[str, Cell]


def table(
    items: list[Any],
    group: Callable[[Any], str],
    client: Callable[[Any], int],
    columns: dict[str, Callable[[Any], bool]],
) -> Expected:
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(group(item), []).append(item)

    def cells(members: list[Any]) -> dict[str, Cell]:
        return {
            name: cell((m.id, client(m)) for m in members if test(m))
            for name, test in columns.items()
        }

    return Expected({g: cells(members) for g, members in groups.items()}, cells(items))


def _field_is(name: str, value: str) -> Callable[[Any], bool]:
    return lambda row: bool(getattr(row, name) == value)


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL percentile_cont)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class ExpectedQuartiles:
    n: int
    clients: int
    key: int
    days: list[float]


@dataclass
class ExpectedReport:
    tables: dict[str, Expected]
    to_first_kka: ExpectedQuartiles
    to_closure: ExpectedQuartiles
    months: list[dt.date]
    trend: dict[str, list[Cell]]


def expect(
    rows: Rows,
    organisation_ids: Iterable[int],
    start: dt.date,
    end: dt.date,
    today: dt.date,
    owner_id: int | None = None,
) -> ExpectedReport:
    orgs = set(organisation_ids)

    def local(moment: dt.datetime, case: CaseRow) -> dt.date:
        return moment.astimezone(rows.zones[case.organisation_id]).date()

    def during(moment: dt.datetime | None, case: CaseRow) -> bool:
        return moment is not None and start <= local(moment, case) <= end

    scope_cases = {
        c.id: c
        for c in rows.cases.values()
        if c.organisation_id in orgs and (owner_id is None or c.owner_id == owner_id)
    }
    opened = [c for c in scope_cases.values() if during(c.opened_at, c)]
    closed = [c for c in scope_cases.values() if during(c.closed_at, c)]
    held = [
        k
        for k in rows.conferences.values()
        if k.case_id in scope_cases
        and k.status in HELD
        and during(k.starts_at, scope_cases[k.case_id])
    ]
    held_ids = {k.id for k in held}

    def case_of_conference(conference_id: int) -> CaseRow:
        return scope_cases[rows.conferences[conference_id].case_id]

    def client_of_conference_row(row: Any) -> int:
        return case_of_conference(row.conference_id).client_id

    tables: dict[str, Expected] = {}
    tables["cases_by_bidang"] = table(
        opened,
        lambda c: c.bidang,
        lambda c: c.client_id,
        {
            "opened": lambda c: True,
            **{s: _field_is("status", s) for s in ("open", "in_handling", "referred", "closed")},
        },
    )
    tables["closed_by_outcome"] = table(
        closed,
        lambda c: c.bidang,
        lambda c: c.client_id,
        {
            "closed": lambda c: True,
            **{o: _field_is("outcome", o) for o in CaseOutcome.values},
        },
    )
    tables["kkas"] = table(
        held,
        lambda k: k.bidang,
        lambda k: scope_cases[k.case_id].client_id,
        {"held": lambda k: True},
    )
    participants = [
        p
        for p in rows.participants.values()
        if p.conference_id in held_ids and p.removed_at is None
    ]
    tables["participants"] = table(
        participants,
        lambda p: p.category,
        client_of_conference_row,
        {"listed": lambda p: True, "attended": lambda p: p.attendance in ATTENDED},
    )
    commitments = [
        c for c in rows.commitments if c.conference_id in held_ids and c.status != "dropped"
    ]

    def overdue_commitment(c: CommitmentRow) -> bool:
        return c.status in OPEN_COMMITMENT and c.due_on is not None and c.due_on < today

    tables["commitments"] = table(
        commitments,
        lambda c: rows.participants[c.participant_id].category if c.participant_id else "konselor",
        client_of_conference_row,
        {
            "total": lambda c: True,
            "done": lambda c: c.status == "done",
            "not_done": lambda c: c.status == "not_done",
            "overdue": overdue_commitment,
            "running": lambda c: c.status in OPEN_COMMITMENT and not overdue_commitment(c),
        },
    )
    evaluations = [
        e for e in rows.evaluations if e.conference_id in held_ids and e.kind in EVALUATION_KINDS
    ]

    def due(e: EvaluationRow) -> dt.date | None:
        if e.due_on is not None:
            return e.due_on
        if e.kind == "laiseg":
            conference = rows.conferences[e.conference_id]
            assert conference.starts_at is not None
            return local(conference.starts_at, case_of_conference(e.conference_id))
        return None

    def done_on(e: EvaluationRow) -> dt.date:
        assert e.done_at is not None
        return local(e.done_at, case_of_conference(e.conference_id))

    def late_evaluation(e: EvaluationRow) -> bool:
        day = due(e)
        return e.done_at is not None and day is not None and done_on(e) > day

    def overdue_evaluation(e: EvaluationRow) -> bool:
        day = due(e)
        return e.done_at is None and day is not None and day < today

    tables["evaluations"] = table(
        evaluations,
        lambda e: e.kind,
        client_of_conference_row,
        {
            "total": lambda e: True,
            "on_time": lambda e: e.done_at is not None and not late_evaluation(e),
            "late": late_evaluation,
            "overdue": overdue_evaluation,
            "pending": lambda e: e.done_at is None and not overdue_evaluation(e),
        },
    )
    followups = [
        f
        for f in rows.followups
        if f.case_id in scope_cases and during(f.created_at, scope_cases[f.case_id])
    ]
    tables["followups"] = table(
        followups,
        lambda f: f.kind,
        lambda f: scope_cases[f.case_id].client_id,
        {"count": lambda f: True},
    )
    tables["referrals"] = table(
        [f for f in followups if f.kind == "referral"],
        lambda f: f.referral_to,
        lambda f: scope_cases[f.case_id].client_id,
        {"count": lambda f: True},
    )

    # Durations: from opening to the first held KKA (whenever) and to closure.
    first_held: dict[int, dt.datetime] = {}
    for k in rows.conferences.values():
        if k.status not in HELD or k.starts_at is None:
            continue
        if k.case_id not in first_held or k.starts_at < first_held[k.case_id]:
            first_held[k.case_id] = k.starts_at

    def quartiles(later: dict[int, dt.datetime]) -> ExpectedQuartiles:
        counted = [c for c in opened if c.id in later]
        return ExpectedQuartiles(
            len(counted),
            len({c.client_id for c in counted}),
            sum(c.id for c in counted),
            [(later[c.id] - c.opened_at).total_seconds() / 86400 for c in counted],
        )

    to_first = quartiles(first_held)
    to_closure = quartiles({c.id: c.closed_at for c in opened if c.closed_at is not None})

    # Monthly trend, months from start to min(end, today).
    last = min(end, today)
    months: list[dt.date] = []
    month = start.replace(day=1)
    while month <= last:
        months.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)

    def by_month(pairs: Iterable[tuple[dt.date, int, int]]) -> list[Cell]:
        bucket: dict[dt.date, list[tuple[int, int]]] = {}
        for day, row_id, client_id in pairs:
            bucket.setdefault(day.replace(day=1), []).append((row_id, client_id))
        return [cell(bucket.get(m, [])) for m in months]

    trend = {
        "cases_opened": by_month((local(c.opened_at, c), c.id, c.client_id) for c in opened),
        "kkas_held": by_month(
            (
                local(k.starts_at, scope_cases[k.case_id]),
                k.id,
                scope_cases[k.case_id].client_id,
            )
            for k in held
            if k.starts_at is not None
        ),
    }
    if owner_id is not None:
        active = []
        for m in months:
            next_month = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
            day_after = min(next_month, last + dt.timedelta(days=1))
            chosen = []
            for c in scope_cases.values():
                moment = dt.datetime.combine(day_after, dt.time(), rows.zones[c.organisation_id])
                if c.opened_at < moment and (c.closed_at is None or c.closed_at >= moment):
                    chosen.append((c.id, c.client_id))
            active.append(cell(chosen))
        trend["active_cases"] = active
    return ExpectedReport(tables, to_first, to_closure, months, trend)


# --- comparison ------------------------------------------------------------------------

TABLES = (
    "cases_by_bidang",
    "closed_by_outcome",
    "kkas",
    "participants",
    "commitments",
    "evaluations",
    "followups",
    "referrals",
)


def assert_same(raw: RawReport, expected: ExpectedReport) -> None:
    for slug in TABLES:
        got: Table = getattr(raw, slug)
        want = expected.tables[slug]
        assert got.slug == slug
        for row in set(got.rows) | set(want.rows):
            for column in got.columns:
                assert got.rows.get(row, {}).get(column) == want.rows.get(row, {}).get(column), (
                    slug,
                    row,
                    column,
                )
        assert set(got.rows) == set(want.rows), slug
        for column in got.columns:
            assert got.total[column] == want.total[column], (slug, "total", column)
    for name in ("to_first_kka", "to_closure"):
        got_q: Quartiles = getattr(raw, name)
        want_q: ExpectedQuartiles = getattr(expected, name)
        assert (got_q.n, got_q.clients, got_q.key) == (want_q.n, want_q.clients, want_q.key), name
        if not want_q.days:
            assert (got_q.q1, got_q.median, got_q.q3) == (None, None, None), name
            continue
        for fraction, value in ((0.25, got_q.q1), (0.5, got_q.median), (0.75, got_q.q3)):
            assert value is not None
            true = max(percentile(want_q.days, fraction), 0.0)
            assert abs(value - true) <= 0.05 + 1e-6, (name, fraction, value, true)
    assert raw.trend.months == expected.months
    assert set(raw.trend.series) == set(expected.trend)
    for series, cells in expected.trend.items():
        assert raw.trend.series[series] == cells, series


@pytest.fixture
def rows(data: Data) -> Rows:
    return read_rows()


def check(
    rows: Rows,
    organisations: list[Organisation],
    start: dt.date,
    end: dt.date,
    *,
    owner: User | None = None,
    zone: str | None = None,
) -> RawReport:
    scope = Scope(
        tuple(o.pk for o in organisations),
        zone or organisations[0].time_zone,
        owner_id=owner.pk if owner else None,
    )
    raw = figures.compute(scope, start, end, TODAY)
    expected = expect(rows, scope.organisation_ids, start, end, TODAY, scope.owner_id)
    assert_same(raw, expected)
    # Not a vacuous comparison: the period holds cases and KKAs.
    assert raw.cases_by_bidang.total["opened"].value > 0
    return raw


# --- the scenarios ---------------------------------------------------------------------


def test_one_organisation_over_a_school_year(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wib], dt.date(2025, 7, 1), dt.date(2026, 6, 30))
    assert raw.kkas.total["held"].value > 10
    assert len(raw.trend.months) == 12
    assert raw.to_closure.n > 5 and raw.to_first_kka.n > 5
    assert raw.evaluations.rows["laijapen"]["late"].value >= 1  # the hand-made late one


def test_one_organisation_over_a_semester(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wit], dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    # Opened 00:30 on 1 January in WIT: still 31 December in UTC, counted here.
    assert raw.trend.series["cases_opened"][0].value >= 1
    assert raw.participants.rows["pemberi_kerja"]["listed"].value == 1
    assert raw.participants.rows["masyarakat"]["attended"].value == 0
    assert raw.closed_by_outcome.total["referred"].value == 1


def test_one_organisation_over_a_custom_period(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wib], dt.date(2025, 10, 7), dt.date(2026, 2, 19))
    assert [m.month for m in raw.trend.months] == [10, 11, 12, 1, 2]


def test_period_reaching_past_today_has_no_future_months(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wib, data.wit], dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert raw.trend.months[-1] == dt.date(2026, 7, 1)


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "Asia/Jayapura", "UTC"])
def test_two_organisations_in_different_zones(data: Data, rows: Rows, zone: str) -> None:
    """A group's scope zone (the supervisor's) never moves a member's day: each case's
    own organisation's zone decides."""
    raw = check(rows, [data.wib, data.wit], dt.date(2025, 7, 1), dt.date(2026, 6, 30), zone=zone)
    both = raw.cases_by_bidang.total["opened"]
    alone = [
        figures.compute(
            Scope((o.pk,), o.time_zone), dt.date(2025, 7, 1), dt.date(2026, 6, 30), TODAY
        ).cases_by_bidang.total["opened"]
        for o in (data.wib, data.wit)
    ]
    assert both.value == sum(c.value for c in alone)
    assert both.key == sum(c.key for c in alone)


def test_a_counsellors_own_cases_with_workload(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wit], dt.date(2025, 7, 1), dt.date(2026, 6, 30), owner=data.counsellor)
    active = raw.trend.series["active_cases"]
    assert len(active) == 12 and all(c.value > 0 for c in active)
    owned = set(Case.objects.filter(owner=data.counsellor).values_list("id", flat=True))
    assert raw.cases_by_bidang.total["opened"].key <= sum(owned)


def test_a_counsellors_own_cases_over_a_period_ending_mid_month(data: Data, rows: Rows) -> None:
    raw = check(rows, [data.wit], dt.date(2026, 2, 1), dt.date(2026, 3, 31), owner=data.counsellor)
    # The case closed at 00:20 on 1 April (WIT) is still active at the end of March.
    march = raw.trend.series["active_cases"][-1]
    closed = rows.cases[data.boundary["wit_closed_april"]]
    assert closed.id <= march.key
    check(rows, [data.wit], dt.date(2026, 3, 10), dt.date(2026, 5, 20), owner=data.counsellor)
    check(rows, [data.wit], dt.date(2026, 7, 1), dt.date(2026, 12, 31), owner=data.counsellor)


def test_local_midnight_decides_the_day(data: Data, rows: Rows) -> None:
    """Direct checks of the boundary rows (not only through the independent sums)."""

    def opened_ids(org: Organisation, start: dt.date, end: dt.date) -> set[int]:
        raw = figures.compute(Scope((org.pk,), "UTC"), start, end, TODAY)
        expected = expect(rows, [org.pk], start, end, TODAY)
        assert_same(raw, expected)
        return {
            c.id
            for c in rows.cases.values()
            if c.organisation_id == org.pk
            and start <= c.opened_at.astimezone(rows.zones[org.pk]).date() <= end
        }

    december = (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    january = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert data.boundary["wit_new_year"] in opened_ids(data.wit, *january)
    assert data.boundary["wit_new_year"] not in opened_ids(data.wit, *december)
    assert data.boundary["wib_old_year"] in opened_ids(data.wib, *december)
    raw = figures.compute(Scope((data.wit.pk,), "UTC"), *january, TODAY)
    utc_day = rows.cases[data.boundary["wit_new_year"]].opened_at.astimezone(UTC).date()
    assert utc_day == dt.date(2025, 12, 31)  # the boundary really is one
    assert raw.cases_by_bidang.rows["karir"]["opened"].value >= 1
    # Closed 00:20 on 1 April WIT (31 March UTC): closed in April, not in March.
    march = figures.compute(
        Scope((data.wit.pk,), "UTC"), dt.date(2026, 3, 1), dt.date(2026, 3, 31), TODAY
    )
    april = figures.compute(
        Scope((data.wit.pk,), "UTC"), dt.date(2026, 4, 1), dt.date(2026, 4, 30), TODAY
    )
    assert march.closed_by_outcome.total["referred"].value == 0
    assert april.closed_by_outcome.total["referred"].value == 1
    # The KKA at 00:15 on 1 March WIT is a March KKA, and its laiseg done at 23:59 that
    # day is on time while the one done at 00:30 the next day is late.
    assert march.participants.rows["pemberi_kerja"]["listed"].value == 1
    assert march.evaluations.rows["laiseg"]["late"].value >= 1
    assert march.evaluations.rows["laiseg"]["on_time"].value >= 1


def test_every_column_has_zero_and_non_zero_cells(data: Data, rows: Rows) -> None:
    """The scenarios exercise every column: somewhere it is zero, somewhere not."""
    reports = [
        figures.compute(Scope((o.pk,), o.time_zone, owner_id=owner), start, end, TODAY)
        for o in (data.wib, data.wit)
        for owner in (None, data.counsellor.pk)
        for start, end in (
            (dt.date(2025, 7, 1), dt.date(2026, 6, 30)),
            (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        )
    ]
    labels = {
        "cases_by_bidang": [k for k, _v in BUILTIN_BIDANG],
        "closed_by_outcome": [k for k, _v in BUILTIN_BIDANG],
        "kkas": [k for k, _v in BUILTIN_BIDANG],
        "participants": [k for k, _v in PARTICIPANT_CATEGORIES],
        "commitments": [*(k for k, _v in PARTICIPANT_CATEGORIES), "konselor"],
        "evaluations": sorted(EVALUATION_KINDS),
        "followups": list(FollowUpKind.values),
        "referrals": ["psikolog", "polisi", "tppk"],
    }
    for slug in TABLES:
        for column in getattr(reports[0], slug).columns:
            values = [
                getattr(r, slug).rows.get(row, {}).get(column, Cell(0, 0, 0)).value
                for r in reports
                for row in labels[slug]
            ]
            assert any(v == 0 for v in values), (slug, column)
            assert any(v > 0 for v in values), (slug, column)


def test_an_organisation_without_cases_gives_zeros(data: Data) -> None:
    empty = make_organisation(time_zone="Asia/Makassar")
    raw = figures.compute(Scope((empty.pk,), "Asia/Makassar"), dt.date(2025, 7, 1), TODAY, TODAY)
    for slug in TABLES:
        table_: Table = getattr(raw, slug)
        assert table_.rows == {}
        assert all(c == Cell(0, 0, 0) for c in table_.total.values())
    assert raw.to_first_kka == Quartiles(0, 0, None, None, None)
    assert all(c == Cell(0, 0, 0) for s in raw.trend.series.values() for c in s)
    nothing = figures.compute(Scope((), "Asia/Jakarta"), dt.date(2025, 7, 1), TODAY, TODAY)
    assert nothing.cases_by_bidang.total["opened"] == Cell(0, 0, 0)


def test_percentile_matches_the_definition() -> None:
    """The helper used above and the SQLite fallback agree with hand-computed values."""
    assert percentile([1, 2, 3, 4], 0.25) == pytest.approx(1.75)
    assert percentile([10], 0.5) == 10
    assert percentile([1, 3], 0.75) == pytest.approx(2.5)
    assert figures._linear_quartiles([1.0, 2.0, 3.0, 4.0]) == pytest.approx((1.75, 2.5, 3.25))
    assert figures._linear_quartiles([5.0]) == (5.0, 5.0, 5.0)
